// Deciding how a step's command line runs: exec'd directly (argv split on
// blanks, program looked up on PATH) or handed to a shell. Direct exec saves
// a shell process per step, which matters when a run is thousands of `true`s.
// Pure: the file-system check is passed in, so the decision table is tested
// without touching the disk.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace relay::exec {

// True when `line` means the same exec'd directly as under /bin/sh: it holds
// only [A-Za-z0-9_./:=,+@%^-] and blanks (spaces, tabs), at least one word,
// and its first word is neither an assignment (has '=') nor a shell builtin
// or keyword (IsShellBuiltin). Quotes, $, globs, redirections, ~, # and
// non-ASCII bytes all mean "use the shell".
bool IsPlainCommand(std::string_view line);

// Builtins and keywords that only make sense inside a shell (cd, export, exit,
// if, ...). Builtins that also exist as programs (true, echo, test, kill) are
// not listed: exec'ing /usr/bin/true is the point.
bool IsShellBuiltin(std::string_view word);

// Appends the blank-separated words of `line` to *words.
void SplitWords(std::string_view line, std::vector<std::string_view>* words);

// Finds programs on a PATH and remembers the answers (found or not), so ten
// thousand spawns of `true` look at the file system once.
class ProgramResolver {
 public:
  // Returns true when `path` names an executable regular file.
  using IsExecutable = bool (*)(const std::string& path);
  explicit ProgramResolver(IsExecutable is_executable) : is_executable_(is_executable) {}

  // The absolute path of `program` (a name without '/') in the first
  // directory of `path_env` (colon-separated) that has it, or nullptr.
  // Relative and empty PATH entries are skipped: they would resolve against
  // relay's directory, not the step's. The pointer stays valid for the
  // resolver's lifetime. A cached answer can go stale (program installed or
  // removed later); callers fall back to the shell when exec fails.
  const std::string* Resolve(std::string_view path_env, std::string_view program);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Cache = std::unordered_map<std::string, std::string, Hash, std::equal_to<>>;

  IsExecutable is_executable_;
  // PATH value → (program → absolute path, "" when not found).
  std::unordered_map<std::string, Cache, Hash, std::equal_to<>> by_path_;
  // The entry of the PATH asked last: steps nearly always share one, and
  // comparing it costs less than hashing its hundreds of bytes again.
  const std::string* last_path_ = nullptr;
  Cache* last_cache_ = nullptr;
};

}  // namespace relay::exec
