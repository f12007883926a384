// Status and Result<T>: expected failures are values, never exceptions.
//
// The code says what kind of failure it is, which decides the exit status of
// the CLI: kInvalid is the user's input (exit 2); kIo, kCorrupt, kBusy, kFull
// and kTooNew are infrastructure (exit 3); kConflict is a lost race between
// writers that the caller may retry.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace relay {

enum class Code {
  kOk = 0,
  kInvalid,   // bad user input: pipeline, flags, inputs
  kNotFound,  // a named thing (run, task, file) does not exist
  kConflict,  // the state changed under us (another writer won)
  kIo,        // an I/O or system-call failure
  kCorrupt,   // stored data does not parse or verify
  kBusy,      // locked by another process
  kFull,      // disk full
  kTooNew,    // made by a newer relay
  kInternal,  // a bug
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status Invalid(std::string m) { return Status(Code::kInvalid, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status Io(std::string m) { return Status(Code::kIo, std::move(m)); }
  static Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status Full(std::string m) { return Status(Code::kFull, std::move(m)); }
  static Status TooNew(std::string m) { return Status(Code::kTooNew, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  // An errno value as a status naming what failed, e.g. PosixError("open .relay/x", ENOSPC).
  static Status FromErrno(const std::string& what, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for failures of the machine rather than of the user's input.
  bool IsInfrastructure() const;
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace relay

#define RELAY_CONCAT_INNER(a, b) a##b
#define RELAY_CONCAT(a, b) RELAY_CONCAT_INNER(a, b)

#define RELAY_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::relay::Status relay_status_ = (expr);        \
    if (!relay_status_.ok()) return relay_status_; \
  } while (0)

#define RELAY_ASSIGN_OR_RETURN(lhs, expr) \
  RELAY_ASSIGN_OR_RETURN_IMPL(RELAY_CONCAT(relay_result_, __LINE__), lhs, expr)
#define RELAY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
