// File helpers whose failures are Status values naming the path and errno.
#pragma once

#include <string>

#include "base/status.h"

namespace relay {

Result<std::string> ReadFile(const std::string& path);
// Writes to path.tmp, fsyncs, renames over path, fsyncs the directory.
Status WriteFileAtomic(const std::string& path, const std::string& contents);
// mkdir -p.
Status MakeDirs(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace relay
