// Wall-clock time as microseconds since the Unix epoch, behind an interface so
// back-off, timeouts and leases can be tested by advancing a fake by hand.
#pragma once

#include <cstdint>
#include <string>

namespace relay {

using Micros = int64_t;  // microseconds; a time point (since epoch) or a span

constexpr Micros kMillisecond = 1000;
constexpr Micros kSecond = 1000 * kMillisecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;  // wall clock, UTC
};

class SystemClock final : public Clock {
 public:
  Micros Now() const override;
  static SystemClock* Get();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros start = 1'700'000'000 * kSecond) : now_(start) {}
  Micros Now() const override { return now_; }
  void Advance(Micros d) { now_ += d; }
  void Set(Micros t) { now_ = t; }

 private:
  Micros now_;
};

// RFC 3339 in UTC with milliseconds: 2026-11-24T22:25:09.123Z.
std::string FormatTimestamp(Micros t);
// Monotonic microseconds for measuring spans inside one process.
Micros MonotonicNow();

}  // namespace relay
