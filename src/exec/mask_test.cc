#include "exec/mask.h"

#include <gtest/gtest.h>

namespace relay::exec {
namespace {

std::string Masked(const Masker& m, std::string_view line) {
  std::string scratch;
  return std::string(m.Apply(line, &scratch));
}

TEST(MaskerTest, NoSecretsReturnsTheLineItselfWithoutCopying) {
  Masker m(std::vector<std::string>{});
  EXPECT_TRUE(m.empty());
  std::string scratch;
  std::string_view line = "token=abc";
  EXPECT_EQ(m.Apply(line, &scratch).data(), line.data());
  EXPECT_TRUE(scratch.empty());
}

TEST(MaskerTest, EmptySecretsAreIgnored) {
  Masker m({"", ""});
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(Masked(m, "abc"), "abc");
}

TEST(MaskerTest, ReplacesEveryOccurrenceOfEverySecret) {
  Masker m({"s3cr3t", "hunter2"});
  EXPECT_EQ(Masked(m, "token=s3cr3t pw=hunter2 again s3cr3t"), "token=*** pw=*** again ***");
  EXPECT_EQ(Masked(m, "s3cr3ts3cr3t"), "******");
  EXPECT_EQ(Masked(m, "nothing here"), "nothing here");
}

TEST(MaskerTest, LongerSecretWinsOverOneItContains) {
  Masker m({"abc", "abcdef"});
  EXPECT_EQ(Masked(m, "xabcdefx abc"), "x***x ***");
}

TEST(MaskerTest, MultiLineSecretIsMaskedLineByLineSkippingShortLines) {
  Masker m({"-----BEGIN KEY-----\nMIIEvQIBADANBg\n}\n-----END KEY-----\n"});
  EXPECT_EQ(Masked(m, "MIIEvQIBADANBg"), "***");
  EXPECT_EQ(Masked(m, "-----BEGIN KEY-----"), "***");
  EXPECT_EQ(Masked(m, "if (x) { y(); }"), "if (x) { y(); }");
}

TEST(MaskerTest, DoesNotMatchAcrossPartialSecret) {
  Masker m({"password"});
  EXPECT_EQ(Masked(m, "passwor d"), "passwor d");
}

}  // namespace
}  // namespace relay::exec
