#include "sched/outputs.h"

#include <algorithm>

#include "base/strings.h"

namespace relay::sched {

nlohmann::json ParseOutputs(const std::string& text, const std::vector<std::string>& declared) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : declared) out[k] = "";
  auto wanted = [&](const std::string& key) {
    return declared.empty() || std::find(declared.begin(), declared.end(), key) != declared.end();
  };
  std::vector<std::string> lines = Split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t heredoc = line.find("<<");
    size_t eq = line.find('=');
    if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
      std::string key(Trim(line.substr(0, heredoc)));
      std::string delim(Trim(line.substr(heredoc + 2)));
      std::string value;
      bool first = true;
      for (++i; i < lines.size(); ++i) {
        std::string l = lines[i];
        if (!l.empty() && l.back() == '\r') l.pop_back();
        if (l == delim) break;
        if (!first) value += '\n';
        value += l;
        first = false;
      }
      if (!key.empty() && wanted(key)) out[key] = value;
      continue;
    }
    if (eq == std::string::npos) continue;
    std::string key(Trim(line.substr(0, eq)));
    if (!key.empty() && wanted(key)) out[key] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace relay::sched
