// SqliteStore's write path: CreateRun, Commit and ClaimQueued. Commit is the
// scheduler's hot path: prepared statements, scratch buffers reused across
// commits, one INSERT per event and one UPDATE per changed row.
#include <sqlite3.h>

#include <algorithm>
#include <csignal>

#include "store/sqlite/errors.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statements.h"

namespace relay::store::sqlite {
namespace {

Status BadTransition(std::string_view entity, std::string_view from, std::string_view to,
                     std::string_view cause, const std::string& run_id, const std::string& name) {
  std::string what =
      std::string(entity) + (name.empty() ? "" : " '" + name + "'") + " of run " + run_id;
  return Status::Internal("internal error: " + std::string(entity) + " transition " +
                          std::string(from) + " -> " + std::string(to) + " (cause '" +
                          std::string(cause) + "') is not in the state table (" + what +
                          "); nothing was written");
}

// Two transitions of one row in a batch that do not follow each other
// (queued→claimed, then running→succeeded): a bug in the caller.
Status Unchained(const std::variant<RunTransition, TaskTransition>& prev,
                 const std::variant<RunTransition, TaskTransition>& cur) {
  std::string what, left, from;
  if (const auto* c = std::get_if<TaskTransition>(&cur)) {
    what = "task '" + c->row.name + "' of run " + c->row.run_id;
    left = state::Name(std::get<TaskTransition>(prev).row.state);
    from = state::Name(c->from);
  } else {
    const auto& r = std::get<RunTransition>(cur);
    what = "run " + r.row.id;
    left = state::Name(std::get<RunTransition>(prev).row.state);
    from = state::Name(r.from);
  }
  return Status::Internal("internal error: a batch moves " + what + " from " + from +
                          " right after moving it to " + left + "; nothing was written");
}

}  // namespace

Status SqliteStore::Begin() {
  if (options_.read_only) return ReadOnly("write to");
  Statement& s = st_->begin;
  int rc = s.Step();
  s.Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "begin a write transaction");
}

Status SqliteStore::Finish(Status work, bool counts) {
  if (work.ok()) {
    Statement& c = st_->commit;
    int rc = c.Step();
    c.Reset();
    if (rc == SQLITE_DONE) {
      if (counts && options_.test_kill_after_commit > 0 &&
          ++commits_ == options_.test_kill_after_commit) {
        std::raise(SIGKILL);  // test hook: die right after a durable commit
      }
      return Status::Ok();
    }
    work = Error(rc, "commit");
  }
  // Harmless when SQLite already rolled back by itself (e.g. on SQLITE_FULL).
  st_->rollback.Step();
  st_->rollback.Reset();
  return work;
}

Status SqliteStore::CreateRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) {
  RELAY_RETURN_IF_ERROR(Begin());
  Status s = [&]() -> Status {
    {
      Statement& ins = st_->insert_run;
      ScopedReset reset(ins);
      BindRun(ins, run);
      ins.Bind(10, state::Name(state::RunState::kPending));
      ins.Bind(12, run.created_at != 0 ? run.created_at : now);
      ins.Bind(17, int64_t{0});
      int rc = ins.Step();
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        return Status::Conflict("run " + run.id + " already exists in store " + path_);
      }
      if (rc != SQLITE_DONE) return Error(rc, "create run " + run.id);
    }
    Statement& ins = st_->insert_task;
    for (const TaskRow& t : tasks) {
      ScopedReset reset(ins);
      BindTask(ins, t);
      ins.Bind(1, run.id);
      int rc = ins.Step();
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        return Status::Invalid("run " + run.id + ": two task instances have index " +
                               std::to_string(t.index));
      }
      if (rc != SQLITE_DONE) return Error(rc, "create task '" + t.name + "' of run " + run.id);
    }
    std::string data = events::DataBuilder()
                           .Add("definition_hash", run.definition_hash)
                           .Add("file", run.file)
                           .Add("pipeline", run.pipeline)
                           .Add("tasks", static_cast<int64_t>(tasks.size()))
                           .Build();
    chains_.clear();
    return AppendEvent(run.id, "run", "", "", state::Name(state::RunState::kPending),
                       state::run_cause::kCreated, run.reason, data, now);
  }();
  return Finish(std::move(s), /*counts=*/true);
}

Status SqliteStore::Commit(const Batch& batch) {
  if (batch.empty()) return Status::Ok();
  RELAY_RETURN_IF_ERROR(Begin());
  return Finish(ApplyBatch(batch), /*counts=*/true);
}

Status SqliteStore::ApplyBatch(const Batch& batch) {
  chains_.clear();
  rows_.clear();
  for (size_t i = 0; i < batch.transitions.size(); ++i) {
    RELAY_RETURN_IF_ERROR(ApplyTransitionEvent(batch, i));
  }
  RELAY_RETURN_IF_ERROR(WriteFoldedRows(batch));
  for (const TaskRow& row : batch.updates) RELAY_RETURN_IF_ERROR(WriteTaskUpdate(row));
  return Status::Ok();
}

Status SqliteStore::ApplyTransitionEvent(const Batch& batch, size_t pos) {
  const auto& t = batch.transitions[pos];
  const uint32_t p = static_cast<uint32_t>(pos);
  if (const auto* tt = std::get_if<TaskTransition>(&t)) {
    const auto& m = state::TaskMachine();
    const TaskRow& r = tt->row;
    if (!m.Allows(tt->from, r.state, tt->cause)) {
      return BadTransition("task", m.Name(tt->from), m.Name(r.state), tt->cause, r.run_id, r.name);
    }
    rows_.push_back(RowRef{true, &r.run_id, r.index, p});
    return AppendEvent(r.run_id, "task", r.name, m.Name(tt->from), m.Name(r.state), tt->cause,
                       r.reason, tt->data, batch.now);
  }
  const auto& rt = std::get<RunTransition>(t);
  const auto& m = state::RunMachine();
  const RunRow& r = rt.row;
  if (!m.Allows(rt.from, r.state, rt.cause)) {
    return BadTransition("run", m.Name(rt.from), m.Name(r.state), rt.cause, r.id, "");
  }
  rows_.push_back(RowRef{false, &r.id, 0, p});
  return AppendEvent(r.id, "run", "", m.Name(rt.from), m.Name(r.state), rt.cause, r.reason, rt.data,
                     batch.now);
}

Result<SqliteStore::ChainHead*> SqliteStore::Chain(const std::string& run_id) {
  for (ChainHead& c : chains_)
    if (*c.run_id == run_id) return &c;
  // Read inside the transaction, never cached across commits: another
  // process (`relay cancel`, a remote worker) may have appended since.
  Statement& s = st_->last_event;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + run_id + "' in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read the ledger of run " + run_id);
  if (s.IsNull(1)) {
    chains_.push_back(ChainHead{&run_id, s.Int(0), 0, events::GenesisHash(), {}});
  } else {
    ChainHead head{&run_id, s.Int(0), s.Int(1), std::string(s.Text(2)), {}};
    if (!events::HexToDigest(head.hash, &head.digest)) {
      return Status::Corrupt("the last event of run " + run_id + " in store " + path_ +
                             " has a malformed hash; run `relay ledger verify " + run_id + "`");
    }
    chains_.push_back(std::move(head));
  }
  return &chains_.back();
}

Status SqliteStore::AppendEvent(const std::string& run_id, std::string_view kind,
                                std::string_view subject, std::string_view from,
                                std::string_view to, std::string_view cause,
                                const std::string& reason, const std::string& data, Micros ts) {
  RELAY_ASSIGN_OR_RETURN(ChainHead * head, Chain(run_id));
  if (head->seq + 1 >= kEventsPerRun) {
    return Status::Full("run " + run_id + " has " + std::to_string(head->seq) +
                        " events, the most a run can have in store " + path_);
  }
  // Assigning into the reused Event keeps the string capacity of earlier
  // events: no allocation per transition beyond the hash.
  events::Event& e = event_;
  e.run_id = run_id;
  e.seq = head->seq + 1;
  e.ts = ts;
  e.kind = kind;
  e.subject = subject;
  e.from = from;
  e.to = to;
  e.cause = cause;
  e.reason = reason;
  e.data = data.empty() ? std::string_view("{}") : std::string_view(data);
  e.prev_hash = head->hash;
  const events::Sha256Digest digest = events::ComputeDigest(head->digest, e);
  e.hash = events::DigestToHex(digest);
  Statement& s = st_->insert_event;
  ScopedReset reset(s);
  BindEvent(s, e);
  s.Bind(13, head->run_num * kEventsPerRun + e.seq);
  int rc = s.Step();
  if (rc != SQLITE_DONE) return Error(rc, "append event to run " + run_id);
  head->seq = e.seq;
  head->hash = e.hash;
  head->digest = digest;
  return Status::Ok();
}

Status SqliteStore::WriteFoldedRows(const Batch& batch) {
  // Group the transitions by row (keeping batch order inside a row): each row
  // is written once, with its last state, checked against its first `from`.
  std::sort(rows_.begin(), rows_.end(), [](const RowRef& a, const RowRef& b) {
    if (a.is_task != b.is_task) return a.is_task < b.is_task;
    if (int c = a.run_id->compare(*b.run_id)) return c < 0;
    if (a.idx != b.idx) return a.idx < b.idx;
    return a.pos < b.pos;
  });
  const auto& tr = batch.transitions;
  for (size_t i = 0; i < rows_.size();) {
    size_t j = i;
    while (j + 1 < rows_.size() && rows_[j + 1].is_task == rows_[i].is_task &&
           rows_[j + 1].idx == rows_[i].idx && *rows_[j + 1].run_id == *rows_[i].run_id) {
      ++j;
      // Inside a batch a row's transitions must chain: each from = previous to.
      const auto& prev = tr[rows_[j - 1].pos];
      const auto& cur = tr[rows_[j].pos];
      bool chained =
          rows_[i].is_task
              ? std::get<TaskTransition>(cur).from == std::get<TaskTransition>(prev).row.state
              : std::get<RunTransition>(cur).from == std::get<RunTransition>(prev).row.state;
      if (!chained) return Unchained(prev, cur);
    }
    const auto& first = tr[rows_[i].pos];
    const auto& last = tr[rows_[j].pos];
    if (rows_[i].is_task) {
      const auto& lt = std::get<TaskTransition>(last);
      RELAY_RETURN_IF_ERROR(WriteTaskRow(lt.row, std::get<TaskTransition>(first).from, lt.cause));
    } else {
      RELAY_RETURN_IF_ERROR(
          WriteRunRow(std::get<RunTransition>(last).row, std::get<RunTransition>(first).from));
    }
    i = j + 1;
  }
  return Status::Ok();
}

Status SqliteStore::WriteTaskRow(const TaskRow& row, state::TaskState expected,
                                 std::string_view cause) {
  Statement& s = st_->update_task;
  ScopedReset reset(s);
  BindTask(s, row, cause);
  s.Bind(21, state::Name(expected));
  int rc = s.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update task '" + row.name + "' of run " + row.run_id);
  if (sqlite3_changes(db_) == 1) return Status::Ok();
  return NoRowChanged("task", row.run_id, row.index, row.name, state::Name(expected));
}

Status SqliteStore::WriteRunRow(const RunRow& row, state::RunState expected) {
  Statement& s = st_->update_run;
  ScopedReset reset(s);
  BindRun(s, row);
  s.Bind(18, state::Name(expected));
  int rc = s.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update run " + row.id);
  if (sqlite3_changes(db_) == 1) return Status::Ok();
  return NoRowChanged("run", row.id, -1, "", state::Name(expected));
}

Status SqliteStore::WriteTaskUpdate(const TaskRow& row) {
  Statement& s = st_->update_task_plain;
  ScopedReset reset(s);
  BindTask(s, row);
  int rc = s.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update task '" + row.name + "' of run " + row.run_id);
  if (sqlite3_changes(db_) == 1) return Status::Ok();
  return Status::NotFound("task #" + std::to_string(row.index) + " ('" + row.name + "') of run " +
                          row.run_id + " does not exist in store " + path_ +
                          "; nothing was written");
}

// Explains why an optimistic UPDATE matched no row, while the transaction
// is still open (so the state read is the one that made it fail).
Status SqliteStore::NoRowChanged(std::string_view entity, const std::string& run_id, int32_t idx,
                                 std::string_view name, std::string_view expected) {
  const bool task = idx >= 0;
  Statement& s = task ? st_->task_state : st_->run_state;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  if (task) s.Bind(2, int64_t{idx});
  std::string what = task ? "task '" + std::string(name) + "' of run " + run_id : "run " + run_id;
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return Status::NotFound(what + " does not exist in store " + path_ + "; nothing was written");
  }
  if (rc != SQLITE_ROW) return Error(rc, "read " + what);
  return Status::Conflict(what + " is " + std::string(s.Text(0)) + ", not " +
                          std::string(expected) +
                          " as expected: another process changed it; nothing was written");
}

Result<std::vector<TaskRow>> SqliteStore::ClaimQueued(const std::string& owner, Micros now,
                                                      Micros lease_until, int limit) {
  std::vector<TaskRow> claimed;
  if (limit <= 0) return claimed;
  RELAY_RETURN_IF_ERROR(Begin());
  Status s = [&]() -> Status {
    {
      Statement& q = st_->claim_candidates;
      ScopedReset reset(q);
      q.Bind(1, int64_t{limit});
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) {
        claimed.emplace_back();
        RELAY_RETURN_IF_ERROR(ReadTask(q, path_, &claimed.back()));
      }
      if (rc != SQLITE_DONE) return Error(rc, "find queued tasks");
    }
    Batch batch;
    batch.now = now;
    const std::string data =
        events::DataBuilder().Add("lease_until", lease_until).Add("owner", owner).Build();
    for (TaskRow& row : claimed) {
      row.state = state::TaskState::kClaimed;
      row.cause = state::cause::kClaimed;
      row.reason = "claimed by " + owner;
      row.owner = owner;
      row.lease_until = lease_until;
      batch.transitions.push_back(TaskTransition{row, state::TaskState::kQueued,
                                                 std::string(state::cause::kClaimed), data});
    }
    return ApplyBatch(batch);
  }();
  RELAY_RETURN_IF_ERROR(Finish(std::move(s), /*counts=*/!claimed.empty()));
  return claimed;
}

}  // namespace relay::store::sqlite
