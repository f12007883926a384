#include "base/clock.h"

#include <time.h>

#include <cstdio>

namespace relay {

Micros SystemClock::Now() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return Micros(ts.tv_sec) * kSecond + ts.tv_nsec / 1000;
}

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

Micros MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Micros(ts.tv_sec) * kSecond + ts.tv_nsec / 1000;
}

std::string FormatTimestamp(Micros t) {
  time_t secs = static_cast<time_t>(t / kSecond);
  int millis = static_cast<int>((t % kSecond) / kMillisecond);
  if (millis < 0) millis = 0;
  tm parts;
  gmtime_r(&secs, &parts);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, millis);
  return buf;
}

}  // namespace relay
