#include "base/duration.h"

#include <cmath>
#include <cstdio>
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

std::string FormatDuration(Micros d) {
  char buf[32];
  if (d < 0) d = 0;
  if (d < kSecond) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(d / kMillisecond));
  } else if (d < kMinute) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d) / kSecond);
  } else if (d < kHour) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(d / kMinute),
                  static_cast<long long>((d % kMinute) / kSecond));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(d / kHour),
                  static_cast<long long>((d % kHour) / kMinute));
  }
  return buf;
}

}  // namespace relay
