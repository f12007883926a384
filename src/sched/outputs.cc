#include "sched/outputs.h"

#include <strings.h>

#include "base/strings.h"

namespace relay::sched {
namespace {

constexpr size_t kQuoted = 60;  // bytes of a bad line, in the error

// Masked first: cutting first could leave part of a secret the masker no
// longer recognises. Cut on a character boundary; bytes that are not UTF-8
// become U+FFFD, as reasons travel as JSON.
std::string Quote(std::string_view line, const exec::Masker* mask) {
  std::string scratch;
  if (mask) line = mask->Apply(line, &scratch);
  std::string_view kept = Utf8Prefix(line, kQuoted);
  return "'" + std::string(kept) + (kept.size() < line.size() ? "…'" : "'");
}

}  // namespace

ParsedOutputs ParseOutputs(const std::string& text, const std::vector<std::string>& declared,
                           const exec::Masker* mask) {
  ParsedOutputs out;
  out.values = nlohmann::json::object();
  for (const auto& k : declared) out.values[k] = "";
  // The declared spelling of `key`, or nullptr when it is not kept.
  auto kept = [&](const std::string& key) -> const std::string* {
    if (declared.empty()) return &key;
    for (const auto& d : declared)
      if (d == key) return &d;
    for (const auto& d : declared)
      if (d.size() == key.size() && strncasecmp(d.data(), key.data(), d.size()) == 0) return &d;
    return nullptr;
  };
  // Names and delimiters are the step's bytes too: the whole message is made
  // UTF-8 (the scheduler masks it and caps its length, as every reason).
  auto fail = [&](size_t line_no, const std::string& what) {
    out.error = ToValidUtf8("$RELAY_OUTPUT line " + std::to_string(line_no + 1) + ": " + what);
    return out;
  };
  std::vector<std::string> lines = Split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;
    size_t heredoc = line.find("<<");
    size_t eq = line.find('=');
    if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
      std::string key(Trim(line.substr(0, heredoc)));
      std::string delim(Trim(line.substr(heredoc + 2)));
      if (key.empty()) return fail(i, "no name before '<<' in " + Quote(line, mask));
      if (delim.empty()) return fail(i, "no delimiter after '<<' in " + Quote(line, mask));
      size_t opened = i;
      std::string value;
      bool first = true, closed = false;
      for (++i; i < lines.size(); ++i) {
        std::string l = lines[i];
        if (!l.empty() && l.back() == '\r') l.pop_back();
        if (l == delim) {
          closed = true;
          break;
        }
        if (!first) value += '\n';
        value += l;
        first = false;
      }
      if (!closed)
        return fail(opened, Quote(line, mask) + " is never closed by a line '" + delim + "'");
      if (value.find('\0') != std::string::npos)
        return fail(opened,
                    "the value of '" + key + "' holds a NUL byte, which no command can take");
      if (const std::string* name = kept(key)) out.values[*name] = std::move(value);
      continue;
    }
    if (eq == std::string::npos)
      return fail(i, "expected NAME=VALUE or NAME<<DELIMITER, got " + Quote(line, mask));
    std::string key(Trim(line.substr(0, eq)));
    if (key.empty()) return fail(i, "no name before '=' in " + Quote(line, mask));
    if (line.find('\0', eq) != std::string::npos)
      return fail(i, "the value of '" + key + "' holds a NUL byte, which no command can take");
    if (const std::string* name = kept(key)) out.values[*name] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace relay::sched
