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
