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
  s.Bind(7, StoredJson(r.inputs_json));
  s.Bind(8, StoredJson(r.options_json));
  s.Bind(9, r.parent_run);
  s.Bind(10, state::Name(r.state));
  s.Bind(11, r.reason);
  s.Bind(12, r.created_at);
  s.Bind(13, r.started_at);
  s.Bind(14, r.ended_at);
  s.Bind(15, r.owner);
  s.Bind(16, r.heartbeat_at);
  s.Bind(17, int64_t{r.cancel_requested ? 1 : 0});
  s.Bind(18, r.caller_run);
  s.Bind(19, int64_t{r.caller_index});
  s.Bind(20, r.created_by);
  s.Bind(21, StoredJson(r.outputs_json));
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
  r->caller_run = Str(s, 17);
  r->caller_index = static_cast<int32_t>(s.Int(18));
  r->created_by = Str(s, 19);
  r->outputs_json = Str(s, 20);
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

void ReadEventV1(const Statement& s, events::Event* e) {
  e->format = 1;
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
