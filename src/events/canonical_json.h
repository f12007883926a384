// The JSON that relay writes into its ledger (canonical JSON, see
// docs/ledger-format.md): its string escaping, and reading it back without
// a general JSON library, for two reasons:
// a reader must hand back the exact bytes of a value (an event's `data`,
// a task's outputs) so that hashes and rows are reproduced byte for byte,
// and strings may hold any bytes a step printed, valid UTF-8 or not, which
// strict JSON parsers refuse. Whitespace between tokens is tolerated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::events {

// Appends s to out as a JSON string literal in the canonical escaping.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace relay::events

namespace relay::events::canonical {

// The bytes the canonical escaping writes as escapes: control characters,
// '"' and '\\'. Every other byte, valid UTF-8 or not, is written as it is.
inline constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

// The elements of a JSON array, each as its exact text. False if `text` is
// not one array (with nothing after it).
bool SplitArray(std::string_view text, std::vector<std::string_view>* elements);

// The members of a JSON object: each key as its exact (still quoted) text
// and each value as its exact text. False if `text` is not one object.
bool SplitObject(std::string_view text,
                 std::vector<std::pair<std::string_view, std::string_view>>* members);

// A JSON string's value (escapes resolved, \u escapes as UTF-8).
bool ReadString(std::string_view token, std::string* out);
// A JSON integer (no fraction, no exponent) that fits in 64 bits.
bool ReadInt(std::string_view token, int64_t* out);
bool IsObject(std::string_view token);

// Whether `value` is written in the one canonical way (docs/ledger-format.md):
// no whitespace, strings escaped exactly as AppendJsonString does, integers
// without leading zeros, fraction or exponent, object keys in byte order
// without repeats; no floats or nulls.
bool IsCanonical(std::string_view value);

}  // namespace relay::events::canonical
