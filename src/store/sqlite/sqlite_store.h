// The SQLite backend of store::Store: one connection, WAL journal, one write
// transaction (BEGIN IMMEDIATE) per Commit, prepared statements reused.
//
// Only store/open.cc and tests name this header; the rest of relay sees
// store::Store.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/statement.h"
#include "store/store.h"

struct sqlite3;

namespace relay::store::sqlite {

// Knobs that are not user options.
struct Tuning {
  int busy_timeout_ms = 5000;  // how long to wait for another writer
};

class SqliteStore final : public Store {
 public:
  ~SqliteStore() override;

  // `path` is a file path or ":memory:".
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const OpenOptions& options,
                                                   const Tuning& tuning = Tuning());

  Status CreateRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) override;
  Status Commit(const Batch& batch) override;
  Result<RunRow> GetRun(const std::string& id) override;
  Result<std::vector<RunRow>> ListRuns(int limit) override;
  Result<std::string> ResolveRunId(const std::string& ref) override;
  Result<std::vector<TaskRow>> GetTasks(const std::string& run_id) override;
  Result<std::vector<events::Event>> GetEvents(const std::string& run_id,
                                               int64_t after_seq) override;
  Status RequestCancel(const std::string& run_id) override;
  Result<bool> CancelRequested(const std::string& run_id) override;
  Status TakeOwnership(const std::string& run_id, const std::string& expected_owner,
                       const std::string& new_owner, Micros now) override;
  Status Heartbeat(const std::string& run_id, const std::string& owner, Micros now,
                   Micros lease_until) override;
  Result<std::vector<TaskRow>> ClaimQueued(const std::string& owner, Micros now, Micros lease_until,
                                           int limit) override;
  Result<std::string> GetSetting(const std::string& key) override;
  Status SetSetting(const std::string& key, const std::string& value) override;
  std::string Describe() const override { return "sqlite:" + path_; }

  // Test-only: PRAGMA synchronous (1 = NORMAL, 2 = FULL), and raw SQL on this
  // connection (to tamper with rows or hold a lock).
  int TEST_SynchronousMode();
  Status TEST_Exec(const std::string& sql);

 private:
  struct Statements;  // the prepared statements, in sqlite_store.cc
  // One run's chain head while a batch is applied.
  struct ChainHead {
    const std::string* run_id;
    int64_t run_num;  // runs.num: the run's events are keyed run_num * kEventsPerRun + seq
    int64_t seq;
    std::string hash;             // of the last event, as stored (hex)
    events::Sha256Digest digest;  // the same, for hashing the next one
  };
  static constexpr int64_t kEventsPerRun = int64_t{1} << 32;
  // One transition's row, for folding several transitions into one write.
  struct RowRef {
    bool is_task;
    const std::string* run_id;
    int32_t idx;
    uint32_t pos;  // in Batch::transitions
  };

  SqliteStore(sqlite3* db, std::string path, const OpenOptions& options);
  static bool MayWrite(const std::string& path);
  Status ReadOnly(std::string_view doing) const;  // the error of a write to a read-only store
  static std::string ReadOnlyUri(const std::string& path);

  Status Init(const Tuning& tuning);
  Status Migrate();
  Status ApplyDurability();
  Status Prepare();
  Status Exec(const char* sql, std::string_view what);
  Status Error(int rc, std::string_view what) const;

  // A write transaction: Begin(), then Finish(result of the work). Finish
  // rolls back on failure and commits otherwise; `counts` makes the commit
  // count towards OpenOptions::test_kill_after_commit.
  Status Begin();
  Status Finish(Status work, bool counts);

  // The body of Commit, inside a transaction (also used by ClaimQueued).
  Status ApplyBatch(const Batch& batch);
  Status ApplyTransitionEvent(const Batch& batch, size_t pos);
  Result<ChainHead*> Chain(const std::string& run_id);
  Status AppendEvent(const std::string& run_id, std::string_view kind, std::string_view subject,
                     std::string_view from, std::string_view to, std::string_view cause,
                     const std::string& reason, const std::string& data, Micros ts);
  Status WriteFoldedRows(const Batch& batch);
  Status WriteTaskRow(const TaskRow& row, state::TaskState expected, std::string_view cause);
  Status WriteRunRow(const RunRow& row, state::RunState expected);
  Status WriteTaskUpdate(const TaskRow& row);
  Status NoRowChanged(std::string_view entity, const std::string& run_id, int32_t idx,
                      std::string_view name, std::string_view expected);
  Status RunExists(const std::string& run_id);

  sqlite3* db_;
  std::string path_;
  OpenOptions options_;
  std::unique_ptr<Statements> st_;
  int commits_ = 0;
  // Scratch reused across commits so the hot path does not reallocate.
  std::vector<ChainHead> chains_;
  std::vector<RowRef> rows_;
  events::Event event_;
};

}  // namespace relay::store::sqlite
