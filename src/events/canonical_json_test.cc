#include "events/canonical_json.h"

#include <gtest/gtest.h>

namespace relay::events::canonical {
namespace {

TEST(CanonicalJsonTest, SplitsArraysAndObjectsIntoExactTexts) {
  std::vector<std::string_view> items;
  ASSERT_TRUE(SplitArray(R"([1, "a,b", {"k":[1,{"x":"]"}]}, -7, true, null])", &items));
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(items[1], R"("a,b")");
  EXPECT_EQ(items[2], R"({"k":[1,{"x":"]"}]})");
  EXPECT_EQ(items[3], "-7");
  ASSERT_TRUE(SplitArray("[]", &items));
  EXPECT_TRUE(items.empty());

  std::vector<std::pair<std::string_view, std::string_view>> members;
  ASSERT_TRUE(SplitObject(R"({"a":1,"b\"c":"x","o":{"p":[]}})", &members));
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[1].first, R"("b\"c")");
  EXPECT_EQ(members[1].second, R"("x")");
  EXPECT_EQ(members[2].second, R"({"p":[]})");
}

TEST(CanonicalJsonTest, RefusesWhatIsNotOneValue) {
  std::vector<std::string_view> items;
  std::vector<std::pair<std::string_view, std::string_view>> members;
  for (const char* bad : {"", "[", "[1,]", "[1 2]", "[1] [2]", R"(["unterminated])", "{}"})
    EXPECT_FALSE(SplitArray(bad, &items)) << bad;
  for (const char* bad : {"{", R"({"a"})", R"({"a":})", R"({a:1})", R"({"a":1,})", "[]"})
    EXPECT_FALSE(SplitObject(bad, &members)) << bad;
  // Nesting relay never writes is refused rather than followed to the end.
  EXPECT_FALSE(SplitArray(std::string(200, '[') + std::string(200, ']'), &items));
}

TEST(CanonicalJsonTest, ReadsStringsWithEveryEscapeAndRawBytes) {
  std::string out;
  ASSERT_TRUE(ReadString(R"("a\"b\\c\/\b\f\n\r\t\u0001\u00e9\ud83d\ude00")", &out));
  EXPECT_EQ(out, "a\"b\\c/\b\f\n\r\t\x01\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_TRUE(ReadString("\"\xff raw\"", &out));
  EXPECT_EQ(out, "\xff raw");
  EXPECT_FALSE(ReadString(R"("\x")", &out));
  EXPECT_FALSE(ReadString(R"("\u12")", &out));
  EXPECT_FALSE(ReadString("plain", &out));
}

TEST(CanonicalJsonTest, ReadsIntegersOnly) {
  int64_t v;
  ASSERT_TRUE(ReadInt("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ReadInt("9223372036854775808", &v));
  EXPECT_FALSE(ReadInt("1.5", &v));
  EXPECT_FALSE(ReadInt("1e3", &v));
  EXPECT_FALSE(ReadInt("", &v));
  EXPECT_FALSE(ReadInt("\"1\"", &v));
}

}  // namespace
}  // namespace relay::events::canonical

namespace relay::events::canonical {
namespace {

TEST(CanonicalJsonTest, OnlyOneSpellingOfAValueIsCanonical) {
  for (const char* yes : {R"({})", R"({"a":1,"b":{"c":[true,false,"x"]}})", R"("\u0001é")", "-7",
                          "0", R"({"":1,"a":2})"}) {
    EXPECT_TRUE(IsCanonical(yes)) << yes;
  }
  for (const char* no :
       {R"({"b":1,"a":2})", R"({"a":1,"a":1})", R"({ "a":1})", R"({"a": 1})", R"("\u0041")",
        R"("\/")", R"("\u001F")", "01", "-0", "1.0", "1e3", "null", R"([1, 2])", ""}) {
    EXPECT_FALSE(IsCanonical(no)) << no;
  }
}

}  // namespace
}  // namespace relay::events::canonical
