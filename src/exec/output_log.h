// OutputLog: one attempt's log file. Bytes from the step's stdout and stderr
// arrive in arbitrary chunks; whole lines are written as
//
//   2026-11-24T22:25:09.123Z out <text>
//   2026-11-24T22:25:09.125Z err <text>
//   2026-11-24T22:25:09.100Z sys step 2: make test
//
// (RFC 3339 UTC with milliseconds, the time the line was complete), with
// secrets masked wherever they fall: across reads and across the cuts of a
// long line. Each stream keeps its own partial line, so interleaved
// stdout/stderr never mix within a line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "exec/mask.h"

namespace relay::exec {

enum class Stream { kOut = 0, kErr = 1 };

class OutputLog {
 public:
  // Longer lines are cut into pieces of this many bytes, each its own line.
  // The cut is made after masking, so it counts masked bytes and a secret
  // on both sides of it is still masked (a "***" itself may be cut).
  static constexpr size_t kMaxLine = 64 * 1024;

  // `path` "" discards everything. Nothing touches the disk until the first
  // line is written: then the parent directories are created and the file
  // opened with O_APPEND, so a silent command leaves no file.
  // `masker` is shared: one run's attempts use the same one (null: none).
  OutputLog(std::string path, std::shared_ptr<const Masker> masker);
  OutputLog(std::string path, Masker masker)
      : OutputLog(std::move(path), std::make_shared<const Masker>(std::move(masker))) {}
  ~OutputLog();
  OutputLog(const OutputLog&) = delete;
  OutputLog& operator=(const OutputLog&) = delete;

  // Adds bytes read from `stream` at wall-clock time `now`; complete lines
  // are written at once, the rest waits for its newline.
  void Append(Stream stream, std::string_view bytes, Micros now);
  // The stream's pipe closed: writes its unterminated last line, if any.
  void EndStream(Stream stream, Micros now);
  // Writes one "sys" line (relay's own note, e.g. which step starts).
  void WriteSys(std::string_view text, Micros now);

  // The first failure to create or write the file, e.g. "cannot write log
  // /x/y.log: Permission denied"; "" if none. Output after a failure is lost.
  const std::string& error() const { return error_; }

 private:
  // REQUIRES: `text` is masked already.
  void AddLine(std::string_view tag, std::string_view text, Micros now);
  // Writes the leading kMaxLine-byte pieces of a partial line over kMaxLine.
  void CutLongLine(std::string_view tag, std::string* part, Micros now);
  void AppendTimestamp(Micros now);
  void Flush();
  bool Open();

  std::string path_;
  std::shared_ptr<const Masker> masker_;  // never null
  int fd_ = -1;
  std::string error_;
  std::string partial_[2];  // masked unterminated line per Stream
  MaskStream masking_[2]{MaskStream(masker_.get()), MaskStream(masker_.get())};  // per Stream
  std::string pending_;  // formatted lines not yet written
  std::string scratch_;  // masking buffer for sys lines
};

}  // namespace relay::exec
