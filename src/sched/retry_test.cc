#include "sched/retry.h"

#include <gtest/gtest.h>

#include "sched/outputs.h"

namespace relay::sched {
namespace {

spec::RetrySpec Policy(int attempts, bool exponential = false) {
  spec::RetrySpec p;
  p.attempts = attempts;
  p.backoff =
      exponential ? spec::RetrySpec::Backoff::kExponential : spec::RetrySpec::Backoff::kFixed;
  p.delay = 2 * kSecond;
  p.max_delay = 10 * kSecond;
  p.jitter = false;
  return p;
}

TEST(Retry, StopsWhenAttemptsAreUsedUp) {
  EXPECT_TRUE(DecideRetry(Policy(3), 1, FailureKind::kFailure, 1, 0.5).retry);
  EXPECT_TRUE(DecideRetry(Policy(3), 2, FailureKind::kFailure, 1, 0.5).retry);
  EXPECT_FALSE(DecideRetry(Policy(3), 3, FailureKind::kFailure, 1, 0.5).retry);
  EXPECT_FALSE(DecideRetry(Policy(1), 1, FailureKind::kTimeout, 1, 0.5).retry);
}

TEST(Retry, FixedAndExponentialDelaysAreCappedByMaxDelay) {
  EXPECT_EQ(DecideRetry(Policy(9), 1, FailureKind::kFailure, 1, 0).delay, 2 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(9), 4, FailureKind::kFailure, 1, 0).delay, 2 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(9, true), 1, FailureKind::kFailure, 1, 0).delay, 2 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(9, true), 2, FailureKind::kFailure, 1, 0).delay, 4 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(9, true), 3, FailureKind::kFailure, 1, 0).delay, 8 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(9, true), 4, FailureKind::kFailure, 1, 0).delay, 10 * kSecond);
  EXPECT_EQ(DecideRetry(Policy(99, true), 90, FailureKind::kFailure, 1, 0).delay, 10 * kSecond);
}

TEST(Retry, JitterStaysWithinAQuarter) {
  auto p = Policy(3);
  p.jitter = true;
  EXPECT_EQ(DecideRetry(p, 1, FailureKind::kFailure, 1, 0.0).delay, 1500 * kMillisecond);
  EXPECT_EQ(DecideRetry(p, 1, FailureKind::kFailure, 1, 0.999999).delay / kMillisecond, 2499);
}

TEST(Retry, OnlyTheKindsAndExitCodesAsked) {
  auto p = Policy(3);
  p.on_timeout = false;
  EXPECT_FALSE(DecideRetry(p, 1, FailureKind::kTimeout, 0, 0).retry);
  p.exit_codes = {75, 111};
  EXPECT_TRUE(DecideRetry(p, 1, FailureKind::kFailure, 75, 0).retry);
  EXPECT_FALSE(DecideRetry(p, 1, FailureKind::kFailure, 1, 0).retry);
}

TEST(Retry, LostAttemptsDoNotUseUpAttempts) {
  auto p = Policy(1);
  EXPECT_TRUE(DecideRetry(p, 1, FailureKind::kLost, -1, 0).retry);
  EXPECT_EQ(DecideRetry(p, 5, FailureKind::kLost, -1, 0).delay, 0);
  p.on_lost = false;
  EXPECT_FALSE(DecideRetry(p, 1, FailureKind::kLost, -1, 0).retry);
}

TEST(Outputs, KeyValueAndMultilineForms) {
  auto parsed =
      ParseOutputs("version=1.2.3\nnote<<EOF\nline one\nline=two\nEOF\n\nversion=1.2.4\nother=x\n",
                   {"version", "note", "missing"});
  EXPECT_EQ(parsed.error, "");
  const auto& o = parsed.values;
  EXPECT_EQ(o["version"], "1.2.4");
  EXPECT_EQ(o["note"], "line one\nline=two");
  EXPECT_EQ(o["missing"], "");
  EXPECT_FALSE(o.contains("other"));
  EXPECT_EQ(ParseOutputs("a=b=c\r\n", {}).values["a"], "b=c");
}

TEST(Outputs, ABadLineIsMaskedBeforeItIsCutAndCutOnACharacter) {
  exec::Masker mask({"abcdefghijklmnopqrstuvwxyz0123456789"});
  std::string line =
      "this line has no equals sign and the token abcdefghijklmnopqrstuvwxyz0123456789";
  EXPECT_EQ(ParseOutputs(line + "\n", {"x"}, &mask).error,
            "$RELAY_OUTPUT line 1: expected NAME=VALUE or NAME<<DELIMITER, got "
            "'this line has no equals sign and the token ***'");
  // "é" straddles byte 60; a byte that is not UTF-8 becomes U+FFFD.
  std::string wide = std::string(59, 'x') + "\xc3\xa9 tail";
  EXPECT_EQ(ParseOutputs(wide + "\n", {}).error,
            "$RELAY_OUTPUT line 1: expected NAME=VALUE or NAME<<DELIMITER, got '" +
                std::string(59, 'x') + "…'");
  // Names and delimiters are the step's bytes too.
  EXPECT_EQ(ParseOutputs("k\xff<<\n", {}).error,
            "$RELAY_OUTPUT line 1: no delimiter after '<<' in 'k\uFFFD<<'");
  EXPECT_EQ(ParseOutputs(std::string("k\xfe=a\0b\n", 7), {}).error,
            "$RELAY_OUTPUT line 1: the value of 'k\uFFFD' holds a NUL byte, which no command can "
            "take");
  EXPECT_EQ(ParseOutputs("bad \xff line\n", {}).error,
            "$RELAY_OUTPUT line 1: expected NAME=VALUE or NAME<<DELIMITER, got 'bad \uFFFD line'");
}

TEST(Outputs, NamesMatchIgnoringCaseUnderTheDeclaredSpelling) {
  auto o = ParseOutputs("Version=2\nNOTE<<X\nn\nX\n", {"version", "note"}).values;
  EXPECT_EQ(o["version"], "2");
  EXPECT_EQ(o["note"], "n");
  EXPECT_FALSE(o.contains("Version"));
}

TEST(Outputs, AMalformedFileIsAnErrorNotASwallowedValue) {
  EXPECT_EQ(ParseOutputs("x<<END\nzzz\nlast=1\n", {"x", "last"}).error,
            "$RELAY_OUTPUT line 1: 'x<<END' is never closed by a line 'END'");
  EXPECT_EQ(ParseOutputs("ok=1\njust words\n", {"ok"}).error,
            "$RELAY_OUTPUT line 2: expected NAME=VALUE or NAME<<DELIMITER, got 'just words'");
  EXPECT_EQ(ParseOutputs("=v\n", {}).error, "$RELAY_OUTPUT line 1: no name before '=' in '=v'");
  EXPECT_EQ(ParseOutputs(std::string("x=a\0b\n", 6), {"x"}).error,
            "$RELAY_OUTPUT line 1: the value of 'x' holds a NUL byte, which no command can take");
  EXPECT_EQ(ParseOutputs("k<<\n", {}).error,
            "$RELAY_OUTPUT line 1: no delimiter after '<<' in 'k<<'");
}

}  // namespace
}  // namespace relay::sched
