#include "cli/log_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace relay::cli {
namespace {

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

LogFollower::LogFollower(std::FILE* out) : out_(out), buffer_(new char[kLogChunk]) {}

Status LogFollower::Write(const char* data, size_t n) {
  if (n == 0) return Status::Ok();
  if (std::fwrite(data, 1, n, out_) == n) return Status::Ok();
  int err = errno;
  if (err == EPIPE) output_gone_ = true;
  return Status::FromErrno("cannot write the log to standard output", err);
}

Status LogFollower::Flush() {
  if (std::fflush(out_) == 0) return Status::Ok();
  int err = errno;
  if (err == EPIPE) output_gone_ = true;
  return Status::FromErrno("cannot write the log to standard output", err);
}

Status LogFollower::CopyWhole(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno("cannot read log " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot read log " + path, errno);
  // What the log held when asked: a task still writing cannot keep this
  // copy going forever (that is what -f is for).
  uint64_t left = static_cast<uint64_t>(st.st_size);
  while (left > 0) {
    ssize_t n = ::read(fd.get(), buffer_.get(), std::min<uint64_t>(kLogChunk, left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("cannot read log " + path, errno);
    if (n == 0) break;  // cut shorter meanwhile
    RELAY_RETURN_IF_ERROR(Write(buffer_.get(), static_cast<size_t>(n)));
    left -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status LogFollower::Poll(const std::string& path, const std::string& prefix) {
  auto [it, added] = cursors_.try_emplace(path);
  Cursor& c = it->second;
  if (added) c.prefix = prefix;
  if (c.finished) return Status::Ok();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::Ok();  // no output yet
    return Status::FromErrno("cannot read log " + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot read log " + path, errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!c.seen || st.st_dev != c.dev || st.st_ino != c.ino || size < c.offset) {
    // Another file, or this one cut: what was read of the old text ends
    // here, and the new text is read from its start.
    if (c.seen) RELAY_RETURN_IF_ERROR(EndLine(c));
    c.seen = true;
    c.dev = st.st_dev;
    c.ino = st.st_ino;
    c.offset = 0;
  }
  while (c.offset < size) {
    ssize_t n = ::pread(fd.get(), buffer_.get(), std::min<uint64_t>(kLogChunk, size - c.offset),
                        static_cast<off_t>(c.offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("cannot read log " + path, errno);
    if (n == 0) break;  // cut shorter meanwhile: the next Poll sees it
    c.offset += static_cast<uint64_t>(n);
    RELAY_RETURN_IF_ERROR(Emit(c, buffer_.get(), static_cast<size_t>(n)));
  }
  return Status::Ok();
}

Status LogFollower::Emit(Cursor& c, const char* data, size_t n) {
  if (c.prefix.empty()) return Write(data, n);
  while (n > 0) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
    if (nl == nullptr) {
      if (c.mid_line) return Write(data, n);
      c.held.append(data, n);
      if (c.held.size() >= kMaxHeldLine) {
        // Too long to wait for: let it out, and the rest of the line after it.
        RELAY_RETURN_IF_ERROR(Write(c.prefix.data(), c.prefix.size()));
        RELAY_RETURN_IF_ERROR(Write(c.held.data(), c.held.size()));
        c.held.clear();
        c.held.shrink_to_fit();
        c.mid_line = true;
      }
      return Status::Ok();
    }
    size_t len = static_cast<size_t>(nl - data) + 1;
    if (!c.mid_line) {
      RELAY_RETURN_IF_ERROR(Write(c.prefix.data(), c.prefix.size()));
      RELAY_RETURN_IF_ERROR(Write(c.held.data(), c.held.size()));
      c.held.clear();
      // One long line must not leave every log it passed through holding
      // its size for good.
      if (c.held.capacity() > kLogChunk) c.held.shrink_to_fit();
    }
    RELAY_RETURN_IF_ERROR(Write(data, len));
    c.mid_line = false;
    data += len;
    n -= len;
  }
  return Status::Ok();
}

Status LogFollower::EndLine(Cursor& c) {
  if (!c.held.empty()) {
    RELAY_RETURN_IF_ERROR(Write(c.prefix.data(), c.prefix.size()));
    RELAY_RETURN_IF_ERROR(Write(c.held.data(), c.held.size()));
    c.held.clear();
    c.held.shrink_to_fit();
    RELAY_RETURN_IF_ERROR(Write("\n", 1));
  } else if (c.mid_line) {
    RELAY_RETURN_IF_ERROR(Write("\n", 1));
  }
  c.mid_line = false;
  return Status::Ok();
}

void LogFollower::Finish(const std::string& path) {
  auto it = cursors_.find(path);
  if (it == cursors_.end() || it->second.finished) return;
  (void)EndLine(it->second);  // a failed write shows in output_gone() or the next Flush
  it->second.finished = true;
}

void LogFollower::FinishAll() {
  for (auto& [path, c] : cursors_) Finish(path);
}

bool LogFollower::finished(const std::string& path) const {
  auto it = cursors_.find(path);
  return it != cursors_.end() && it->second.finished;
}

}  // namespace relay::cli
