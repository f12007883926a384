#include "cli/log_follower.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace relay::cli {
namespace {

// Collects what a LogFollower writes.
class Captured {
 public:
  Captured() : file_(std::tmpfile()) {}
  ~Captured() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  // Everything written since the last call.
  std::string Take() {
    std::fflush(file_);
    long end = std::ftell(file_);
    std::string all(static_cast<size_t>(end), '\0');
    std::rewind(file_);
    size_t n = std::fread(all.data(), 1, all.size(), file_);
    all.resize(n);
    std::string fresh = all.substr(taken_);
    taken_ = all.size();
    std::fseek(file_, 0, SEEK_END);
    return fresh;
  }

 private:
  std::FILE* file_;
  size_t taken_ = 0;
};

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}
void Replace(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class LogFollowerTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string log_ = dir_.Join("a.log");
  Captured out_;
  LogFollower follower_{out_.file()};
};

TEST_F(LogFollowerTest, CopiesAWholeLogLargerThanItsBuffer) {
  std::string text;
  for (int i = 0; text.size() < 3 * kLogChunk + 17; ++i)
    text += "line " + std::to_string(i) + std::string(i % 97, 'x') + '\0' + "\n";
  text += "no newline";
  Replace(log_, text);
  ASSERT_TRUE(follower_.CopyWhole(log_).ok());
  EXPECT_EQ(out_.Take(), text);
}

TEST_F(LogFollowerTest, CopyOfAMissingLogIsNotFound) {
  Status s = follower_.CopyWhole(dir_.Join("none.log"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("none.log"), std::string::npos) << s.message();
}

TEST_F(LogFollowerTest, PollWritesOnlyWhatWasAppended) {
  ASSERT_TRUE(follower_.Poll(log_, "").ok());  // not there yet
  EXPECT_EQ(out_.Take(), "");
  Append(log_, "one\ntw");
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "one\ntw");
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "");
  std::string big(2 * kLogChunk + 5, 'b');
  Append(log_, "o\n" + big);
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "o\n" + big);
}

TEST_F(LogFollowerTest, ALogCutShorterIsReadAgainFromItsStart) {
  Append(log_, "a long first line\n");
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "a long first line\n");
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  Append(log_, "new\n");
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "new\n");
}

TEST_F(LogFollowerTest, AReplacedLogIsReadAgainFromItsStart) {
  Append(log_, "old\n");
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "old\n");
  // Longer than what was read, so only the file's identity tells.
  std::string fresh = log_ + ".new";
  Replace(fresh, "replacement\n");
  ASSERT_EQ(std::rename(fresh.c_str(), log_.c_str()), 0);
  ASSERT_TRUE(follower_.Poll(log_, "").ok());
  EXPECT_EQ(out_.Take(), "replacement\n");
}

TEST_F(LogFollowerTest, PrefixedLinesAreWholeAndUnfinishedOnesWait) {
  Append(log_, "one\ntw");
  ASSERT_TRUE(follower_.Poll(log_, "t | ").ok());
  EXPECT_EQ(out_.Take(), "t | one\n");
  Append(log_, "o\nthr");
  ASSERT_TRUE(follower_.Poll(log_, "t | ").ok());
  EXPECT_EQ(out_.Take(), "t | two\n");
  // The log will not grow: its unfinished line is let out, ended.
  follower_.Finish(log_);
  EXPECT_EQ(out_.Take(), "t | thr\n");
  EXPECT_TRUE(follower_.finished(log_));
  Append(log_, "ee\n");
  ASSERT_TRUE(follower_.Poll(log_, "t | ").ok());
  EXPECT_EQ(out_.Take(), "");
}

TEST_F(LogFollowerTest, APrefixedLineTooLongToHoldIsLetOut) {
  std::string huge(kMaxHeldLine + 10, 'h');
  Append(log_, huge);
  ASSERT_TRUE(follower_.Poll(log_, "t | ").ok());
  EXPECT_EQ(out_.Take(), "t | " + huge);
  Append(log_, "tail\nnext\n");
  ASSERT_TRUE(follower_.Poll(log_, "t | ").ok());
  EXPECT_EQ(out_.Take(), "tail\nt | next\n");
}

TEST_F(LogFollowerTest, EachLogKeepsItsOwnPlace) {
  std::string other = dir_.Join("b.log");
  Append(log_, "a1\n");
  Append(other, "b1\n");
  ASSERT_TRUE(follower_.Poll(log_, "a | ").ok());
  ASSERT_TRUE(follower_.Poll(other, "b | ").ok());
  Append(other, "b2\n");
  ASSERT_TRUE(follower_.Poll(log_, "a | ").ok());
  ASSERT_TRUE(follower_.Poll(other, "b | ").ok());
  EXPECT_EQ(out_.Take(), "a | a1\nb | b1\nb | b2\n");
}

TEST(LogFollowerOutput, AReaderThatLeftIsToldApart) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  std::FILE* out = ::fdopen(fds[1], "w");
  ASSERT_NE(out, nullptr);
  testing::TempDir dir;
  std::string log = dir.Join("a.log");
  Append(log, std::string(kLogChunk, 'x'));
  LogFollower follower(out);
  // SIGPIPE is ignored by relay's main; here the test ignores it.
  auto old = std::signal(SIGPIPE, SIG_IGN);
  Status s = follower.CopyWhole(log);
  if (s.ok()) s = follower.Flush();
  std::signal(SIGPIPE, old);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(follower.output_gone());
  std::fclose(out);
}

}  // namespace
}  // namespace relay::cli
