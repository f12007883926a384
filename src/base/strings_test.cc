#include "base/strings.h"

#include <gtest/gtest.h>

namespace relay {
namespace {

// "é" is the two bytes c3 a9: a cut must never fall between them.
TEST(Utf8Test, PrefixAndSuffixNeverSplitACharacter) {
  const std::string s =
      "ab\xc3\xa9"
      "cd";  // a b é c d
  EXPECT_EQ(Utf8Prefix(s, 3), "ab");
  EXPECT_EQ(Utf8Prefix(s, 4), "ab\xc3\xa9");
  EXPECT_EQ(Utf8Prefix(s, 10), s);
  EXPECT_EQ(Utf8Suffix(s, 3), "cd");
  EXPECT_EQ(Utf8Suffix(s, 4),
            "\xc3\xa9"
            "cd");
  EXPECT_EQ(Utf8Suffix(s, 10), s);
}

TEST(Utf8Test, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(ToValidUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b\xfe"),
            "a\uFFFD"
            "b\uFFFD");
  EXPECT_EQ(ToValidUtf8(""), "");
}

}  // namespace
}  // namespace relay
