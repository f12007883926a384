// Task outputs: a step appends `key=value` lines (or Actions' multi-line form
// `key<<DELIM` … `DELIM`) to the file named by $RELAY_OUTPUT; relay reads the
// declared keys back after the attempt succeeds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exec/mask.h"

namespace relay::sched {

struct ParsedOutputs {
  nlohmann::json values;  // an object: the kept keys and their values
  // Set when the file is malformed (a line that is neither form, a
  // `key<<DELIM` never closed): as in Actions, the attempt fails rather
  // than pass on a value that swallowed the lines after it.
  std::string error;
};

// Parses the file's text; keeps only `declared` keys (all when empty),
// matched ignoring case as expressions match names, and stored under the
// declared spelling. A later line for the same key wins. Declared keys never
// written are "". Blank lines are ignored.
// A bad line quoted in the error is masked with `mask` (if any) before it is
// cut short, and made valid UTF-8, since the error becomes a reason.
ParsedOutputs ParseOutputs(const std::string& text, const std::vector<std::string>& declared,
                           const exec::Masker* mask = nullptr);

}  // namespace relay::sched
