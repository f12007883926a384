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

TEST_F(OutputLogTest, MasksASecretAcrossTheLongLineCutAtEveryOffset) {
  const std::string secret = "s3cr3t";
  const std::string prefix = "2023-11-14T22:13:20.123Z out ";
  for (size_t before = OutputLog::kMaxLine - secret.size(); before <= OutputLog::kMaxLine;
       ++before) {
    fs::remove(path_);
    OutputLog log(path_, Masker({secret}));
    log.Append(Stream::kOut, std::string(before, 'a') + secret + "bbbbbbbb\n", kT);
    // Cut after masking: the pieces count masked bytes.
    std::string masked = std::string(before, 'a') + "***bbbbbbbb";
    EXPECT_EQ(Contents(), prefix + masked.substr(0, OutputLog::kMaxLine) + "\n" + prefix +
                              masked.substr(OutputLog::kMaxLine) + "\n")
        << "secret at " << before;
  }
}

TEST_F(OutputLogTest, MasksASecretSplitBetweenReadsOfALongLine) {
  // Reads of 64 KiB, as the runner does, with the secret across the first
  // read's end, which is also where an unmasked cut would fall.
  const std::string secret = "hunter2-token";
  std::string line = std::string(OutputLog::kMaxLine - 5, 'x') + secret + std::string(70000, 'y');
  std::string masked = std::string(OutputLog::kMaxLine - 5, 'x') + "***" + std::string(70000, 'y');
  for (size_t read : {size_t{OutputLog::kMaxLine}, size_t{OutputLog::kMaxLine - 3}, size_t{7}}) {
    fs::remove(path_);
    OutputLog log(path_, Masker({secret}));
    for (size_t off = 0; off < line.size(); off += read) {
      log.Append(Stream::kErr, std::string_view(line).substr(off, read), kT);
    }
    log.EndStream(Stream::kErr, kT);
    std::string want;
    for (size_t off = 0; off < masked.size(); off += OutputLog::kMaxLine) {
      want += "2023-11-14T22:13:20.123Z err " + masked.substr(off, OutputLog::kMaxLine) + "\n";
    }
    EXPECT_EQ(Contents(), want) << "reads of " << read;
    EXPECT_EQ(Contents().find("hunter"), std::string::npos);
  }
}

TEST_F(OutputLogTest, HeldBackBytesAreWrittenWhenTheLineOrStreamEnds) {
  OutputLog log(path_, Masker({"s3cr3t"}));
  log.Append(Stream::kOut, "tail s3cr", kT);
  log.Append(Stream::kErr, "s3", kT);
  log.Append(Stream::kOut, "\nnext s3", kT);
  log.EndStream(Stream::kOut, kT);
  log.Append(Stream::kErr, "cr3t!\n", kT);
  EXPECT_EQ(Contents(),
            "2023-11-14T22:13:20.123Z out tail s3cr\n"
            "2023-11-14T22:13:20.123Z out next s3\n"
            "2023-11-14T22:13:20.123Z err ***!\n");
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
