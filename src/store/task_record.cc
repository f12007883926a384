#include "store/task_record.h"

#include <charconv>

#include "events/canonical_json.h"
#include "events/sha256.h"

namespace relay::store {
namespace {

using S = state::TaskState;

// The recorded fields of one event's data; absent fields stay unset.
struct Recorded {
  std::optional<int64_t> attempt, duration_us, exit_code, signal, due_at, lease_until;
  std::optional<std::string> owner, log, child, approver;
  std::optional<std::string_view> outputs;  // exact JSON text
};

bool ReadRecorded(std::string_view data, Recorded* r) {
  thread_local std::vector<std::pair<std::string_view, std::string_view>> members;
  if (!events::canonical::SplitObject(data, &members)) return false;
  std::string key;
  for (const auto& [raw_key, value] : members) {
    if (!events::canonical::ReadString(raw_key, &key)) return false;
    std::optional<int64_t>* number = key == "attempt"       ? &r->attempt
                                     : key == "duration_us" ? &r->duration_us
                                     : key == "exit_code"   ? &r->exit_code
                                     : key == "signal"      ? &r->signal
                                     : key == "due_at"      ? &r->due_at
                                     : key == "lease_until" ? &r->lease_until
                                                            : nullptr;
    if (number) {
      int64_t v;
      if (!events::canonical::ReadInt(value, &v)) return false;
      *number = v;
    } else if (key == "owner" || key == "log" || key == "child" || key == "approver") {
      std::string text;
      if (!events::canonical::ReadString(value, &text)) return false;
      (key == "owner"   ? r->owner
       : key == "log"   ? r->log
       : key == "child" ? r->child
                        : r->approver) = std::move(text);
    } else if (key == "outputs") {
      if (!events::canonical::IsObject(value)) return false;
      r->outputs = value;
    }
    // Other keys are facts for people ("error", "from_run"): not row fields.
  }
  return true;
}

Status Unreadable(const events::Event& e, std::string_view what) {
  return Status::Corrupt("run " + e.run_id + ": event " + std::to_string(e.seq) + " (task '" +
                         e.subject + "') has " + std::string(what) + "; run `relay ledger verify " +
                         e.run_id + "`");
}

}  // namespace

namespace {

// One recorded field; the value is an integer, a string or JSON text.
struct Field {
  std::string_view key;  // a literal: needs no escaping
  enum { kInt, kText, kJson } kind;
  int64_t number = 0;
  std::string_view text;
};

void AppendField(std::string& out, const Field& f) {
  out += '"';
  out += f.key;
  out += "\":";
  if (f.kind == Field::kInt) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f.number);
    out.append(buf, end);
  } else if (f.kind == Field::kText) {
    events::AppendJsonString(out, f.text);
  } else {
    out += f.text;
  }
}

}  // namespace

namespace {

// A byte of an instance name as it appears in a log file's name: ASCII
// letters, digits and "-_.=" as they are, any other byte '_'. (A table: the
// log path is built, or matched, at every attempt's start.)
struct FileNameChars {
  char map[256];
  constexpr FileNameChars() : map() {
    for (int c = 0; c < 256; ++c) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '=';
      map[c] = ok ? static_cast<char>(c) : '_';
    }
  }
};
constexpr FileNameChars kFileNameChars;

char FileNameChar(char c) { return kFileNameChars.map[static_cast<unsigned char>(c)]; }

int Digits(int32_t v) {
  char buf[16];
  return static_cast<int>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
}

// How much of an instance name goes into its log file's name: all of it
// unless "INDEX-NAME.ATTEMPT.log" would pass the 255-byte limit of a file
// name (a long matrix leg); then as much as fits, the index keeping names
// apart. Names that fit are never cut, so logs of earlier runs keep their
// paths.
size_t NameBytesInLogFile(int32_t index, std::string_view name, int32_t attempt) {
  constexpr int kMaxFileName = 255;
  int fixed = Digits(index) + 1 + 1 + Digits(attempt) + 4;  // "-", ".", ".log"
  return std::min(name.size(), static_cast<size_t>(std::max(kMaxFileName - fixed, 1)));
}

}  // namespace

std::string AttemptLogPath(std::string_view log_dir, std::string_view run_id, int32_t index,
                           std::string_view name, int32_t attempt) {
  std::string path;
  path.reserve(log_dir.size() + run_id.size() + name.size() + 24);
  AppendAttemptLogPath(path, log_dir, run_id, index, name, attempt);
  return path;
}

void AppendAttemptLogPath(std::string& path, std::string_view log_dir, std::string_view run_id,
                          int32_t index, std::string_view name, int32_t attempt) {
  path += log_dir;
  path += '/';
  path += run_id;
  path += '/';
  char buf[16];
  path.append(buf, std::to_chars(buf, buf + sizeof buf, index).ptr);
  path += '-';
  const size_t at = path.size(), n = NameBytesInLogFile(index, name, attempt);
  path.resize(at + n);
  for (size_t i = 0; i < n; ++i) path[at + i] = FileNameChar(name[i]);
  path += '.';
  path.append(buf, std::to_chars(buf, buf + sizeof buf, attempt).ptr);
  path += ".log";
}

namespace {

// Whether `path` is where AttemptLogPath puts the attempt's log, read
// piece by piece rather than by building that path for every attempt.
bool IsDefaultLogPath(std::string_view path, std::string_view log_dir, const TaskRow& r) {
  auto eat = [&path](std::string_view piece) {
    if (path.substr(0, piece.size()) != piece) return false;
    path.remove_prefix(piece.size());
    return true;
  };
  auto eat_int = [&eat](int32_t v) {
    char buf[16];
    return eat(std::string_view(buf, std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  };
  if (!eat(log_dir) || !eat("/") || !eat(r.run_id) || !eat("/") || !eat_int(r.index) || !eat("-"))
    return false;
  for (char c :
       std::string_view(r.name).substr(0, NameBytesInLogFile(r.index, r.name, r.attempts))) {
    if (path.empty() || path[0] != FileNameChar(c)) return false;
    path.remove_prefix(1);
  }
  return eat(".") && eat_int(r.attempts) && eat(".log") && path.empty();
}

}  // namespace

void ApplyTaskEffects(TaskRow* row, S to, std::string_view cause, std::string reason, Micros ts,
                      const TaskEffects& fx, std::string_view log_dir, std::string_view run_owner) {
  const S from = row->state;
  row->state = to;
  row->cause.assign(cause);
  row->reason = std::move(reason);
  if (to == S::kQueued) {
    row->due_at = 0;
    row->owner.clear();
    row->lease_until = 0;
  }
  if (to == S::kClaimed) {
    row->owner = fx.owner.value_or("");
    row->lease_until = fx.lease_until.value_or(0);
  }
  if (to == S::kRunning || to == S::kWaitingChild) {
    row->attempts = fx.attempt.value_or(row->attempts + 1);
    row->started_at = ts;
    row->ended_at = 0;
    row->exit_code.reset();
    row->signal = 0;
    row->pid = row->pgid = 0;
  }
  if (to == S::kRunning) {
    row->log_path =
        fx.log ? *fx.log
               : AttemptLogPath(log_dir, row->run_id, row->index, row->name, row->attempts);
    row->started_by.assign(run_owner);
  }
  if (to == S::kWaitingChild) row->child_run = fx.child.value_or("");
  if (from == S::kRunning || from == S::kWaitingChild) {
    row->ended_at = fx.ended_at.value_or(ts);
    if (fx.exit_code) row->exit_code = *fx.exit_code;
    row->signal = fx.signal;
    row->owner.clear();
    row->lease_until = 0;
  }
  if (to == S::kRetryWait || (to == S::kWaitingApproval && from != S::kWaitingApproval))
    row->due_at = fx.due_at.value_or(0);
  else if (from == S::kWaitingApproval && to != S::kWaitingApproval)
    row->due_at = 0;
  if (fx.approver) {
    if (!row->approved_by.empty()) row->approved_by += ',';
    row->approved_by += *fx.approver;
  }
  if (to == S::kSucceeded) {
    if (fx.outputs) row->outputs_json = *fx.outputs;
    if (from == S::kPending) {
      if (fx.log) row->log_path = *fx.log;
      if (fx.exit_code) row->exit_code = *fx.exit_code;
    }
  }
}

bool AppendTaskData(const TaskTransition& t, std::string_view log_dir, std::string& out) {
  const TaskRow& r = t.row;
  const TaskEffects& fx = t.effects;
  const S to = r.state;
  const bool ended = t.from == S::kRunning || t.from == S::kWaitingChild;
  const bool reused = to == S::kSucceeded && t.from == S::kPending;
  // In key order, so that the object is canonical without sorting.
  Field fields[12];
  int n = 0;
  auto add = [&](Field f) { fields[n++] = f; };
  if (fx.approver) add({"approver", Field::kText, 0, *fx.approver});
  if ((to == S::kRunning || to == S::kWaitingChild) && fx.attempt)
    add({"attempt", Field::kInt, *fx.attempt});
  if (to == S::kWaitingChild && fx.child) add({"child", Field::kText, 0, *fx.child});
  // Only what ApplyTaskEffects reads back: a timeout is set on entering
  // waiting_approval, not by an approval recorded while in it.
  if ((to == S::kRetryWait || (to == S::kWaitingApproval && t.from != S::kWaitingApproval)) &&
      fx.due_at)
    add({"due_at", Field::kInt, *fx.due_at});
  if (ended && fx.ended_at) add({"duration_us", Field::kInt, *fx.ended_at - r.started_at});
  if ((ended || reused) && fx.exit_code) add({"exit_code", Field::kInt, *fx.exit_code});
  if (to == S::kClaimed && fx.lease_until) add({"lease_until", Field::kInt, *fx.lease_until});
  if ((to == S::kRunning && fx.log && !IsDefaultLogPath(*fx.log, log_dir, r)) ||
      (reused && fx.log && !fx.log->empty()))
    add({"log", Field::kText, 0, *fx.log});
  if (to == S::kSucceeded && fx.outputs && !fx.outputs->empty() && *fx.outputs != "{}") {
    if (!events::canonical::IsCanonical(*fx.outputs)) return false;
    add({"outputs", Field::kJson, 0, *fx.outputs});
  }
  if (to == S::kClaimed && fx.owner && !fx.owner->empty())
    add({"owner", Field::kText, 0, *fx.owner});
  if (ended && fx.signal != 0) add({"signal", Field::kInt, fx.signal});

  // Merged with the facts (sorted too); a recorded field wins.
  const auto& facts = t.data.fields();
  size_t i = 0, j = 0;
  out += '{';
  bool first = true;
  while (i < static_cast<size_t>(n) || j < facts.size()) {
    if (!first) out += ',';
    first = false;
    if (j == facts.size() || (i < static_cast<size_t>(n) && fields[i].key <= facts[j].first)) {
      if (j < facts.size() && fields[i].key == facts[j].first) ++j;
      AppendField(out, fields[i]);
      ++i;
    } else {
      // A fact's key may need escaping; AppendJsonString adds the quotes.
      if (!events::canonical::IsCanonical(facts[j].second)) return false;
      events::AppendJsonString(out, facts[j].first);
      out += ':';
      out += facts[j].second;
      ++j;
    }
  }
  out += '}';
  return true;
}

Status ApplyTaskEvent(const events::Event& e, std::string_view log_dir, std::string_view run_owner,
                      TaskRow* row) {
  const auto& m = state::TaskMachine();
  std::optional<S> to = m.Parse(e.to);
  std::optional<S> from = m.Parse(e.from);
  if (!to || !from) return Unreadable(e, "an unknown state ('" + e.from + "' → '" + e.to + "')");
  if (*from != row->state) {
    return Unreadable(
        e, "from state '" + e.from + "', but the task is " + std::string(m.Name(row->state)));
  }
  if (!m.Allows(*from, *to, e.cause)) {
    return Unreadable(e, "a transition the task table does not have (" + e.from + " → " + e.to +
                             ", cause '" + e.cause + "')");
  }
  Recorded rec;
  if (!ReadRecorded(e.data, &rec)) return Unreadable(e, "data that cannot be read");
  if (rec.attempt && (*rec.attempt < 0 || *rec.attempt > INT32_MAX))
    return Unreadable(e, "an impossible attempt number");
  if (!rec.attempt && (*to == S::kRunning || *to == S::kWaitingChild) && row->attempts == INT32_MAX)
    return Unreadable(e, "too many attempts");

  TaskEffects fx;
  if (rec.attempt) fx.attempt = static_cast<int32_t>(*rec.attempt);
  fx.log = std::move(rec.log);
  if (rec.duration_us) {
    Micros ended;
    if (__builtin_add_overflow(row->started_at, *rec.duration_us, &ended))
      return Unreadable(e, "an impossible duration");
    fx.ended_at = ended;
  }
  if (rec.exit_code) fx.exit_code = static_cast<int>(*rec.exit_code);
  fx.signal = static_cast<int>(rec.signal.value_or(0));
  fx.due_at = rec.due_at;
  fx.owner = std::move(rec.owner);
  fx.lease_until = rec.lease_until;
  if (rec.outputs) fx.outputs.emplace(*rec.outputs);
  fx.child = std::move(rec.child);
  fx.approver = std::move(rec.approver);
  ApplyTaskEffects(row, *to, e.cause, e.reason, e.ts, fx, log_dir, run_owner);
  return Status::Ok();
}

std::optional<std::string> RunEventOwner(const events::Event& e) {
  if (e.kind != "run" || e.data.find("\"owner\":") == std::string::npos) return std::nullopt;
  thread_local std::vector<std::pair<std::string_view, std::string_view>> members;
  if (!events::canonical::SplitObject(e.data, &members)) return std::nullopt;
  std::string key, value;
  for (const auto& [raw_key, raw_value] : members) {
    if (!events::canonical::ReadString(raw_key, &key) || key != "owner") continue;
    if (events::canonical::ReadString(raw_value, &value)) return value;
  }
  return std::nullopt;
}

std::string CreatedEventMismatch(const events::Event& created, std::string_view definition_hash,
                                 std::string_view inputs_json, std::string_view options_json) {
  auto field = [&created](std::string_view key) { return "\"" + std::string(key) + "\":"; };
  auto records = [&](std::string_view key, const std::string& hash) {
    return created.data.find(field(key) + "\"" + hash + "\"") != std::string::npos;
  };
  if (!definition_hash.empty() && !records("definition_hash", std::string(definition_hash)))
    return "it says its definition has hash " + std::string(definition_hash) +
           ", which its ledger does not record";
  for (auto [key, text, what] : {std::tuple{"inputs_hash", inputs_json, "inputs"},
                                 std::tuple{"options_hash", options_json, "options"}}) {
    if (created.data.find(field(key)) != std::string::npos &&
        !records(key, events::Sha256Hex(text)))
      return std::string("its stored ") + what + " do not match the " + key +
             " its ledger records (they were changed outside relay)";
  }
  return "";
}

}  // namespace relay::store
