#include "sched/secrets.h"

#include <algorithm>

namespace relay::sched {

bool RunSecrets::IsSecretName(std::string_view name) const {
  return names_ != nullptr && std::find(names_->begin(), names_->end(), name) != names_->end();
}

void RunSecrets::Add(std::string value) {
  if (value.empty() || !set_.insert(value).second) return;
  values_.push_back(std::move(value));
  stale_ = true;
}

const std::shared_ptr<const exec::Masker>& RunSecrets::masker() {
  if (stale_ || !masker_) {
    masker_ = std::make_shared<const exec::Masker>(values_);
    stale_ = false;
  }
  return masker_;
}

std::string RunSecrets::Redact(std::string text) {
  if (values_.empty() || text.empty()) return text;
  std::string scratch;
  std::string_view masked = masker()->Apply(text, &scratch);
  return masked.data() == text.data() ? text : std::move(scratch);
}

}  // namespace relay::sched
