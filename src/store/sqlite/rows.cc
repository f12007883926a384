#include "store/sqlite/rows.h"

namespace relay::store::sqlite {
namespace {

std::string Str(const Statement& s, int col) { return std::string(s.Text(col)); }

Status UnknownState(const std::string& path, std::string_view entity, std::string_view where,
                    std::string_view text) {
  return Status::Corrupt("store " + path + ": " + std::string(entity) + " " + std::string(where) +
                         " has unknown state '" + std::string(text) +
                         "' (written by a newer relay?)");
}

}  // namespace

void BindRun(Statement& s, const RunRow& r) {
  s.Bind(1, r.id);
  s.Bind(2, r.pipeline);
  s.Bind(3, r.file);
  s.Bind(4, r.workdir);
  s.Bind(5, r.definition);
  s.Bind(6, r.definition_hash);
  s.Bind(7, r.inputs_json.empty() ? std::string_view("{}") : r.inputs_json);
  s.Bind(8, r.options_json.empty() ? std::string_view("{}") : r.options_json);
  s.Bind(9, r.parent_run);
  s.Bind(10, state::Name(r.state));
  s.Bind(11, r.reason);
  s.Bind(12, r.created_at);
  s.Bind(13, r.started_at);
  s.Bind(14, r.ended_at);
  s.Bind(15, r.owner);
  s.Bind(16, r.heartbeat_at);
  s.Bind(17, int64_t{r.cancel_requested ? 1 : 0});
}

namespace {

// SQLite's record format: a varint serial type in the header per column,
// then the value. Text and blobs of n bytes: type 2n+13 / 2n+12, one header
// byte up to 57 bytes, two up to 8,185. Integers: 0 and 1 take no body.
int VarintBytes(int64_t serial_type) { return serial_type < 128 ? 1 : serial_type < 16384 ? 2 : 3; }

int TextBytes(size_t n) {
  return static_cast<int>(n) + VarintBytes(2 * static_cast<int64_t>(n) + 13);
}

int IntBytes(int64_t v) {
  uint64_t u = v < 0 ? ~static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int body = v == 0 || v == 1          ? 0
             : u <= 127                ? 1
             : u <= 32767              ? 2
             : u <= 8388607            ? 3
             : u <= 2147483647         ? 4
             : u <= 140737488355327ULL ? 6
                                       : 8;
  return 1 + body;
}

}  // namespace

int TaskRowPadding(const TaskRow& t, std::string_view cause) {
  int used = TextBytes(state::Name(t.state).size()) + TextBytes(cause.size()) +
             TextBytes(t.reason.size()) + TextBytes(t.owner.size()) + TextBytes(t.log_path.size()) +
             TextBytes(t.outputs_json.empty() ? 2 : t.outputs_json.size()) + IntBytes(t.attempts) +
             (t.exit_code ? IntBytes(*t.exit_code) : 1) + IntBytes(t.signal) + IntBytes(t.due_at) +
             IntBytes(t.lease_until) + IntBytes(t.started_at) + IntBytes(t.ended_at) +
             IntBytes(t.pid) + IntBytes(t.pgid);
  // The pad's own header byte(s): one while it is at most 57 bytes long.
  int pad = kTaskRowSlack - used - 2;
  if (pad <= 57) pad = kTaskRowSlack - used - 1;
  return pad > 0 ? pad : 0;
}

void BindTask(Statement& s, const TaskRow& t, std::string_view cause) {
  s.Bind(1, t.run_id);
  s.Bind(2, int64_t{t.index});
  s.Bind(3, t.name);
  s.Bind(4, t.task);
  s.Bind(5, t.matrix_json.empty() ? std::string_view("{}") : t.matrix_json);
  s.Bind(6, state::Name(t.state));
  s.Bind(7, int64_t{t.attempts});
  s.Bind(8, cause);
  s.Bind(9, t.reason);
  if (t.exit_code) {
    s.Bind(10, int64_t{*t.exit_code});
  } else {
    s.BindNull(10);
  }
  s.Bind(11, int64_t{t.signal});
  s.Bind(12, t.due_at);
  s.Bind(13, t.owner);
  s.Bind(14, t.lease_until);
  s.Bind(15, t.started_at);
  s.Bind(16, t.ended_at);
  s.Bind(17, t.log_path);
  s.Bind(18, t.outputs_json.empty() ? std::string_view("{}") : t.outputs_json);
  s.Bind(19, int64_t{t.pid});
  s.Bind(20, int64_t{t.pgid});
  s.BindZeroBlob(22, TaskRowPadding(t, cause));
}

void BindEvent(Statement& s, const events::Event& e) {
  s.Bind(1, e.run_id);
  s.Bind(2, e.seq);
  s.Bind(3, e.ts);
  s.Bind(4, e.kind);
  s.Bind(5, e.subject);
  s.Bind(6, e.from);
  s.Bind(7, e.to);
  s.Bind(8, e.cause);
  s.Bind(9, e.reason);
  s.Bind(10, e.data);
  s.Bind(11, e.prev_hash);
  s.Bind(12, e.hash);
}

Status ReadRun(const Statement& s, const std::string& path, RunRow* r) {
  r->id = Str(s, 0);
  r->pipeline = Str(s, 1);
  r->file = Str(s, 2);
  r->workdir = Str(s, 3);
  r->definition = Str(s, 4);
  r->definition_hash = Str(s, 5);
  r->inputs_json = Str(s, 6);
  r->options_json = Str(s, 7);
  r->parent_run = Str(s, 8);
  auto st = state::RunMachine().Parse(s.Text(9));
  if (!st) return UnknownState(path, "run", r->id, s.Text(9));
  r->state = *st;
  r->reason = Str(s, 10);
  r->created_at = s.Int(11);
  r->started_at = s.Int(12);
  r->ended_at = s.Int(13);
  r->owner = Str(s, 14);
  r->heartbeat_at = s.Int(15);
  r->cancel_requested = s.Int(16) != 0;
  return Status::Ok();
}

Status ReadTask(const Statement& s, const std::string& path, TaskRow* t) {
  t->run_id = Str(s, 0);
  t->index = static_cast<int32_t>(s.Int(1));
  t->name = Str(s, 2);
  t->task = Str(s, 3);
  t->matrix_json = Str(s, 4);
  auto st = state::TaskMachine().Parse(s.Text(5));
  if (!st) return UnknownState(path, "task", "'" + t->name + "' of run " + t->run_id, s.Text(5));
  t->state = *st;
  t->attempts = static_cast<int32_t>(s.Int(6));
  t->cause = Str(s, 7);
  t->reason = Str(s, 8);
  t->exit_code = s.IsNull(9) ? std::nullopt : std::optional<int>(static_cast<int>(s.Int(9)));
  t->signal = static_cast<int>(s.Int(10));
  t->due_at = s.Int(11);
  t->owner = Str(s, 12);
  t->lease_until = s.Int(13);
  t->started_at = s.Int(14);
  t->ended_at = s.Int(15);
  t->log_path = Str(s, 16);
  t->outputs_json = Str(s, 17);
  t->pid = static_cast<int>(s.Int(18));
  t->pgid = static_cast<int>(s.Int(19));
  return Status::Ok();
}

void ReadEvent(const Statement& s, events::Event* e) {
  e->run_id = Str(s, 0);
  e->seq = s.Int(1);
  e->ts = s.Int(2);
  e->kind = Str(s, 3);
  e->subject = Str(s, 4);
  e->from = Str(s, 5);
  e->to = Str(s, 6);
  e->cause = Str(s, 7);
  e->reason = Str(s, 8);
  e->data = Str(s, 9);
  e->prev_hash = Str(s, 10);
  e->hash = Str(s, 11);
}

}  // namespace relay::store::sqlite
