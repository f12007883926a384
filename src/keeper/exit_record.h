// Exit records: how an attempt ended, written by its keeper beside the
// attempt's log when no relay is there to take the result, so that a relay
// that starts later (Runner::Adopt) finds it even after the keeper is gone.
//
// `<log path without ".log">.exit`, replaced atomically, key=value lines
// (format 1; documented in docs/architecture.md, "The keeper"):
//
//   relay-exit-record=1
//   run_id=01J...
//   index=3
//   attempt=1
//   exit_code=0
//   ...
//
// Unknown keys are ignored, so later formats may add fields; values hold no
// newline (strings escape '\\' and newlines as \\ and \n).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "exec/runner.h"

namespace relay::keeper {

struct ExitRecord {
  exec::AttemptKey key;
  exec::AttemptResult result;  // token is not recorded (0)
};

// Where the record of the attempt logging to `log_path` goes; "" when the
// attempt has no log (then it can have no record either).
std::string ExitRecordPath(std::string_view log_path);

std::string FormatExitRecord(const ExitRecord& record);
// kCorrupt when the text is not a record (or a torn one).
Result<ExitRecord> ParseExitRecord(std::string_view text);

// Creates the log's directory if needed, then writes atomically (temp file,
// fsync, rename, fsync of the directory).
Status WriteExitRecord(std::string_view log_path, const ExitRecord& record);
// kNotFound when there is none.
Result<ExitRecord> ReadExitRecord(std::string_view log_path);
// Removing one that is not there is no error.
Status RemoveExitRecord(std::string_view log_path);

}  // namespace relay::keeper
