// Durations as users write them in pipeline files: "90s", "1m30s", "500ms",
// "2h", "1.5s". A bare number means seconds (as GitHub Actions' minutes would
// surprise a ninja user, we require no unit guessing beyond that).
#pragma once

#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace relay {

// Units: ms, s, m, h, d. Returns kInvalid with a message saying what is
// accepted, e.g. "bad duration '10x': use a number with a unit such as 30s, 5m, 1h30m".
Result<Micros> ParseDuration(std::string_view text);

// Short human form: "850ms", "12.3s", "4m05s", "2h03m".
std::string FormatDuration(Micros d);
// Appends FormatDuration(d) to `out` (progress lines: no temporary).
void AppendDuration(std::string& out, Micros d);

}  // namespace relay
