#include "base/file_util.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.h"

namespace relay {
namespace {

std::string Write(const testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  std::string path = dir.Join(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(ReadFileCappedTest, ReadsAFileUpToTheCapExactly) {
  testing::TempDir dir;
  std::string path = Write(dir, "ten", "0123456789");
  Result<std::string> r = ReadFileCapped(path, 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "0123456789");
  Result<std::string> empty = ReadFileCapped(Write(dir, "empty", ""), 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(ReadFileCappedTest, OneByteOverTheCapIsRefusedNamingTheLimit) {
  testing::TempDir dir;
  std::string path = Write(dir, "big", std::string(1024 * 1024 + 1, 'x'));
  Result<std::string> r = ReadFileCapped(path, 1024 * 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message(),
            "cannot read " + path + ": larger than 1 MiB, the limit for this file");
}

// /proc files say they are empty: the cap holds while reading, not only
// by the size fstat gives.
TEST(ReadFileCappedTest, TheCapHoldsForFilesThatDoNotTellTheirSize) {
  Result<std::string> whole = ReadFileCapped("/proc/self/status", 1 << 20);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_GT(whole->size(), 16u);
  Result<std::string> capped = ReadFileCapped("/proc/self/status", 16);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().message(),
            "cannot read /proc/self/status: larger than 16 bytes, the limit for this file");
}

TEST(ReadFileCappedTest, DevZeroIsRefusedWithoutReading) {
  Result<std::string> r = ReadFileCapped("/dev/zero", size_t{16} << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message(), "cannot read /dev/zero: is a character device");
}

TEST(ReadFileCappedTest, ADirectoryIsRefused) {
  testing::TempDir dir;
  Result<std::string> r = ReadFileCapped(dir.path(), 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot read " + dir.path() + ": is a directory");
}

// A FIFO with no writer would block a plain open() or read() for ever.
TEST(ReadFileCappedTest, AFifoIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  std::string path = dir.Join("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  Result<std::string> r = ReadFileCapped(path, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot read " + path + ": is a FIFO (named pipe)");
}

TEST(ReadFileCappedTest, ASocketIsRefused) {
  testing::TempDir dir;
  std::string path = dir.Join("sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Result<std::string> r = ReadFileCapped(path, 100);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot read " + path + ": is a socket");
}

TEST(ReadFileCappedTest, AMissingFileIsNotFound) {
  Result<std::string> r = ReadFileCapped("/nonexistent/relay/x.yaml", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(),
            "cannot read /nonexistent/relay/x.yaml: No such file or directory");
}

TEST(FormatByteSizeTest, LargestExactBinaryUnit) {
  EXPECT_EQ(FormatByteSize(size_t{16} << 20), "16 MiB");
  EXPECT_EQ(FormatByteSize(1024 * 1024), "1 MiB");
  EXPECT_EQ(FormatByteSize(1536 * 1024), "1536 KiB");
  EXPECT_EQ(FormatByteSize(2048), "2 KiB");
  EXPECT_EQ(FormatByteSize(uint64_t{3} << 30), "3 GiB");
  EXPECT_EQ(FormatByteSize(1000), "1000 bytes");
  EXPECT_EQ(FormatByteSize(1), "1 byte");
  EXPECT_EQ(FormatByteSize(0), "0 bytes");
}

}  // namespace
}  // namespace relay
