// Run ids: ULIDs (26 characters of Crockford base32: 48 bits of milliseconds,
// then 80 random bits), so ids sort by creation time and a short prefix is
// usually unambiguous.
#pragma once

#include <string>

#include "base/clock.h"

namespace relay {

std::string NewRunId(Micros now);

}  // namespace relay
