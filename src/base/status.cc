#include "base/status.h"

#include <cstring>

namespace relay {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalid:
      return "invalid";
    case Code::kNotFound:
      return "not found";
    case Code::kConflict:
      return "conflict";
    case Code::kIo:
      return "I/O error";
    case Code::kCorrupt:
      return "corrupt";
    case Code::kBusy:
      return "busy";
    case Code::kFull:
      return "disk full";
    case Code::kTooNew:
      return "too new";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown";
}

Status Status::FromErrno(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Full(msg);
  if (err == ENOENT) return NotFound(msg);
  return Io(msg);
}

bool Status::IsInfrastructure() const {
  switch (code_) {
    case Code::kIo:
    case Code::kCorrupt:
    case Code::kBusy:
    case Code::kFull:
    case Code::kTooNew:
    case Code::kInternal:
      return true;
    default:
      return false;
  }
}

std::string Status::ToString() const { return ok() ? "ok" : message_; }

}  // namespace relay
