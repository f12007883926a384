// Private to keeper: one end of a relay ↔ keeper connection carrying
// frames (keeper/protocol.h) over a non-blocking unix stream socket.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keeper/protocol.h"

namespace relay::keeper {

class Channel {
 public:
  // Takes ownership of `fd` and makes it non-blocking.
  explicit Channel(int fd);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close();

  // Frames to send are appended here; Send writes them.
  std::string* out() { return &out_; }
  bool wants_send() const { return sent_ < out_.size(); }
  // Writes what the socket takes now. False when the peer is gone (then the
  // channel is closed and what was not sent is dropped).
  bool Send();
  // Send until all is written, reading meanwhile so that a peer blocked on
  // writing to us cannot deadlock both. False when the peer is gone.
  bool SendAll();

  // Reads what has arrived. False when the peer closed, failed or sent a
  // broken frame (then the channel is closed; frames already read stay
  // readable by Next).
  bool Receive();
  // The next whole frame received; its payload stays valid until the next
  // Receive or SendAll.
  bool Next(Frame* type, std::string_view* payload);

 private:
  int fd_;
  std::string out_;
  size_t sent_ = 0;
  // What was read: bytes [0, in_len_) of in_, of which frames before
  // read_ were handed out. Reads land here directly, without a copy.
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0;
  size_t in_len_ = 0;
  size_t read_ = 0;
  bool broken_ = false;
};

}  // namespace relay::keeper
