// File helpers whose failures are Status values naming the path and errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace relay {

// Reads the whole file, however large, whatever it is (a FIFO blocks until
// its writer closes it). For input a user names, use ReadFileCapped.
Result<std::string> ReadFile(const std::string& path);

// Reads the whole of a regular file of at most `max_bytes` bytes, for input
// whose size relay does not control (a pipeline file, a task's outputs file).
// - Anything but a regular file is refused without reading from it or
//   blocking on it (the file is opened with O_NONBLOCK and checked with
//   fstat on the open descriptor): kInvalid, "cannot read P: is a directory"
//   (a character device, a block device, a FIFO, a socket).
// - A larger file is refused (kInvalid) after reading at most
//   max_bytes + 1 bytes, so /dev/zero-like files cannot exhaust memory:
//   "cannot read P: larger than 16 MiB, the limit for this file".
// - Other failures carry errno (Status::FromErrno): "cannot read P: No such
//   file or directory" is kNotFound.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

// A byte count as limits are written: "16 MiB", "64 KiB", "1000 bytes"
// (the largest binary unit that divides it exactly; "1 byte").
std::string FormatByteSize(uint64_t bytes);

// Writes to path.tmp, fsyncs, renames over path, fsyncs the directory.
Status WriteFileAtomic(const std::string& path, const std::string& contents);
// mkdir -p.
Status MakeDirs(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace relay
