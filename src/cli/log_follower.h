// Copying attempt logs to an output stream without holding a log in memory:
// in pieces of kLogChunk bytes, and, when following, only what a log gained
// since it was last read. Memory is one chunk buffer plus, per log followed,
// a cursor and at most kMaxHeldLine bytes of an unfinished line.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"

namespace relay::cli {

inline constexpr size_t kLogChunk = 64 * 1024;

// An unfinished line held back in prefixed mode is let out once it is this
// long. OutputLog cuts its lines at 64 KiB plus a timestamp, so a log relay
// wrote never reaches it; a longer one still costs bounded memory.
inline constexpr size_t kMaxHeldLine = 2 * kLogChunk;

class LogFollower {
 public:
  // `out` receives everything; it is not closed.
  explicit LogFollower(std::FILE* out);
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // Writes the log at `path` as it is now, whole. Errors name the path or
  // say that `out` could not be written (then see output_gone()).
  Status CopyWhole(const std::string& path);

  // Writes what the log at `path` gained since the last Poll of that path.
  // A log that is not there yet is not an error (it appears with its first
  // output). A log replaced by another file, or cut shorter than what was
  // read, is read again from its first byte. With a non-empty `prefix`,
  // every line is written after it, and an unfinished last line waits for
  // its newline (or for Finish), so lines of several logs never mix.
  // Reads at most the size the log had when the call began: a log written
  // faster than it is read cannot hold up the others.
  Status Poll(const std::string& path, const std::string& prefix);

  // The log at `path` will not change any more (its attempt ended and a
  // Poll ran after that was known): a held-back line is written, ended by a
  // newline, and later Polls of it do nothing.
  void Finish(const std::string& path);
  // Finish for every log polled so far.
  void FinishAll();

  bool finished(const std::string& path) const;

  // Flushes `out`: a follower shows what it read before it waits.
  Status Flush();

  // True once a write to `out` failed because its reader is gone (EPIPE,
  // `relay logs … | head`): there is no one left to tell, or to copy for.
  bool output_gone() const { return output_gone_; }

 private:
  struct Cursor {
    bool seen = false;  // dev/ino below name the file read so far
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t offset = 0;  // bytes of that file consumed (written or held)
    std::string prefix;
    std::string held;       // prefixed mode: the unfinished last line
    bool mid_line = false;  // prefixed mode: a line was let out unfinished
    bool finished = false;
  };

  // Writes `n` bytes read from the log behind `c`, prefixing lines if asked.
  Status Emit(Cursor& c, const char* data, size_t n);
  Status EndLine(Cursor& c);
  Status Write(const char* data, size_t n);

  std::FILE* out_;
  bool output_gone_ = false;
  std::unique_ptr<char[]> buffer_;  // kLogChunk bytes, shared by every log
  std::map<std::string, Cursor> cursors_;
};

}  // namespace relay::cli
