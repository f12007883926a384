// Masker: replaces secret values with "***" in log lines, the way CI systems
// keep tokens out of build logs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relay::exec {

class Masker {
 public:
  Masker() = default;
  // Empty secrets are ignored. A secret spanning several lines can never
  // appear whole in one log line, so each of its lines of at least
  // kMinLinePart bytes is masked on its own (shorter ones, like a lone "}",
  // would mask ordinary text).
  explicit Masker(const std::vector<std::string>& secrets);

  static constexpr size_t kMinLinePart = 4;

  bool empty() const { return secrets_.empty(); }

  // Returns `line` with every occurrence of every secret replaced by "***".
  // When nothing matches (always, with no secrets) the result is `line`
  // itself and nothing is copied; otherwise it points into *scratch.
  std::string_view Apply(std::string_view line, std::string* scratch) const;

 private:
  std::vector<std::string> secrets_;  // longest first, so a longer secret
                                      // containing a shorter one wins
};

}  // namespace relay::exec
