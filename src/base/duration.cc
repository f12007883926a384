#include "base/duration.h"

#include <fmt/compile.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>

namespace relay {
namespace {

Status BadDuration(std::string_view text) {
  return Status::Invalid("bad duration '" + std::string(text) +
                         "': use a number with a unit (ms, s, m, h, d) such as 30s, 5m, 1h30m");
}

constexpr double kMaxDuration = 1e6 * 24 * kHour;  // a million days: "no limit"

Result<Micros> Checked(std::string_view text, double total) {
  if (total > kMaxDuration)
    return Status::Invalid("duration '" + std::string(text) +
                           "' is too long: at most 1000000d (use a shorter one, or none)");
  return static_cast<Micros>(std::llround(total));
}

// A bare number of seconds as YAML and JSON write numbers, exponent
// included ("1e3"): the schema allows any positive number there.
std::optional<double> BareSeconds(std::string_view text) {
  if (text.find_first_not_of("0123456789.eE+-") != std::string_view::npos) return std::nullopt;
  if (!std::isdigit(static_cast<unsigned char>(text[0])) && text[0] != '.') return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

Result<Micros> ParseDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text);
  if (auto seconds = BareSeconds(text)) return Checked(text, *seconds * kSecond);
  size_t i = 0;
  double total = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return BadDuration(text);
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value)) return BadDuration(text);
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale;
    if (unit.empty()) {
      if (any || i != text.size()) return BadDuration(text);  // bare number only alone
      scale = kSecond;
    } else if (unit == "ms") {
      scale = kMillisecond;
    } else if (unit == "s") {
      scale = kSecond;
    } else if (unit == "m") {
      scale = kMinute;
    } else if (unit == "h") {
      scale = kHour;
    } else if (unit == "d") {
      scale = 24.0 * kHour;
    } else {
      return BadDuration(text);
    }
    total += value * scale;
    any = true;
  }
  return Checked(text, total);
}

// fmt and integer arithmetic: this runs for every line `relay run` prints,
// and snprintf's "%.1f" cost more than the rest of the line.
std::string FormatDuration(Micros d) {
  std::string out;
  AppendDuration(out, d);
  return out;
}

void AppendDuration(std::string& out, Micros d) {
  if (d < 0) d = 0;
  char buf[48];
  char* end = buf + sizeof buf;
  auto num = [&](char* at, int64_t v) { return std::to_chars(at, end, v).ptr; };
  auto two = [&](char* at, int64_t v) {  // {:02}
    *at++ = static_cast<char>('0' + v / 10);
    *at++ = static_cast<char>('0' + v % 10);
    return at;
  };
  char* at = buf;
  if (d < kSecond) {
    at = num(at, d / kMillisecond);
    *at++ = 'm';
    *at++ = 's';
  } else if (d < kMinute) {
    // Tenths rounded to nearest, as "%.1f" printed the double d / 1e6: its
    // error is far below a microsecond, so it can only decide a value that
    // lies exactly halfway, and there it still does.
    constexpr Micros kTenth = kSecond / 10;
    if (d % kTenth == kTenth / 2) {
      fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:.1f}s"),
                     static_cast<double>(d) / kSecond);
      return;
    }
    const Micros tenths = (d + kTenth / 2) / kTenth;
    at = num(at, tenths / 10);
    *at++ = '.';
    *at++ = static_cast<char>('0' + tenths % 10);
    *at++ = 's';
  } else if (d < kHour) {
    at = num(at, d / kMinute);
    *at++ = 'm';
    at = two(at, d % kMinute / kSecond);
    *at++ = 's';
  } else {
    at = num(at, d / kHour);
    *at++ = 'h';
    at = two(at, d % kHour / kMinute);
    *at++ = 'm';
  }
  out.append(buf, static_cast<size_t>(at - buf));
}

}  // namespace relay
