#include "exec/output_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/file_util.h"

namespace relay::exec {
namespace {

namespace fs = std::filesystem;

// 2023-11-14T22:13:20.123Z
constexpr Micros kT = 1'700'000'000 * kSecond + 123'456;

class OutputLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/relay_output_log_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/logs/a/attempt.log";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Contents() {
    Result<std::string> text = ReadFile(path_);
    return text.ok() ? *text : "<missing>";
  }

  std::string dir_;
  std::string path_;
};

TEST_F(OutputLogTest, WritesTimestampedLinesPerStream) {
  OutputLog log(path_, Masker());
  log.Append(Stream::kOut, "hello\nwor", kT);
  log.Append(Stream::kErr, "oops\n", kT + 2 * kMillisecond);
  log.Append(Stream::kOut, "ld\n", kT + 1 * kSecond);
  EXPECT_EQ(Contents(),
            "2023-11-14T22:13:20.123Z out hello\n"
            "2023-11-14T22:13:20.125Z err oops\n"
            "2023-11-14T22:13:21.123Z out world\n");
  EXPECT_EQ(log.error(), "");
}

TEST_F(OutputLogTest, KeepsPartialLinesOfTheTwoStreamsApart) {
  OutputLog log(path_, Masker());
  log.Append(Stream::kOut, "ab", kT);
  log.Append(Stream::kErr, "xy", kT);
  log.Append(Stream::kOut, "c\n", kT);
  log.EndStream(Stream::kErr, kT);
  EXPECT_EQ(Contents(),
            "2023-11-14T22:13:20.123Z out abc\n"
            "2023-11-14T22:13:20.123Z err xy\n");
}

TEST_F(OutputLogTest, PartialLastLineIsWrittenWhenTheStreamEnds) {
  OutputLog log(path_, Masker());
  log.Append(Stream::kOut, "no newline", kT);
  EXPECT_EQ(Contents(), "<missing>");
  log.EndStream(Stream::kOut, kT);
  log.EndStream(Stream::kOut, kT);  // nothing left: no empty line
  EXPECT_EQ(Contents(), "2023-11-14T22:13:20.123Z out no newline\n");
}

TEST_F(OutputLogTest, EmptyLinesAreKept) {
  OutputLog log(path_, Masker());
  log.Append(Stream::kOut, "\n\n", kT);
  EXPECT_EQ(Contents(), "2023-11-14T22:13:20.123Z out \n2023-11-14T22:13:20.123Z out \n");
}

TEST_F(OutputLogTest, NoFileOrDirectoryUntilTheFirstLine) {
  {
    OutputLog log(path_, Masker());
    log.EndStream(Stream::kOut, kT);
    log.EndStream(Stream::kErr, kT);
  }
  EXPECT_FALSE(fs::exists(dir_ + "/logs"));
}

TEST_F(OutputLogTest, AppendsToAnExistingFile) {
  ASSERT_TRUE(MakeDirs(dir_ + "/logs/a").ok());
  ASSERT_TRUE(WriteFileAtomic(path_, "earlier\n").ok());
  OutputLog log(path_, Masker());
  log.WriteSys("step 2: make", kT);
  EXPECT_EQ(Contents(), "earlier\n2023-11-14T22:13:20.123Z sys step 2: make\n");
}

TEST_F(OutputLogTest, SplitsLinesLongerThanTheLimit) {
  OutputLog log(path_, Masker());
  std::string big(OutputLog::kMaxLine + 10, 'a');
  log.Append(Stream::kOut, big.substr(0, 1000), kT);
  log.Append(Stream::kOut, big.substr(1000) + "\n", kT);
  std::string exact(OutputLog::kMaxLine, 'b');
  log.Append(Stream::kErr, exact + "\n", kT);
  const std::string prefix = "2023-11-14T22:13:20.123Z ";
  EXPECT_EQ(Contents(), prefix + "out " + std::string(OutputLog::kMaxLine, 'a') + "\n" + prefix +
                            "out aaaaaaaaaa\n" + prefix + "err " + exact + "\n");
}

TEST_F(OutputLogTest, MasksSecretsInEveryKindOfLine) {
  OutputLog log(path_, Masker({"s3cr3t"}));
  log.WriteSys("step 1: login --token s3cr3t", kT);
  log.Append(Stream::kOut, "token=s3cr3t\npartial s3c", kT);
  log.Append(Stream::kOut, "r3t", kT);
  log.EndStream(Stream::kOut, kT);
  EXPECT_EQ(Contents(),
            "2023-11-14T22:13:20.123Z sys step 1: login --token ***\n"
            "2023-11-14T22:13:20.123Z out token=***\n"
            "2023-11-14T22:13:20.123Z out partial ***\n");
}

TEST_F(OutputLogTest, EmptyPathDiscards) {
  OutputLog log("", Masker());
  log.Append(Stream::kOut, "x\n", kT);
  log.WriteSys("y", kT);
  EXPECT_EQ(log.error(), "");
}

TEST_F(OutputLogTest, ReportsAFileThatCannotBeCreated) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/file", "").ok());
  OutputLog log(dir_ + "/file/x.log", Masker());
  log.Append(Stream::kOut, "x\n", kT);
  EXPECT_NE(log.error().find("cannot write log " + dir_ + "/file/x.log"), std::string::npos)
      << log.error();
  log.Append(Stream::kOut, "y\n", kT);  // carries on, dropping output
}

}  // namespace
}  // namespace relay::exec
