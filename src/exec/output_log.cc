#include "exec/output_log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>

#include "base/file_util.h"

namespace relay::exec {

OutputLog::OutputLog(std::string path, std::shared_ptr<const Masker> masker)
    : path_(std::move(path)),
      masker_(masker ? std::move(masker) : std::make_shared<const Masker>()) {}

OutputLog::~OutputLog() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputLog::Append(Stream stream, std::string_view bytes, Micros now) {
  if (path_.empty()) return;
  std::string& part = partial_[static_cast<int>(stream)];
  MaskStream& masking = masking_[static_cast<int>(stream)];
  const std::string_view tag = stream == Stream::kOut ? "out" : "err";
  // Masking comes before cutting, so a cut cannot split a secret; the
  // MaskStream holds back a possible secret start until the next read.
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    masking.Feed(bytes.substr(0, nl), &part);
    if (nl != std::string_view::npos) masking.Finish(&part);
    CutLongLine(tag, &part, now);
    if (nl == std::string_view::npos) break;
    AddLine(tag, part, now);
    part.clear();
    bytes.remove_prefix(nl + 1);
  }
  Flush();
}

void OutputLog::CutLongLine(std::string_view tag, std::string* part, Micros now) {
  size_t from = 0;
  while (part->size() - from > kMaxLine) {
    AddLine(tag, std::string_view(*part).substr(from, kMaxLine), now);
    from += kMaxLine;
  }
  part->erase(0, from);
}

void OutputLog::EndStream(Stream stream, Micros now) {
  if (path_.empty()) return;
  std::string& part = partial_[static_cast<int>(stream)];
  const std::string_view tag = stream == Stream::kOut ? "out" : "err";
  masking_[static_cast<int>(stream)].Finish(&part);
  if (part.empty()) return;
  CutLongLine(tag, &part, now);
  AddLine(tag, part, now);
  part.clear();
  Flush();
}

void OutputLog::WriteSys(std::string_view text, Micros now) {
  if (path_.empty()) return;
  AddLine("sys", masker_->empty() ? text : masker_->Apply(text, &scratch_), now);
  Flush();
}

void OutputLog::AddLine(std::string_view tag, std::string_view text, Micros now) {
  AppendTimestamp(now);
  pending_ += ' ';
  pending_.append(tag);
  pending_ += ' ';
  pending_.append(text);
  pending_ += '\n';
}

namespace {

// "2026-11-24T22:25:09." for the second formatted last, shared by all logs
// of a thread: formatting a date costs a gmtime_r, an snprintf and an
// allocation (thousands of instructions), and the lines of all attempts,
// not just one, come in bursts within one second.
struct SecondPrefix {
  std::optional<Micros> second;
  std::string text;
};
thread_local SecondPrefix t_second_prefix;

}  // namespace

void OutputLog::AppendTimestamp(Micros now) {
  Micros second = now / kSecond;
  SecondPrefix& prefix = t_second_prefix;
  if (prefix.second != second) {
    prefix.second = second;
    prefix.text = FormatTimestamp(second * kSecond);
    prefix.text.resize(prefix.text.size() - 4);  // drop "000Z"
  }
  int millis = static_cast<int>((now % kSecond) / kMillisecond);
  if (millis < 0) millis = 0;
  char ms[4] = {static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                static_cast<char>('0' + millis % 10), 'Z'};
  pending_.append(prefix.text);
  pending_.append(ms, sizeof ms);
}

bool OutputLog::Open() {
  if (fd_ >= 0) return true;
  if (!error_.empty()) return false;
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  fd_ = ::open(path_.c_str(), flags, 0644);
  if (fd_ < 0 && errno == ENOENT) {
    size_t slash = path_.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      Status made = MakeDirs(path_.substr(0, slash));
      if (!made.ok()) {
        error_ = "cannot write log " + path_ + ": " + made.message();
        return false;
      }
      fd_ = ::open(path_.c_str(), flags, 0644);
    }
  }
  if (fd_ < 0) {
    error_ = "cannot write log " + path_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void OutputLog::Flush() {
  if (pending_.empty()) return;
  if (Open()) {
    size_t off = 0;
    while (off < pending_.size()) {
      ssize_t n = ::write(fd_, pending_.data() + off, pending_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = "cannot write log " + path_ + ": " + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        break;
      }
      off += static_cast<size_t>(n);
    }
  }
  pending_.clear();
}

}  // namespace relay::exec
