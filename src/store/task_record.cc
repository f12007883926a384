#include "store/task_record.h"

#include <cctype>
#include <charconv>

#include "events/canonical_json.h"
#include "events/sha256.h"

namespace relay::store {
namespace {

using S = state::TaskState;

// The recorded fields of one event's data; absent fields stay unset.
struct Recorded {
  std::optional<int64_t> attempt, duration_us, exit_code, signal, due_at, lease_until;
  std::optional<std::string> owner, log;
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
    } else if (key == "owner" || key == "log") {
      std::string text;
      if (!events::canonical::ReadString(value, &text)) return false;
      (key == "owner" ? r->owner : r->log) = std::move(text);
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

// A byte of an instance name as it appears in a log file's name.
char FileNameChar(char c) {
  bool ok =
      std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '=';
  return ok ? c : '_';
}

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
  path += log_dir;
  path += '/';
  path += run_id;
  path += '/';
  char buf[16];
  path.append(buf, std::to_chars(buf, buf + sizeof buf, index).ptr);
  path += '-';
  for (char c : name.substr(0, NameBytesInLogFile(index, name, attempt))) path += FileNameChar(c);
  path += '.';
  path.append(buf, std::to_chars(buf, buf + sizeof buf, attempt).ptr);
  path += ".log";
  return path;
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

bool AppendTaskData(const TaskTransition& t, std::string_view log_dir, std::string& out) {
  const TaskRow& r = t.row;
  const S to = r.state;
  const bool ran = t.from == S::kRunning;
  const bool reused = to == S::kSucceeded && !ran;
  // In key order, so that the object is canonical without sorting.
  Field fields[9];
  int n = 0;
  auto add = [&](Field f) { fields[n++] = f; };
  if (to == S::kRunning) add({"attempt", Field::kInt, r.attempts});
  if (to == S::kRetryWait) add({"due_at", Field::kInt, r.due_at});
  if (ran && r.ended_at != 0) add({"duration_us", Field::kInt, r.ended_at - r.started_at});
  if ((ran || reused) && r.exit_code) add({"exit_code", Field::kInt, *r.exit_code});
  if (to == S::kClaimed && r.lease_until != 0) add({"lease_until", Field::kInt, r.lease_until});
  if ((to == S::kRunning && !IsDefaultLogPath(r.log_path, log_dir, r)) ||
      (reused && !r.log_path.empty()))
    add({"log", Field::kText, 0, r.log_path});
  if (to == S::kSucceeded && !r.outputs_json.empty() && r.outputs_json != "{}") {
    if (!events::canonical::IsCanonical(r.outputs_json)) return false;
    add({"outputs", Field::kJson, 0, r.outputs_json});
  }
  if (to == S::kClaimed && !r.owner.empty()) add({"owner", Field::kText, 0, r.owner});
  if (ran && r.signal != 0) add({"signal", Field::kInt, r.signal});

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

Status ApplyTaskEvent(const events::Event& e, std::string_view log_dir, TaskRow* row) {
  const auto& m = state::TaskMachine();
  std::optional<S> to = m.Parse(e.to);
  std::optional<S> from = m.Parse(e.from);
  if (!to || !from) return Unreadable(e, "an unknown state ('" + e.from + "' → '" + e.to + "')");
  if (*from != row->state) {
    return Unreadable(
        e, "from state '" + e.from + "', but the task is " + std::string(m.Name(row->state)));
  }
  Recorded rec;
  if (!ReadRecorded(e.data, &rec)) return Unreadable(e, "data that cannot be read");
  if (rec.attempt && (*rec.attempt < 0 || *rec.attempt > INT32_MAX))
    return Unreadable(e, "an impossible attempt number");

  row->state = *to;
  row->cause = e.cause;
  row->reason = e.reason;
  if (*to == S::kQueued) {
    row->due_at = 0;
    row->owner.clear();
    row->lease_until = 0;
  }
  if (*to == S::kClaimed) {
    row->owner = rec.owner.value_or("");
    row->lease_until = rec.lease_until.value_or(0);
  }
  if (*to == S::kRunning) {
    if (!rec.attempt && row->attempts == INT32_MAX) return Unreadable(e, "too many attempts");
    row->attempts = static_cast<int32_t>(rec.attempt.value_or(row->attempts + 1));
    row->log_path = rec.log
                        ? *rec.log
                        : AttemptLogPath(log_dir, e.run_id, row->index, row->name, row->attempts);
    row->started_at = e.ts;
    row->ended_at = 0;
    row->exit_code.reset();
    row->signal = 0;
  }
  if (*from == S::kRunning) {
    row->ended_at = e.ts;
    if (rec.duration_us &&
        __builtin_add_overflow(row->started_at, *rec.duration_us, &row->ended_at)) {
      return Unreadable(e, "an impossible duration");
    }
    if (rec.exit_code) row->exit_code = static_cast<int>(*rec.exit_code);
    row->signal = static_cast<int>(rec.signal.value_or(0));
    row->owner.clear();
    row->lease_until = 0;
  }
  if (*to == S::kRetryWait) row->due_at = rec.due_at.value_or(0);
  if (*to == S::kSucceeded) {
    if (rec.outputs) row->outputs_json.assign(*rec.outputs);
    if (*from != S::kRunning) {
      if (rec.log) row->log_path = *rec.log;
      if (rec.exit_code) row->exit_code = static_cast<int>(*rec.exit_code);
    }
  }
  return Status::Ok();
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
