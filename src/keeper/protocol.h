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

#include <cstdint>
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

// Appends one frame to a buffer: Begin, the fields, End.
class FrameWriter {
 public:
  explicit FrameWriter(std::string* out) : out_(out) {}
  void Begin(Frame type);
  void End();  // writes the frame's length in front of it
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s);

 private:
  std::string* out_;
  size_t start_ = 0;
};

// Reads the fields of one frame's payload. Reading past its end yields
// zeros and empty strings and makes ok() false, so a caller checks once.
class FrameReader {
 public:
  explicit FrameReader(std::string_view payload) : in_(payload) {}
  uint8_t U8();
  uint32_t U32();
  uint64_t U64();
  int32_t I32() { return static_cast<int32_t>(U32()); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string_view Str();
  // False once a read went past the end; also false when bytes are left
  // over, if `whole`.
  bool ok(bool whole = true) const { return ok_ && (!whole || in_.empty()); }

 private:
  bool Take(size_t n, const char** at);
  std::string_view in_;
  bool ok_ = true;
};

// Finds the next whole frame in buffer[*pos...]: its type and payload, and
// advances *pos past it. False when the frame is not all there yet; *broken
// is set when its length exceeds kMaxFrame (the peer must be dropped).
bool NextFrame(std::string_view buffer, size_t* pos, Frame* type, std::string_view* payload,
               bool* broken);

// kStart. The spec's masker is not sent (the id names one sent by kMasker;
// 0: none); log_path and the rest are.
void WriteStart(const exec::AttemptSpec& spec, uint32_t masker_id, std::string* out);
// REQUIRES: *spec is default-constructed.
bool ReadStart(std::string_view payload, exec::AttemptSpec* spec, uint32_t* masker_id);

void WriteKey(FrameWriter* w, const exec::AttemptKey& key);
exec::AttemptKey ReadKey(FrameReader* r);
void WriteResult(FrameWriter* w, const exec::AttemptResult& result);
exec::AttemptResult ReadResult(FrameReader* r);

}  // namespace relay::keeper
