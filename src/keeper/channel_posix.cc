#include "keeper/channel_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace relay::keeper {
namespace {

constexpr size_t kReadSize = 64 * 1024;

// What a non-blocking send or read that returned `n` means.
enum class Io { kMoved, kInterrupted, kWouldBlock, kGone };

Io Classify(ssize_t n) {
  if (n > 0) return Io::kMoved;
  if (n < 0 && errno == EINTR) return Io::kInterrupted;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::kWouldBlock;
  return Io::kGone;  // end of stream, or the peer failed
}

}  // namespace

Channel::Channel(int fd) : fd_(fd), buf_(new char[kReadSize]) {
  if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Channel::~Channel() { Close(); }

void Channel::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  out_.clear();
  sent_ = 0;
}

bool Channel::Send() {
  while (fd_ >= 0 && sent_ < out_.size()) {
    // MSG_NOSIGNAL: a peer that died must not kill us with SIGPIPE.
    ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    Io io = Classify(n);
    if (io == Io::kMoved) sent_ += static_cast<size_t>(n);
    if (io == Io::kWouldBlock) return true;
    if (io == Io::kGone) {
      Close();
      return false;
    }
  }
  if (fd_ < 0) return false;
  out_.clear();
  sent_ = 0;
  return true;
}

bool Channel::SendAll() {
  while (Send() && wants_send()) {
    pollfd p{fd_, POLLOUT | POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
    if ((p.revents & POLLIN) != 0 && !Receive()) return false;
  }
  return open();
}

bool Channel::Receive() {
  if (fd_ < 0) return false;
  // Frames handed out are dropped only now, when the caller is done with them.
  if (read_ == in_.size()) {
    in_.clear();
  } else if (read_ > 0) {
    in_.erase(0, read_);
  }
  read_ = 0;
  while (true) {
    ssize_t n = ::read(fd_, buf_.get(), kReadSize);
    Io io = Classify(n);
    if (io == Io::kMoved) {
      in_.append(buf_.get(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < kReadSize) return true;  // all there was
    }
    if (io == Io::kWouldBlock) return true;
    if (io == Io::kGone) {
      Close();
      return false;
    }
  }
}

bool Channel::Next(Frame* type, std::string_view* payload) {
  if (broken_) return false;
  if (NextFrame(in_, &read_, type, payload, &broken_)) return true;
  if (broken_) Close();
  return false;
}

}  // namespace relay::keeper
