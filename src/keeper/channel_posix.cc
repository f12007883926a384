#include "keeper/channel_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

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

Channel::Channel(int fd) : fd_(fd), in_(new char[kReadSize]), in_cap_(kReadSize) {
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
  if (read_ > 0) {
    std::memmove(in_.get(), in_.get() + read_, in_len_ - read_);
    in_len_ -= read_;
    read_ = 0;
  }
  while (true) {
    if (in_cap_ - in_len_ < kReadSize / 4) {  // room for a good read: a frame may be large
      std::unique_ptr<char[]> bigger(new char[in_cap_ * 2]);
      std::memcpy(bigger.get(), in_.get(), in_len_);
      in_ = std::move(bigger);
      in_cap_ *= 2;
    }
    const size_t room = in_cap_ - in_len_;
    ssize_t n = ::read(fd_, in_.get() + in_len_, room);
    Io io = Classify(n);
    if (io == Io::kMoved) {
      in_len_ += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < room) return true;  // all there was
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
  if (NextFrame(std::string_view(in_.get(), in_len_), &read_, type, payload, &broken_)) return true;
  if (broken_) Close();
  return false;
}

}  // namespace relay::keeper
