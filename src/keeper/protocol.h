// The frames relay and its keeper exchange over a unix stream socket (a
// socket pair for the relay that forked the keeper, the rendezvous socket
// for a relay that adopts). Each frame is
//
//   u32 length (of what follows) · u8 type · payload
//
// with integers little-endian and strings as u32 length + bytes. Frames
// are batched: relay writes all the frames of one loop iteration at once,
// and the keeper all those of one of its own.
//
// relay → keeper                          keeper → relay
//   kHello    version (adopters only)       kWelcome   version, keeper pid
//   kMasker   id, secrets                   kStarted   token, pid, pgid
//   kDropMasker id                          kFinished  AttemptResult
//   kStart    masker id, AttemptSpec        kAdopted   token, outcome, pid, pgid,
//   kCancel   token                                    AttemptResult
//   kKillAll
//   kAck      tokens
//   kAdopt    token, AttemptKey
//
// A keeper answers a kHello of another version with its kWelcome and
// closes; both ends of a socket pair are the same binary and skip it. The
// type numbers are on the wire between binaries of different versions (an
// old keeper, a new relay): do not renumber.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exec/runner.h"

namespace relay::keeper {

inline constexpr uint32_t kProtocolVersion = 1;
// A frame longer than this is a broken peer, not a big spec.
inline constexpr uint32_t kMaxFrame = 256u << 20;

// Numbered in order from 1 (relay → keeper) and from 16 (keeper → relay);
// new types are appended to their group.
enum class Frame : uint8_t {
  kHello = 1,
  kMasker,
  kDropMasker,
  kStart,
  kCancel,
  kKillAll,
  kAck,
  kAdopt,
  kWelcome = 16,
  kStarted,
  kFinished,
  kAdopted,
};
static_assert(static_cast<int>(Frame::kAdopt) == 8 && static_cast<int>(Frame::kAdopted) == 19);

// Appends one frame to a buffer: Begin, the fields, End. The frame is
// built on the stack (on the heap past kInline bytes) and appended whole,
// since these writes are on every attempt's path.
class FrameWriter {
 public:
  static constexpr size_t kInline = 2048;

  explicit FrameWriter(std::string* out) : out_(out) {}
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  void Begin(Frame type) {
    buf_ = inline_;
    cap_ = kInline;
    cur_ = buf_ + 4;  // the length, written by End
    *cur_++ = static_cast<char>(type);
  }
  void End();
  void U8(uint8_t v) {
    Ensure(1);
    *cur_++ = static_cast<char>(v);
  }
  void U32(uint32_t v) { Put(v); }
  void U64(uint64_t v) { Put(v); }
  void I32(int32_t v) { Put(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { Put(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    Ensure(4 + s.size());
    Store(static_cast<uint32_t>(s.size()), cur_);
    if (!s.empty()) std::memcpy(cur_ + 4, s.data(), s.size());
    cur_ += 4 + s.size();
  }

  // Little-endian, as on every host relay runs on; elsewhere byte by byte.
  template <typename T>
  static void Store(T v, char* at) {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(at, &v, sizeof v);
    } else {
      for (size_t i = 0; i < sizeof(T); ++i) at[i] = static_cast<char>(v >> (8 * i));
    }
  }

 private:
  template <typename T>
  void Put(T v) {
    Ensure(sizeof v);
    Store(v, cur_);
    cur_ += sizeof v;
  }
  void Ensure(size_t n) {
    if (static_cast<size_t>(buf_ + cap_ - cur_) < n) Grow(n);
  }
  void Grow(size_t n);

  std::string* out_;
  char* buf_ = nullptr;  // inline_ or heap_
  size_t cap_ = 0;
  char* cur_ = nullptr;
  std::unique_ptr<char[]> heap_;
  char inline_[kInline];
};

// Reads the fields of one frame's payload. Reading past its end yields
// zeros and empty strings and makes ok() false, so a caller checks once.
class FrameReader {
 public:
  explicit FrameReader(std::string_view payload) : in_(payload) {}
  uint8_t U8() {
    const char* at = in_.data();
    return Take(1) ? static_cast<uint8_t>(*at) : 0;
  }
  uint32_t U32() { return Get<uint32_t>(); }
  uint64_t U64() { return Get<uint64_t>(); }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string_view Str() {
    uint32_t n = U32();
    const char* at = in_.data();
    return Take(n) ? std::string_view(at, n) : std::string_view();
  }
  // False once a read went past the end; also false when bytes are left
  // over, if `whole`.
  bool ok(bool whole = true) const { return ok_ && (!whole || in_.empty()); }

  template <typename T>
  static T Load(const char* at) {
    T v = 0;
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(&v, at, sizeof v);
    } else {
      for (size_t i = 0; i < sizeof(T); ++i)
        v |= static_cast<T>(static_cast<uint8_t>(at[i])) << (8 * i);
    }
    return v;
  }

 private:
  template <typename T>
  T Get() {
    const char* at = in_.data();
    return Take(sizeof(T)) ? Load<T>(at) : 0;
  }
  bool Take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
  bool ok_ = true;
};

// Finds the next whole frame in buffer[*pos...]: its type and payload, and
// advances *pos past it. False when the frame is not all there yet; *broken
// is set when its length exceeds kMaxFrame (the peer must be dropped).
bool NextFrame(std::string_view buffer, size_t* pos, Frame* type, std::string_view* payload,
               bool* broken);

// kStart. The spec's masker is not sent (the id names one sent by kMasker;
// 0: none); log_path and the rest are. The default shell is sent as none.
void WriteStart(const exec::AttemptSpec& spec, uint32_t masker_id, std::string* out);
// Overwrites every field of *spec but the masker, reusing the memory its
// strings and vectors hold. The default shell comes back as none (which
// AttemptSpec takes as the default).
bool ReadStart(std::string_view payload, exec::AttemptSpec* spec, uint32_t* masker_id);

void WriteKey(FrameWriter* w, const exec::AttemptKey& key);
exec::AttemptKey ReadKey(FrameReader* r);
void WriteResult(FrameWriter* w, const exec::AttemptResult& result);
exec::AttemptResult ReadResult(FrameReader* r);

}  // namespace relay::keeper
