// Actions' coercion rules between values, private to src/expr/ (IsTruthy
// and ToDisplayString are public in expr.h).
#pragma once

#include <string>
#include <string_view>

#include "expr/ast.h"
#include "expr/expr.h"

namespace relay::expr {

// Actions' number conversion: null → 0, true → 1, false → 0, a string is
// parsed as a decimal or 0x hex number ('' → 0, anything else → NaN),
// arrays and objects → NaN.
double ToNumber(const Value& v);

// `a <op> b` with Actions' loose rules: values of different kinds are
// compared as numbers; strings compare case-insensitively (ASCII); any
// comparison with NaN is false (so NaN != NaN is true). Arrays and objects
// are equal when deeply equal (Actions compares identity; deep equality
// agrees whenever Actions says equal) and never ordered.
bool Compare(CompareOp op, const Value& a, const Value& b);

// `s` with A-Z turned into a-z; other bytes unchanged.
std::string ToLowerAscii(std::string_view s);

// Case-insensitive (ASCII) string equality and search.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);

// The member of `object` called `name`, matched like FindName (expr.h):
// the exact key, else the only key equal to `name` ignoring ASCII case.
// object.end() when there is none, when several keys tie, or when `object`
// is not an object. The fallback scans every key, so a miss costs O(keys).
Value::const_iterator FindMember(const Value& object, std::string_view name);

// Appends ToDisplayString(v) to *out without a temporary.
void AppendDisplayString(const Value& v, std::string* out);

// JSON text that never throws: invalid UTF-8 is replaced by U+FFFD.
// indent < 0 is compact.
std::string SafeDump(const Value& v, int indent);

}  // namespace relay::expr
