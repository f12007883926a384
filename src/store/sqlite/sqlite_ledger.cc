// SqliteStore's read side of the ledger: a run's events in order (format 1
// from events_v1, then format 2 from ledger rows), task rows rebuilt from
// them, and the per-run caches the write path checks transitions against.
#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "events/canonical_json.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statements.h"
#include "store/task_record.h"

namespace relay::store::sqlite {
namespace {

events::Sha256Digest DigestAt(std::string_view hashes, size_t i) {
  events::Sha256Digest d;
  std::copy_n(hashes.data() + 32 * i, 32, d.begin());
  return d;
}

// The rows a store reports are folded from the ledger, so only a chain that
// verifies is folded: an edited event is an error, never a state.
Status Unverified(const std::string& run_id, const events::VerifyResult& v,
                  const std::string& path) {
  return Status::Corrupt("store " + path + ": the ledger does not verify: " + v.message +
                         "; run `relay ledger verify " + run_id + "`");
}

}  // namespace

Result<SqliteStore::RunLedger> SqliteStore::ReadRunLedger(const std::string& run_id) {
  Statement& s = st_->run_ledger;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + run_id + "' in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read run " + run_id);
  return RunLedger{s.Int(0),
                   s.Int(2) != 0,
                   s.Int(1),
                   std::string(s.Text(3)),
                   std::string(s.Text(4)),
                   std::string(s.Text(5))};
}

Status SqliteStore::ReadBaseRows(const std::string& run_id, const RunLedger& run,
                                 std::vector<TaskRow>* rows) {
  rows->clear();
  if (run.listed) {
    Statement& s = st_->run_instances;
    ScopedReset reset(s);
    s.Bind(1, run.num);
    int rc = s.Step();
    if (rc != SQLITE_ROW)
      return Error(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "read run " + run_id);
    std::vector<std::string_view> list, fields;
    bool ok = events::canonical::SplitArray(s.Text(0), &list);
    rows->reserve(list.size());
    for (size_t i = 0; ok && i < list.size(); ++i) {
      TaskRow& t = rows->emplace_back();
      t.run_id = run_id;
      t.index = static_cast<int32_t>(i);
      ok = events::canonical::SplitArray(list[i], &fields) && fields.size() == 3 &&
           events::canonical::ReadString(fields[0], &t.name) &&
           events::canonical::ReadString(fields[1], &t.task) &&
           events::canonical::IsObject(fields[2]);
      if (ok) t.matrix_json.assign(fields[2]);
      t.outputs_json = "{}";
    }
    if (!ok) {
      return Status::Corrupt("store " + path_ + ": the list of task instances of run " + run_id +
                             " cannot be read");
    }
    return Status::Ok();
  }
  if (!has_old_runs_) {
    return Status::Corrupt("store " + path_ + ": run " + run_id + " has no list of task instances");
  }
  Statement& s = st_->get_tasks;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    TaskRow& t = rows->emplace_back();
    RELAY_RETURN_IF_ERROR(ReadTask(s, path_, &t));
    t.pid = t.pgid = 0;  // kept in `processes` since schema 5
  }
  if (rc != SQLITE_DONE) return Error(rc, "read the tasks of run " + run_id);
  return Status::Ok();
}

Status SqliteStore::ForEachEvent(const std::string& run_id, const RunLedger& run, int64_t after_seq,
                                 const std::function<Status(events::Event&)>& f) {
  const int64_t lo = run.num * kEventsPerRun, hi = lo + kEventsPerRun;
  // The hash of the event before the next one to hand out ("" if unknown,
  // which verification reports as a broken link).
  std::string prev;
  if (has_old_runs_) {
    // Format 1, from event `after_seq` itself: its hash links the next one.
    Statement& s = st_->events_v1_from;
    ScopedReset reset(s);
    s.Bind(1, lo + std::max<int64_t>(after_seq, 1));
    s.Bind(2, hi);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      events::Event e;
      ReadEventV1(s, &e);
      std::string hash = e.hash;
      if (e.seq > after_seq) RELAY_RETURN_IF_ERROR(f(e));  // may move from e
      prev = std::move(hash);
    }
    if (rc != SQLITE_DONE) return Error(rc, "read the events of run " + run_id);
  }
  return ForEachLedgerRow(
      run_id, run.num, after_seq,
      [&](int64_t id, std::string_view text, std::string_view hashes) -> Status {
        const int64_t first = id - lo;
        std::vector<std::string_view> lines;
        for (size_t at = 0; at < text.size();) {
          size_t nl = text.find('\n', at);
          if (nl == std::string_view::npos) nl = text.size();
          lines.push_back(text.substr(at, nl - at));
          at = nl + 1;
        }
        const size_t n = hashes.size() / 32;
        const bool damaged = hashes.size() % 32 != 0 || n != lines.size();
        for (size_t i = 0; i < std::max(n, lines.size()); ++i) {
          const int64_t seq = first + static_cast<int64_t>(i);
          events::Event e;
          e.run_id = run_id;
          e.format = 2;
          e.seq = seq;
          if (i < lines.size() && events::DecodeCanonical(lines[i], &e) && e.seq != seq) {
            e.malformed = "it says it is event " + std::to_string(e.seq) +
                          " but is stored as event " + std::to_string(seq);
            e.seq = seq;
          }
          if (damaged) {
            e.malformed = "its ledger row holds " + std::to_string(lines.size()) + " events and " +
                          std::to_string(hashes.size()) + " bytes of hashes";
          }
          if (i < n) e.hash = events::DigestToHex(DigestAt(hashes, i));
          std::string hash = e.hash;
          if (seq > after_seq) {
            e.prev_hash = !prev.empty() ? prev
                          : seq == 1    ? events::GenesisHash(events::kCurrentFormat, run_id)
                                        : "";
            RELAY_RETURN_IF_ERROR(f(e));  // may move from e
          }
          prev = std::move(hash);
        }
        return Status::Ok();
      });
}

// A run's rows come in stretches (schema 8): a stretch starts at a row that
// holds its id in `start` (the partial index lists only those) and goes on
// through the rows after it in the table's order, which continue it.
Status SqliteStore::ForEachLedgerRow(
    const std::string& run_id, int64_t num, int64_t from_seq,
    const std::function<Status(int64_t, std::string_view, std::string_view)>& row) {
  const int64_t lo = num * kEventsPerRun, hi = lo + kEventsPerRun, target = lo + from_seq;
  std::vector<std::pair<int64_t, int64_t>> stretches;  // (feed, start) in order
  {
    Statement& s = st_->run_stretches;
    ScopedReset reset(s);
    s.Bind(1, lo);
    s.Bind(2, hi);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) stretches.emplace_back(s.Int(0), s.Int(1));
    if (rc != SQLITE_DONE) return Error(rc, "read the events of run " + run_id);
  }
  for (size_t k = 0; k < stretches.size(); ++k) {
    const auto [feed, start] = stretches[k];
    const int64_t end = k + 1 < stretches.size() ? stretches[k + 1].second : hi;
    if (end <= target) continue;  // wholly before the event asked for
    // Within a stretch, positions and ids advance together: start at the
    // row holding the event asked for, not at the stretch's first.
    RELAY_RETURN_IF_ERROR(
        ScanStretch(run_id, feed + std::max<int64_t>(0, target - start), lo, end, row));
  }
  return Status::Ok();
}

// The rows of one stretch from the one holding position `at`: the first,
// then each after it with no `start` of its own and an id of the run.
Status SqliteStore::ScanStretch(
    const std::string& run_id, int64_t at, int64_t lo, int64_t end,
    const std::function<Status(int64_t, std::string_view, std::string_view)>& row) {
  Statement& s = st_->ledger_rows_from;
  ScopedReset reset(s);
  s.Bind(1, at);
  int rc;
  for (bool first = true; (rc = s.Step()) == SQLITE_ROW; first = false) {
    const int64_t id = s.Int(1);
    if (id < lo || id >= end || (!first && !s.IsNull(4))) return Status::Ok();
    RELAY_RETURN_IF_ERROR(row(id, s.Text(2), s.Blob(3)));
  }
  if (rc != SQLITE_DONE) return Error(rc, "read the events of run " + run_id);
  return Status::Ok();
}

Result<std::vector<events::Event>> SqliteStore::GetEvents(const std::string& run_id,
                                                          int64_t after_seq) {
  RELAY_ASSIGN_OR_RETURN(RunLedger run, ReadRunLedger(run_id));
  std::vector<events::Event> out;
  RELAY_RETURN_IF_ERROR(ForEachEvent(run_id, run, after_seq, [&](events::Event& e) {
    out.push_back(std::move(e));
    return Status::Ok();
  }));
  return out;
}

// What the run's row says it was made from must be what its (verified)
// created event recorded: a row edited outside relay is not acted on.
Status SqliteStore::CheckCreatedEvent(const std::string& run_id, const RunLedger& run,
                                      const events::Event& e) const {
  std::string wrong =
      CreatedEventMismatch(e, run.definition_hash, run.inputs_json, run.options_json);
  if (wrong.empty()) return Status::Ok();
  return Status::Corrupt("store " + path_ + ": run " + run_id + ": " + wrong);
}

Result<std::vector<TaskRow>> SqliteStore::GetTasks(const std::string& run_id) {
  return ReadTasks(run_id);
}

// The rows as created (or as checkpointed by schema 5), then every later
// task event folded onto them, then the leases and processes kept apart.
Result<std::vector<TaskRow>> SqliteStore::ReadTasks(const std::string& run_id) {
  RELAY_ASSIGN_OR_RETURN(RunLedger run, ReadRunLedger(run_id));
  std::vector<TaskRow> rows;
  RELAY_RETURN_IF_ERROR(ReadBaseRows(run_id, run, &rows));
  std::unordered_map<std::string_view, size_t> by_name;
  for (size_t i = 0; i < rows.size(); ++i) by_name.emplace(rows[i].name, i);
  // A listed run folds from its first event, whose hashes vouch for the row:
  // a checkpoint there would skip that check.
  if (run.listed && run.tasks_seq != 0)
    return Status::Corrupt("store " + path_ + ": run " + run_id + " lists its tasks but says " +
                           "its rows reflect events up to " + std::to_string(run.tasks_seq) +
                           " (changed outside relay)");
  events::ChainChecker chain(run_id, run.tasks_seq + 1);
  std::string owner;  // the relay holding the run, as its last started/resumed event says
  RELAY_RETURN_IF_ERROR(ForEachEvent(run_id, run, run.tasks_seq, [&](events::Event& e) {
    if (!chain.Next(e).ok) return Unverified(run_id, chain.result(), path_);
    if (e.seq == 1) RELAY_RETURN_IF_ERROR(CheckCreatedEvent(run_id, run, e));
    if (e.kind != "task") {
      if (auto o = RunEventOwner(e)) owner = std::move(*o);
      return Status::Ok();
    }
    auto it = by_name.find(e.subject);
    if (it == by_name.end()) {
      return Status::Corrupt("store " + path_ + ": event " + std::to_string(e.seq) + " of run " +
                             run_id + " names task '" + e.subject +
                             "', which the run does not have");
    }
    return ApplyTaskEvent(e, log_dir_, owner, &rows[it->second]);
  }));

  bool leased = false;
  for (const TaskRow& r : rows)
    leased = leased || (!r.owner.empty() && (r.state == state::TaskState::kClaimed ||
                                             r.state == state::TaskState::kRunning));
  if (leased) {
    std::unordered_map<std::string, Micros> leases;
    Statement& s = st_->get_leases;
    ScopedReset reset(s);
    s.Bind(1, run_id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) leases.emplace(std::string(s.Text(0)), s.Int(1));
    if (rc != SQLITE_DONE) return Error(rc, "read the leases of run " + run_id);
    for (TaskRow& r : rows) {
      if (r.state != state::TaskState::kClaimed && r.state != state::TaskState::kRunning) continue;
      auto it = leases.find(r.owner);
      if (it != leases.end()) r.lease_until = std::max(r.lease_until, it->second);
    }
  }
  {
    Statement& s = st_->get_processes;
    ScopedReset reset(s);
    s.Bind(1, run_id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      const int64_t i = s.Int(0);
      if (i < 0 || static_cast<size_t>(i) >= rows.size() || s.Int(1) != rows[i].attempts) continue;
      rows[i].pid = static_cast<int>(s.Int(2));
      rows[i].pgid = static_cast<int>(s.Int(3));
    }
    if (rc != SQLITE_DONE) return Error(rc, "read the processes of run " + run_id);
  }
  return rows;
}

Result<SqliteStore::RunCache*> SqliteStore::Cache(const std::string& run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end() && !it->second.checked) {
    // Another connection wrote since this one last did. Usually to another
    // run; if it appended to this one, read the run again.
    const RunCache& c = it->second;
    RunCache now;
    RELAY_RETURN_IF_ERROR(ReadLedgerHead(run_id, c.num, &now));
    // Format-1 events are never written any more: only ledger rows move.
    const bool same = now.format == 2 ? now.seq == c.seq : c.format != 2;
    if (same) {
      it->second.checked = true;
    } else {
      runs_.erase(it);
      it = runs_.end();
    }
  }
  if (it == runs_.end()) {
    RunCache c;
    RELAY_RETURN_IF_ERROR(LoadCache(run_id, &c));
    it = runs_.emplace(run_id, std::move(c)).first;
  }
  return &it->second;
}

// The seq and hash of the run's last event in a ledger row (format 2), if
// it has one; leaves *c alone otherwise. That row ends the run's last
// stretch (schema 8).
Status SqliteStore::ReadLedgerHead(const std::string& run_id, int64_t num, RunCache* c) {
  const int64_t lo = num * kEventsPerRun;
  int64_t feed;
  {
    Statement& s = st_->last_run_stretch;
    ScopedReset reset(s);
    s.Bind(1, lo);
    s.Bind(2, lo + kEventsPerRun);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return Error(rc, "read the ledger of run " + run_id);
    feed = s.Int(0);
  }
  int64_t last_id = 0;
  std::string last_hashes;
  RELAY_RETURN_IF_ERROR(ScanStretch(run_id, feed, lo, lo + kEventsPerRun,
                                    [&](int64_t id, std::string_view, std::string_view hashes) {
                                      last_id = id;
                                      last_hashes.assign(hashes);
                                      return Status::Ok();
                                    }));
  if (last_hashes.empty() || last_hashes.size() % 32 != 0) {
    return Status::Corrupt("the last ledger row of run " + run_id + " in store " + path_ +
                           " is damaged; run `relay ledger verify " + run_id + "`");
  }
  c->seq = last_id - lo + static_cast<int64_t>(last_hashes.size() / 32) - 1;
  c->head = DigestAt(last_hashes, last_hashes.size() / 32 - 1);
  c->format = 2;
  return Status::Ok();
}

Status SqliteStore::LoadCache(const std::string& run_id, RunCache* c) {
  auto run = ReadRunLedger(run_id);
  if (!run.ok()) {
    return run.status().code() == Code::kNotFound ? NoRun(run_id) : run.status();
  }
  c->num = run->num;
  const int64_t lo = run->num * kEventsPerRun, hi = lo + kEventsPerRun;
  std::unordered_map<std::string, int32_t> by_name;
  if (run->listed) {
    std::vector<TaskRow> rows;
    RELAY_RETURN_IF_ERROR(ReadBaseRows(run_id, *run, &rows));
    c->states.assign(rows.size(), state::TaskState::kPending);
    for (TaskRow& t : rows) by_name.emplace(std::move(t.name), t.index);
  } else {
    Statement& s = st_->task_states;
    ScopedReset reset(s);
    s.Bind(1, run_id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto st = state::TaskMachine().Parse(s.Text(2));
      if (!st) {
        return Status::Corrupt("store " + path_ + ": task '" + std::string(s.Text(1)) +
                               "' of run " + run_id + " has unknown state '" +
                               std::string(s.Text(2)) + "' (written by a newer relay?)");
      }
      by_name.emplace(std::string(s.Text(1)), static_cast<int32_t>(c->states.size()));
      c->states.push_back(*st);
    }
    if (rc != SQLITE_DONE) return Error(rc, "read the tasks of run " + run_id);
  }
  c->batch_of.assign(c->states.size(), 0);

  // The chain head: the last ledger row, else the last format-1 event.
  RELAY_RETURN_IF_ERROR(ReadLedgerHead(run_id, run->num, c));
  if (c->format == 0 && has_old_runs_) {
    Statement& s = st_->last_event_v1;
    ScopedReset reset(s);
    s.Bind(1, lo);
    s.Bind(2, hi);
    int rc = s.Step();
    if (rc == SQLITE_ROW) {
      c->seq = s.Int(0);
      c->format = 1;
      if (!events::HexToDigest(s.Text(1), &c->head)) {
        return Status::Corrupt("the last event of run " + run_id + " in store " + path_ +
                               " has a malformed hash; run `relay ledger verify " + run_id + "`");
      }
    } else if (rc != SQLITE_DONE) {
      return Error(rc, "read the ledger of run " + run_id);
    }
  }
  if (c->format == 0) {
    c->seq = 0;
    c->head = events::GenesisDigest(events::kCurrentFormat, run_id);
  }

  // The task states: the rows' checkpoint, then the events after it.
  events::ChainChecker chain(run_id, run->tasks_seq + 1);
  return ForEachEvent(run_id, *run, run->tasks_seq, [&](events::Event& e) {
    if (!chain.Next(e).ok) return Unverified(run_id, chain.result(), path_);
    if (e.kind != "task") return Status::Ok();
    auto it = by_name.find(e.subject);
    auto to = state::TaskMachine().Parse(e.to);
    auto from = state::TaskMachine().Parse(e.from);
    if (it == by_name.end() || !to || !from || *from != c->states[it->second]) {
      return Status::Corrupt("store " + path_ + ": event " + std::to_string(e.seq) + " of run " +
                             run_id + " cannot be applied to its task '" + e.subject + "'");
    }
    c->states[it->second] = *to;
    return Status::Ok();
  });
}

}  // namespace relay::store::sqlite
