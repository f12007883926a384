// Small string helpers the standard library lacks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relay {

std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
// Replaces every occurrence of `from` (non-empty) with `to`.
std::string ReplaceAll(std::string s, std::string_view from, std::string_view to);
// Quotes a string for a POSIX shell if it needs it.
std::string ShellQuote(std::string_view s);
// Checks UTF-8 well-formedness; on failure sets *bad_offset to the first bad byte.
bool IsValidUtf8(std::string_view s, size_t* bad_offset);
// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);
// The longest prefix of `s` of at most `max` bytes that does not end inside
// a UTF-8 sequence (it steps back at most 3 bytes).
std::string_view Utf8Prefix(std::string_view s, size_t max);
// The longest suffix of at most `max` bytes that does not start inside a
// UTF-8 sequence (it steps forward at most 3 bytes).
std::string_view Utf8Suffix(std::string_view s, size_t max);

}  // namespace relay
