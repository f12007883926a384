// SqliteStore's write path: CreateRun, Commit, ClaimQueued and Heartbeat.
// Commit is the scheduler's hot path: it checks each transition against the
// cached task states, appends the events of each run as one `ledger` row,
// and writes no task row (store/task_record.h rebuilds rows from events).
#include <sqlite3.h>

#include <csignal>

#include "base/strings.h"
#include "store/sqlite/errors.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statements.h"
#include "store/task_record.h"

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

}  // namespace

Status SqliteStore::Begin() {
  if (options_.read_only) return ReadOnly("write to");
  Statement& s = st_->begin;
  int rc = s.Step();
  s.Reset();
  if (rc != SQLITE_DONE) return Error(rc, "begin a write transaction");
  // Inside the transaction, so what it reports is what this one will see.
  Statement& v = st_->data_version;
  rc = v.Step();
  int64_t version = rc == SQLITE_ROW ? v.Int(0) : -1;
  v.Reset();
  if (rc != SQLITE_ROW) {
    st_->rollback.Step();
    st_->rollback.Reset();
    return Error(rc, "begin a write transaction");
  }
  if (version != data_version_) {
    for (auto& [id, run] : runs_) run.checked = false;
    data_version_ = version;
    next_feed_ = 0;       // another writer may have appended to the feed
    heads_check_ = true;  // and may have compacted the head file
  }
  anchors_.clear();
  sync_heads_ = false;
  return Status::Ok();
}

Status SqliteStore::Finish(Status work, bool counts) {
  if (work.ok()) {
    Statement& c = st_->commit;
    int rc = c.Step();
    c.Reset();
    if (rc == SQLITE_DONE) {
      WriteAnchors();
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
  // The caches may hold what was just rolled back: read the ledger again.
  runs_.clear();
  anchors_.clear();
  next_feed_ = 0;
  return work;
}

Status SqliteStore::WriteTransaction(const std::function<Status()>& work, bool counts) {
  RELAY_RETURN_IF_ERROR(Begin());
  return Finish(work(), counts);
}

Status SqliteStore::CreateRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) {
  RELAY_RETURN_IF_ERROR(Begin());
  pending_count_ = 0;
  ++batch_number_;
  Status s = ApplyNewRun(run, tasks, now);
  if (s.ok()) s = WriteLedgerRows();
  return Finish(std::move(s), /*counts=*/true);
}

Status SqliteStore::ApplyNewRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) {
  // The instances as [[name, task, matrix], …]: one value for the whole
  // plan, where a row per instance cost more to insert than the run's
  // ledger.
  std::string& list = scratch_;
  list.assign("[");
  for (size_t i = 0; i < tasks.size(); ++i) {
    const TaskRow& t = tasks[i];
    if (t.index != static_cast<int32_t>(i)) {
      return Status::Invalid("run " + run.id + ": task instance '" + t.name + "' has index " +
                             std::to_string(t.index) + ", not its position " + std::to_string(i));
    }
    if (i) list += ',';
    list += '[';
    events::AppendJsonString(list, t.name);
    list += ',';
    events::AppendJsonString(list, t.task);
    list += ',';
    list += t.matrix_json.empty() ? std::string_view("{}") : std::string_view(t.matrix_json);
    list += ']';
  }
  list += ']';
  // The definition is kept by its hash: runs of one text share its row.
  const std::string hash =
      run.definition_hash.empty() ? events::Sha256Hex(run.definition) : run.definition_hash;
  int64_t num;
  {
    Statement& ins = st_->insert_run;
    ScopedReset reset(ins);
    BindRun(ins, run);
    ins.Bind(6, hash);
    ins.Bind(10, state::Name(state::RunState::kPending));
    ins.Bind(12, run.created_at != 0 ? run.created_at : now);
    ins.Bind(5, std::string_view());  // the text goes to `definitions`
    ins.Bind(17, int64_t{0});
    ins.Bind(21, std::string_view("{}"));
    int rc = ins.Step();
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return Status::Conflict("run " + run.id + " already exists in store " + path_);
    }
    if (rc != SQLITE_ROW) return Error(rc, "create run " + run.id);
    num = ins.Int(0);
    rc = ins.Step();
    if (rc != SQLITE_DONE) return Error(rc, "create run " + run.id);
  }
  {
    Statement& ins = st_->insert_instances;
    ScopedReset reset(ins);
    ins.Bind(1, num);
    ins.Bind(2, list);
    int rc = ins.Step();
    if (rc != SQLITE_DONE) return Error(rc, "list the tasks of run " + run.id);
  }
  {
    Statement& def = st_->insert_definition;
    ScopedReset reset(def);
    def.Bind(1, hash);
    def.Bind(2, run.definition);
    int rc = def.Step();
    if (rc != SQLITE_DONE) return Error(rc, "store the definition of run " + run.id);
  }
  RunCache& cache = runs_[run.id];
  cache = RunCache{};
  cache.num = num;
  cache.head = events::GenesisDigest(events::kCurrentFormat, run.id);
  cache.states.assign(tasks.size(), state::TaskState::kPending);
  cache.batch_of.assign(tasks.size(), 0);

  events::EventFields e;
  e.kind = "run";
  e.to = state::Name(state::RunState::kPending);
  e.cause = state::run_cause::kCreated;
  e.reason = run.reason;
  e.ts = now;
  events::DataBuilder data;
  data.Add("definition_hash", hash)
      .Add("file", run.file)
      // Inputs and options (selection, reuse) decide what a resume or
      // rerun runs, as the definition does: every read of the run's tasks
      // checks all three. Of the text stored (rows.cc writes "" as "{}").
      .Add("inputs_hash", events::Sha256Hex(StoredJson(run.inputs_json)))
      .Add("options_hash", events::Sha256Hex(StoredJson(run.options_json)))
      .Add("pipeline", run.pipeline)
      .Add("tasks", static_cast<int64_t>(tasks.size()));
  if (!run.created_by.empty()) data.Add("created_by", run.created_by);
  // A sub-pipeline's run names the task attempt that started it, whose
  // waiting_child event names this run: linked both ways.
  if (!run.caller_run.empty()) {
    data.Add("caller_index", static_cast<int64_t>(run.caller_index))
        .Add("caller_run", run.caller_run);
  }
  event_data_ = data.Build();
  e.data = event_data_;
  return Append(run.id, e, &cache);
}

Status SqliteStore::Commit(const Batch& batch, CommitError* error) {
  // Whatever a caller's CommitError held before, it names no run until a
  // transition of one fails (a busy store, for one, is nobody's fault).
  if (error != nullptr) error->run_id.clear();
  if (batch.empty()) return Status::Ok();
  // A short wait here: the engine backs off and retries a busy store itself.
  sqlite3_busy_timeout(db_, tuning_.commit_busy_timeout_ms);
  Status begun = Begin();
  sqlite3_busy_timeout(db_, tuning_.busy_timeout_ms);
  RELAY_RETURN_IF_ERROR(begun);
  failing_run_ = nullptr;
  Status s = Finish(ApplyBatch(batch), /*counts=*/true);
  if (!s.ok() && error != nullptr && s.code() != Code::kBusy && s.code() != Code::kFull &&
      s.code() != Code::kIo)
    error->run_id = failing_run_ ? *failing_run_ : "";
  return s;
}

Status SqliteStore::ApplyBatch(const Batch& batch) {
  pending_count_ = 0;
  ++batch_number_;
  for (const NewRun& n : batch.new_runs) {
    failing_run_ = &n.run.id;
    RELAY_RETURN_IF_ERROR(ApplyNewRun(n.run, n.tasks, batch.now));
  }
  for (const auto& t : batch.transitions) {
    if (const auto* tt = std::get_if<TaskTransition>(&t)) {
      failing_run_ = &tt->row.run_id;
      RELAY_RETURN_IF_ERROR(ApplyTaskTransition(*tt, tt->ts ? tt->ts : batch.now));
    } else {
      const auto& rt = std::get<RunTransition>(t);
      failing_run_ = &rt.row.id;
      RELAY_RETURN_IF_ERROR(ApplyRunTransition(rt, rt.ts ? rt.ts : batch.now));
      if (state::IsFinal(rt.row.state)) {
        RELAY_RETURN_IF_ERROR(ReleaseRun(rt.row.id));
        sync_heads_ = true;
      }
    }
  }
  failing_run_ = nullptr;
  RELAY_RETURN_IF_ERROR(WriteLedgerRows());
  for (const AttemptProcess& p : batch.processes) RELAY_RETURN_IF_ERROR(WriteProcess(p));
  for (const RequestOutcome& o : batch.outcomes) RELAY_RETURN_IF_ERROR(ApplyOutcome(o, batch.now));
  for (const GroupRelease& r : batch.releases) RELAY_RETURN_IF_ERROR(ApplyRelease(r));
  return Status::Ok();
}

Status SqliteStore::ApplyTaskTransition(const TaskTransition& t, Micros ts) {
  const auto& m = state::TaskMachine();
  const TaskRow& r = t.row;
  if (!m.Allows(t.from, r.state, t.cause)) {
    return BadTransition("task", m.Name(t.from), m.Name(r.state), t.cause, r.run_id, r.name);
  }
  RELAY_ASSIGN_OR_RETURN(RunCache * run, Cache(r.run_id));
  if (r.index < 0 || static_cast<size_t>(r.index) >= run->states.size()) {
    return Status::NotFound("task #" + std::to_string(r.index) + " ('" + r.name + "') of run " +
                            r.run_id + " does not exist in store " + path_ +
                            "; nothing was written");
  }
  state::TaskState& stored = run->states[r.index];
  if (stored != t.from) {
    std::string what = "task '" + r.name + "' of run " + r.run_id;
    if (run->batch_of[r.index] == batch_number_) {
      // Two transitions of one task in a batch that do not follow each other
      // (queued→claimed, then running→succeeded): a bug in the caller.
      return Status::Internal("internal error: a batch moves " + what + " from " +
                              std::string(m.Name(t.from)) + " right after moving it to " +
                              std::string(m.Name(stored)) + "; nothing was written");
    }
    return Status::Conflict(what + " is " + std::string(m.Name(stored)) + ", not " +
                            std::string(m.Name(t.from)) +
                            " as expected: another process changed it; nothing was written");
  }
  stored = r.state;
  run->batch_of[r.index] = batch_number_;

  // The event's fields are the transition's own: viewed, not copied.
  std::string& data = event_data_;
  data.clear();
  if (!AppendTaskData(t, log_dir_, data)) {
    return Status::Internal("internal error: the outputs or facts of a transition of task '" +
                            r.name + "' of run " + r.run_id +
                            " are not canonical JSON; nothing was written");
  }
  events::EventFields e;
  e.kind = "task";
  e.subject = r.name;
  e.from = m.Name(t.from);
  e.to = m.Name(r.state);
  e.cause = t.cause;
  e.reason = r.reason;
  e.ts = ts;
  e.data = data;
  RELAY_RETURN_IF_ERROR(Append(r.run_id, e, run));
  // The lease follows what the event records (the effects), as the rebuilt
  // row does: a lease for an owner the ledger does not name would never be
  // read.
  const TaskEffects& fx = t.effects;
  if (r.state == state::TaskState::kClaimed && fx.owner && !fx.owner->empty() &&
      fx.lease_until.value_or(0) != 0)
    return ExtendLease(r.run_id, *fx.owner, *fx.lease_until);
  return Status::Ok();
}

Status SqliteStore::ApplyRunTransition(const RunTransition& t, Micros ts) {
  const auto& m = state::RunMachine();
  const RunRow& r = t.row;
  if (!m.Allows(t.from, r.state, t.cause)) {
    return BadTransition("run", m.Name(t.from), m.Name(r.state), t.cause, r.id, "");
  }
  {
    Statement& s = st_->update_run;
    ScopedReset reset(s);
    BindRun(s, r);
    s.Bind(22, m.Name(t.from));
    int rc = s.Step();
    if (rc != SQLITE_DONE) return Error(rc, "update run " + r.id);
  }
  if (sqlite3_changes(db_) != 1) {
    Statement& s = st_->run_state;
    ScopedReset reset(s);
    s.Bind(1, r.id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return NoRun(r.id);
    if (rc != SQLITE_ROW) return Error(rc, "read run " + r.id);
    return Status::Conflict("run " + r.id + " is " + std::string(s.Text(0)) + ", not " +
                            std::string(m.Name(t.from)) +
                            " as expected: another process changed it; nothing was written");
  }
  RELAY_ASSIGN_OR_RETURN(RunCache * run, Cache(r.id));
  event_data_ = t.data.Build();
  events::EventFields e;
  e.kind = "run";
  e.from = m.Name(t.from);
  e.to = m.Name(r.state);
  e.cause = t.cause;
  e.reason = r.reason;
  e.ts = ts;
  e.data = event_data_;
  return Append(r.id, e, run);
}

// Hashes `e` onto the run's chain and adds it to the run's ledger row of
// this commit. The bytes are encoded once: the row stores what was hashed.
Status SqliteStore::Append(const std::string& run_id, events::EventFields& e, RunCache* run) {
  if (run->seq + 1 >= kEventsPerRun) {
    return Status::Full("run " + run_id + " has " + std::to_string(run->seq) +
                        " events, the most a run can have in store " + path_);
  }
  Pending* p = nullptr;
  for (size_t i = 0; i < pending_count_; ++i)
    if (pending_[i].run == run) p = &pending_[i];
  if (p == nullptr) {
    // Reuses the buffers of an earlier commit's row: no reallocation as the
    // text grows, commit after commit.
    if (pending_count_ == pending_.size()) pending_.emplace_back();
    p = &pending_[pending_count_++];
    p->run = run;
    p->run_id = &run_id;
    p->first_seq = run->seq + 1;
    p->text.clear();
    p->hashes.clear();
  }
  static_assert(events::kCurrentFormat == 2, "EventFields are written in format 2");
  e.seq = run->seq + 1;
  const size_t start = p->text.size();
  events::AppendCanonicalBytes(p->text, e);
  const std::string_view prev(reinterpret_cast<const char*>(run->head.data()), run->head.size());
  run->head = events::Sha256(prev, std::string_view(p->text).substr(start));
  p->text += '\n';
  p->hashes.append(reinterpret_cast<const char*>(run->head.data()), run->head.size());
  run->seq = e.seq;
  run->format = events::kCurrentFormat;
  return Status::Ok();
}

// The position the next event takes in the change feed: read from the
// ledger once, then counted, until another writer may have appended.
Status SqliteStore::NextFeedPosition(int64_t* pos) {
  if (next_feed_ == 0) RELAY_RETURN_IF_ERROR(ReadFeedEnd(&next_feed_, &feed_last_id_));
  *pos = next_feed_;
  return Status::Ok();
}

// The last row in the table's order (schema 8) ends the feed.
Status SqliteStore::ReadFeedEnd(int64_t* next, int64_t* last_id) {
  Statement& s = st_->feed_last;
  ScopedReset reset(s);
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    *next = 1;
    *last_id = 0;
    return Status::Ok();
  }
  if (rc != SQLITE_ROW) return Error(rc, "read the change feed");
  const int64_t n = static_cast<int64_t>(s.Blob(2).size() / 32);
  *next = s.Int(0) + n;
  *last_id = s.Int(1) + n - 1;
  return Status::Ok();
}

// Each run's events of this commit as one row, appended at the ledger's
// end: its key is the feed position of its first event (schema 8).
Status SqliteStore::WriteLedgerRows() {
  Statement& s = st_->insert_ledger;
  for (size_t i = 0; i < pending_count_; ++i) {
    const Pending& p = pending_[i];
    int64_t feed;
    RELAY_RETURN_IF_ERROR(NextFeedPosition(&feed));
    const int64_t id = p.run->num * kEventsPerRun + p.first_seq;
    const int64_t n = static_cast<int64_t>(p.hashes.size() / 32);
    ScopedReset reset(s);
    s.Bind(1, id);
    s.Bind(2, p.text);
    s.BindBlob(3, p.hashes);
    s.Bind(4, feed);
    // A row right after its run's previous event continues that stretch:
    // no index entry. While one run commits after another, none is made.
    if (id == feed_last_id_ + 1)
      s.BindNull(5);
    else
      s.Bind(5, id);
    int rc = s.Step();
    if (rc != SQLITE_DONE) return Error(rc, "append events to run " + *p.run_id);
    next_feed_ = feed + n;
    feed_last_id_ = id + n - 1;
    anchors_.push_back(Anchor{p.run_id, p.run->seq, p.run->head});
  }
  pending_count_ = 0;
  return Status::Ok();
}

Status SqliteStore::WriteProcess(const AttemptProcess& p) {
  RELAY_ASSIGN_OR_RETURN(RunCache * run, Cache(p.run_id));
  if (p.index < 0 || static_cast<size_t>(p.index) >= run->states.size()) {
    return Status::NotFound("task #" + std::to_string(p.index) + " of run " + p.run_id +
                            " does not exist in store " + path_ + "; nothing was written");
  }
  Statement& s = st_->put_process;
  ScopedReset reset(s);
  s.Bind(1, p.run_id);
  s.Bind(2, int64_t{p.index});
  s.Bind(3, int64_t{p.attempt});
  s.Bind(4, int64_t{p.pid});
  s.Bind(5, int64_t{p.pgid});
  int rc = s.Step();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "record the process of run " + p.run_id);
}

Status SqliteStore::ExtendLease(const std::string& run_id, const std::string& owner,
                                Micros lease_until) {
  Statement& s = st_->extend_lease;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  s.Bind(2, owner);
  s.Bind(3, lease_until);
  int rc = s.Step();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "record the lease of " + owner);
}

Status SqliteStore::NoRun(const std::string& run_id) const {
  return Status::NotFound("no run '" + run_id + "' in store " + path_ + "; nothing was written");
}

Result<std::vector<TaskRow>> SqliteStore::ClaimQueued(const std::string& owner, Micros now,
                                                      Micros lease_until, int limit) {
  std::vector<TaskRow> claimed;
  if (limit <= 0) return claimed;
  RELAY_RETURN_IF_ERROR(Begin());
  // Outlives the transaction: the head file's lines, written once it is
  // committed, name the runs by the transitions' rows.
  Batch batch;
  batch.now = now;
  Status s = [&]() -> Status {
    std::vector<std::string> runs;
    {
      Statement& q = st_->running_runs;
      ScopedReset reset(q);
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) runs.emplace_back(q.Text(0));
      if (rc != SQLITE_DONE) return Error(rc, "find running runs");
    }
    for (const std::string& id : runs) {
      if (static_cast<int>(claimed.size()) >= limit) break;
      RELAY_ASSIGN_OR_RETURN(std::vector<TaskRow> rows, ReadTasks(id));
      for (TaskRow& row : rows) {
        if (static_cast<int>(claimed.size()) >= limit) break;
        if (row.state == state::TaskState::kQueued) claimed.push_back(std::move(row));
      }
    }
    // The claim's owner and lease are its effects: what its event records
    // and the rebuilt row shows (ApplyTaskEffects, as the scheduler does).
    TaskEffects fx;
    fx.owner = owner;
    if (lease_until != 0) fx.lease_until = lease_until;
    for (TaskRow& row : claimed) {
      ApplyTaskEffects(&row, state::TaskState::kClaimed, state::cause::kClaimed,
                       "claimed by " + owner, now, fx, log_dir_, "");
      batch.transitions.push_back(
          TaskTransition{row, state::TaskState::kQueued, std::string(state::cause::kClaimed), fx});
    }
    return ApplyBatch(batch);
  }();
  RELAY_RETURN_IF_ERROR(Finish(std::move(s), /*counts=*/!claimed.empty()));
  return claimed;
}

Status SqliteStore::Heartbeat(const std::string& run_id, const std::string& owner, Micros now,
                              Micros lease_until) {
  RELAY_RETURN_IF_ERROR(Begin());
  Status s = [&]() -> Status {
    int changed = 0;
    for (Statement* st : {&st_->heartbeat_run, &st_->heartbeat_leases}) {
      ScopedReset reset(*st);
      st->Bind(1, run_id);
      st->Bind(2, owner);
      st->Bind(3, st == &st_->heartbeat_run ? now : lease_until);
      int rc = st->Step();
      if (rc != SQLITE_DONE) return Error(rc, "record a heartbeat");
      changed += sqlite3_changes(db_);
    }
    if (changed > 0) return Status::Ok();
    RELAY_RETURN_IF_ERROR(RunExists(run_id));
    return Status::Conflict("'" + owner + "' no longer owns run " + run_id +
                            " or any of its tasks (another process took over)");
  }();
  return Finish(std::move(s), /*counts=*/false);
}

}  // namespace relay::store::sqlite
