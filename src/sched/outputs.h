// Task outputs: a step appends `key=value` lines (or Actions' multi-line form
// `key<<DELIM` … `DELIM`) to the file named by $RELAY_OUTPUT; relay reads the
// declared keys back after the attempt succeeds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relay::sched {

// Parses the file's text; keeps only `declared` keys (all when empty). A
// later line for the same key wins. Declared keys never written are "".
nlohmann::json ParseOutputs(const std::string& text, const std::vector<std::string>& declared);

}  // namespace relay::sched
