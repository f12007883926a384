#include "exec/mask.h"

#include <algorithm>

namespace relay::exec {
namespace {

constexpr std::string_view kMask = "***";

void AddSecret(std::string_view s, std::vector<std::string>* out) {
  if (s.find('\n') == std::string_view::npos) {
    if (!s.empty()) out->emplace_back(s);
    return;
  }
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view part = s.substr(0, nl);
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    if (part.size() >= Masker::kMinLinePart) out->emplace_back(part);
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
}

}  // namespace

Masker::Masker(const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) AddSecret(s, &secrets_);
  std::sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string_view Masker::Apply(std::string_view line, std::string* scratch) const {
  std::string_view current = line;
  bool copied = false;
  for (const std::string& secret : secrets_) {
    size_t pos = current.find(secret);
    if (pos == std::string_view::npos) continue;
    // Rebuild into a fresh string: `current` may point into *scratch.
    std::string next;
    next.reserve(current.size());
    size_t from = 0;
    while (pos != std::string_view::npos) {
      next.append(current.substr(from, pos - from));
      next.append(kMask);
      from = pos + secret.size();
      pos = current.find(secret, from);
    }
    next.append(current.substr(from));
    *scratch = std::move(next);
    current = *scratch;
    copied = true;
  }
  return copied ? current : line;
}

}  // namespace relay::exec
