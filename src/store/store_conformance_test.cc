// The behaviour every store backend must share. Backends plug in through a
// StoreFactory (SQLite on temp files now; PostgreSQL adds a factory and an
// INSTANTIATE line, not tests).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "base/clock.h"
#include "events/event.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/task_record.h"

namespace relay::store {
namespace {

using state::RunState;
using state::TaskState;

class StoreFactory {
 public:
  virtual ~StoreFactory() = default;
  // The URL of a new, empty store for one test.
  virtual std::string NewUrl() = 0;
  // short_busy_timeout: give up waiting for another writer after ~200 ms.
  virtual Result<std::unique_ptr<Store>> Open(const std::string& url, const OpenOptions& options,
                                              bool short_busy_timeout) = 0;
  // Raw SQL on the store's own connection (to tamper, or to hold a lock).
  virtual Status Exec(Store& store, const std::string& sql) = 0;
  // Puts something that is not a store where `url` points.
  virtual void WriteGarbage(const std::string& url) = 0;
};

class SqliteFactory final : public StoreFactory {
 public:
  SqliteFactory() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "relay-store-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  ~SqliteFactory() override { std::filesystem::remove_all(dir_); }
  std::string NewUrl() override {
    return "sqlite:" + dir_ + "/sub/store" + std::to_string(++n_) + ".db";
  }
  Result<std::unique_ptr<Store>> Open(const std::string& url, const OpenOptions& options,
                                      bool short_busy_timeout) override {
    sqlite::Tuning tuning;
    if (short_busy_timeout) tuning.busy_timeout_ms = 200;
    RELAY_ASSIGN_OR_RETURN(auto s, sqlite::SqliteStore::Open(url.substr(7), options, tuning));
    return std::unique_ptr<Store>(std::move(s));
  }
  Status Exec(Store& store, const std::string& sql) override {
    return static_cast<sqlite::SqliteStore&>(store).TEST_Exec(sql);
  }
  void WriteGarbage(const std::string& url) override {
    std::filesystem::create_directories(std::filesystem::path(url.substr(7)).parent_path());
    std::ofstream(url.substr(7)) << std::string(8192, 'x') << "this is not a database\n";
  }

 private:
  std::string dir_;
  int n_ = 0;
};

using FactoryMaker = std::function<std::unique_ptr<StoreFactory>()>;

constexpr Micros kT0 = 1'700'000'000 * kSecond;

RunRow MakeRun(const std::string& id, Micros created_at) {
  RunRow r;
  r.id = id;
  r.pipeline = "ci";
  r.file = "ci.yaml";
  r.workdir = "/src";
  r.definition = "name: ci\ntasks: {}\n";
  r.definition_hash = events::Sha256Hex(r.definition);
  r.inputs_json = R"({"env":"staging"})";
  r.created_at = created_at;
  return r;
}

std::vector<TaskRow> MakeTasks(const std::string& run_id, int n) {
  std::vector<TaskRow> out;
  for (int i = 0; i < n; ++i) {
    TaskRow t;
    t.run_id = run_id;
    t.index = i;
    t.name = "t" + std::to_string(i);
    t.task = "t";
    out.push_back(t);
  }
  return out;
}

// A transition whose event records `fx` (what it sets in the row). The
// row's other fields are not recorded, whatever they hold.
TaskTransition Move(TaskRow row, TaskState from, TaskState to, std::string_view cause,
                    TaskEffects fx = {}) {
  row.state = to;
  row.reason = std::string(state::Name(from)) + " to " + std::string(state::Name(to));
  return TaskTransition{row, from, std::string(cause), std::move(fx)};
}

RunTransition MoveRun(RunRow row, RunState from, RunState to, std::string_view cause) {
  row.state = to;
  return RunTransition{row, from, std::string(cause)};
}

class StoreConformance : public ::testing::TestWithParam<FactoryMaker> {
 protected:
  void SetUp() override {
    factory_ = GetParam()();
    url_ = factory_->NewUrl();
    store_ = OpenOk(url_);
  }

  std::unique_ptr<Store> OpenOk(const std::string& url, OpenOptions o = {}) {
    auto s = factory_->Open(url, o, false);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // A run with n pending tasks; returns its row as stored.
  RunRow Create(const std::string& id, int n, Micros created = kT0) {
    RunRow r = MakeRun(id, created);
    Status s = store_->CreateRun(r, MakeTasks(id, n), created);
    EXPECT_TRUE(s.ok()) << s.message();
    return *store_->GetRun(id);
  }

  // Starts the run (pending → running) and queues every task.
  void StartAndQueue(const RunRow& run) {
    Batch b;
    b.now = kT0 + kSecond;
    b.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
    std::vector<TaskRow> tasks = *store_->GetTasks(run.id);
    for (const TaskRow& t : tasks) {
      b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
    }
    ASSERT_TRUE(store_->Commit(b).ok());
  }

  size_t EventCount(const std::string& run) { return store_->GetEvents(run, 0)->size(); }

  std::unique_ptr<StoreFactory> factory_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, CreateRunWritesRunTasksAndFirstEvent) {
  RunRow in = MakeRun("01AAAA", kT0);
  in.options_json = R"({"only":["build"]})";
  in.parent_run = "01PARENT";
  ASSERT_TRUE(store_->CreateRun(in, MakeTasks("01AAAA", 3), kT0 + 5).ok());

  RunRow r = *store_->GetRun("01AAAA");
  EXPECT_EQ(r.pipeline, "ci");
  EXPECT_EQ(r.file, "ci.yaml");
  EXPECT_EQ(r.workdir, "/src");
  EXPECT_EQ(r.definition, in.definition);
  EXPECT_EQ(r.definition_hash, in.definition_hash);
  EXPECT_EQ(r.inputs_json, in.inputs_json);
  EXPECT_EQ(r.options_json, in.options_json);
  EXPECT_EQ(r.parent_run, "01PARENT");
  EXPECT_EQ(r.state, RunState::kPending);
  EXPECT_EQ(r.created_at, kT0);
  EXPECT_FALSE(r.cancel_requested);

  auto tasks = *store_->GetTasks("01AAAA");
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[2].index, 2);
  EXPECT_EQ(tasks[2].name, "t2");
  EXPECT_EQ(tasks[2].matrix_json, "{}");
  EXPECT_EQ(tasks[2].outputs_json, "{}");
  EXPECT_FALSE(tasks[2].exit_code.has_value());

  auto ev = *store_->GetEvents("01AAAA", 0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].seq, 1);
  EXPECT_EQ(ev[0].kind, "run");
  EXPECT_EQ(ev[0].from, "");
  EXPECT_EQ(ev[0].to, "pending");
  EXPECT_EQ(ev[0].cause, "created");
  EXPECT_EQ(ev[0].ts, kT0 + 5);
  EXPECT_EQ(ev[0].format, events::kCurrentFormat);
  EXPECT_EQ(ev[0].prev_hash, events::GenesisHash(events::kCurrentFormat, "01AAAA"));
  EXPECT_NE(ev[0].data.find(R"("tasks":3)"), std::string::npos) << ev[0].data;
  EXPECT_TRUE(events::VerifyChain(ev).ok);
}

TEST_P(StoreConformance, EachRunKeepsItsDefinitionWhoeverShareIt) {
  RunRow a = MakeRun("01A", kT0);
  RunRow b = MakeRun("01B", kT0);
  RunRow c = MakeRun("01C", kT0);
  c.definition = "name: other\ntasks: {}\n";
  c.definition_hash = "";  // computed by the store
  for (const RunRow& r : {a, b, c}) ASSERT_TRUE(store_->CreateRun(r, {}, kT0).ok());
  EXPECT_EQ(store_->GetRun("01A")->definition, a.definition);
  EXPECT_EQ(store_->GetRun("01B")->definition, a.definition);
  RunRow got = *store_->GetRun("01C");
  EXPECT_EQ(got.definition, c.definition);
  EXPECT_EQ(got.definition_hash, events::Sha256Hex(c.definition));
}

// resume and rerun run the stored text: it must be the one whose hash the
// run (and its ledger's first event) records.
TEST_P(StoreConformance, AChangedDefinitionIsAnError) {
  Create("01A", 1);
  ASSERT_TRUE(factory_->Exec(*store_, "UPDATE definitions SET text = 'tasks: {}'").ok());
  Status s = store_->GetRun("01A").status();
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("does not match its hash"), std::string::npos) << s.message();
  // Text and hash changed together: the ledger's first event still names
  // the original hash.
  const std::string other = events::Sha256Hex("tasks: {}");
  ASSERT_TRUE(factory_
                  ->Exec(*store_, "UPDATE definitions SET hash = '" + other +
                                      "'; UPDATE runs SET definition_hash = '" + other + "'")
                  .ok());
  ASSERT_TRUE(store_->GetRun("01A").ok());
  s = store_->GetTasks("01A").status();
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("which its ledger does not record"), std::string::npos) << s.message();
}

TEST_P(StoreConformance, CreateRunTwiceIsAConflictAndKeepsTheFirst) {
  Create("01AAAA", 1);
  Status s = store_->CreateRun(MakeRun("01AAAA", kT0), MakeTasks("01AAAA", 5), kT0);
  EXPECT_EQ(s.code(), Code::kConflict) << s.message();
  EXPECT_EQ(store_->GetTasks("01AAAA")->size(), 1u);
}

TEST_P(StoreConformance, MissingRunsAreNotFound) {
  EXPECT_EQ(store_->GetRun("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetTasks("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetEvents("nope", 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->RequestCancel("nope").code(), Code::kNotFound);
  EXPECT_EQ(store_->CancelRequested("nope").status().code(), Code::kNotFound);
}

TEST_P(StoreConformance, ListRunsNewestFirstWithoutDefinitions) {
  Create("01B", 0, kT0 + 2);
  Create("01A", 0, kT0 + 1);
  Create("01C", 0, kT0 + 3);
  auto all = *store_->ListRuns(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "01C");
  EXPECT_EQ(all[1].id, "01B");
  EXPECT_EQ(all[2].id, "01A");
  EXPECT_EQ(all[0].definition, "");
  EXPECT_EQ(all[0].definition_hash, events::Sha256Hex("name: ci\ntasks: {}\n"));
  EXPECT_EQ(store_->ListRuns(2)->size(), 2u);
}

TEST_P(StoreConformance, ResolveRunId) {
  EXPECT_EQ(store_->ResolveRunId("last").status().code(), Code::kNotFound);
  Create("01JABC1111", 0, kT0 + 1);
  Create("01JABC2222", 0, kT0 + 3);
  Create("01JXYZ0000", 0, kT0 + 2);
  EXPECT_EQ(*store_->ResolveRunId("01JABC1111"), "01JABC1111");
  EXPECT_EQ(*store_->ResolveRunId("01JX"), "01JXYZ0000");
  EXPECT_EQ(*store_->ResolveRunId("01jx"), "01JXYZ0000");
  EXPECT_EQ(*store_->ResolveRunId("last"), "01JABC2222");

  auto amb = store_->ResolveRunId("01JA");
  EXPECT_EQ(amb.status().code(), Code::kInvalid);
  EXPECT_NE(amb.status().message().find("ambiguous"), std::string::npos);
  EXPECT_NE(amb.status().message().find("01JABC1111, 01JABC2222"), std::string::npos)
      << amb.status().message();

  auto none = store_->ResolveRunId("01Q");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().message().rfind("no run matches '01Q' in store ", 0), 0u)
      << none.status().message();
  EXPECT_EQ(store_->ResolveRunId("").status().code(), Code::kInvalid);
}

TEST_P(StoreConformance, AmbiguousPrefixListsAtMostFiveCandidates) {
  for (int i = 0; i < 7; ++i) Create("01K" + std::to_string(i), 0, kT0 + i);
  auto amb = store_->ResolveRunId("01K");
  ASSERT_EQ(amb.status().code(), Code::kInvalid);
  EXPECT_NE(amb.status().message().find("01K4"), std::string::npos);
  EXPECT_EQ(amb.status().message().find("01K5"), std::string::npos) << amb.status().message();
}

TEST_P(StoreConformance, CommitRecordsEveryEventAndRowsFollowFromThem) {
  RunRow run = Create("01R", 2);
  TaskRow t = (*store_->GetTasks("01R"))[1];
  Batch b;
  b.now = kT0 + kSecond;
  RunRow running = run;
  running.started_at = kT0 + kSecond;
  running.owner = "me";
  b.transitions.push_back(MoveRun(running, RunState::kPending, RunState::kRunning, "started"));
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  TaskEffects claim;
  claim.owner = "me";
  b.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed", claim));
  TaskEffects attempt;
  attempt.attempt = 1;
  attempt.log = "/logs/t1.1.log";
  TaskTransition start = Move(t, TaskState::kClaimed, TaskState::kRunning, "started", attempt);
  start.data.Add("note", "a fact beside the row");
  start.ts = kT0 + kSecond - 3;
  b.transitions.push_back(start);
  ASSERT_TRUE(store_->Commit(b).ok());

  auto tasks = *store_->GetTasks("01R");
  EXPECT_EQ(tasks[0].state, TaskState::kPending);
  EXPECT_EQ(tasks[1].state, TaskState::kRunning);
  EXPECT_EQ(tasks[1].cause, "started");
  EXPECT_EQ(tasks[1].reason, "claimed to running");
  EXPECT_EQ(tasks[1].attempts, 1);
  EXPECT_EQ(tasks[1].started_at, kT0 + kSecond - 3);
  EXPECT_EQ(tasks[1].log_path, "/logs/t1.1.log");
  EXPECT_EQ(tasks[1].owner, "me");
  RunRow r = *store_->GetRun("01R");
  EXPECT_EQ(r.state, RunState::kRunning);
  EXPECT_EQ(r.owner, "me");
  EXPECT_EQ(r.started_at, kT0 + kSecond);

  auto ev = *store_->GetEvents("01R", 1);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].kind, "run");
  EXPECT_EQ(ev[0].to, "running");
  EXPECT_EQ(ev[1].subject, "t1");
  EXPECT_EQ(ev[1].from, "pending");
  EXPECT_EQ(ev[1].to, "queued");
  EXPECT_EQ(ev[1].data, "{}");
  EXPECT_EQ(ev[2].cause, "claimed");
  EXPECT_EQ(ev[2].data, R"({"owner":"me"})");
  EXPECT_EQ(ev[3].to, "running");
  EXPECT_EQ(ev[3].data, R"({"attempt":1,"log":"/logs/t1.1.log","note":"a fact beside the row"})");
  EXPECT_EQ(ev[3].seq, 5);
  EXPECT_EQ(ev[3].ts, kT0 + kSecond - 3);
  EXPECT_EQ(ev[2].ts, kT0 + kSecond);
  EXPECT_TRUE(events::VerifyChain(*store_->GetEvents("01R", 0)).ok);
}

// Every field a transition records comes back from GetTasks as it was given,
// through a retry, a failure with a signal, a back-off and a success with
// outputs; fields that are not recorded keep their value.
TEST_P(StoreConformance, RowsRebuildEveryRecordedField) {
  RunRow run = Create("01R", 2);
  StartAndQueue(run);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  // `row` is what the row must read afterwards; `fx` what the event records.
  auto commit = [&](TaskRow& row, TaskState to, std::string_view cause, TaskEffects fx, Micros ts) {
    SCOPED_TRACE(cause);
    Batch b;
    b.now = ts;
    TaskState from = row.state;
    row.state = to;
    row.cause = std::string(cause);
    row.reason = std::string(cause) + " because";
    b.transitions.push_back(TaskTransition{row, from, std::string(cause), fx});
    Status s = store_->Commit(b);
    EXPECT_TRUE(s.ok()) << s.message();
    auto rows = store_->GetTasks("01R");
    ASSERT_TRUE(rows.ok()) << rows.status().message();
    TaskRow got = (*rows)[0];
    EXPECT_EQ(got.state, row.state);
    EXPECT_EQ(got.cause, row.cause);
    EXPECT_EQ(got.reason, row.reason);
    EXPECT_EQ(got.attempts, row.attempts);
    EXPECT_EQ(got.exit_code, row.exit_code);
    EXPECT_EQ(got.signal, row.signal);
    EXPECT_EQ(got.due_at, row.due_at);
    EXPECT_EQ(got.owner, row.owner);
    EXPECT_EQ(got.lease_until, row.lease_until);
    EXPECT_EQ(got.started_at, row.started_at);
    EXPECT_EQ(got.ended_at, row.ended_at);
    EXPECT_EQ(got.log_path, row.log_path);
    EXPECT_EQ(got.outputs_json, row.outputs_json);
  };
  TaskEffects claim;
  claim.owner = t.owner = "worker-1";
  claim.lease_until = t.lease_until = kT0 + 60 * kSecond;
  commit(t, TaskState::kClaimed, "claimed", claim, kT0 + 10);
  TaskEffects start;
  start.attempt = t.attempts = 1;
  start.log = t.log_path = "/logs/a.1.log";
  t.started_at = kT0 + 20;  // the event's time
  commit(t, TaskState::kRunning, "started", start, kT0 + 20);
  TaskEffects failed;
  failed.ended_at = t.ended_at = kT0 + 1020;
  failed.exit_code = t.exit_code = -1;
  failed.signal = t.signal = 9;
  failed.due_at = t.due_at = kT0 + 5000;
  t.owner.clear();  // an attempt that ends gives its claim back
  t.lease_until = 0;
  commit(t, TaskState::kRetryWait, "retry", failed, kT0 + 1030);
  t.due_at = 0;
  commit(t, TaskState::kQueued, "backoff_elapsed", {}, kT0 + 5000);
  TaskEffects claim2;
  claim2.owner = t.owner = "worker-2";  // without a lease
  commit(t, TaskState::kClaimed, "claimed", claim2, kT0 + 5001);
  TaskEffects again;
  again.attempt = t.attempts = 2;
  again.log = t.log_path = "/logs/a.2.log";
  t.started_at = kT0 + 5002;
  t.ended_at = 0;  // a new attempt clears the last one's end
  t.exit_code.reset();
  t.signal = 0;
  commit(t, TaskState::kRunning, "started", again, kT0 + 5002);
  TaskEffects ok;
  ok.ended_at = t.ended_at = kT0 + 7002;
  ok.exit_code = t.exit_code = 0;
  ok.outputs = t.outputs_json = "{\"version\":\"1.2.3\",\"weird\":\"\\u0001\"}";
  t.owner.clear();
  commit(t, TaskState::kSucceeded, "exit_zero", ok, kT0 + 7003);

  // Defaults: an attempt without a number is the next one, and one that
  // ends without a time ended at its event's time.
  TaskRow v = (*store_->GetTasks("01R"))[1];
  Batch defaults;
  defaults.now = kT0 + 8000;
  defaults.transitions.push_back(Move(v, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  v.state = TaskState::kClaimed;
  defaults.transitions.push_back(Move(v, TaskState::kClaimed, TaskState::kRunning, "started"));
  v.state = TaskState::kRunning;
  TaskEffects failed_now;
  failed_now.exit_code = 2;
  TaskTransition fail =
      Move(v, TaskState::kRunning, TaskState::kFailed, "exit_nonzero", failed_now);
  fail.ts = kT0 + 8500;
  defaults.transitions.push_back(fail);
  ASSERT_TRUE(store_->Commit(defaults).ok());
  TaskRow got = (*store_->GetTasks("01R"))[1];
  EXPECT_EQ(got.attempts, 1);
  EXPECT_EQ(got.started_at, kT0 + 8000);
  EXPECT_EQ(got.ended_at, kT0 + 8500);
  EXPECT_EQ(got.exit_code, 2);
  EXPECT_EQ(got.log_path, AttemptLogPath(store_->LogDir(), "01R", 1, "t1", 1));
  auto ev = *store_->GetEvents("01R", 0);
  EXPECT_EQ(ev.back().data, R"({"exit_code":2})") << "a default is not recorded";
  EXPECT_EQ(ev[ev.size() - 2].data, "{}");

  // A result reused by a rerun starts from pending, not queued.
  TaskRow u = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.now = kT0;
  u.state = TaskState::kSucceeded;
  TaskEffects reused;
  reused.exit_code = 0;
  reused.log = "/old/run/log";
  b.transitions.push_back(TaskTransition{u, TaskState::kQueued, "reused", reused});
  // Queued → succeeded is not in the table; reuse starts from pending.
  EXPECT_EQ(store_->Commit(b).code(), Code::kInternal);
}

TEST_P(StoreConformance, AReusedResultKeepsItsLogExitCodeAndOutputs) {
  Create("01R", 1);
  TaskRow u = (*store_->GetTasks("01R"))[0];
  Batch b;
  u.state = TaskState::kSucceeded;
  TaskEffects fx;
  fx.exit_code = 0;
  fx.log = "/old/run/log";
  fx.outputs = R"({"k":"v"})";
  TaskTransition reuse{u, TaskState::kPending, "reused", fx};
  reuse.data.Add("from_run", "01OLD");
  b.transitions.push_back(reuse);
  ASSERT_TRUE(store_->Commit(b).ok());
  TaskRow got = (*store_->GetTasks("01R"))[0];
  EXPECT_EQ(got.state, TaskState::kSucceeded);
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.log_path, "/old/run/log");
  EXPECT_EQ(got.outputs_json, R"({"k":"v"})");
  EXPECT_EQ(store_->GetEvents("01R", 1)->at(0).data,
            R"({"exit_code":0,"from_run":"01OLD","log":"/old/run/log","outputs":{"k":"v"}})");
}

TEST_P(StoreConformance, StaleFromStateRollsBackTheWholeBatch) {
  RunRow run = Create("01R", 2);
  auto tasks = *store_->GetTasks("01R");
  Batch b;
  b.now = kT0;
  b.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
  b.transitions.push_back(Move(tasks[0], TaskState::kPending, TaskState::kQueued, "needs_met"));
  // Task 1 is pending in the store, not queued.
  b.transitions.push_back(Move(tasks[1], TaskState::kQueued, TaskState::kClaimed, "claimed"));
  Status s = store_->Commit(b);
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_NE(s.message().find("task 't1' of run 01R is pending, not queued"), std::string::npos)
      << s.message();
  EXPECT_EQ(EventCount("01R"), 1u);
  EXPECT_EQ((*store_->GetTasks("01R"))[0].state, TaskState::kPending);
  EXPECT_EQ(store_->GetRun("01R")->state, RunState::kPending);
}

TEST_P(StoreConformance, StaleRunStateIsAConflict) {
  RunRow run = Create("01R", 0);
  Batch b;
  b.now = kT0;
  b.transitions.push_back(MoveRun(run, RunState::kRunning, RunState::kSucceeded, "all_succeeded"));
  Status s = store_->Commit(b);
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_NE(s.message().find("run 01R is pending, not running"), std::string::npos) << s.message();
  EXPECT_EQ(EventCount("01R"), 1u);
}

TEST_P(StoreConformance, TransitionOutsideTheTableIsRefusedAndNothingWritten) {
  RunRow run = Create("01R", 1);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.now = kT0;
  b.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kRunning, "started"));
  Status s = store_->Commit(b);
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_NE(s.message().find("task transition pending -> running (cause 'started') is not in"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(EventCount("01R"), 1u);
  EXPECT_EQ(store_->GetRun("01R")->state, RunState::kPending);

  // A known pair with the wrong cause is refused too.
  Batch c;
  c.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "exit_zero"));
  EXPECT_EQ(store_->Commit(c).code(), Code::kInternal);
}

TEST_P(StoreConformance, TransitionsOfOneRowMustFollowEachOther) {
  Create("01R", 1);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  b.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  Status s = store_->Commit(b);
  EXPECT_EQ(s.code(), Code::kInternal) << s.message();
  EXPECT_EQ(EventCount("01R"), 1u);
}

TEST_P(StoreConformance, CommitToAMissingRunWritesNothing) {
  Create("01R", 1);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  t.run_id = "01GONE";
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  EXPECT_EQ(store_->Commit(b).code(), Code::kNotFound);
  EXPECT_EQ(EventCount("01R"), 1u);
}

TEST_P(StoreConformance, ProcessesAreRecordedWithoutEventsForTheirAttempt) {
  RunRow run = Create("01R", 1);
  StartAndQueue(run);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch start;
  start.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  t.state = TaskState::kClaimed;
  t.attempts = 1;
  start.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(start).ok());
  const size_t events = EventCount("01R");

  Batch b;
  b.processes.push_back(AttemptProcess{"01R", 0, 1, 77, 78});
  ASSERT_TRUE(store_->Commit(b).ok());
  TaskRow got = (*store_->GetTasks("01R"))[0];
  EXPECT_EQ(got.pid, 77);
  EXPECT_EQ(got.pgid, 78);
  EXPECT_EQ(got.state, TaskState::kRunning);
  EXPECT_EQ(EventCount("01R"), events);

  // The next attempt's row does not show the last attempt's process.
  t = got;
  Batch retry;
  retry.transitions.push_back(Move(t, TaskState::kRunning, TaskState::kRetryWait, "retry"));
  t.state = TaskState::kRetryWait;
  retry.transitions.push_back(
      Move(t, TaskState::kRetryWait, TaskState::kQueued, "backoff_elapsed"));
  t.state = TaskState::kQueued;
  retry.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  t.state = TaskState::kClaimed;
  t.attempts = 2;
  retry.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(retry).ok());
  got = (*store_->GetTasks("01R"))[0];
  EXPECT_EQ(got.attempts, 2);
  EXPECT_EQ(got.pid, 0);
  EXPECT_EQ(got.pgid, 0);

  Batch missing;
  missing.processes.push_back(AttemptProcess{"01R", 9, 1, 5, 5});
  EXPECT_EQ(store_->Commit(missing).code(), Code::kNotFound);
  EXPECT_TRUE(store_->Commit(Batch{}).ok());
}

TEST_P(StoreConformance, LedgerStaysValidOverManyCommitsAndTamperingIsDetected) {
  RunRow run = Create("01R", 4);
  StartAndQueue(run);
  const TaskRow tasks0 = (*store_->GetTasks("01R"))[0];
  for (int round = 0; round < 3; ++round) {
    std::vector<TaskRow> tasks = *store_->GetTasks("01R");
    for (const TaskRow& t0 : tasks) {
      TaskRow t = t0;
      Batch b;
      b.now = kT0 + round;
      b.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
      b.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
      b.transitions.push_back(Move(t, TaskState::kRunning, TaskState::kRetryWait, "retry"));
      b.transitions.push_back(
          Move(t, TaskState::kRetryWait, TaskState::kQueued, "backoff_elapsed"));
      ASSERT_TRUE(store_->Commit(b).ok());
    }
  }
  auto ev = *store_->GetEvents("01R", 0);
  ASSERT_EQ(ev.size(), 1u + 5 + 3 * 4 * 4);
  ASSERT_TRUE(events::VerifyChain(ev).ok) << events::VerifyChain(ev).message;

  // Events 19 to 22 are one commit, so one ledger row; 20 is its second.
  ASSERT_TRUE(factory_
                  ->Exec(*store_,
                         "UPDATE ledger SET events = replace(events, '\"claimed to running\"', "
                         "'\"all fine\"') WHERE id % 4294967296 = 19")
                  .ok());
  auto r = events::VerifyChain(*store_->GetEvents("01R", 0));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 20);
  EXPECT_NE(r.message.find("changed after it was written"), std::string::npos);
  // Rows are folded only from a chain that verifies: the edit is an error,
  // never a state; and a relay that takes the run up (`relay resume`) chains
  // nothing onto it.
  Status rows = store_->GetTasks("01R").status();
  EXPECT_EQ(rows.code(), Code::kCorrupt);
  EXPECT_NE(rows.message().find("event 20"), std::string::npos) << rows.message();
  TaskRow t = tasks0;
  Batch more;
  more.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  EXPECT_EQ(OpenOk(url_)->Commit(more).code(), Code::kCorrupt);

  // A row of events 7 to 10 removed: the chain names the gap.
  ASSERT_TRUE(factory_->Exec(*store_, "DELETE FROM ledger WHERE id % 4294967296 = 7").ok());
  r = events::VerifyChain(*store_->GetEvents("01R", 0));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 7);

  // Bytes that are not an event at all are named as such.
  ASSERT_TRUE(
      factory_
          ->Exec(*store_, "UPDATE ledger SET events = 'junk' || char(10) WHERE id % 4294967296 = 2")
          .ok());
  r = events::VerifyChain(*store_->GetEvents("01R", 0));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_EQ(store_->GetTasks("01R").status().code(), Code::kCorrupt);
}

TEST_P(StoreConformance, GetEventsAfterSeq) {
  RunRow run = Create("01R", 2);
  StartAndQueue(run);
  auto ev = *store_->GetEvents("01R", 2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].seq, 3);
  EXPECT_TRUE(store_->GetEvents("01R", 99)->empty());
}

TEST_P(StoreConformance, RequestCancelIsKeptAcrossOwnerCommits) {
  RunRow run = Create("01R", 1);
  EXPECT_FALSE(*store_->CancelRequested("01R"));
  ASSERT_TRUE(store_->RequestCancel("01R").ok());
  EXPECT_TRUE(*store_->CancelRequested("01R"));
  // The owner's row (read before the request) must not clear the flag.
  Batch b;
  b.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_TRUE(*store_->CancelRequested("01R"));
  EXPECT_TRUE(store_->GetRun("01R")->cancel_requested);
}

TEST_P(StoreConformance, TakeOwnershipIsACompareAndSet) {
  Create("01R", 0);
  ASSERT_TRUE(store_->TakeOwnership("01R", "", "relay-a", kT0 + 7).ok());
  RunRow r = *store_->GetRun("01R");
  EXPECT_EQ(r.owner, "relay-a");
  EXPECT_EQ(r.heartbeat_at, kT0 + 7);

  Status s = store_->TakeOwnership("01R", "", "relay-b", kT0 + 8);
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_NE(s.message().find("owned by 'relay-a'"), std::string::npos) << s.message();
  EXPECT_EQ(store_->GetRun("01R")->owner, "relay-a");

  ASSERT_TRUE(store_->TakeOwnership("01R", "relay-a", "relay-b", kT0 + 9).ok());
  EXPECT_EQ(store_->GetRun("01R")->owner, "relay-b");
  EXPECT_EQ(store_->TakeOwnership("01GONE", "", "x", kT0).code(), Code::kNotFound);
}

TEST_P(StoreConformance, HeartbeatExtendsRunAndLeasesOfTheOwner) {
  RunRow run = Create("01R", 3);
  ASSERT_TRUE(store_->TakeOwnership("01R", "", "relay-a", kT0).ok());
  StartAndQueue(*store_->GetRun("01R"));
  auto tasks = *store_->GetTasks("01R");
  Batch b;
  TaskEffects a, w;
  a.owner = "relay-a";
  a.lease_until = kT0 + 10;
  b.transitions.push_back(Move(tasks[0], TaskState::kQueued, TaskState::kClaimed, "claimed", a));
  w.owner = "worker-b";
  w.lease_until = kT0 + 10;
  b.transitions.push_back(Move(tasks[1], TaskState::kQueued, TaskState::kClaimed, "claimed", w));
  ASSERT_TRUE(store_->Commit(b).ok());

  ASSERT_TRUE(store_->Heartbeat("01R", "relay-a", kT0 + 50, kT0 + 90).ok());
  EXPECT_EQ(store_->GetRun("01R")->heartbeat_at, kT0 + 50);
  tasks = *store_->GetTasks("01R");
  EXPECT_EQ(tasks[0].lease_until, kT0 + 90);
  EXPECT_EQ(tasks[1].lease_until, kT0 + 10);
  EXPECT_EQ(tasks[2].lease_until, 0);

  // A worker that owns only a task extends its lease, not the run's heartbeat.
  ASSERT_TRUE(store_->Heartbeat("01R", "worker-b", kT0 + 60, kT0 + 99).ok());
  EXPECT_EQ((*store_->GetTasks("01R"))[1].lease_until, kT0 + 99);
  EXPECT_EQ(store_->GetRun("01R")->heartbeat_at, kT0 + 50);

  EXPECT_EQ(store_->Heartbeat("01R", "stranger", kT0, kT0).code(), Code::kConflict);
  EXPECT_EQ(store_->Heartbeat("01GONE", "relay-a", kT0, kT0).code(), Code::kNotFound);
}

TEST_P(StoreConformance, ClaimQueuedTakesOldestRunFirstThenIndex) {
  RunRow newer = Create("01NEW", 2, kT0 + 100);
  RunRow older = Create("01OLD", 2, kT0 + 1);
  RunRow idle = Create("01IDLE", 1, kT0);  // pending run: its tasks are not offered
  StartAndQueue(newer);
  StartAndQueue(older);
  TaskRow t = (*store_->GetTasks("01IDLE"))[0];
  Batch q;
  q.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  ASSERT_TRUE(store_->Commit(q).ok());

  auto got = *store_->ClaimQueued("worker-1", kT0 + 200, kT0 + 260, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].run_id, "01OLD");
  EXPECT_EQ(got[0].index, 0);
  EXPECT_EQ(got[1].run_id, "01OLD");
  EXPECT_EQ(got[1].index, 1);
  EXPECT_EQ(got[2].run_id, "01NEW");
  EXPECT_EQ(got[2].state, TaskState::kClaimed);
  EXPECT_EQ(got[2].owner, "worker-1");

  TaskRow stored = (*store_->GetTasks("01OLD"))[1];
  EXPECT_EQ(stored.state, TaskState::kClaimed);
  EXPECT_EQ(stored.owner, "worker-1");
  EXPECT_EQ(stored.lease_until, kT0 + 260);
  auto ev = *store_->GetEvents("01OLD", 0);
  EXPECT_EQ(ev.back().cause, "claimed");
  EXPECT_EQ(ev.back().ts, kT0 + 200);
  EXPECT_TRUE(events::VerifyChain(ev).ok);

  got = *store_->ClaimQueued("worker-2", kT0 + 300, kT0 + 360, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].run_id, "01NEW");
  EXPECT_EQ(got[0].index, 1);
  EXPECT_TRUE(store_->ClaimQueued("worker-2", kT0, kT0, 10)->empty());
  EXPECT_EQ((*store_->GetTasks("01IDLE"))[0].state, TaskState::kQueued);
}

TEST_P(StoreConformance, Settings) {
  EXPECT_EQ(*store_->GetSetting("missing"), "");
  ASSERT_TRUE(store_->SetSetting("color", "never").ok());
  ASSERT_TRUE(store_->SetSetting("color", "always").ok());
  EXPECT_EQ(*store_->GetSetting("color"), "always");
  Status bad = store_->SetSetting("durability", "sometimes");
  EXPECT_EQ(bad.code(), Code::kInvalid);
  EXPECT_EQ(*store_->GetSetting("durability"), "");
}

TEST_P(StoreConformance, ReopenKeepsEverything) {
  RunRow run = Create("01R", 2);
  StartAndQueue(run);
  ASSERT_TRUE(store_->SetSetting("k", "v").ok());
  store_.reset();
  store_ = OpenOk(url_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->GetRun("01R")->state, RunState::kRunning);
  EXPECT_EQ((*store_->GetTasks("01R"))[1].state, TaskState::kQueued);
  EXPECT_EQ(EventCount("01R"), 4u);
  EXPECT_EQ(*store_->GetSetting("k"), "v");
  // The chain continues where it stopped.
  auto got = *store_->ClaimQueued("w", kT0, kT0, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(events::VerifyChain(*store_->GetEvents("01R", 0)).ok);
}

TEST_P(StoreConformance, OpenWithoutCreateNeedsAnExistingStore) {
  OpenOptions o;
  o.create = false;
  auto s = factory_->Open(factory_->NewUrl(), o, false);
  EXPECT_EQ(s.status().code(), Code::kNotFound) << s.status().message();
}

TEST_P(StoreConformance, SchemaFromANewerRelayIsRefused) {
  ASSERT_TRUE(factory_
                  ->Exec(*store_,
                         "INSERT INTO schema_version (version, name, applied_at) "
                         "VALUES (999, '0999_future', 0)")
                  .ok());
  store_.reset();
  auto s = factory_->Open(url_, {}, false);
  ASSERT_EQ(s.status().code(), Code::kTooNew);
  const std::string known = std::to_string(Migrations().back().version);
  EXPECT_NE(s.status().message().find("was written by a newer relay (schema 999, this relay knows "
                                      "up to " +
                                      known + "); upgrade relay"),
            std::string::npos)
      << s.status().message();
}

TEST_P(StoreConformance, SomethingElseIsReportedCorrupt) {
  std::string url = factory_->NewUrl();
  factory_->WriteGarbage(url);
  auto s = factory_->Open(url, {}, false);
  ASSERT_EQ(s.status().code(), Code::kCorrupt);
  EXPECT_NE(s.status().message().find("is not a relay store"), std::string::npos)
      << s.status().message();
}

TEST_P(StoreConformance, AnotherWriterHoldingTheLockIsBusy) {
  Create("01R", 1);
  auto holder = OpenOk(url_);
  ASSERT_TRUE(factory_->Exec(*holder, "BEGIN IMMEDIATE").ok());
  auto other = factory_->Open(url_, {}, /*short_busy_timeout=*/true);
  ASSERT_TRUE(other.ok()) << other.status().message();  // reading needs no write lock
  EXPECT_EQ((*other)->GetRun("01R")->state, RunState::kPending);

  Micros start = MonotonicNow();
  Status s = (*other)->CreateRun(MakeRun("01S", kT0), {}, kT0);
  EXPECT_EQ(s.code(), Code::kBusy);
  EXPECT_NE(s.message().find("is locked by another process"), std::string::npos) << s.message();
  EXPECT_LT(MonotonicNow() - start, 3 * kSecond);

  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  EXPECT_EQ((*other)->Commit(b).code(), Code::kBusy);

  ASSERT_TRUE(factory_->Exec(*holder, "ROLLBACK").ok());
  EXPECT_TRUE((*other)->Commit(b).ok());
}

TEST_P(StoreConformance, ChainContinuesAfterAnotherConnectionAppends) {
  RunRow run = Create("01R", 2);
  auto other = OpenOk(url_);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  ASSERT_TRUE(other->Commit(b).ok());
  Batch c;
  c.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(c).ok());
  auto ev = *store_->GetEvents("01R", 0);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_TRUE(events::VerifyChain(ev).ok) << events::VerifyChain(ev).message;
}

// Two connections (two relays, or relay and `relay cancel`): a transition
// one of them committed is the state the other checks against next, and a
// stale transition is refused however the other learned the old state.
TEST_P(StoreConformance, AnotherConnectionsTransitionIsTheStateChecked) {
  RunRow run = Create("01R", 2);
  StartAndQueue(run);
  auto other = OpenOk(url_);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch claim;
  claim.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  ASSERT_TRUE(store_->Commit(claim).ok());
  // The other connection claims the same task from what it last read.
  Status s = other->Commit(claim);
  EXPECT_EQ(s.code(), Code::kConflict) << s.message();
  // It moves the task on; this one must see that before its next commit.
  t.state = TaskState::kClaimed;
  Batch release;
  release.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kQueued, "released"));
  ASSERT_TRUE(other->Commit(release).ok());
  Batch start;
  start.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  s = store_->Commit(start);
  EXPECT_EQ(s.code(), Code::kConflict) << s.message();
  EXPECT_NE(s.message().find("task 't0' of run 01R is queued, not claimed"), std::string::npos)
      << s.message();
  ASSERT_TRUE(store_->Commit(claim).ok());
  auto ev = *store_->GetEvents("01R", 0);
  EXPECT_TRUE(events::VerifyChain(ev).ok) << events::VerifyChain(ev).message;
  EXPECT_EQ(ev.size(), 7u);  // created, started, 2 queued, claimed, released, claimed
  EXPECT_EQ((*other->GetTasks("01R"))[0].state, TaskState::kClaimed);
}

TEST_P(StoreConformance, KillAfterCommitLeavesTheCommittedData) {
  std::string url = factory_->NewUrl();
  OpenOptions o;
  o.test_kill_after_commit = 2;
  EXPECT_EXIT(
      {
        auto s = factory_->Open(url, o, false);
        if (!s.ok()) std::exit(1);
        RunRow run = MakeRun("01K", kT0);
        if (!(*s)->CreateRun(run, MakeTasks("01K", 1), kT0).ok()) std::exit(2);
        Batch b;
        b.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
        (void)(*s)->Commit(b);
        std::exit(3);  // not reached: killed right after the second commit
      },
      ::testing::KilledBySignal(SIGKILL), "");
  auto s = OpenOk(url);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->GetRun("01K")->state, RunState::kRunning);
  EXPECT_EQ(s->GetEvents("01K", 0)->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(FactoryMaker([] {
                           return std::unique_ptr<StoreFactory>(new SqliteFactory);
                         })),
                         [](const auto&) { return std::string("Sqlite"); });

}  // namespace
}  // namespace relay::store
