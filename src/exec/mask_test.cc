#include "exec/mask.h"

#include <gtest/gtest.h>

#include <random>

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

TEST(MaskerTest, OverlappingOccurrencesAreMaskedWhole) {
  Masker m({"abc", "cde"});
  EXPECT_EQ(Masked(m, "xabcdex"), "x***x");  // not "x***dex": "cde" is secret too
  EXPECT_EQ(Masked(m, "abc cde abcde"), "*** *** ***");
  Masker self({"abab"});
  EXPECT_EQ(Masked(self, "xabababx"), "x***x");
  EXPECT_EQ(Masked(self, "ababab"), "***");
}

TEST(MaskerTest, SecretsOfAnyBytes) {
  Masker m({std::string("a\0b", 3), "\xff\xfe*"});
  EXPECT_EQ(Masked(m, std::string("1a\0b2\xff\xfe*3", 9)), "1***2***3");
  EXPECT_EQ(Masked(m, std::string("a\0c", 3)), std::string("a\0c", 3));
}

// Feeds `text` to a MaskStream in pieces of the given sizes (cycled).
std::string Streamed(const Masker& m, std::string_view text, std::vector<size_t> sizes) {
  MaskStream stream(&m);
  std::string out;
  for (size_t i = 0; !text.empty(); ++i) {
    size_t n = std::min(text.size(), sizes[i % sizes.size()]);
    stream.Feed(text.substr(0, n), &out);
    text.remove_prefix(n);
  }
  stream.Finish(&out);
  return out;
}

TEST(MaskStreamTest, SecretSplitBetweenFeedsAtEveryPosition) {
  Masker m({"s3cr3t"});
  const std::string text = "token=s3cr3t;";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    MaskStream stream(&m);
    std::string out;
    stream.Feed(std::string_view(text).substr(0, cut), &out);
    stream.Feed(std::string_view(text).substr(cut), &out);
    stream.Finish(&out);
    EXPECT_EQ(out, "token=***;") << "cut at " << cut;
  }
  EXPECT_EQ(Streamed(m, text, {1}), "token=***;");
}

TEST(MaskStreamTest, PassesTextOnOnceItCannotBeASecret) {
  Masker m({"s3cr3t"});
  MaskStream stream(&m);
  std::string out;
  stream.Feed("hello s3c", &out);
  EXPECT_EQ(out, "hello ");  // "s3c" may be the start of the secret
  EXPECT_EQ(stream.held(), 3u);
  stream.Feed("ret", &out);  // it was not
  EXPECT_EQ(out, "hello s3cret");
  EXPECT_EQ(stream.held(), 0u);
  stream.Feed(" s3cr3", &out);
  stream.Finish(&out);  // the line ended: the prefix is plain text
  EXPECT_EQ(out, "hello s3cret s3cr3");
  EXPECT_FALSE(stream.masked());
  stream.Feed("3t s3cr3t", &out);  // a new line does not continue the old one
  stream.Finish(&out);
  EXPECT_EQ(out, "hello s3cret s3cr33t ***");
  EXPECT_TRUE(stream.masked());
}

TEST(MaskStreamTest, WithoutSecretsHoldsNothing) {
  Masker m;
  MaskStream stream(&m);
  std::string out;
  stream.Feed("abc", &out);
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(stream.held(), 0u);
}

TEST(MaskStreamTest, EndlessOverlappingRunIsPassedOnMaskedAndBounded) {
  Masker m({"aa"});
  MaskStream stream(&m);
  std::string out;
  size_t max_held = 0;
  for (int i = 0; i < 100; ++i) {
    stream.Feed(std::string(1000, 'a'), &out);
    max_held = std::max(max_held, stream.held());
  }
  stream.Finish(&out);
  EXPECT_LE(max_held, MaskStream::kMaxHeldRun + 1000);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.find_first_not_of('*'), std::string::npos) << out.substr(0, 100);
}

// The masked form by brute force: every byte of every occurrence (at every
// position) hidden, overlapping occurrences merged.
std::string Reference(std::string_view text, const std::vector<std::string>& secrets) {
  std::vector<size_t> ends(text.size(), 0);  // per start: furthest end
  for (const std::string& s : secrets) {
    for (size_t i = text.find(s); i != std::string_view::npos; i = text.find(s, i + 1)) {
      ends[i] = std::max(ends[i], i + s.size());
    }
  }
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (ends[i] == 0) {
      out += text[i++];
      continue;
    }
    size_t end = ends[i];
    for (size_t j = i; j < end; ++j) end = std::max(end, ends[j]);
    out += "***";
    i = end;
  }
  return out;
}

TEST(MaskStreamTest, AgreesWithBruteForceInAnyPieces) {
  std::mt19937 rng(42);
  auto word = [&](size_t n) {
    std::string w;
    for (size_t i = 0; i < n; ++i) w += static_cast<char>('a' + rng() % 3);
    return w;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> secrets;
    for (int i = 0, k = 1 + static_cast<int>(rng() % 3); i < k; ++i)
      secrets.push_back(word(1 + rng() % 5));
    std::string text = word(rng() % 60);
    Masker m(secrets);
    std::string want = Reference(text, secrets);
    EXPECT_EQ(Masked(m, text), want) << text;
    EXPECT_EQ(Streamed(m, text, {1 + rng() % 7, 1 + rng() % 7}), want) << text;
  }
}

TEST(MaskStreamTest, LinearOnPathologicalInput) {
  // A naive search compares up to 4 KiB at each of the 256 Ki positions.
  Masker m({std::string(4096, 'a') + "b"});
  std::string text(256 << 10, 'a');
  std::string out;
  MaskStream stream(&m);
  stream.Feed(text, &out);
  stream.Feed("b", &out);
  stream.Finish(&out);
  EXPECT_EQ(out, std::string((256 << 10) - 4096, 'a') + "***");
}

}  // namespace
}  // namespace relay::exec
