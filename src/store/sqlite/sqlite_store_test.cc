// SQLite-specific behaviour: error mapping, durability pragmas, migrations
// of a bare file, and that folded commits write each row once.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "events/event.h"
#include "store/migrations.h"
#include "store/sqlite/errors.h"
#include "store/sqlite/rows.h"
#include "store/store.h"

namespace relay::store::sqlite {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "relay-sqlite-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/relay.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> OpenOk(OpenOptions o = {}) {
    auto s = SqliteStore::Open(path_, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::string dir_;
  std::string path_;
};

// The first column of the first row of `sql` on the store file, read by a
// separate read-only connection; -1 when there is no row.
int64_t QueryInt(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// The single task "t" of run `run_id`, pending.
TaskRow OneTask(const std::string& run_id) {
  TaskRow t;
  t.run_id = run_id;
  t.name = "t";
  t.task = "t";
  return t;
}

RunRow NewRun(const std::string& id) {
  RunRow r;
  r.id = id;
  r.pipeline = "p";
  r.created_at = 1;
  return r;
}

TEST(SqliteStatusTest, MapsCodesToStatusesNamingTheFile) {
  Status busy = SqliteStatus(SQLITE_BUSY, nullptr, "x.db", "commit");
  EXPECT_EQ(busy.code(), Code::kBusy);
  EXPECT_EQ(busy.message().rfind("store x.db is locked by another process (", 0), 0u);
  EXPECT_EQ(SqliteStatus(SQLITE_LOCKED_SHAREDCACHE, nullptr, "x.db", "c").code(), Code::kBusy);
  Status notadb = SqliteStatus(SQLITE_NOTADB, nullptr, "x.db", "open");
  EXPECT_EQ(notadb.code(), Code::kCorrupt);
  EXPECT_EQ(notadb.message().rfind("x.db is not a relay store or is corrupt: ", 0), 0u);
  EXPECT_EQ(SqliteStatus(SQLITE_CORRUPT, nullptr, "x.db", "open").code(), Code::kCorrupt);
  Status full = SqliteStatus(SQLITE_FULL, nullptr, "x.db", "commit");
  EXPECT_EQ(full.code(), Code::kFull);
  EXPECT_EQ(full.message(), "disk full while writing x.db");
  for (int rc : {SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, SQLITE_IOERR_WRITE}) {
    Status s = SqliteStatus(rc, nullptr, "x.db", "open");
    EXPECT_EQ(s.code(), Code::kIo) << rc;
    EXPECT_NE(s.message().find("x.db"), std::string::npos);
  }
  EXPECT_EQ(SqliteStatus(SQLITE_CONSTRAINT_PRIMARYKEY, nullptr, "x.db", "c").code(),
            Code::kConflict);
  EXPECT_EQ(SqliteStatus(SQLITE_MISUSE, nullptr, "x.db", "c").code(), Code::kInternal);
}

TEST_F(SqliteStoreTest, CreatesParentDirectoriesAndDescribesItself) {
  path_ = dir_ + "/a/b/relay.db";
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(s->Describe(), "sqlite:" + path_);
}

TEST_F(SqliteStoreTest, UncreatableDirectoryIsAnIoError) {
  std::ofstream(dir_ + "/file") << "x";
  path_ = dir_ + "/file/relay.db";
  auto s = SqliteStore::Open(path_, {});
  EXPECT_EQ(s.status().code(), Code::kIo) << s.status().message();
  EXPECT_NE(s.status().message().find(dir_ + "/file"), std::string::npos);
}

TEST_F(SqliteStoreTest, DirectoryInPlaceOfTheFileIsAnIoError) {
  std::filesystem::create_directories(path_);
  auto s = SqliteStore::Open(path_, {});
  EXPECT_EQ(s.status().code(), Code::kIo) << s.status().message();
  EXPECT_NE(s.status().message().find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, ForeignSqliteDatabaseIsNotARelayStore) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(path_, {});
  ASSERT_EQ(s.status().code(), Code::kCorrupt);
  EXPECT_NE(s.status().message().find("table 'photos'"), std::string::npos) << s.status().message();
}

TEST_F(SqliteStoreTest, EmptyFileIsMigratedToTheLatestSchema) {
  std::ofstream(path_).close();
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  // Version 1 is recorded: inserting it again violates the primary key.
  Status dup = s->TEST_Exec("INSERT INTO schema_version VALUES (1, 'again', 0)");
  EXPECT_EQ(dup.code(), Code::kConflict) << dup.message();
  EXPECT_TRUE(s->CreateRun(NewRun("01A"), {}, 5).ok());
}

// A store written by a relay that knew only migration 1 opens with its runs,
// tasks and ledger intact, and the ledger goes on where it stopped. The old
// store is built from migration 1's own SQL, then filled with the rows of
// two runs written by this relay (columns that migration 1 had).
TEST_F(SqliteStoreTest, StoreFromAnOlderRelayIsMigratedKeepingItsRuns) {
  const std::string fresh = dir_ + "/fresh.db";
  std::vector<events::Event> before;
  {
    auto made = SqliteStore::Open(fresh, {});
    ASSERT_TRUE(made.ok()) << made.status().message();
    auto& s = *made;
    TaskRow t;
    t.run_id = "01OLD";
    t.name = "t";
    t.task = "t";
    ASSERT_TRUE(s->CreateRun(NewRun("01A"), {}, 4).ok());
    ASSERT_TRUE(s->CreateRun(NewRun("01OLD"), {t}, 5).ok());
    Batch b;
    t.state = state::TaskState::kQueued;
    b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met", ""});
    ASSERT_TRUE(s->Commit(b).ok());
    before = *s->GetEvents("01OLD", 0);
    ASSERT_EQ(before.size(), 2u);
  }
  auto exec = [&](const std::string& sql, sqlite3* db) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  };
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    exec(Migrations().front().sql, db);
    exec("INSERT INTO schema_version VALUES (1, '0001_initial', 0)", db);
    exec("ATTACH '" + fresh + "' AS fresh", db);
    exec(
        "INSERT INTO runs SELECT id, pipeline, file, workdir, definition, definition_hash, "
        "inputs_json, options_json, parent_run, state, reason, created_at, started_at, ended_at, "
        "owner, heartbeat_at, cancel_requested FROM fresh.runs",
        db);
    exec(std::string("INSERT INTO tasks SELECT ") + kTaskColumns + " FROM fresh.tasks", db);
    exec(
        "INSERT INTO events SELECT run_id, seq, ts, kind, subject, from_state, to_state, cause, "
        "reason, data, prev_hash, hash FROM fresh.events",
        db);
    sqlite3_close(db);
  }
  auto count = [&](const char* sql) { return QueryInt(path_, sql); };
  ASSERT_EQ(count("SELECT MAX(version) FROM schema_version"), 1);
  ASSERT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_queued'"), 1);

  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(count("SELECT MAX(version) FROM schema_version"), Migrations().back().version);
  EXPECT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_queued'"), 0);
  EXPECT_EQ(s->GetRun("01OLD")->pipeline, "p");
  EXPECT_EQ((*s->GetTasks("01OLD"))[0].state, state::TaskState::kQueued);
  auto after = s->GetEvents("01OLD", 0);
  ASSERT_TRUE(after.ok()) << after.status().message();
  ASSERT_EQ(after->size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ((*after)[i].hash, before[i].hash);
  EXPECT_EQ(s->GetEvents("01A", 0)->size(), 1u);  // runs' ledgers stay apart

  // The chain continues after the migration, and a new run gets its own.
  TaskRow t = (*s->GetTasks("01OLD"))[0];
  t.state = state::TaskState::kClaimed;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kQueued, "claimed", ""});
  ASSERT_TRUE(s->Commit(b).ok());
  ASSERT_TRUE(s->CreateRun(NewRun("01NEW"), {}, 6).ok());
  auto all = *s->GetEvents("01OLD", 0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].seq, 3);
  EXPECT_TRUE(events::VerifyChain(all).ok);
  EXPECT_EQ(s->GetEvents("01NEW", 0)->size(), 1u);
  EXPECT_EQ(s->GetEvents("01OLD", 2)->size(), 1u);
}

// A task row keeps its stored size through its transitions (migration 4), so
// an update overwrites it in place instead of overflowing a full page.
TEST_F(SqliteStoreTest, TaskRowKeepsItsSizeFromPendingToSucceeded) {
  auto s = OpenOk();
  TaskRow t;
  t.run_id = "01A";
  t.name = "build (linux, 3)";
  t.task = "build";
  t.matrix_json = R"({"os":"linux","n":3})";
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {t}, 5).ok());
  auto payload = [&] {
    return QueryInt(path_, "SELECT payload FROM dbstat WHERE name = 'tasks' AND pagetype = 'leaf'");
  };
  const int64_t created = payload();
  ASSERT_GT(created, 0);
  auto move = [&](state::TaskState from, state::TaskState to, const char* cause) {
    t.state = to;
    t.cause = cause;
    Batch b;
    b.now = 1'795'574'924'683'723;
    b.transitions.push_back(TaskTransition{t, from, cause, ""});
    ASSERT_TRUE(s->Commit(b).ok());
    EXPECT_EQ(payload(), created) << "after " << cause;
  };
  move(state::TaskState::kPending, state::TaskState::kQueued, "needs_met");
  t.owner = "relay-host-12345-01M8895WPZH26HZYFKG0FR7CHC";
  t.lease_until = 1'795'574'954'683'723;
  move(state::TaskState::kQueued, state::TaskState::kClaimed, "claimed");
  t.attempts = 1;
  t.reason = "attempt 1";
  t.started_at = 1'795'574'924'683'723;
  t.log_path = "/home/user/project/.relay/logs/01M8895WPZH26HZYFKG0FR7CHC/0-build.1.log";
  t.pid = t.pgid = 4'194'000;
  move(state::TaskState::kClaimed, state::TaskState::kRunning, "started");
  t.exit_code = 0;
  t.reason = "exit 0 in 4ms";
  t.ended_at = t.started_at + 4000;
  t.owner.clear();
  t.outputs_json = R"({"version":"1.2.3"})";
  move(state::TaskState::kRunning, state::TaskState::kSucceeded, "exit_zero");
}

TEST_F(SqliteStoreTest, DurabilityPragmaFollowsOptionsAndSetting) {
  EXPECT_EQ(OpenOk()->TEST_SynchronousMode(), 1);  // NORMAL
  OpenOptions power;
  power.durability = Durability::kPower;
  EXPECT_EQ(OpenOk(power)->TEST_SynchronousMode(), 2);  // FULL

  auto s = OpenOk();
  ASSERT_TRUE(s->SetSetting("durability", "power").ok());
  EXPECT_EQ(s->TEST_SynchronousMode(), 2);  // applies at once
  s.reset();
  EXPECT_EQ(OpenOk()->TEST_SynchronousMode(), 2);
  OpenOptions normal;
  normal.durability = Durability::kNormal;  // an explicit option overrides the setting
  auto n = OpenOk(normal);
  EXPECT_EQ(n->TEST_SynchronousMode(), 1);
  ASSERT_TRUE(n->SetSetting("durability", "power").ok());
  EXPECT_EQ(n->TEST_SynchronousMode(), 1);
}

TEST_F(SqliteStoreTest, UsesWriteAheadLog) {
  auto s = OpenOk();
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {}, 5).ok());
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(SqliteStoreTest, FoldedTransitionsWriteTheRowOnce) {
  auto s = OpenOk();
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {t}, 5).ok());
  ASSERT_TRUE(s->TEST_Exec("CREATE TABLE writes (n INTEGER); "
                           "CREATE TRIGGER count_writes AFTER UPDATE ON tasks "
                           "BEGIN INSERT INTO writes VALUES (1); END;")
                  .ok());
  Batch b;
  auto move = [&](state::TaskState from, state::TaskState to, const char* cause) {
    t.state = to;
    b.transitions.push_back(TaskTransition{t, from, cause, ""});
  };
  move(state::TaskState::kPending, state::TaskState::kQueued, "needs_met");
  move(state::TaskState::kQueued, state::TaskState::kClaimed, "claimed");
  move(state::TaskState::kClaimed, state::TaskState::kRunning, "started");
  ASSERT_TRUE(s->Commit(b).ok());
  // Exactly one row in `writes`: a second insert of its only value fails
  // the CHECK below only if there were two.
  EXPECT_TRUE(s->TEST_Exec("CREATE TABLE one AS SELECT COUNT(*) AS n FROM writes; "
                           "CREATE TABLE check_one (n INTEGER CHECK (n = 1)); "
                           "INSERT INTO check_one SELECT n FROM one;")
                  .ok());
  EXPECT_EQ(s->GetEvents("01A", 0)->size(), 4u);
}

TEST_F(SqliteStoreTest, AMangledLastHashStopsTheChainInsteadOfExtendingIt) {
  auto s = OpenOk();
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {t}, 5).ok());
  ASSERT_TRUE(s->TEST_Exec("UPDATE events SET hash = 'not hex' WHERE seq = 1").ok());
  t.state = state::TaskState::kQueued;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met", ""});
  Status st = s->Commit(b);
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_NE(st.message().find("relay ledger verify 01A"), std::string::npos) << st.message();
  EXPECT_EQ(s->GetEvents("01A", 0)->size(), 1u);
  EXPECT_EQ(s->GetTasks("01A")->at(0).state, state::TaskState::kPending);
}

TEST_F(SqliteStoreTest, AReadOnlyStoreReadsWhatTheWriterCommittedAndRefusesWrites) {
  auto writer = OpenOk();
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(writer->CreateRun(NewRun("01A"), {t}, 5).ok());
  // The writer stays open, so the run is still in the -wal file only.
  OpenOptions ro;
  ro.read_only = true;
  auto reader = OpenOk(ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->GetRun("01A")->id, "01A");
  EXPECT_EQ(reader->GetTasks("01A")->size(), 1u);
  EXPECT_EQ(reader->GetEvents("01A", 0)->size(), 1u);
  t.state = state::TaskState::kQueued;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met", ""});
  Status st = reader->Commit(b);
  EXPECT_EQ(st.code(), Code::kIo);
  EXPECT_NE(st.message().find("read-only"), std::string::npos) << st.message();
  EXPECT_EQ(reader->RequestCancel("01A").code(), Code::kIo);
  EXPECT_EQ(writer->GetTasks("01A")->at(0).state, state::TaskState::kPending);
  // Once the writer is gone (and has checkpointed), the file alone is read.
  writer.reset();
  reader.reset();
  reader = OpenOk(ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->ListRuns(0)->size(), 1u);
}

TEST_F(SqliteStoreTest, DiskFullIsReportedAndNothingIsHalfWritten) {
  auto s = OpenOk();
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {}, 5).ok());
  // Cap the file at its current size: the next growing write fails with
  // SQLITE_FULL, as on a full disk.
  ASSERT_TRUE(s->TEST_Exec("PRAGMA max_page_count = 1").ok());
  RunRow big = NewRun("01B");
  big.definition = std::string(1 << 20, 'x');
  std::vector<TaskRow> tasks(50);
  for (int i = 0; i < 50; ++i) {
    tasks[i].index = i;
    tasks[i].name = "t" + std::to_string(i);
  }
  Status st = s->CreateRun(big, tasks, 6);
  EXPECT_EQ(st.code(), Code::kFull) << st.message();
  EXPECT_EQ(st.message(), "disk full while writing " + path_);
  EXPECT_EQ(s->GetRun("01B").status().code(), Code::kNotFound);
  EXPECT_EQ(s->ListRuns(0)->size(), 1u);
}

TEST_F(SqliteStoreTest, InMemoryStoreWorks) {
  auto s = SqliteStore::Open(":memory:", {});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE((*s)->CreateRun(NewRun("01A"), {}, 5).ok());
  EXPECT_EQ(*(*s)->ResolveRunId("last"), "01A");
}

TEST_F(SqliteStoreTest, OpenStoreUrls) {
  auto a = OpenStore("sqlite:" + path_, {});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ((*a)->Describe(), "sqlite:" + path_);
  auto b = OpenStore(path_, {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Describe(), "sqlite:" + path_);
  auto c = OpenStore("sqlite://" + path_, {});  // sqlite:///abs/path
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Describe(), "sqlite:" + path_);
  auto pg = OpenStore("postgres://db/relay", {});
  EXPECT_EQ(pg.status().code(), Code::kInvalid);
  EXPECT_EQ(pg.status().message(), "PostgreSQL stores are not supported by this build yet");
  EXPECT_EQ(OpenStore("sqlite:", {}).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace relay::store::sqlite
