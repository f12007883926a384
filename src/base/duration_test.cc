#include "base/duration.h"

#include <gtest/gtest.h>

namespace relay {
namespace {

TEST(FormatDurationTest, EachRange) {
  EXPECT_EQ(FormatDuration(-5), "0ms");
  EXPECT_EQ(FormatDuration(0), "0ms");
  EXPECT_EQ(FormatDuration(850 * kMillisecond + 999), "850ms");
  EXPECT_EQ(FormatDuration(kSecond - 1), "999ms");
  EXPECT_EQ(FormatDuration(kSecond), "1.0s");
  EXPECT_EQ(FormatDuration(12'340'000), "12.3s");
  EXPECT_EQ(FormatDuration(12'360'000), "12.4s");
  EXPECT_EQ(FormatDuration(kMinute - 1), "60.0s");
  EXPECT_EQ(FormatDuration(4 * kMinute + 5 * kSecond + 999'999), "4m05s");
  EXPECT_EQ(FormatDuration(kHour - 1), "59m59s");
  EXPECT_EQ(FormatDuration(2 * kHour + 3 * kMinute + 59 * kSecond), "2h03m");
  EXPECT_EQ(FormatDuration(100 * kHour), "100h00m");
}

TEST(FormatDurationTest, AppendDurationAppendsTheSameText) {
  for (Micros d : {Micros{-1}, Micros{0}, 999 * kMillisecond, kSecond, 1'250'000 * Micros{1},
                   12'360'000 * Micros{1}, kMinute - 1, kMinute, kHour - 1, kHour,
                   100 * kHour + 7 * kMinute}) {
    std::string out = "+";
    AppendDuration(out, d);
    EXPECT_EQ(out, "+" + FormatDuration(d)) << d;
  }
}

// Halfway between two tenths, the text is what printf's "%.1f" made of the
// double: 1.25 is exact and rounds to even, 1.35 and 1.15 are not exact and
// round the way their double lies.
TEST(FormatDurationTest, HalfwayRoundsAsPrintfDid) {
  EXPECT_EQ(FormatDuration(1'250'000), "1.2s");
  EXPECT_EQ(FormatDuration(1'750'000), "1.8s");
  EXPECT_EQ(FormatDuration(1'350'000), "1.4s");
  EXPECT_EQ(FormatDuration(1'150'000), "1.1s");
  EXPECT_EQ(FormatDuration(1'250'001), "1.3s");
  EXPECT_EQ(FormatDuration(1'149'999), "1.1s");
  EXPECT_EQ(FormatDuration(59'950'000), "60.0s");
}

}  // namespace
}  // namespace relay

namespace relay {
namespace {

Micros Parsed(const char* text) {
  auto d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().message();
  return d.ok() ? *d : -1;
}

TEST(ParseDurationTest, UnitsSumsAndBareSeconds) {
  EXPECT_EQ(Parsed("500ms"), 500 * kMillisecond);
  EXPECT_EQ(Parsed("1h30m"), 90 * kMinute);
  EXPECT_EQ(Parsed("1.5s"), 1500 * kMillisecond);
  EXPECT_EQ(Parsed("2d"), 48 * kHour);
  EXPECT_EQ(Parsed("30"), 30 * kSecond);
  // Numbers as YAML and JSON write them, which the schema accepts.
  EXPECT_EQ(Parsed("1e3"), 1000 * kSecond);
  EXPECT_EQ(Parsed("2.5E-1"), 250 * kMillisecond);
}

TEST(ParseDurationTest, BadOnesSayWhatToWrite) {
  for (const char* bad : {"", "10x", "s", "1s2", "-1s", "inf", "0x10", "1e400"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().message(), std::string("bad duration '") + bad +
                                        "': use a number with a unit (ms, s, m, h, d) such as "
                                        "30s, 5m, 1h30m");
  }
}

TEST(ParseDurationTest, TooLongSaysSoRatherThanBad) {
  auto d = ParseDuration("9999999999d");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "duration '9999999999d' is too long: at most 1000000d (use a shorter one, or none)");
  EXPECT_TRUE(ParseDuration("1000000d").ok());
}

}  // namespace
}  // namespace relay
