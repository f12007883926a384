// The behaviour every store backend must share. Backends plug in through a
// StoreFactory (SQLite on temp files now; PostgreSQL adds a factory and an
// INSTANTIATE line, not tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <tuple>
#include <utility>
#include <variant>

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
  // Replaces the stored bytes and hash of event e.seq of run e.run_id with
  // e's (an editor who knows the format and recomputes the hash). The event
  // must have been committed alone.
  virtual Status RewriteEvent(Store& store, const events::Event& e) = 0;
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
  Status RewriteEvent(Store& store, const events::Event& e) override {
    std::string bytes = events::CanonicalBytes(e);
    if (bytes.find('\'') != std::string::npos) return Status::Invalid("quote in the event");
    // A commit of one event is the ledger row keyed by its seq.
    return Exec(store, "UPDATE ledger SET events = '" + bytes + "' || char(10), hashes = x'" +
                           e.hash + "' WHERE id = (SELECT num FROM runs WHERE id = '" + e.run_id +
                           "') * 4294967296 + " + std::to_string(e.seq) +
                           " AND length(hashes) = 32");
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
  // The claim's owner and lease are what its event records.
  EXPECT_EQ(ev.back().data,
            R"({"lease_until":)" + std::to_string(kT0 + 260) + R"(,"owner":"worker-1"})");
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
  CommitError error{"not cleared"};
  EXPECT_EQ((*other)->Commit(b, &error).code(), Code::kBusy);
  EXPECT_EQ(error.run_id, "") << "a busy store is no run's fault";

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

// What a transition records is its effects, never the row it carries: a
// row field set without an effect is not stored, so no caller can record
// what the fold (and the scheduler, which shares it) would not make.
TEST_P(StoreConformance, RowFieldsWithoutEffectsAreNotRecorded) {
  RunRow run = Create("01R", 1);
  StartAndQueue(run);
  TaskRow t = (*store_->GetTasks("01R"))[0];
  t.owner = "someone";
  t.lease_until = kT0 + 99;
  t.attempts = 7;
  t.log_path = "/not/recorded.log";
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  t.state = TaskState::kClaimed;
  b.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(b).ok());
  auto ev = *store_->GetEvents("01R", 0);
  EXPECT_EQ(ev[ev.size() - 2].data, "{}");
  EXPECT_EQ(ev.back().data, "{}");
  TaskRow got = (*store_->GetTasks("01R"))[0];
  EXPECT_EQ(got.owner, "");
  EXPECT_EQ(got.lease_until, 0);
  EXPECT_EQ(got.attempts, 1);
  EXPECT_EQ(got.log_path, AttemptLogPath(store_->LogDir(), "01R", 0, "t0", 1));
}

// A sub-pipeline's run is created by the commit that moves its caller's
// task to waiting_child: neither exists without the other, and each names
// the other.
TEST_P(StoreConformance, RunsCreatedInACommitComeWithTheirTransitions) {
  RunRow parent = Create("01P", 2);
  StartAndQueue(parent);
  TaskRow t = (*store_->GetTasks("01P"))[0];
  Batch b;
  b.now = kT0 + 10;
  NewRun child{MakeRun("01C", kT0 + 10), MakeTasks("01C", 1)};
  child.run.caller_run = "01P";
  child.run.caller_index = 0;
  child.run.created_by = "ana";
  b.new_runs.push_back(child);
  TaskEffects fx;
  fx.attempt = 1;
  fx.child = "01C";
  b.transitions.push_back(
      Move(t, TaskState::kQueued, TaskState::kWaitingChild, "child_started", fx));
  // The child starts in the same commit that creates it.
  b.transitions.push_back(MoveRun(child.run, RunState::kPending, RunState::kRunning, "started"));
  b.transitions.push_back(
      Move(child.tasks[0], TaskState::kPending, TaskState::kQueued, "needs_met"));
  CommitError error;
  Status s = store_->Commit(b, &error);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(error.run_id, "");

  RunRow c = *store_->GetRun("01C");
  EXPECT_EQ(c.state, RunState::kRunning);
  EXPECT_EQ(c.caller_run, "01P");
  EXPECT_EQ(c.caller_index, 0);
  EXPECT_EQ(c.created_by, "ana");
  EXPECT_EQ(c.outputs_json, "{}");
  EXPECT_EQ(c.created_at, kT0 + 10);
  auto ev = *store_->GetEvents("01C", 0);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].cause, "created");
  EXPECT_EQ(ev[0].ts, kT0 + 10);
  EXPECT_EQ(ev[0].data.rfind(R"({"caller_index":0,"caller_run":"01P","created_by":"ana",)"
                             R"("definition_hash":")",
                             0),
            0u)
      << ev[0].data;
  EXPECT_EQ(ev[1].to, "running");
  EXPECT_EQ(ev[2].subject, "t0");
  EXPECT_TRUE(events::VerifyChain(ev, "01C").ok) << events::VerifyChain(ev, "01C").message;
  EXPECT_EQ((*store_->GetTasks("01C"))[0].state, TaskState::kQueued);

  TaskRow caller = (*store_->GetTasks("01P"))[0];
  EXPECT_EQ(caller.state, TaskState::kWaitingChild);
  EXPECT_EQ(caller.child_run, "01C");
  EXPECT_EQ(caller.attempts, 1);
  EXPECT_EQ(caller.started_at, kT0 + 10);
  EXPECT_EQ(store_->GetEvents("01P", 0)->back().data, R"({"attempt":1,"child":"01C"})");

  auto children = *store_->ChildRuns("01P");
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, "01C");
  EXPECT_EQ(children[0].caller_index, 0);
  EXPECT_TRUE(store_->ChildRuns("01C")->empty());

  // A run someone started names nobody, and its created event no caller.
  RunRow top = *store_->GetRun("01P");
  EXPECT_EQ(top.caller_run, "");
  EXPECT_EQ(top.caller_index, -1);
  EXPECT_EQ(store_->GetEvents("01P", 0)->front().data.find("caller"), std::string::npos);
}

TEST_P(StoreConformance, ARunCreatedByACommitThatFailsDoesNotExist) {
  RunRow parent = Create("01P", 2);
  StartAndQueue(parent);
  auto tasks = *store_->GetTasks("01P");
  const int64_t head = *store_->FeedHead();
  Batch b;
  b.now = kT0 + 10;
  NewRun child{MakeRun("01C", kT0 + 10), MakeTasks("01C", 1)};
  child.run.caller_run = "01P";
  child.run.caller_index = 1;
  b.new_runs.push_back(child);
  TaskEffects fx;
  fx.attempt = 1;
  fx.child = "01C";
  b.transitions.push_back(
      Move(tasks[1], TaskState::kQueued, TaskState::kWaitingChild, "child_started", fx));
  b.transitions.push_back(MoveRun(child.run, RunState::kPending, RunState::kRunning, "started"));
  // Later in the batch, a transition from a state the task is not in.
  b.transitions.push_back(Move(tasks[0], TaskState::kClaimed, TaskState::kRunning, "started"));
  CommitError error;
  Status s = store_->Commit(b, &error);
  EXPECT_EQ(s.code(), Code::kConflict) << s.message();
  EXPECT_EQ(error.run_id, "01P");
  EXPECT_EQ(store_->GetRun("01C").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetEvents("01C", 0).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ChildRuns("01P")->empty());
  EXPECT_EQ((*store_->GetTasks("01P"))[1].state, TaskState::kQueued);
  EXPECT_EQ(*store_->FeedHead(), head);
  EXPECT_EQ(store_->ResolveRunId("01C").status().code(), Code::kNotFound);

  // Without the bad transition the same batch commits, and the feed goes on
  // from where it was: a failed commit takes no positions.
  b.transitions.pop_back();
  ASSERT_TRUE(store_->Commit(b, &error).ok());
  EXPECT_EQ(store_->GetRun("01C")->state, RunState::kRunning);
  EXPECT_EQ(*store_->FeedHead(), head + 3);
  auto feed = *store_->ReadFeed(head, 10);
  ASSERT_EQ(feed.size(), 3u);
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].pos, head + 1 + int64_t(i));

  // A new run whose id is taken fails the batch, naming that run.
  Batch again;
  again.new_runs.push_back(NewRun{MakeRun("01C", kT0), MakeTasks("01C", 1)});
  EXPECT_EQ(store_->Commit(again, &error).code(), Code::kConflict);
  EXPECT_EQ(error.run_id, "01C");
  EXPECT_EQ(store_->GetEvents("01C", 0)->size(), 2u);
}

// An engine that drives many runs commits their transitions together; when
// one run's transition fails, the error names that run, so the engine can
// take it out and commit the others.
TEST_P(StoreConformance, ACommitErrorNamesTheRunAtFault) {
  RunRow a = Create("01A", 1);
  RunRow b = Create("01B", 1);
  TaskRow ta = (*store_->GetTasks("01A"))[0];
  TaskRow tb = (*store_->GetTasks("01B"))[0];
  auto commit = [&](std::vector<std::variant<RunTransition, TaskTransition>> ts) {
    Batch batch;
    batch.now = kT0;
    batch.transitions = std::move(ts);
    CommitError error;
    Status s = store_->Commit(batch, &error);
    EXPECT_FALSE(s.ok());
    return std::pair(s.code(), error.run_id);
  };
  using P = std::pair<Code, std::string>;
  // A stale from state.
  EXPECT_EQ(commit({Move(ta, TaskState::kPending, TaskState::kQueued, "needs_met"),
                    Move(tb, TaskState::kQueued, TaskState::kClaimed, "claimed")}),
            P(Code::kConflict, "01B"));
  // A transition outside the table.
  EXPECT_EQ(commit({Move(tb, TaskState::kPending, TaskState::kQueued, "needs_met"),
                    Move(ta, TaskState::kPending, TaskState::kRunning, "started")}),
            P(Code::kInternal, "01A"));
  EXPECT_EQ(commit({MoveRun(a, RunState::kPending, RunState::kSucceeded, "all_succeeded")}),
            P(Code::kInternal, "01A"));
  // A run's stale state.
  EXPECT_EQ(commit({MoveRun(b, RunState::kRunning, RunState::kSucceeded, "all_succeeded")}),
            P(Code::kConflict, "01B"));
  // A run that does not exist.
  TaskRow gone = ta;
  gone.run_id = "01GONE";
  EXPECT_EQ(commit({Move(gone, TaskState::kPending, TaskState::kQueued, "needs_met")}),
            P(Code::kNotFound, "01GONE"));
  // Nothing of any of them was written; the others commit without the one.
  EXPECT_EQ(EventCount("01A"), 1u);
  EXPECT_EQ(EventCount("01B"), 1u);
  Batch ok;
  ok.transitions.push_back(Move(ta, TaskState::kPending, TaskState::kQueued, "needs_met"));
  CommitError error{"stale"};
  ASSERT_TRUE(store_->Commit(ok, &error).ok());
  EXPECT_EQ(error.run_id, "");
}

// The change feed: every committed event of every run, each at a position
// one more than the last, later commits at later positions.
TEST_P(StoreConformance, TheFeedNumbersEveryEventInCommitOrderWithoutGaps) {
  EXPECT_EQ(*store_->FeedHead(), 0);
  EXPECT_TRUE(store_->ReadFeed(0, 10)->empty());
  RunRow a = Create("01A", 2);
  RunRow b = Create("01B", 1);
  Batch mixed;
  mixed.now = kT0 + 1;
  TaskRow b0 = (*store_->GetTasks("01B"))[0];
  auto ta = *store_->GetTasks("01A");
  mixed.transitions.push_back(MoveRun(a, RunState::kPending, RunState::kRunning, "started"));
  mixed.transitions.push_back(Move(b0, TaskState::kPending, TaskState::kQueued, "needs_met"));
  mixed.transitions.push_back(Move(ta[0], TaskState::kPending, TaskState::kQueued, "needs_met"));
  mixed.transitions.push_back(Move(ta[1], TaskState::kPending, TaskState::kQueued, "needs_met"));
  ASSERT_TRUE(store_->Commit(mixed).ok());
  Batch last;
  last.transitions.push_back(MoveRun(b, RunState::kPending, RunState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(last).ok());

  auto feed = *store_->ReadFeed(0, 100);
  ASSERT_EQ(feed.size(), 7u);
  EXPECT_EQ(*store_->FeedHead(), 7);
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].pos, int64_t(i) + 1);
  auto key = [](const FeedEvent& f) { return f.event.run_id + "#" + std::to_string(f.event.seq); };
  // Commit by commit: the two creations, the mixed commit (its runs' events
  // in each run's order), then the last.
  EXPECT_EQ(key(feed[0]), "01A#1");
  EXPECT_EQ(key(feed[1]), "01B#1");
  std::vector<std::string> middle;
  for (size_t i = 2; i < 6; ++i) middle.push_back(key(feed[i]));
  std::vector<std::string> a_events;
  for (const auto& k : middle)
    if (k[2] == 'A') a_events.push_back(k);
  EXPECT_EQ(a_events, (std::vector<std::string>{"01A#2", "01A#3", "01A#4"}));
  EXPECT_NE(std::find(middle.begin(), middle.end(), "01B#2"), middle.end());
  EXPECT_EQ(key(feed[6]), "01B#3");
  // Each is the event the run's ledger holds.
  for (const FeedEvent& f : feed) {
    SCOPED_TRACE(key(f));
    const events::Event want = store_->GetEvents(f.event.run_id, f.event.seq - 1)->at(0);
    EXPECT_EQ(f.event.hash, want.hash);
    EXPECT_EQ(f.event.kind, want.kind);
    EXPECT_EQ(f.event.subject, want.subject);
    EXPECT_EQ(f.event.from, want.from);
    EXPECT_EQ(f.event.to, want.to);
    EXPECT_EQ(f.event.cause, want.cause);
    EXPECT_EQ(f.event.ts, want.ts);
    EXPECT_EQ(f.event.data, want.data);
  }
  // From any position, in pages of any size (a page may start in the middle
  // of one commit's events of one run).
  for (int64_t after = 0; after <= 7; ++after) {
    for (int limit : {1, 2, 3, 100}) {
      SCOPED_TRACE("after " + std::to_string(after) + ", limit " + std::to_string(limit));
      auto page = *store_->ReadFeed(after, limit);
      const size_t want = std::min<size_t>(limit, 7 - after);
      ASSERT_EQ(page.size(), want);
      for (size_t i = 0; i < want; ++i) {
        EXPECT_EQ(page[i].pos, feed[after + i].pos);
        EXPECT_EQ(page[i].event.hash, feed[after + i].event.hash);
      }
    }
  }
  EXPECT_TRUE(store_->ReadFeed(0, 0)->empty());
  EXPECT_TRUE(store_->ReadFeed(99, 10)->empty());
}

// Positions are the store's, not a connection's: commits of two relays on
// one store interleave in one feed, without gaps or repeats.
TEST_P(StoreConformance, FeedPositionsContinueAcrossConnections) {
  RunRow a = Create("01A", 2);
  StartAndQueue(a);  // positions 1 to 4
  auto other = OpenOk(url_);
  auto tasks = *store_->GetTasks("01A");
  Batch first;
  first.transitions.push_back(Move(tasks[0], TaskState::kQueued, TaskState::kClaimed, "claimed"));
  ASSERT_TRUE(other->Commit(first).ok());  // 5
  Batch second;
  second.transitions.push_back(Move(tasks[1], TaskState::kQueued, TaskState::kClaimed, "claimed"));
  ASSERT_TRUE(store_->Commit(second).ok());                                            // 6
  ASSERT_TRUE(other->CreateRun(MakeRun("01B", kT0), MakeTasks("01B", 1), kT0).ok());   // 7
  ASSERT_TRUE(store_->CreateRun(MakeRun("01C", kT0), MakeTasks("01C", 1), kT0).ok());  // 8
  EXPECT_EQ(*store_->FeedHead(), 8);
  EXPECT_EQ(*other->FeedHead(), 8);
  auto feed = *other->ReadFeed(0, 100);
  ASSERT_EQ(feed.size(), 8u);
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].pos, int64_t(i) + 1);
  EXPECT_EQ(feed[4].event.subject, "t0");
  EXPECT_EQ(feed[5].event.subject, "t1");
  EXPECT_EQ(feed[6].event.run_id, "01B");
  EXPECT_EQ(feed[7].event.run_id, "01C");
}

TEST_P(StoreConformance, RequestsAreKeptInOrderAndActedOnOnce) {
  Create("01A", 1);
  Create("01B", 1);
  Request approve;
  approve.run_id = "01A";
  approve.kind = "approve";
  approve.task = "t0";
  approve.actor = "ana";
  approve.comment = "ship it";
  approve.created_at = kT0 + 1;
  const int64_t id1 = *store_->AddRequest(approve);
  Request cancel;
  cancel.run_id = "01B";
  cancel.kind = "cancel";
  cancel.actor = "bo";
  const int64_t id2 = *store_->AddRequest(cancel);  // created_at: now
  Request cancel_task;
  cancel_task.run_id = "01A";
  cancel_task.kind = "cancel";
  cancel_task.task = "t0";
  const int64_t id3 = *store_->AddRequest(cancel_task);
  EXPECT_GT(id2, id1);
  EXPECT_GT(id3, id2);

  // A run-level cancel is on the run's row too; a task's cancel and an
  // approval are not.
  EXPECT_TRUE(*store_->CancelRequested("01B"));
  EXPECT_FALSE(*store_->CancelRequested("01A"));

  Request got = *store_->GetRequest(id1);
  EXPECT_EQ(got.id, id1);
  EXPECT_EQ(got.run_id, "01A");
  EXPECT_EQ(got.kind, "approve");
  EXPECT_EQ(got.task, "t0");
  EXPECT_EQ(got.actor, "ana");
  EXPECT_EQ(got.comment, "ship it");
  EXPECT_EQ(got.created_at, kT0 + 1);
  EXPECT_EQ(got.done_at, 0);
  EXPECT_EQ(got.outcome, "");
  EXPECT_GT(store_->GetRequest(id2)->created_at, kT0);

  auto ids = [](const std::vector<Request>& rs) {
    std::vector<int64_t> out;
    for (const Request& r : rs) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids(*store_->ReadRequests(0, 0)), (std::vector<int64_t>{id1, id2, id3}));
  EXPECT_EQ(ids(*store_->ReadRequests(id1, 1)), (std::vector<int64_t>{id2}));
  EXPECT_TRUE(store_->ReadRequests(id3, 10)->empty());

  Request nowhere = cancel;
  nowhere.run_id = "01GONE";
  EXPECT_EQ(store_->AddRequest(nowhere).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetRequest(id3 + 100).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->ReadRequests(0, 0)->size(), 3u);

  // Outcomes are committed with the transitions they caused, or not at all.
  TaskRow t = (*store_->GetTasks("01A"))[0];
  Batch failing;
  failing.now = kT0 + 5;
  failing.outcomes.push_back(RequestOutcome{id1, "approved"});
  failing.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  EXPECT_EQ(store_->Commit(failing).code(), Code::kConflict);
  EXPECT_EQ(store_->GetRequest(id1)->done_at, 0);
  Batch b;
  b.now = kT0 + 9;
  b.outcomes.push_back(RequestOutcome{id1, "approved (1 of 2)"});
  b.outcomes.push_back(RequestOutcome{id3, "refused: t0 is not running"});
  ASSERT_TRUE(store_->Commit(b).ok());
  got = *store_->GetRequest(id1);
  EXPECT_EQ(got.done_at, kT0 + 9);
  EXPECT_EQ(got.outcome, "approved (1 of 2)");
  EXPECT_EQ(store_->GetRequest(id3)->outcome, "refused: t0 is not running");
  EXPECT_EQ(store_->GetRequest(id2)->done_at, 0);
  // A request is acted on once: a later outcome does not replace the first.
  Batch twice;
  twice.now = kT0 + 99;
  twice.outcomes.push_back(RequestOutcome{id1, "approved (2 of 2)"});
  ASSERT_TRUE(store_->Commit(twice).ok());
  got = *store_->GetRequest(id1);
  EXPECT_EQ(got.done_at, kT0 + 9);
  EXPECT_EQ(got.outcome, "approved (1 of 2)");

  // RequestCancel is a cancel request like any other.
  ASSERT_TRUE(store_->RequestCancel("01A").ok());
  auto after = *store_->ReadRequests(id3, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].kind, "cancel");
  EXPECT_EQ(after[0].run_id, "01A");
  EXPECT_EQ(after[0].task, "");
  EXPECT_TRUE(*store_->CancelRequested("01A"));
}

// An engine polls ChangedElsewhere to wake for what others did: commits
// of other connections, and requests however they were added (a request
// added through the engine's own connection is news to it too). Its own
// commits are not.
TEST_P(StoreConformance, ChangedElsewhereSeesOtherConnectionsAndRequests) {
  auto other = OpenOk(url_);
  EXPECT_TRUE(*store_->ChangedElsewhere());  // the first call: nothing known yet
  EXPECT_FALSE(*store_->ChangedElsewhere());
  RunRow run = Create("01A", 1);
  StartAndQueue(run);
  ASSERT_TRUE(store_->HeartbeatOwner("x", kT0).ok());
  EXPECT_FALSE(*store_->ChangedElsewhere()) << "its own commits";
  ASSERT_TRUE(store_->RequestCancel("01A").ok());
  EXPECT_TRUE(*store_->ChangedElsewhere()) << "a request through this connection";
  EXPECT_FALSE(*store_->ChangedElsewhere());
  Request r;
  r.run_id = "01A";
  r.kind = "approve";
  ASSERT_TRUE(other->AddRequest(r).ok());
  EXPECT_TRUE(*store_->ChangedElsewhere());
  EXPECT_FALSE(*store_->ChangedElsewhere());
  TaskRow t = (*other->GetTasks("01A"))[0];
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
  ASSERT_TRUE(other->Commit(b).ok());
  EXPECT_TRUE(*store_->ChangedElsewhere());
  EXPECT_FALSE(*store_->ChangedElsewhere());
  EXPECT_TRUE(*other->ChangedElsewhere());  // its first call
  EXPECT_FALSE(*other->ChangedElsewhere()) << "its own commit";
}

TEST_P(StoreConformance, HeartbeatOwnerExtendsEveryUnfinishedRunOfTheOwner) {
  for (const char* id : {"01A", "01B", "01C", "01D"}) Create(id, 0);
  ASSERT_TRUE(store_->TakeOwnership("01A", "", "x", kT0).ok());
  ASSERT_TRUE(store_->TakeOwnership("01B", "", "x", kT0).ok());
  ASSERT_TRUE(store_->TakeOwnership("01C", "", "y", kT0).ok());
  ASSERT_TRUE(store_->TakeOwnership("01D", "", "x", kT0).ok());
  // 01A runs; 01B has ended (its row still names its last owner); 01D waits.
  Batch b;
  b.transitions.push_back(
      MoveRun(*store_->GetRun("01A"), RunState::kPending, RunState::kRunning, "started"));
  RunRow done = *store_->GetRun("01B");
  b.transitions.push_back(MoveRun(done, RunState::kPending, RunState::kRunning, "started"));
  done.state = RunState::kRunning;
  b.transitions.push_back(MoveRun(done, RunState::kRunning, RunState::kSucceeded, "all_succeeded"));
  ASSERT_TRUE(store_->Commit(b).ok());
  ASSERT_EQ(store_->GetRun("01B")->owner, "x");

  EXPECT_EQ(*store_->HeartbeatOwner("x", kT0 + 50), 2);
  EXPECT_EQ(store_->GetRun("01A")->heartbeat_at, kT0 + 50);
  EXPECT_EQ(store_->GetRun("01D")->heartbeat_at, kT0 + 50);
  EXPECT_EQ(store_->GetRun("01B")->heartbeat_at, kT0);
  EXPECT_EQ(store_->GetRun("01C")->heartbeat_at, kT0);
  EXPECT_EQ(*store_->HeartbeatOwner("nobody", kT0 + 60), 0);
  EXPECT_EQ(*OpenOk(url_)->HeartbeatOwner("y", kT0 + 70), 1);
  EXPECT_EQ(store_->GetRun("01C")->heartbeat_at, kT0 + 70);
}

// Concurrency groups are shared by every relay on the store: a limit of
// places, taken in the order they were first asked for, given back by a
// commit.
TEST_P(StoreConformance, ConcurrencyGroupsHandOutPlacesInOrder) {
  const Micros now = kT0 + 1000 * kSecond;
  for (const char* id : {"01A", "01B", "01C", "01D"}) {
    Create(id, 1);
    ASSERT_TRUE(store_->TakeOwnership(id, "", "relay-x", now).ok());
  }
  auto acquire = [&](Store& s, const std::string& run, int32_t index = -1) {
    auto got = s.AcquireGroup("deploy", 2, GroupHolder{run, index, now});
    EXPECT_TRUE(got.ok()) << got.status().message();
    return got.ok() ? *got : GroupState{};
  };
  auto holders = [](const GroupState& g) {
    std::vector<std::string> out;
    for (const GroupHolder& h : g.holders) out.push_back(h.run_id + "/" + std::to_string(h.index));
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  GroupState g = acquire(*store_, "01A");
  EXPECT_TRUE(g.acquired);
  EXPECT_EQ(holders(g), V{"01A/-1"});
  g = acquire(*store_, "01B", 0);  // a task instance holds a place too
  EXPECT_TRUE(g.acquired);
  EXPECT_EQ(holders(g), (V{"01A/-1", "01B/0"}));
  g = acquire(*store_, "01C");
  EXPECT_FALSE(g.acquired);
  EXPECT_EQ(g.ahead, 0);
  EXPECT_EQ(holders(g), (V{"01A/-1", "01B/0"}));
  g = acquire(*store_, "01D");
  EXPECT_FALSE(g.acquired);
  EXPECT_EQ(g.ahead, 1);

  // Asking again changes nothing: a holder keeps its place, a waiter its turn.
  g = acquire(*store_, "01A");
  EXPECT_TRUE(g.acquired);
  EXPECT_EQ(g.holders.size(), 2u);
  EXPECT_EQ(acquire(*store_, "01C").ahead, 0);
  EXPECT_EQ(acquire(*store_, "01D").ahead, 1);
  // Another relay on the store sees the same places and the same queue.
  auto other = OpenOk(url_);
  g = acquire(*other, "01D");
  EXPECT_FALSE(g.acquired);
  EXPECT_EQ(g.ahead, 1);
  EXPECT_EQ(holders(g), (V{"01A/-1", "01B/0"}));

  // A place given back by a commit goes to the first waiter, whoever asks first.
  Batch release;
  release.releases.push_back(GroupRelease{"deploy", "01A", -1});
  ASSERT_TRUE(store_->Commit(release).ok());
  g = acquire(*other, "01D");
  EXPECT_FALSE(g.acquired) << "01C asked first";
  EXPECT_EQ(g.ahead, 1);
  g = acquire(*store_, "01C");
  EXPECT_TRUE(g.acquired);
  EXPECT_EQ(holders(g), (V{"01B/0", "01C/-1"}));

  // A run that ends gives back every place it held.
  Batch end;
  end.transitions.push_back(
      MoveRun(*store_->GetRun("01B"), RunState::kPending, RunState::kCancelled, "cancelled"));
  ASSERT_TRUE(store_->Commit(end).ok());
  g = acquire(*other, "01D");
  EXPECT_TRUE(g.acquired);
  EXPECT_EQ(holders(g), (V{"01C/-1", "01D/-1"}));
}

// A waiter whose relay died (its run has not heartbeat for a minute) does
// not hold up the queue behind it.
TEST_P(StoreConformance, AStaleWaiterIsPassedOver) {
  const Micros now = kT0 + 1000 * kSecond;
  Create("01A", 0);
  Create("01E", 0);
  Create("01F", 0);
  ASSERT_TRUE(store_->TakeOwnership("01A", "", "relay-x", now).ok());
  ASSERT_TRUE(store_->TakeOwnership("01E", "", "relay-dead", now - 61 * kSecond).ok());
  ASSERT_TRUE(store_->TakeOwnership("01F", "", "relay-x", now).ok());
  auto acquire = [&](const std::string& run) {
    return *store_->AcquireGroup("solo", 1, GroupHolder{run, -1, now});
  };
  ASSERT_TRUE(acquire("01A").acquired);
  EXPECT_FALSE(acquire("01E").acquired);
  GroupState f = acquire("01F");
  EXPECT_FALSE(f.acquired);
  EXPECT_EQ(f.ahead, 0) << "01E's relay is gone";
  Batch release;
  release.releases.push_back(GroupRelease{"solo", "01A", -1});
  ASSERT_TRUE(store_->Commit(release).ok());
  EXPECT_TRUE(acquire("01F").acquired);
  EXPECT_FALSE(acquire("01E").acquired);
  // A live waiter is not passed over.
  EXPECT_FALSE(acquire("01A").acquired);
  ASSERT_TRUE(store_->TakeOwnership("01E", "relay-dead", "relay-y", now).ok());
  EXPECT_EQ(store_->AcquireGroup("solo", 1, GroupHolder{"01A", -1, now})->ahead, 1)
      << "01E is alive again, and asked first";
}

TEST_P(StoreConformance, DefinitionsAreKeptByTheirHash) {
  const std::string text = "name: child\ntasks: {}\n";
  const std::string hash = events::Sha256Hex(text);
  EXPECT_EQ(store_->GetDefinition(hash).status().code(), Code::kNotFound);
  ASSERT_TRUE(store_->PutDefinition(text).ok());
  ASSERT_TRUE(store_->PutDefinition(text).ok());  // once, however often put
  auto got = store_->GetDefinition(hash);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, text);
  RunRow run = Create("01A", 0);
  EXPECT_EQ(*store_->GetDefinition(run.definition_hash), run.definition);
  // A text that no longer matches its hash is not handed out.
  ASSERT_TRUE(
      factory_
          ->Exec(*store_, "UPDATE definitions SET text = 'name: evil' WHERE hash = '" + hash + "'")
          .ok());
  Status s = store_->GetDefinition(hash).status();
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("does not match its hash"), std::string::npos) << s.message();
}

TEST_P(StoreConformance, ChildRunsAreTheRunsARunStarted) {
  Create("01P", 2);
  Create("01X", 0);
  for (auto [id, index, at] : {std::tuple{"01C2", 1, kT0 + 2}, std::tuple{"01C1", 0, kT0 + 1}}) {
    RunRow r = MakeRun(id, at);
    r.caller_run = "01P";
    r.caller_index = index;
    ASSERT_TRUE(store_->CreateRun(r, MakeTasks(id, 1), at).ok());
  }
  auto children = *store_->ChildRuns("01P");
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "01C1");  // oldest first
  EXPECT_EQ(children[0].caller_index, 0);
  EXPECT_EQ(children[1].id, "01C2");
  EXPECT_EQ(children[1].caller_index, 1);
  EXPECT_EQ(children[1].caller_run, "01P");
  EXPECT_TRUE(store_->ChildRuns("01X")->empty());
  EXPECT_TRUE(store_->ChildRuns("01NONE")->empty());
  EXPECT_TRUE(store_->ChildRuns("")->empty()) << "runs without a caller are nobody's children";
}

// The head of every chain is anchored outside the ledger as it is
// committed, so that events removed from a run's end do not pass as a
// shorter, valid chain.
TEST_P(StoreConformance, EachCommitAnchorsTheHeadsItExtends) {
  auto head = [&](const std::string& run) {
    const events::Event last = store_->GetEvents(run, 0)->back();
    return std::pair(last.seq, last.hash);
  };
  auto anchor = [&](const std::string& run) {
    HeadAnchor a = *store_->GetHeadAnchor(run);
    return std::pair(a.seq, a.hash);
  };
  EXPECT_EQ(store_->GetHeadAnchor("01NONE")->seq, 0);
  RunRow a = Create("01A", 1);
  EXPECT_EQ(anchor("01A"), head("01A"));
  RunRow b = Create("01B", 1);
  StartAndQueue(a);
  EXPECT_EQ(anchor("01A"), head("01A"));
  EXPECT_EQ(anchor("01A").first, 3);
  EXPECT_EQ(anchor("01B").first, 1);
  // One commit extending two runs anchors both.
  Batch both;
  both.transitions.push_back(MoveRun(b, RunState::kPending, RunState::kRunning, "started"));
  both.transitions.push_back(MoveRun(*store_->GetRun("01A"), RunState::kRunning,
                                     RunState::kCancelling, "cancel_requested"));
  ASSERT_TRUE(store_->Commit(both).ok());
  EXPECT_EQ(anchor("01A"), head("01A"));
  EXPECT_EQ(anchor("01B"), head("01B"));
  // What another connection commits is anchored too, and seen from here.
  auto other = OpenOk(url_);
  ASSERT_TRUE(other->CreateRun(MakeRun("01C", kT0), {}, kT0).ok());
  EXPECT_EQ(anchor("01C"), head("01C"));
  // A failed commit anchors nothing.
  Batch bad;
  bad.transitions.push_back(MoveRun(b, RunState::kPending, RunState::kRunning, "started"));
  EXPECT_FALSE(store_->Commit(bad).ok());
  EXPECT_EQ(anchor("01B"), head("01B"));
}

// Whoever rewrites an event and recomputes its hash makes a chain whose
// links all verify; the transition it records is still checked against the
// state tables, so a made-up transition is neither verified nor folded.
TEST_P(StoreConformance, ATransitionOutsideTheTableIsRefusedEvenWhenRehashed) {
  RunRow run = Create("01R", 1);
  Batch start;
  start.transitions.push_back(MoveRun(run, RunState::kPending, RunState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(start).ok());
  TaskRow t = (*store_->GetTasks("01R"))[0];
  Batch queue;
  queue.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  ASSERT_TRUE(store_->Commit(queue).ok());

  events::Event e = store_->GetEvents("01R", 0)->back();
  ASSERT_EQ(e.seq, 3);
  e.to = "succeeded";  // pending → succeeded exists, but only as a reused result
  e.cause = "exit_zero";
  e.hash = events::ComputeHash(e.prev_hash, e);
  ASSERT_TRUE(factory_->RewriteEvent(*store_, e).ok());
  auto ev = *store_->GetEvents("01R", 0);
  ASSERT_EQ(ev.back().hash, e.hash) << "the event was not rewritten";
  ASSERT_EQ(ev.back().to, "succeeded");

  events::VerifyResult r = events::VerifyChain(ev, "01R");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
  EXPECT_NE(
      r.message.find("pending \u2192 succeeded (cause 'exit_zero') is not in the state table"),
      std::string::npos)
      << r.message;
  Status rows = store_->GetTasks("01R").status();
  EXPECT_EQ(rows.code(), Code::kCorrupt);
  EXPECT_NE(rows.message().find("relay ledger verify 01R"), std::string::npos) << rows.message();
  // A relay that takes the run up chains nothing onto it.
  Batch more;
  more.transitions.push_back(MoveRun(*store_->GetRun("01R"), RunState::kRunning,
                                     RunState::kCancelling, "cancel_requested"));
  EXPECT_EQ(OpenOk(url_)->Commit(more).code(), Code::kCorrupt);
  EXPECT_EQ(store_->GetEvents("01R", 0)->size(), 3u);
}

// The same for a run's transition, and for transitions that are in their
// table but do not start where the run or the task was.
TEST_P(StoreConformance, RehashedTransitionsThatDoNotFollowAreRefused) {
  // A run event outside the table.
  RunRow a = Create("01A", 1);
  Batch start;
  start.transitions.push_back(MoveRun(a, RunState::kPending, RunState::kRunning, "started"));
  ASSERT_TRUE(store_->Commit(start).ok());
  events::Event e = store_->GetEvents("01A", 0)->back();
  e.to = "succeeded";
  e.cause = "all_succeeded";
  e.hash = events::ComputeHash(e.prev_hash, e);
  ASSERT_TRUE(factory_->RewriteEvent(*store_, e).ok());
  events::VerifyResult r = events::VerifyChain(*store_->GetEvents("01A", 0), "01A");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_EQ(store_->GetTasks("01A").status().code(), Code::kCorrupt);

  // A run event in the table, from a state the run was not in.
  RunRow b = Create("01B", 1);
  ASSERT_TRUE(store_
                  ->Commit([&] {
                    Batch x;
                    x.transitions.push_back(
                        MoveRun(b, RunState::kPending, RunState::kRunning, "started"));
                    return x;
                  }())
                  .ok());
  e = store_->GetEvents("01B", 0)->back();
  e.from = "running";
  e.to = "running";
  e.cause = "resumed";
  e.hash = events::ComputeHash(e.prev_hash, e);
  ASSERT_TRUE(factory_->RewriteEvent(*store_, e).ok());
  r = events::VerifyChain(*store_->GetEvents("01B", 0), "01B");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("the run moves from running, but it was pending"), std::string::npos)
      << r.message;

  // A task event in the table, from a state the task was not in: the fold
  // refuses it, and so does a check of every task's continuity (as `relay
  // ledger verify` makes).
  RunRow c = Create("01C", 1);
  TaskRow t = (*store_->GetTasks("01C"))[0];
  ASSERT_TRUE(store_
                  ->Commit([&] {
                    Batch x;
                    x.transitions.push_back(
                        Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
                    return x;
                  }())
                  .ok());
  e = store_->GetEvents("01C", 0)->back();
  e.from = "queued";
  e.to = "claimed";
  e.cause = "claimed";
  e.hash = events::ComputeHash(e.prev_hash, e);
  ASSERT_TRUE(factory_->RewriteEvent(*store_, e).ok());
  auto ev = *store_->GetEvents("01C", 0);
  Status rows = store_->GetTasks("01C").status();
  EXPECT_EQ(rows.code(), Code::kCorrupt);
  EXPECT_NE(rows.message().find("but the task is pending"), std::string::npos) << rows.message();
  events::ChainChecker every_task("01C", 1, /*task_continuity=*/true);
  const events::VerifyResult* last = nullptr;
  for (const auto& x : ev) last = &every_task.Next(x);
  ASSERT_NE(last, nullptr);
  EXPECT_FALSE(last->ok);
  EXPECT_NE(last->message.find("task 't0' moves from queued, but it was pending"),
            std::string::npos)
      << last->message;
}

// The keeper that holds an attempt's processes is the one of the relay that
// started it: each task row names that relay, folded from the owner the
// run's started and resumed events record.
TEST_P(StoreConformance, StartedByIsTheRelayThatHeldTheRunWhenTheAttemptStarted) {
  RunRow run = Create("01R", 3);
  auto tasks = *store_->GetTasks("01R");
  auto start = [](TaskRow t, Batch& b) {
    b.transitions.push_back(Move(t, TaskState::kQueued, TaskState::kClaimed, "claimed"));
    t.state = TaskState::kClaimed;
    b.transitions.push_back(Move(t, TaskState::kClaimed, TaskState::kRunning, "started"));
  };
  Batch b;
  b.now = kT0 + 1;
  RunTransition started = MoveRun(run, RunState::kPending, RunState::kRunning, "started");
  started.data.Add("owner", "relay-a:1:1");
  b.transitions.push_back(started);
  for (const TaskRow& t : tasks)
    b.transitions.push_back(Move(t, TaskState::kPending, TaskState::kQueued, "needs_met"));
  start(tasks[0], b);
  ASSERT_TRUE(store_->Commit(b).ok());
  tasks = *store_->GetTasks("01R");
  EXPECT_EQ(tasks[0].started_by, "relay-a:1:1");
  EXPECT_EQ(tasks[1].started_by, "") << "not started";

  // Another relay resumes the run: what starts from now on is its keeper's;
  // what was running stays with the keeper that holds it.
  Batch c;
  c.now = kT0 + 2;
  RunRow running = *store_->GetRun("01R");
  RunTransition resumed = MoveRun(running, RunState::kRunning, RunState::kRunning, "resumed");
  resumed.data.Add("owner", "relay-b:2:2");
  c.transitions.push_back(resumed);
  start(tasks[1], c);
  ASSERT_TRUE(store_->Commit(c).ok());
  Batch d;
  d.now = kT0 + 3;
  start(tasks[2], d);
  ASSERT_TRUE(store_->Commit(d).ok());
  store_.reset();
  store_ = OpenOk(url_);  // folded afresh
  tasks = *store_->GetTasks("01R");
  EXPECT_EQ(tasks[0].started_by, "relay-a:1:1");
  EXPECT_EQ(tasks[1].started_by, "relay-b:2:2");
  EXPECT_EQ(tasks[2].started_by, "relay-b:2:2");
  // No task event records it: it costs the ledger nothing per attempt.
  const std::vector<events::Event> all = *store_->GetEvents("01R", 0);
  for (const auto& e : all)
    if (e.kind == "task") {
      EXPECT_EQ(e.data.find("relay-"), std::string::npos) << e.data;
    }
}

TEST_P(StoreConformance, ApprovalsRecordWhoApproved) {
  RunRow run = Create("01R", 2);
  StartAndQueue(run);
  auto tasks = *store_->GetTasks("01R");
  TaskRow t = tasks[0];
  auto step = [&](TaskState to, const char* cause, TaskEffects fx, Micros ts) {
    Batch b;
    b.now = ts;
    b.transitions.push_back(Move(t, t.state, to, cause, fx));
    Status s = store_->Commit(b);
    EXPECT_TRUE(s.ok()) << s.message();
    t.state = to;
    return (*store_->GetTasks("01R"))[0];
  };
  TaskEffects wait;
  wait.due_at = kT0 + 3600 * kSecond;  // its timeout
  TaskRow got = step(TaskState::kWaitingApproval, "approval_required", wait, kT0 + 10);
  EXPECT_EQ(got.state, TaskState::kWaitingApproval);
  EXPECT_EQ(got.due_at, kT0 + 3600 * kSecond);
  EXPECT_EQ(got.approved_by, "");
  TaskEffects ana;
  ana.approver = "ana";
  got = step(TaskState::kWaitingApproval, "approval_recorded", ana, kT0 + 20);
  EXPECT_EQ(got.approved_by, "ana");
  EXPECT_EQ(got.due_at, kT0 + 3600 * kSecond) << "one approval of two does not stop the clock";
  TaskEffects bo;
  bo.approver = "bo";
  got = step(TaskState::kQueued, "approved", bo, kT0 + 30);
  EXPECT_EQ(got.state, TaskState::kQueued);
  EXPECT_EQ(got.approved_by, "ana,bo");
  EXPECT_EQ(got.due_at, 0);
  auto ev = *store_->GetEvents("01R", 0);
  EXPECT_EQ(ev[ev.size() - 3].data, R"({"due_at":)" + std::to_string(kT0 + 3600 * kSecond) + "}");
  EXPECT_EQ(ev[ev.size() - 2].data, R"({"approver":"ana"})");
  EXPECT_EQ(ev.back().data, R"({"approver":"bo"})");

  // A rejection records its reviewer as well.
  t = tasks[1];
  step(TaskState::kWaitingApproval, "approval_required", {}, kT0 + 40);
  TaskEffects cy;
  cy.approver = "cy";
  Batch b;
  b.transitions.push_back(Move(t, TaskState::kWaitingApproval, TaskState::kFailed, "rejected", cy));
  ASSERT_TRUE(store_->Commit(b).ok());
  got = (*store_->GetTasks("01R"))[1];
  EXPECT_EQ(got.state, TaskState::kFailed);
  EXPECT_EQ(got.approved_by, "cy");
  EXPECT_EQ(got.due_at, 0);
}

TEST_P(StoreConformance, ASubPipelineTaskRecordsItsChildRunAndItsEnd) {
  RunRow run = Create("01P", 1);
  StartAndQueue(run);
  TaskRow t = (*store_->GetTasks("01P"))[0];
  Batch b;
  b.now = kT0 + 10;
  NewRun child{MakeRun("01C", kT0 + 10), {}};
  child.run.caller_run = "01P";
  child.run.caller_index = 0;
  b.new_runs.push_back(child);
  TaskEffects fx;
  fx.child = "01C";  // attempt: the next one
  b.transitions.push_back(
      Move(t, TaskState::kQueued, TaskState::kWaitingChild, "child_started", fx));
  ASSERT_TRUE(store_->Commit(b).ok());
  t.state = TaskState::kWaitingChild;
  Batch end;
  end.now = kT0 + 500;
  TaskEffects done;
  done.outputs = R"({"version":"2"})";
  end.transitions.push_back(
      Move(t, TaskState::kWaitingChild, TaskState::kSucceeded, "child_succeeded", done));
  ASSERT_TRUE(store_->Commit(end).ok());
  store_ = OpenOk(url_);
  TaskRow got = (*store_->GetTasks("01P"))[0];
  EXPECT_EQ(got.state, TaskState::kSucceeded);
  EXPECT_EQ(got.child_run, "01C");
  EXPECT_EQ(got.attempts, 1);
  EXPECT_EQ(got.started_at, kT0 + 10);
  EXPECT_EQ(got.ended_at, kT0 + 500);
  EXPECT_EQ(got.outputs_json, R"({"version":"2"})");
  EXPECT_EQ(got.log_path, "") << "a sub-pipeline's task has no log of its own";
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(FactoryMaker([] {
                           return std::unique_ptr<StoreFactory>(new SqliteFactory);
                         })),
                         [](const auto&) { return std::string("Sqlite"); });

}  // namespace
}  // namespace relay::store
