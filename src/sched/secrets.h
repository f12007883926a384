// Private to sched/: the secret values of one run and the one masker made
// of them, shared by every attempt's log, every reason and every output.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "exec/mask.h"

namespace relay::sched {

class RunSecrets {
 public:
  // Names (pipeline `secrets:`) whose values are secrets wherever they are set.
  void SetNames(const std::vector<std::string>* names) { names_ = names; }
  bool IsSecretName(std::string_view name) const;

  // Masks `value` from now on (logs, reasons, outputs); empty values are not
  // secrets.
  void Add(std::string value);
  bool empty() const { return values_.empty(); }

  // The masker of the values so far, made again only after one was added,
  // and shared with the attempts: one automaton however many attempts.
  // REQUIRES: !empty().
  const std::shared_ptr<const exec::Masker>& masker();
  // `text` with secrets masked (itself when there are none).
  std::string Redact(std::string text);

 private:
  const std::vector<std::string>* names_ = nullptr;
  std::vector<std::string> values_;  // each once (set_)
  std::unordered_set<std::string> set_;
  std::shared_ptr<const exec::Masker> masker_;
  bool stale_ = false;
};

}  // namespace relay::sched
