#include "keeper/exit_record.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string>
#include <type_traits>

#include "base/file_util.h"
#include "keeper/result_fields.h"

namespace relay::keeper {
namespace {

constexpr std::string_view kMagic = "relay-exit-record";
constexpr std::string_view kLogSuffix = ".log";

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Each key once: the formatter and the parser both walk it. The result's
// token is its relay's handle, not part of the record.
template <typename Visit>
void ForEachField(ExitRecord* rec, Visit visit) {
  visit("run_id", &rec->key.run_id);
  visit("index", &rec->key.index);
  visit("attempt", &rec->key.attempt);
  ForEachResultField(&rec->result, [&](std::string_view name, auto* field) {
    if (name != "token") visit(name, field);
  });
}

}  // namespace

std::string ExitRecordPath(std::string_view log_path) {
  if (log_path.empty()) return "";
  if (log_path.size() > kLogSuffix.size() && log_path.ends_with(kLogSuffix))
    log_path.remove_suffix(kLogSuffix.size());
  return std::string(log_path) + ".exit";
}

std::string FormatExitRecord(const ExitRecord& record) {
  std::string out = std::string(kMagic) + "=1\n";
  ExitRecord copy = record;
  ForEachField(&copy, [&](std::string_view key, auto* value) {
    out.append(key).push_back('=');
    using T = std::remove_pointer_t<decltype(value)>;
    if constexpr (std::is_same_v<T, std::string>) {
      out += Escape(*value);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += *value ? "1" : "0";
    } else {
      out += std::to_string(*value);
    }
    out.push_back('\n');
  });
  // Last, so a record cut short (a torn write on a file system that does
  // not order rename after data) is refused rather than read as complete.
  out += "end=1\n";
  return out;
}

Result<ExitRecord> ParseExitRecord(std::string_view text) {
  ExitRecord rec;
  bool magic = false, end = false, bad = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == kMagic) magic = value == "1";
    if (key == "end") end = true;
    ForEachField(&rec, [&](std::string_view name, auto* field) {
      if (name != key) return;
      using T = std::remove_pointer_t<decltype(field)>;
      if constexpr (std::is_same_v<T, std::string>) {
        *field = Unescape(value);
      } else if constexpr (std::is_same_v<T, bool>) {
        *field = value == "1";
      } else {
        bad = bad || !ParseInt(value, field);
      }
    });
  }
  if (!magic || !end || bad) return Status::Corrupt("not a complete exit record");
  return rec;
}

Status WriteExitRecord(std::string_view log_path, const ExitRecord& record) {
  std::string path = ExitRecordPath(log_path);
  if (path.empty()) return Status::Invalid("the attempt has no log, so no exit record");
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    RELAY_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  return WriteFileAtomic(path, FormatExitRecord(record));
}

Result<ExitRecord> ReadExitRecord(std::string_view log_path) {
  std::string path = ExitRecordPath(log_path);
  if (path.empty() || !FileExists(path)) return Status::NotFound("no exit record");
  RELAY_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Result<ExitRecord> rec = ParseExitRecord(text);
  if (!rec.ok()) return Status::Corrupt(path + ": " + rec.status().message());
  return rec;
}

Status RemoveExitRecord(std::string_view log_path) {
  std::string path = ExitRecordPath(log_path);
  if (path.empty() || std::remove(path.c_str()) == 0 || errno == ENOENT) return Status::Ok();
  return Status::FromErrno("cannot remove " + path, errno);
}

}  // namespace relay::keeper
