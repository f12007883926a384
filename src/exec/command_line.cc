#include "exec/command_line.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

namespace relay::exec {
namespace {

constexpr bool IsBlank(char c) { return c == ' ' || c == '\t'; }

constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("_./:=,+@%^- \t")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

// Sorted, for binary search.
constexpr std::string_view kBuiltins[] = {
    ".",        ":",       "alias",   "bg",    "break", "builtin", "case",     "cd",      "command",
    "continue", "declare", "do",      "done",  "elif",  "else",    "esac",     "eval",    "exec",
    "exit",     "export",  "fc",      "fg",    "fi",    "for",     "function", "getopts", "hash",
    "if",       "in",      "jobs",    "let",   "local", "read",    "readonly", "return",  "select",
    "set",      "shift",   "source",  "then",  "time",  "times",   "trap",     "type",    "typeset",
    "ulimit",   "umask",   "unalias", "unset", "until", "wait",    "while",
};
static_assert(std::is_sorted(std::begin(kBuiltins), std::end(kBuiltins)));

}  // namespace

// The builtins by first character: [first, end) in kBuiltins. A command
// line's first word is compared with the few of its letter, length first
// (every attempt asks: a binary search cost ~300 instructions).
struct BuiltinRanges {
  std::array<uint8_t, 256> first{}, end{};
  constexpr BuiltinRanges() {
    for (size_t i = std::size(kBuiltins); i-- > 0;) {
      const auto c = static_cast<unsigned char>(kBuiltins[i][0]);
      if (end[c] == 0) end[c] = static_cast<uint8_t>(i + 1);
      first[c] = static_cast<uint8_t>(i);
    }
  }
};
constexpr BuiltinRanges kBuiltinRanges;

bool IsShellBuiltin(std::string_view word) {
  if (word.empty()) return false;
  const auto c = static_cast<unsigned char>(word[0]);
  for (size_t i = kBuiltinRanges.first[c]; i < kBuiltinRanges.end[c]; ++i)
    if (kBuiltins[i] == word) return true;
  return false;
}

bool IsPlainCommand(std::string_view line) {
  for (char c : line) {
    if (!kPlain[static_cast<unsigned char>(c)]) return false;
  }
  size_t begin = 0;
  while (begin < line.size() && IsBlank(line[begin])) ++begin;
  size_t end = begin;
  while (end < line.size() && !IsBlank(line[end])) ++end;
  std::string_view first = line.substr(begin, end - begin);
  if (first.empty() || first.find('=') != std::string_view::npos) return false;
  return !IsShellBuiltin(first);
}

void SplitWords(std::string_view line, std::vector<std::string_view>* words) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) words->push_back(line.substr(start, i - start));
  }
}

const std::string* ProgramResolver::Resolve(std::string_view path_env, std::string_view program) {
  if (last_path_ == nullptr || *last_path_ != path_env) {
    auto dirs = by_path_.find(path_env);
    if (dirs == by_path_.end()) dirs = by_path_.emplace(std::string(path_env), Cache()).first;
    last_path_ = &dirs->first;  // nodes stay put when the map grows
    last_cache_ = &dirs->second;
  }
  Cache& cache = *last_cache_;
  auto hit = cache.find(program);
  if (hit == cache.end()) {
    std::string found;
    std::string candidate;
    size_t start = 0;
    while (start <= path_env.size()) {
      size_t colon = path_env.find(':', start);
      if (colon == std::string_view::npos) colon = path_env.size();
      std::string_view dir = path_env.substr(start, colon - start);
      start = colon + 1;
      if (dir.empty() || dir.front() != '/') continue;
      candidate.assign(dir);
      if (candidate.back() != '/') candidate += '/';
      candidate.append(program);
      if (is_executable_(candidate)) {
        found = std::move(candidate);
        break;
      }
    }
    hit = cache.emplace(std::string(program), std::move(found)).first;
  }
  return hit->second.empty() ? nullptr : &hit->second;
}

}  // namespace relay::exec
