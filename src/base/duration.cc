#include "base/duration.h"

#include <fmt/compile.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace relay {
namespace {

Status BadDuration(std::string_view text) {
  return Status::Invalid("bad duration '" + std::string(text) +
                         "': use a number with a unit (ms, s, m, h, d) such as 30s, 5m, 1h30m");
}

}  // namespace

Result<Micros> ParseDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text);
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
  if (total > 1e17) return BadDuration(text);
  return static_cast<Micros>(std::llround(total));
}

// fmt and integer arithmetic: this runs for every line `relay run` prints,
// and snprintf's "%.1f" cost more than the rest of the line.
std::string FormatDuration(Micros d) {
  if (d < 0) d = 0;
  if (d < kSecond) return fmt::format(FMT_COMPILE("{}ms"), d / kMillisecond);
  if (d < kMinute) {
    // Tenths rounded to nearest, as "%.1f" printed the double d / 1e6: its
    // error is far below a microsecond, so it can only decide a value that
    // lies exactly halfway, and there it still does.
    constexpr Micros kTenth = kSecond / 10;
    if (d % kTenth == kTenth / 2)
      return fmt::format(FMT_COMPILE("{:.1f}s"), static_cast<double>(d) / kSecond);
    Micros tenths = (d + kTenth / 2) / kTenth;
    return fmt::format(FMT_COMPILE("{}.{}s"), tenths / 10, tenths % 10);
  }
  if (d < kHour) return fmt::format(FMT_COMPILE("{}m{:02}s"), d / kMinute, d % kMinute / kSecond);
  return fmt::format(FMT_COMPILE("{}h{:02}m"), d / kHour, d % kHour / kMinute);
}

}  // namespace relay
