#include "exec/command_line.h"

#include <gtest/gtest.h>

#include <set>

namespace relay::exec {
namespace {

struct Case {
  const char* line;
  bool plain;
};

TEST(CommandLineTest, DecisionTable) {
  const Case cases[] = {
      {"true", true},
      {"make -j4 CC=gcc all", true},
      {"  ls\t-la  ", true},
      {"./build.sh --flag=1", true},
      {"/usr/bin/env", true},
      {"git log --format=%H -n1 @{u}", false},  // braces
      {"git log --format=%H^ a:b,c+d@e", true},
      {"echo $HOME", false},
      {"echo ${X}", false},
      {"a | b", false},
      {"a && b", false},
      {"a; b", false},
      {"a > out", false},
      {"a < in", false},
      {"(a)", false},
      {"ls *.c", false},
      {"ls ?.c", false},
      {"ls [ab].c", false},
      {"echo ~", false},
      {"echo a#b", false},
      {"echo 'x'", false},
      {"echo \"x\"", false},
      {"echo `id`", false},
      {"echo a\\ b", false},
      {"! true", false},
      {"echo a\nb", false},
      {"echo caf\xc3\xa9", false},  // non-ASCII
      {"FOO=1 make", false},        // assignment
      {"=x", false},
      {"cd dir", false},
      {"export A=1", false},
      {"exit 3", false},
      {"set -e", false},
      {"source env.sh", false},
      {". env.sh", false},
      {": noop", false},
      {"exec prog", false},
      {"ulimit -n 10", false},
      {"if", false},
      {"while", false},
      {"", false},
      {"   \t ", false},
      {"echo hi", true},  // builtins that are also programs stay direct
      {"test -f x", true},
      {"kill -9 1", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsPlainCommand(c.line), c.plain) << "line: " << c.line;
  }
}

TEST(CommandLineTest, BuiltinsAndKeywords) {
  for (const char* w :
       {"cd",   "export", "exit",  "set",   "unset", "source", ".",    ":",     "exec",
        "eval", "ulimit", "umask", "alias", "read",  "wait",   "trap", "shift", "if",
        "for",  "while",  "case",  "until", "then",  "fi",     "done"}) {
    EXPECT_TRUE(IsShellBuiltin(w)) << w;
  }
  for (const char* w : {"true", "false", "echo", "make", "cdx", "sets", ""}) {
    EXPECT_FALSE(IsShellBuiltin(w)) << w;
  }
}

TEST(CommandLineTest, SplitWordsOnSpacesAndTabs) {
  std::vector<std::string_view> words;
  SplitWords("  make\t-j4   all ", &words);
  EXPECT_EQ(words, (std::vector<std::string_view>{"make", "-j4", "all"}));
  words.clear();
  SplitWords("", &words);
  EXPECT_TRUE(words.empty());
}

std::set<std::string>* g_executables;
int g_lookups;

bool FakeIsExecutable(const std::string& path) {
  ++g_lookups;
  return g_executables->count(path) > 0;
}

class ProgramResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_executables = &files_;
    g_lookups = 0;
  }
  std::set<std::string> files_ = {"/opt/bin/tool", "/usr/bin/true", "/usr/local/bin/true"};
  ProgramResolver resolver_{&FakeIsExecutable};
};

TEST_F(ProgramResolverTest, FirstDirectoryOnPathWins) {
  const std::string* p = resolver_.Resolve("/usr/local/bin:/usr/bin", "true");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, "/usr/local/bin/true");
  p = resolver_.Resolve("/usr/bin/:/usr/local/bin", "true");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, "/usr/bin/true");
}

TEST_F(ProgramResolverTest, AnswersAreCachedIncludingNotFound) {
  for (int i = 0; i < 1000; ++i) {
    ASSERT_NE(resolver_.Resolve("/bin:/usr/bin", "true"), nullptr);
    ASSERT_EQ(resolver_.Resolve("/bin:/usr/bin", "nope"), nullptr);
  }
  EXPECT_EQ(g_lookups, 2 + 2);  // true: /bin, /usr/bin; nope: /bin, /usr/bin
}

TEST_F(ProgramResolverTest, CacheIsPerPathValue) {
  EXPECT_EQ(resolver_.Resolve("/usr/bin", "tool"), nullptr);
  const std::string* p = resolver_.Resolve("/opt/bin:/usr/bin", "tool");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, "/opt/bin/tool");
}

TEST_F(ProgramResolverTest, AlternatingPathsKeepTheirOwnAnswers) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(resolver_.Resolve("/usr/bin", "tool"), nullptr);
    const std::string* p = resolver_.Resolve("/opt/bin:/usr/bin", "tool");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, "/opt/bin/tool");
    // A PATH that starts like the last one is still another PATH.
    EXPECT_EQ(resolver_.Resolve("/opt/bin", "true"), nullptr);
  }
  EXPECT_EQ(g_lookups, 1 + 1 + 1);
}

TEST_F(ProgramResolverTest, RelativeAndEmptyPathEntriesAreSkipped) {
  files_.insert("bin/tool");
  files_.insert("tool");
  EXPECT_EQ(resolver_.Resolve("bin::.", "tool"), nullptr);
  EXPECT_EQ(g_lookups, 0);
  EXPECT_EQ(resolver_.Resolve("", "true"), nullptr);
}

}  // namespace
}  // namespace relay::exec
