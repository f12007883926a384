// The SQLite backend of store::Store: one connection, WAL journal, one write
// transaction (BEGIN IMMEDIATE) per Commit, prepared statements reused.
//
// The ledger is the state of task instances (store/task_record.h): a commit
// appends one `ledger` row per run holding that commit's events, and writes
// no task row. A task's row is rebuilt by folding its events over the row
// written when the run was created. To check a transition's `from` without
// reading, the store keeps each run's chain head and task states in memory,
// trusted while no other connection has written (PRAGMA data_version) and
// brought up to date from the ledger when one has.
//
// Only store/open.cc and tests name this header; the rest of relay sees
// store::Store.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite/statement.h"
#include "store/store.h"

struct sqlite3;

namespace relay::store::sqlite {

// Knobs that are not user options.
struct Tuning {
  int busy_timeout_ms = 5000;  // how long a read or a one-off write waits for another writer
  // How long Commit waits before it returns kBusy: the engine then backs off
  // and retries itself, watching its attempts meanwhile, rather than sit
  // inside SQLite for seconds.
  int commit_busy_timeout_ms = 100;
};

class SqliteStore final : public Store {
 public:
  ~SqliteStore() override;

  // `path` is a file path or ":memory:".
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const OpenOptions& options,
                                                   const Tuning& tuning = Tuning());

  Status CreateRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) override;
  Status Commit(const Batch& batch, CommitError* error = nullptr) override;
  Result<RunRow> GetRun(const std::string& id) override;
  Result<std::vector<RunRow>> ListRuns(int limit) override;
  Result<std::string> ResolveRunId(const std::string& ref) override;
  Result<std::vector<TaskRow>> GetTasks(const std::string& run_id) override;
  Result<std::vector<events::Event>> GetEvents(const std::string& run_id,
                                               int64_t after_seq) override;
  Result<std::string> GetDefinition(const std::string& hash) override;
  Status PutDefinition(const std::string& text) override;
  Result<std::vector<RunRow>> ChildRuns(const std::string& run_id) override;
  Result<std::vector<FeedEvent>> ReadFeed(int64_t after, int limit) override;
  Result<int64_t> FeedHead() override;
  Result<int64_t> AddRequest(Request request) override;
  Result<std::vector<Request>> ReadRequests(int64_t after, int limit) override;
  Result<Request> GetRequest(int64_t id) override;
  Status RequestCancel(const std::string& run_id) override;
  Result<bool> CancelRequested(const std::string& run_id) override;
  Result<bool> ChangedElsewhere() override;
  Result<int> HeartbeatOwner(const std::string& owner, Micros now) override;
  Result<GroupState> AcquireGroup(const std::string& group, int limit,
                                  const GroupHolder& holder) override;
  Result<HeadAnchor> GetHeadAnchor(const std::string& run_id) override;
  Status TakeOwnership(const std::string& run_id, const std::string& expected_owner,
                       const std::string& new_owner, Micros now) override;
  Status Heartbeat(const std::string& run_id, const std::string& owner, Micros now,
                   Micros lease_until) override;
  Result<std::vector<TaskRow>> ClaimQueued(const std::string& owner, Micros now, Micros lease_until,
                                           int limit) override;
  Result<std::string> GetSetting(const std::string& key) override;
  Status SetSetting(const std::string& key, const std::string& value) override;
  std::string Describe() const override { return "sqlite:" + path_; }
  std::string LogDir() const override { return log_dir_; }

  // Test-only: PRAGMA synchronous (1 = NORMAL, 2 = FULL), and raw SQL on this
  // connection (to tamper with rows or hold a lock).
  int TEST_SynchronousMode();
  Status TEST_Exec(const std::string& sql);

  // A run's events are the ledger ids [num * kEventsPerRun, (num + 1) * kEventsPerRun).
  static constexpr int64_t kEventsPerRun = int64_t{1} << 32;

  // The head file beside the store: PATH + kHeadsSuffix.
  static constexpr char kHeadsSuffix[] = ".heads";
  // The head file is compacted (one line per run) when a writer opens the
  // store and finds it larger than this.
  static constexpr int64_t kHeadsCompactBytes = 8 << 20;

 private:
  struct Statements;  // the prepared statements, in sqlite_store.cc

  // What this connection knows of one run between commits.
  struct RunCache {
    int64_t num = 0;                       // runs.num
    int64_t seq = 0;                       // of the last event
    int format = 0;                        // of the last event (0: none)
    events::Sha256Digest head{};           // its hash (or the genesis)
    std::vector<state::TaskState> states;  // by task index, as of `seq`
    std::vector<uint32_t> batch_of;        // by task index: the last batch that moved it
    bool checked = true;  // false: another connection wrote since; re-read before use
  };
  // The events of one run appended by the batch being applied.
  struct Pending {
    RunCache* run = nullptr;
    const std::string* run_id = nullptr;
    int64_t first_seq = 0;
    std::string text;    // canonical bytes, one event per line
    std::string hashes;  // 32 bytes per event
  };
  // Where a run's events are, and what its task rows start from.
  struct RunLedger {
    int64_t num = 0;
    // Runs since schema 5 list their instances in run_instances and start
    // pending; older ones have rows in `tasks` that reflect the events up to
    // tasks_seq.
    bool listed = false;
    int64_t tasks_seq = 0;
    std::string definition_hash;  // as the run's row says; its first event must agree
    std::string inputs_json;      // the same, when the first event records their hashes
    std::string options_json;
  };

  SqliteStore(sqlite3* db, std::string path, const OpenOptions& options, const Tuning& tuning);
  // A file that exists must be a relay store (or at least an SQLite file):
  // one truncated to a few bytes is damage, never a new store.
  static Status CheckIsDatabase(const std::string& path);
  Status CheckCreatedEvent(const std::string& run_id, const RunLedger& run,
                           const events::Event& e) const;
  static bool MayWrite(const std::string& path);
  static void WriteNewStore(const std::string& path, bool sync);
  Status ReadOnly(std::string_view doing) const;  // the error of a write to a read-only store
  static std::string ReadOnlyUri(const std::string& path);

  Status Init(const Tuning& tuning);
  Status Migrate();
  Status CheckNoLiveOwner(int64_t version, int latest);
  Status ApplyDurability();
  void DefineStatements();
  Status Exec(const char* sql, std::string_view what);
  Status Error(int rc, std::string_view what) const;

  // A write transaction: Begin(), then Finish(result of the work). Finish
  // rolls back on failure and commits otherwise; `counts` makes the commit
  // count towards OpenOptions::test_kill_after_commit. Begin also notices
  // writes by other connections (their runs' caches must be re-read).
  Status Begin();
  Status Finish(Status work, bool counts);

  // The body of Commit, inside a transaction (also used by ClaimQueued).
  Status ApplyBatch(const Batch& batch);
  // The body of CreateRun (and of each Batch::new_runs).
  Status ApplyNewRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now);
  Status ApplyOutcome(const RequestOutcome& outcome, Micros now);
  Status ApplyRelease(const GroupRelease& release);
  Status ReleaseRun(const std::string& run_id);  // every place a final run held or waited for
  // Runs `work` in a write transaction, waiting out a busy store for up to
  // Tuning::busy_timeout_ms (one-off writes: requests, ownership, groups).
  Status WriteTransaction(const std::function<Status()>& work, bool counts);
  Status ApplyTaskTransition(const TaskTransition& t, Micros ts);
  Status ApplyRunTransition(const RunTransition& t, Micros ts);
  Status Append(const std::string& run_id, events::EventFields& e, RunCache* run);
  Status WriteLedgerRows();
  Status NextFeedPosition(int64_t* pos);
  // Where the change feed ends: the position after its last event (1 when
  // it is empty) and that event's ledger id (0 when empty).
  Status ReadFeedEnd(int64_t* next, int64_t* last_id);
  // Appends the heads of the runs the last commit extended to the head
  // file (after the commit: the file may lag the ledger, never lead it).
  void WriteAnchors();
  void OpenHeads();
  Status WriteProcess(const AttemptProcess& p);
  Status ExtendLease(const std::string& run_id, const std::string& owner, Micros lease_until);
  Status NoRun(const std::string& run_id) const;

  // Reading the ledger (sqlite_ledger.cc).
  Result<RunCache*> Cache(const std::string& run_id);
  Status LoadCache(const std::string& run_id, RunCache* c);
  // Each ledger row of the run from the one holding event from_seq (or its
  // first) on, in order: row(id, events, hashes).
  Status ForEachLedgerRow(
      const std::string& run_id, int64_t num, int64_t from_seq,
      const std::function<Status(int64_t, std::string_view, std::string_view)>& row);
  Status ScanStretch(const std::string& run_id, int64_t at, int64_t lo, int64_t end,
                     const std::function<Status(int64_t, std::string_view, std::string_view)>& row);
  Status ReadLedgerHead(const std::string& run_id, int64_t num, RunCache* c);
  Result<RunLedger> ReadRunLedger(const std::string& run_id);
  // Calls `f` for each event of the run with seq > after_seq, in order, with
  // prev_hash and format filled in. Stops at the first error `f` returns.
  Status ForEachEvent(const std::string& run_id, const RunLedger& run, int64_t after_seq,
                      const std::function<Status(events::Event&)>& f);
  Result<std::vector<TaskRow>> ReadTasks(const std::string& run_id);
  // The rows a run's events are folded onto (see RunLedger).
  Status ReadBaseRows(const std::string& run_id, const RunLedger& run, std::vector<TaskRow>* rows);
  Status RunExists(const std::string& run_id);

  sqlite3* db_;
  std::string path_;
  std::string log_dir_;
  OpenOptions options_;
  Tuning tuning_;
  std::unique_ptr<Statements> st_;
  int commits_ = 0;
  int64_t data_version_ = -1;
  int64_t changes_version_ = -1;  // data_version when ChangedElsewhere last looked
  int64_t next_feed_ = 0;         // 0: read it from the ledger before the next append
  int64_t feed_last_id_ = 0;      // with next_feed_: the ledger id of the feed's last event
  // The run a failing transition belonged to, for CommitError.
  const std::string* failing_run_ = nullptr;
  int heads_fd_ = -1;  // the head file, open for appending (writers only)
  struct Anchor {
    const std::string* run_id;
    int64_t seq;
    events::Sha256Digest head;
  };
  std::vector<Anchor> anchors_;  // of the commit in progress
  bool power_ = false;           // durability power: every commit is synced
  bool sync_heads_ = false;      // the commit ends a run: its last head is synced
  bool heads_check_ = false;     // another writer exists: the file may have been compacted
  std::string heads_scratch_;
  bool has_old_runs_ = false;  // tables `tasks` and `events_v1` exist (schema < 5 once)
  uint32_t batch_number_ = 0;
  // Dropped whole when a write fails: the next use re-reads the ledger.
  std::unordered_map<std::string, RunCache> runs_;
  // Scratch reused across commits so the hot path does not reallocate.
  std::vector<Pending> pending_;  // the first pending_count_ are this batch's
  size_t pending_count_ = 0;
  std::string event_data_;  // the data of the event being appended
  std::string scratch_;
};

}  // namespace relay::store::sqlite
