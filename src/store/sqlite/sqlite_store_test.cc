// SQLite-specific behaviour: error mapping, durability pragmas, the schema
// of a new store and the migration of old ones (format-1 ledgers), and that
// a commit writes its events and no task row.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/file_util.h"
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

// SQLite reads an empty file as an empty database: a store truncated to
// nothing (a full disk, a bad copy) would silently become a new, empty one
// and its runs would be gone without a word. relay never leaves such a file
// (a new store is written whole, then linked into place), so one is damage:
// refused, saying what to do, and left as it is for whoever repairs it.
TEST_F(SqliteStoreTest, AStoreTruncatedToNothingIsRefusedAndLeftAlone) {
  {
    auto s = OpenOk();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->CreateRun(NewRun("01A"), {OneTask("01A")}, 5).ok());
  }
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& f : std::filesystem::directory_iterator(dir_))
      names.push_back(f.path().filename().string() + " " +
                      std::to_string(std::filesystem::file_size(f.path())));
    std::sort(names.begin(), names.end());
    return names;
  };
  for (size_t size : {0, 1}) {
    SCOPED_TRACE(size);
    std::filesystem::resize_file(path_, size);
    const std::vector<std::string> before = listing();
    for (bool read_only : {false, true}) {
      OpenOptions o;
      o.read_only = read_only;
      auto s = SqliteStore::Open(path_, o);
      ASSERT_EQ(s.status().code(), Code::kCorrupt) << s.status().message();
      EXPECT_EQ(s.status().message(),
                "store " + path_ + " exists but is not a relay store (" + std::to_string(size) +
                    " bytes): it was truncated or overwritten; restore it from a backup, or "
                    "move it away to start a new store");
      auto via_url = OpenStore("sqlite:" + path_, o);
      EXPECT_EQ(via_url.status().code(), Code::kCorrupt) << via_url.status().message();
    }
    // Not made into a store, and nothing new beside it (no -wal, -shm).
    EXPECT_EQ(listing(), before);
  }
  // A file that never was a store but happens to hold a few bytes: the same.
  std::ofstream(path_, std::ios::trunc) << "x";
  EXPECT_EQ(SqliteStore::Open(path_, {}).status().code(), Code::kCorrupt);
  EXPECT_EQ(std::filesystem::file_size(path_), 1u);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
  sqlite3_free(err);
}

// The columns, indexes and primary keys of every relay table, as one text.
std::string SchemaShape(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::string shape;
  auto rows = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
  };
  for (const auto& t : rows("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                            "ORDER BY type, name")) {
    shape += t[1] + " " + t[0] + "\n";
    if (t[1] == "table") {
      for (const auto& c : rows("PRAGMA table_xinfo('" + t[0] + "')"))
        shape += "  " + c[1] + " " + c[2] + " notnull=" + c[3] + " default=" + c[4] +
                 " pk=" + c[5] + "\n";
      for (const auto& l : rows("PRAGMA index_list('" + t[0] + "')"))
        shape += "  index unique=" + l[2] + " origin=" + l[3] + " partial=" + l[4] + "\n";
    } else {
      for (const auto& c : rows("PRAGMA index_xinfo('" + t[0] + "')"))
        shape += "  " + c[2] + " desc=" + c[3] + " key=" + c[5] + "\n";
    }
  }
  sqlite3_close(db);
  return shape;
}

// A new store is made from schema.sql in one step; it must be what running
// every migration from the first would have made, less the tables of runs
// from before schema 5.
TEST_F(SqliteStoreTest, NewStoreSchemaIsWhatTheMigrationsBuild) {
  ASSERT_NE(OpenOk(), nullptr);
  const std::string migrated = dir_ + "/migrated.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(migrated.c_str(), &db), SQLITE_OK);
    Exec(db, Migrations().front().sql);
    Exec(db, "INSERT INTO schema_version VALUES (1, '0001_initial', 0)");
    sqlite3_close(db);
  }
  auto s = SqliteStore::Open(migrated, {});
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::string fresh_shape = SchemaShape(path_);
  std::string migrated_shape = SchemaShape(migrated);
  for (const char* old : {"table events_v1\n", "table tasks\n"}) {
    // Drop the old table's lines (its columns and indexes follow it).
    size_t at = migrated_shape.find(old);
    ASSERT_NE(at, std::string::npos) << old;
    size_t end = migrated_shape.find_first_not_of(' ', migrated_shape.find('\n', at) + 1);
    while (end != std::string::npos && migrated_shape[end - 1] == ' ')
      end = migrated_shape.find_first_not_of(' ', migrated_shape.find('\n', end) + 1);
    migrated_shape.erase(at, end == std::string::npos ? std::string::npos : end - at);
    EXPECT_EQ(fresh_shape.find(old), std::string::npos) << old;
  }
  EXPECT_EQ(fresh_shape, migrated_shape);
  EXPECT_NE(fresh_shape.find("table ledger"), std::string::npos);

  // A new store is written from the image made at build time. Where it
  // cannot be (a -wal file is left beside a deleted store), SQLite creates
  // the file and the script the image was made with runs. The two are the
  // same store.
  const std::string scripted = dir_ + "/scripted.db";
  std::ofstream(scripted + "-wal").close();
  auto made = SqliteStore::Open(scripted, {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  made->reset();
  EXPECT_EQ(SchemaShape(scripted), fresh_shape);
  for (const char* sql :
       {"SELECT COUNT(*) FROM schema_version WHERE applied_at = 0", "PRAGMA page_size"}) {
    EXPECT_EQ(QueryInt(scripted, sql), QueryInt(path_, sql)) << sql;
  }
  // Nothing is left beside the store but SQLite's own files.
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    std::string name = f.path().filename().string();
    EXPECT_EQ(name.find(".new-"), std::string::npos) << name;
  }
  EXPECT_EQ(QueryInt(path_, "SELECT COUNT(*) FROM schema_version"),
            static_cast<int64_t>(Migrations().size()));
}

// A store written by a relay that knew only migration 1: its runs, task rows
// and format-1 ledger are built here as that relay wrote them. It opens with
// everything intact, a run it left running resumes, and the chain goes on
// in format 2 where it stopped.
TEST_F(SqliteStoreTest, StoreFromAnOlderRelayIsMigratedKeepingItsRuns) {
  using state::TaskState;
  std::vector<events::Event> before;
  auto event = [&](const std::string& run, int64_t seq, const char* kind, const char* subject,
                   const char* from, const char* to, const char* cause, const std::string& data) {
    events::Event e;
    e.format = 1;
    e.run_id = run;
    e.seq = seq;
    e.ts = 1000 + seq;
    e.kind = kind;
    e.subject = subject;
    e.from = from;
    e.to = to;
    e.cause = cause;
    e.data = data;
    e.prev_hash = seq == 1 ? events::GenesisHash(1, run) : before.back().hash;
    e.hash = events::ComputeHash(e.prev_hash, e);
    return e;
  };
  before.push_back(event("01OLD", 1, "run", "", "", "pending", "created", "{}"));
  before.push_back(event("01OLD", 2, "run", "", "pending", "running", "started", "{}"));
  before.push_back(event("01OLD", 3, "task", "t", "pending", "queued", "needs_met", "{}"));
  before.push_back(event("01OLD", 4, "task", "t", "queued", "claimed", "claimed", "{}"));
  before.push_back(event("01OLD", 5, "task", "t", "claimed", "running", "started",
                         R"({"attempt":1,"log":"/l/t.1.log"})"));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    Exec(db, Migrations().front().sql);
    Exec(db, "INSERT INTO schema_version VALUES (1, '0001_initial', 0)");
    Exec(db,
         "INSERT INTO runs (id, pipeline, state, created_at, owner) VALUES "
         "('01A', 'p', 'pending', 4, ''), ('01OLD', 'p', 'running', 5, 'gone:1:2')");
    Exec(db,
         "INSERT INTO tasks (run_id, idx, name, task, state, attempts, cause, log_path, owner, "
         "started_at, pid, pgid) VALUES ('01OLD', 0, 't', 't', 'running', 1, 'started', "
         "'/l/t.1.log', 'gone:1:2', 1005, 4242, 4242)");
    for (const events::Event& e : before) {
      Exec(db, "INSERT INTO events VALUES ('" + e.run_id + "', " + std::to_string(e.seq) + ", " +
                   std::to_string(e.ts) + ", '" + e.kind + "', '" + e.subject + "', '" + e.from +
                   "', '" + e.to + "', '" + e.cause + "', '', '" + e.data + "', '" + e.prev_hash +
                   "', '" + e.hash + "')");
    }
    sqlite3_close(db);
  }
  auto count = [&](const char* sql) { return QueryInt(path_, sql); };
  ASSERT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_queued'"), 1);

  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(count("SELECT MAX(version) FROM schema_version"), Migrations().back().version);
  EXPECT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_queued'"), 0);
  EXPECT_EQ(s->GetRun("01OLD")->pipeline, "p");
  TaskRow t = (*s->GetTasks("01OLD"))[0];
  EXPECT_EQ(t.state, TaskState::kRunning);
  EXPECT_EQ(t.pgid, 4242);  // still known, for `relay resume` to kill
  EXPECT_EQ(t.log_path, "/l/t.1.log");
  auto after = s->GetEvents("01OLD", 0);
  ASSERT_TRUE(after.ok()) << after.status().message();
  ASSERT_EQ(after->size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ((*after)[i].hash, before[i].hash);
    EXPECT_EQ((*after)[i].format, 1);
  }
  EXPECT_TRUE(events::VerifyChain(*after).ok) << events::VerifyChain(*after).message;
  EXPECT_TRUE(s->GetEvents("01A", 0)->empty());

  // Resumed: the attempt is lost and retried; the chain continues in format 2.
  Batch b;
  t.state = TaskState::kLost;
  TaskEffects lost;
  lost.ended_at = 2000;
  b.transitions.push_back(TaskTransition{t, TaskState::kRunning, "owner_died", lost});
  t.state = TaskState::kRetryWait;
  TaskEffects retry;
  retry.due_at = 3000;
  b.transitions.push_back(TaskTransition{t, TaskState::kLost, "retry", retry});
  ASSERT_TRUE(s->Commit(b).ok());
  ASSERT_TRUE(s->CreateRun(NewRun("01NEW"), {}, 6).ok());
  auto all = *s->GetEvents("01OLD", 0);
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[5].seq, 6);
  EXPECT_EQ(all[5].format, 2);
  EXPECT_EQ(all[5].prev_hash, before.back().hash);
  EXPECT_TRUE(events::VerifyChain(all).ok) << events::VerifyChain(all).message;
  t = (*s->GetTasks("01OLD"))[0];
  EXPECT_EQ(t.state, TaskState::kRetryWait);
  EXPECT_EQ(t.due_at, 3000);
  EXPECT_EQ(t.ended_at, 2000);
  EXPECT_EQ(t.started_at, 1005);  // from the schema-1 row the events fold onto
  EXPECT_EQ(s->GetEvents("01NEW", 0)->size(), 1u);
  EXPECT_EQ(s->GetEvents("01OLD", 5)->size(), 2u);
  EXPECT_EQ(s->GetEvents("01OLD", 5)->at(0).prev_hash, before.back().hash);
}

// A run lists its instances in its own row, and a commit appends one ledger
// row per run and writes nothing else: rows are rebuilt from the ledger.
TEST_F(SqliteStoreTest, ACommitAppendsOneLedgerRowAndWritesNothingElse) {
  auto s = OpenOk();
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {t}, 5).ok());
  EXPECT_EQ(QueryInt(path_, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks'"), 0);
  ASSERT_TRUE(s->TEST_Exec("CREATE TABLE writes (n INTEGER); "
                           "CREATE TRIGGER count_writes AFTER UPDATE ON runs "
                           "BEGIN INSERT INTO writes VALUES (1); END;")
                  .ok());
  Batch b;
  auto move = [&](state::TaskState from, state::TaskState to, const char* cause) {
    t.state = to;
    b.transitions.push_back(TaskTransition{t, from, cause});
  };
  move(state::TaskState::kPending, state::TaskState::kQueued, "needs_met");
  move(state::TaskState::kQueued, state::TaskState::kClaimed, "claimed");
  move(state::TaskState::kClaimed, state::TaskState::kRunning, "started");
  ASSERT_TRUE(s->Commit(b).ok());
  EXPECT_EQ(QueryInt(path_, "SELECT COUNT(*) FROM writes"), 0);
  EXPECT_EQ(QueryInt(path_, "SELECT COUNT(*) FROM ledger"), 2);  // created, then this commit
  EXPECT_EQ(QueryInt(path_, "SELECT length(hashes) FROM ledger ORDER BY id DESC LIMIT 1"), 96);
  EXPECT_EQ(s->GetEvents("01A", 0)->size(), 4u);
  EXPECT_EQ(s->GetTasks("01A")->at(0).state, state::TaskState::kRunning);
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
  EXPECT_EQ(QueryInt(path_, "PRAGMA page_size"), 2048);
}

TEST_F(SqliteStoreTest, AMangledLastHashStopsTheChainInsteadOfExtendingIt) {
  auto s = OpenOk();
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {t}, 5).ok());
  // Another connection damages the last row's hashes; this one must notice
  // before it chains onto them.
  {
    auto other = OpenOk();
    ASSERT_TRUE(other->TEST_Exec("UPDATE ledger SET hashes = x'0102'").ok());
  }
  t.state = state::TaskState::kQueued;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met"});
  Status st = s->Commit(b);
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_NE(st.message().find("relay ledger verify 01A"), std::string::npos) << st.message();
  EXPECT_EQ(s->GetEvents("01A", 0)->size(), 1u);
  EXPECT_FALSE(events::VerifyChain(*s->GetEvents("01A", 0)).ok);
  // The rows are what the ledger says, and it cannot be read.
  EXPECT_EQ(s->GetTasks("01A").status().code(), Code::kCorrupt);
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
  b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met"});
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

namespace relay::store::sqlite {
namespace {

// kill -9 leaves relay.db-wal behind; a user who then deletes relay.db to
// start afresh must get an empty store, as SQLite gives when it creates the
// file itself (it discards the WAL of an empty database). Written from the
// build-time image, the new file would have the stale WAL replayed into it.
TEST_F(SqliteStoreTest, ANewStoreDoesNotReplayTheWalOfADeletedOne) {
  const std::string saved = dir_ + "/saved-wal";
  {
    auto s = OpenOk();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->CreateRun(NewRun("01GONE"), {OneTask("01GONE")}, 1).ok());
    std::filesystem::copy_file(path_ + "-wal", saved);  // what SIGKILL leaves
  }
  std::filesystem::remove(path_);
  std::filesystem::copy_file(saved, path_ + "-wal",
                             std::filesystem::copy_options::overwrite_existing);
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  auto runs = s->ListRuns(0);
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  EXPECT_TRUE(runs->empty()) << "the deleted store's run came back: " << (*runs)[0].id;
  EXPECT_TRUE(s->CreateRun(NewRun("01NEW"), {OneTask("01NEW")}, 2).ok());
}

}  // namespace
}  // namespace relay::store::sqlite

namespace relay::store::sqlite {
namespace {

// Builds a schema-1 store holding two finished one-task runs with format-1
// ledgers, as relay wrote them before schema 5.
void WriteOldStoreWithTwoRuns(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Exec(db, Migrations().front().sql);
  Exec(db, "INSERT INTO schema_version VALUES (1, '0001_initial', 0)");
  for (const char* run : {"01A", "01B"}) {
    Exec(db, std::string("INSERT INTO runs (id, pipeline, state, created_at, owner) VALUES ('") +
                 run + "', 'p', 'succeeded', " + (run[2] == 'A' ? "4" : "5") + ", '')");
    Exec(db, std::string("INSERT INTO tasks (run_id, idx, name, task, state, attempts, cause) "
                         "VALUES ('") +
                 run + "', 0, 't', 't', 'succeeded', 0, 'reused')");
    std::string prev = events::GenesisHash(1, run);
    const char* steps[][4] = {{"run", "", "", "pending"}, {"task", "t", "pending", "succeeded"}};
    for (int i = 0; i < 2; ++i) {
      events::Event e;
      e.format = 1;
      e.run_id = run;
      e.seq = i + 1;
      e.ts = 1000 + i;
      e.kind = steps[i][0];
      e.subject = steps[i][1];
      e.from = steps[i][2];
      e.to = steps[i][3];
      e.cause = i == 0 ? "created" : "reused";
      e.data = "{}";
      e.prev_hash = prev;
      e.hash = events::ComputeHash(prev, e);
      prev = e.hash;
      Exec(db, "INSERT INTO events VALUES ('" + e.run_id + "', " + std::to_string(e.seq) + ", " +
                   std::to_string(e.ts) + ", '" + e.kind + "', '" + e.subject + "', '" + e.from +
                   "', '" + e.to + "', '" + e.cause + "', '', '{}', '" + e.prev_hash + "', '" +
                   e.hash + "')");
    }
  }
  sqlite3_close(db);
}

// A format-1 run's events are found by runs.num, which no hash covers:
// swapping two runs' numbers must not pass one run's chain off as the other's.
TEST_F(SqliteStoreTest, AFormat1ChainOfAnotherRunDoesNotVerify) {
  WriteOldStoreWithTwoRuns(path_);
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->TEST_Exec("UPDATE runs SET num = 100 WHERE id = '01A';"
                           "UPDATE runs SET num = 1 WHERE id = '01B';"
                           "UPDATE runs SET num = 2 WHERE id = '01A'")
                  .ok());
  auto ev = s->GetEvents("01A", 0);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_FALSE(events::VerifyChain(*ev, "01A").ok) << "run 01B's events verified as 01A's";
}

// What a store reports of a task is folded only from a chain that verifies:
// an edited event is an error, not a state (here a failed task would read
// as succeeded).
TEST_F(SqliteStoreTest, RowsAreNotRebuiltFromAnEventThatDoesNotVerify) {
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  TaskRow t = OneTask("01T");
  ASSERT_TRUE(s->CreateRun(NewRun("01T"), {t}, 1).ok());
  Batch b;
  b.now = 10;
  for (auto [from, to, cause] :
       {std::tuple{state::TaskState::kPending, state::TaskState::kQueued, "needs_met"},
        std::tuple{state::TaskState::kQueued, state::TaskState::kClaimed, "claimed"},
        std::tuple{state::TaskState::kClaimed, state::TaskState::kRunning, "started"},
        std::tuple{state::TaskState::kRunning, state::TaskState::kFailed, "exit_nonzero"}}) {
    t.state = to;
    if (to == state::TaskState::kRunning) t.attempts = 1;
    if (to == state::TaskState::kFailed) t.exit_code = 1;
    b.transitions.push_back(TaskTransition{t, from, cause});
  }
  ASSERT_TRUE(s->Commit(b).ok());
  ASSERT_TRUE(s->TEST_Exec("UPDATE ledger SET events = replace(events, "
                           "'\"running\",\"failed\",\"exit_nonzero\"', "
                           "'\"running\",\"succeeded\",\"exit_zero\"')")
                  .ok());
  EXPECT_FALSE(events::VerifyChain(*s->GetEvents("01T", 0), "01T").ok);
  auto rows = s->GetTasks("01T");
  ASSERT_FALSE(rows.ok()) << "rebuilt " << state::Name((*rows)[0].state);
  EXPECT_EQ(rows.status().code(), Code::kCorrupt);
  EXPECT_NE(rows.status().message().find("relay ledger verify 01T"), std::string::npos)
      << rows.status().message();
}

// A whole ledger row deleted from the middle of a run: the gap is an error.
TEST_F(SqliteStoreTest, RowsAreNotRebuiltAcrossAGapInTheLedger) {
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  TaskRow t = OneTask("01G");
  ASSERT_TRUE(s->CreateRun(NewRun("01G"), {t}, 1).ok());
  auto move = [&](state::TaskState from, state::TaskState to, const char* cause) {
    Batch b;
    b.now = 10;
    t.state = to;
    if (to == state::TaskState::kRunning) t.attempts = 1;
    b.transitions.push_back(TaskTransition{t, from, cause});
    ASSERT_TRUE(s->Commit(b).ok());
  };
  move(state::TaskState::kPending, state::TaskState::kQueued, "needs_met");
  move(state::TaskState::kQueued, state::TaskState::kClaimed, "claimed");
  move(state::TaskState::kClaimed, state::TaskState::kRunning, "started");
  move(state::TaskState::kRunning, state::TaskState::kSucceeded, "exit_zero");
  ASSERT_TRUE(
      s->TEST_Exec("DELETE FROM ledger WHERE events LIKE '%\"claimed\",\"running\"%'").ok());
  auto rows = s->GetTasks("01G");
  ASSERT_FALSE(rows.ok()) << "rebuilt " << state::Name((*rows)[0].state);
  EXPECT_EQ(rows.status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace relay::store::sqlite

namespace relay::store::sqlite {
namespace {

// An older relay still running one of the store's runs would lose the
// tables it writes: the upgrade waits until it is gone.
TEST_F(SqliteStoreTest, AnOldStoreIsNotUpgradedUnderALiveOlderRelay) {
  WriteOldStoreWithTwoRuns(path_);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    Exec(db, "UPDATE runs SET state = 'running', owner = 'host:42:7' WHERE id = '01B'");
    sqlite3_close(db);
  }
  OpenOptions o;
  o.owner_alive = [](const std::string& owner) { return owner == "host:42:7"; };
  auto busy = SqliteStore::Open(path_, o);
  ASSERT_EQ(busy.status().code(), Code::kBusy) << busy.status().message();
  EXPECT_NE(busy.status().message().find("still running run 01B"), std::string::npos)
      << busy.status().message();
  EXPECT_EQ(QueryInt(path_, "SELECT MAX(version) FROM schema_version"), 1);
  // Once that relay is gone, the store is upgraded.
  o.owner_alive = [](const std::string&) { return false; };
  auto s = SqliteStore::Open(path_, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(QueryInt(path_, "SELECT MAX(version) FROM schema_version"),
            Migrations().back().version);
}

}  // namespace
}  // namespace relay::store::sqlite

namespace relay::store::sqlite {
namespace {

// The column names of `table` in the store file `db` has open (as `schema`).
std::string Columns(sqlite3* db, const std::string& schema, const std::string& table) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = "PRAGMA " + schema + ".table_info('" + table + "')";
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (!out.empty()) out += ", ";
    out += reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  }
  sqlite3_finalize(st);
  return out;
}

// A store at schema `version`, built by migrations 1 to `version`, holding
// the runs and ledger rows of the store at `source` (made by this relay, so
// their hashes are real): the columns that version has are copied.
void WriteOldSchemaStore(const std::string& source, const std::string& path, int version) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  for (const Migration& m : Migrations()) {
    if (m.version > version) break;
    Exec(db, m.sql);
    Exec(db, "INSERT INTO schema_version VALUES (" + std::to_string(m.version) + ", '" + m.name +
                 "', 0)");
  }
  Exec(db, "ATTACH '" + source + "' AS src");
  for (const char* table : {"runs", "run_instances", "definitions", "ledger"}) {
    const std::string cols = Columns(db, "main", table);
    Exec(db, "INSERT INTO main." + std::string(table) + " (" + cols + ") SELECT " + cols +
                 " FROM src." + table);
  }
  Exec(db, "DETACH src");
  sqlite3_close(db);
}

// A store of schema 5 (the last before the change feed) holding runs 01A
// (num 1) and 01B (num 2), whose commits interleaved: 01A's ledger rows
// hold events 1, 2–3 and 4; 01B's hold 1 and 2–4. The rows are made by
// this relay in a store of its own and copied into a store built by
// migrations 1 to 5, so their hashes are real.
void WriteSchema5Store(const std::string& dir, const std::string& path) {
  using state::TaskState;
  const std::string source = dir + "/source.db";
  {
    auto s = SqliteStore::Open(source, {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    SqliteStore& store = **s;
    auto tasks = [](const std::string& run, int n) {
      std::vector<TaskRow> out;
      for (int i = 0; i < n; ++i) {
        TaskRow t = OneTask(run);
        t.index = i;
        t.name = "t" + std::to_string(i);
        out.push_back(t);
      }
      return out;
    };
    RunRow a = NewRun("01A"), b = NewRun("01B");
    ASSERT_TRUE(store.CreateRun(a, tasks("01A", 2), 10).ok());
    ASSERT_TRUE(store.CreateRun(b, tasks("01B", 1), 11).ok());
    auto move = [](TaskRow t, TaskState from, TaskState to, const char* cause) {
      t.state = to;
      return TaskTransition{t, from, cause};
    };
    auto start = [](RunRow r) {
      r.state = state::RunState::kRunning;
      return RunTransition{r, state::RunState::kPending, "started"};
    };
    Batch b1;
    b1.now = 12;
    b1.transitions.push_back(start(a));
    b1.transitions.push_back(
        move(tasks("01A", 2)[0], TaskState::kPending, TaskState::kQueued, "needs_met"));
    ASSERT_TRUE(store.Commit(b1).ok());
    Batch b2;
    b2.now = 13;
    b2.transitions.push_back(start(b));
    b2.transitions.push_back(
        move(tasks("01B", 1)[0], TaskState::kPending, TaskState::kQueued, "needs_met"));
    b2.transitions.push_back(
        move(tasks("01B", 1)[0], TaskState::kQueued, TaskState::kClaimed, "claimed"));
    ASSERT_TRUE(store.Commit(b2).ok());
    Batch b3;
    b3.now = 14;
    b3.transitions.push_back(
        move(tasks("01A", 2)[1], TaskState::kPending, TaskState::kQueued, "needs_met"));
    ASSERT_TRUE(store.Commit(b3).ok());
  }
  WriteOldSchemaStore(source, path, 5);
}

// Migration 6 numbers the ledger's existing rows for the change feed: in
// the order of their ids (run by run), without gaps, each row's events at
// consecutive positions; the runs are kept and go on.
TEST_F(SqliteStoreTest, ASchema5StoreMigratesKeepingItsRunsAndNumbersItsFeed) {
  WriteSchema5Store(dir_, path_);
  ASSERT_EQ(QueryInt(path_, "SELECT MAX(version) FROM schema_version"), 5);
  ASSERT_EQ(QueryInt(path_, "SELECT COUNT(*) FROM ledger"), 5);
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(QueryInt(path_, "SELECT MAX(version) FROM schema_version"),
            Migrations().back().version);
  // Row by row, in id order: 01A's rows (1, 2–3, 4), then 01B's (1, 2–4).
  std::vector<std::pair<int64_t, int64_t>> rows;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT id % 4294967296, feed FROM ledger ORDER BY id", -1,
                                 &st, nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
      rows.emplace_back(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  EXPECT_EQ(rows,
            (std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 2}, {4, 4}, {1, 5}, {2, 6}}));
  EXPECT_EQ(*s->FeedHead(), 8);
  auto feed = *s->ReadFeed(0, 100);
  ASSERT_EQ(feed.size(), 8u);
  std::vector<std::string> keys;
  for (size_t i = 0; i < feed.size(); ++i) {
    EXPECT_EQ(feed[i].pos, static_cast<int64_t>(i) + 1);
    keys.push_back(feed[i].event.run_id + "#" + std::to_string(feed[i].event.seq));
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"01A#1", "01A#2", "01A#3", "01A#4", "01B#1", "01B#2",
                                            "01B#3", "01B#4"}));
  // The runs are as they were, with the new columns' defaults.
  RunRow a = *s->GetRun("01A");
  EXPECT_EQ(a.state, state::RunState::kRunning);
  EXPECT_EQ(a.caller_run, "");
  EXPECT_EQ(a.caller_index, -1);
  EXPECT_EQ(a.created_by, "");
  EXPECT_EQ(a.outputs_json, "{}");
  auto tasks = *s->GetTasks("01A");
  EXPECT_EQ(tasks[0].state, state::TaskState::kQueued);
  EXPECT_EQ(tasks[1].state, state::TaskState::kQueued);
  EXPECT_EQ(s->GetTasks("01B")->at(0).state, state::TaskState::kClaimed);
  for (const char* run : {"01A", "01B"}) {
    auto ev = *s->GetEvents(run, 0);
    EXPECT_TRUE(events::VerifyChain(ev, run).ok) << events::VerifyChain(ev, run).message;
  }
  // And go on: the next commit's events follow at 9.
  TaskRow t = tasks[0];
  t.state = state::TaskState::kClaimed;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kQueued, "claimed"});
  ASSERT_TRUE(s->Commit(b).ok());
  feed = *s->ReadFeed(8, 10);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].pos, 9);
  EXPECT_EQ(feed[0].event.run_id, "01A");
  EXPECT_EQ(feed[0].event.seq, 5);
}

// Since schema 8 the ledger's rows are in commit order, each keyed by the
// feed position of its first event, whatever run it belongs to. Reading
// from any position, and the head, follow commit order across runs;
// another connection's commits in between are noticed. A schema-7 store,
// whose rows that continued their run's stretch of the feed had no
// position, is migrated keeping every event's position.
TEST_F(SqliteStoreTest, TheLedgerIsInCommitOrderAndTheFeedReadsItFromAnyPosition) {
  using state::TaskState;
  auto s = OpenOk();
  ASSERT_NE(s, nullptr);
  auto task = [](const std::string& run, int index) {
    TaskRow t = OneTask(run);
    t.index = index;
    t.name = "t" + std::to_string(index);
    return t;
  };
  auto queue = [&](const std::string& run, int index) {
    TaskRow t = task(run, index);
    t.state = TaskState::kQueued;
    return TaskTransition{t, TaskState::kPending, "needs_met"};
  };
  auto commit = [](SqliteStore& store, std::vector<TaskTransition> ts) {
    Batch b;
    b.now = 20;
    for (auto& t : ts) b.transitions.push_back(std::move(t));
    Status st = store.Commit(b);
    ASSERT_TRUE(st.ok()) << st.message();
  };
  ASSERT_TRUE(
      s->CreateRun(NewRun("01A"),
                   {task("01A", 0), task("01A", 1), task("01A", 2), task("01A", 3), task("01A", 4)},
                   10)
          .ok());                                  // A#1 at 1
  commit(*s, {queue("01A", 0), queue("01A", 1)});  // A#2-3 at 2-3
  ASSERT_TRUE(s->CreateRun(NewRun("01B"), {task("01B", 0), task("01B", 1)}, 11).ok());  // B#1 at 4
  commit(*s, {queue("01A", 2)});                                                        // A#4 at 5
  commit(*s, {queue("01A", 3)});                                                        // A#5 at 6
  commit(*s, {queue("01B", 0), queue("01A", 4)});  // B#2 at 7, A#6 at 8
  auto column = [&] {
    std::vector<std::pair<int64_t, int64_t>> rows;  // (run num * 100 + seq, feed or -1)
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT (id >> 32) * 100 + id % 4294967296, COALESCE(feed, -1) "
                                 "FROM ledger ORDER BY id",
                                 -1, &st, nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
      rows.emplace_back(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
  };
  const std::vector<std::pair<int64_t, int64_t>> positions = {
      {101, 1}, {102, 2}, {104, 5}, {105, 6}, {106, 8}, {201, 4}, {202, 7}};
  EXPECT_EQ(column(), positions);
  // Rows that continue their run's stretch of the feed (A#2-3, A#5) are
  // not in the index of stretches: one run committing after another
  // writes no index entry.
  const char* continuing = "SELECT COUNT(*) FROM ledger WHERE start IS NULL";
  EXPECT_EQ(QueryInt(path_, continuing), 2);
  const std::vector<std::string> all = {"01A#1", "01A#2", "01A#3", "01B#1",
                                        "01A#4", "01A#5", "01B#2", "01A#6"};
  auto read_all_ways = [&all](SqliteStore& store) {
    EXPECT_EQ(*store.FeedHead(), 8);
    for (int after = 0; after <= 8; ++after) {
      for (int limit = 1; limit <= 9; ++limit) {
        auto feed = store.ReadFeed(after, limit);
        ASSERT_TRUE(feed.ok()) << feed.status().message();
        std::vector<std::string> got, want;
        for (const FeedEvent& e : *feed) {
          EXPECT_EQ(e.pos, after + 1 + static_cast<int64_t>(got.size()));
          got.push_back(e.event.run_id + "#" + std::to_string(e.event.seq));
        }
        for (int p = after; p < std::min(8, after + limit); ++p) want.push_back(all[p]);
        EXPECT_EQ(got, want) << "after " << after << ", limit " << limit;
      }
    }
  };
  read_all_ways(*s);
  {
    // The same rows in a store built by migrations 1 to 7, a continuing
    // row without its position as schema 7 wrote it, then opened.
    const std::string old = dir_ + "/schema7.db";
    WriteOldSchemaStore(path_, old, 7);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
    Exec(db,
         "UPDATE ledger SET feed = NULL WHERE EXISTS (SELECT 1 FROM ledger p WHERE "
         "p.feed + length(p.hashes) / 32 = ledger.feed AND p.id + length(p.hashes) / 32 = "
         "ledger.id)");
    sqlite3_close(db);
    ASSERT_EQ(QueryInt(old, "SELECT COUNT(*) FROM ledger WHERE feed IS NULL"), 2);
    auto migrated = SqliteStore::Open(old, {});
    ASSERT_TRUE(migrated.ok()) << migrated.status().message();
    EXPECT_EQ(QueryInt(old, "SELECT MAX(version) FROM schema_version"),
              Migrations().back().version);
    EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM ledger WHERE feed IS NULL"), 0);
    EXPECT_EQ(QueryInt(old, continuing), 2);
    for (const char* run : {"01A", "01B"}) {
      auto ev = (*migrated)->GetEvents(run, 0);
      ASSERT_TRUE(ev.ok()) << ev.status().message();
      EXPECT_TRUE(events::VerifyChain(*ev, run).ok) << events::VerifyChain(*ev, run).message;
    }
    read_all_ways(**migrated);
  }
  // Another connection appends to A, then to B; this one notices both
  // before its own commit.
  {
    auto other = SqliteStore::Open(path_, {});
    ASSERT_TRUE(other.ok()) << other.status().message();
    TaskRow t = task("01A", 0);
    t.state = TaskState::kClaimed;
    commit(**other, {TaskTransition{t, TaskState::kQueued, "claimed"}});  // A#7 at 9
    commit(**other, {queue("01B", 1)});                                   // B#3 at 10
  }
  TaskRow t = task("01B", 0);
  t.state = TaskState::kClaimed;
  commit(*s, {TaskTransition{t, TaskState::kQueued, "claimed"}});  // B#4 at 11
  EXPECT_EQ(column(), (std::vector<std::pair<int64_t, int64_t>>{{101, 1},
                                                                {102, 2},
                                                                {104, 5},
                                                                {105, 6},
                                                                {106, 8},
                                                                {107, 9},
                                                                {201, 4},
                                                                {202, 7},
                                                                {203, 10},
                                                                {204, 11}}));
  EXPECT_EQ(QueryInt(path_, continuing), 4);  // and A#7, B#4
  for (const char* run : {"01A", "01B"}) {
    auto ev = *s->GetEvents(run, 0);
    EXPECT_EQ(ev.size(), std::string(run) == "01A" ? 7u : 4u);
    EXPECT_TRUE(events::VerifyChain(ev, run).ok) << events::VerifyChain(ev, run).message;
    EXPECT_EQ(s->GetEvents(run, 3)->front().seq, 4);
  }
  // In the table's own order, each row's events follow the previous row's.
  EXPECT_EQ(QueryInt(path_,
                     "SELECT COUNT(*) FROM (SELECT feed, LAG(feed + length(hashes) / 32) OVER "
                     "(ORDER BY rowid) AS after_previous FROM ledger) "
                     "WHERE after_previous IS NOT NULL AND after_previous <> feed"),
            0);
  EXPECT_EQ(*s->FeedHead(), 11);
  auto rest = *s->ReadFeed(8, 10);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].event.run_id + "#" + std::to_string(rest[0].event.seq), "01A#7");
  EXPECT_EQ(rest[1].event.run_id + "#" + std::to_string(rest[1].event.seq), "01B#3");
  EXPECT_EQ(rest[2].event.run_id + "#" + std::to_string(rest[2].event.seq), "01B#4");
  EXPECT_EQ(rest[2].pos, 11);
}

// The engine commits for many runs and watches their attempts between
// commits: a commit waits for another writer only briefly, then says the
// store is busy, and the engine backs off. Other writes wait longer.
TEST_F(SqliteStoreTest, ACommitOnALockedStoreIsBusyAfterAShortWait) {
  Tuning tuning;
  tuning.busy_timeout_ms = 1500;
  tuning.commit_busy_timeout_ms = 50;
  auto opened = SqliteStore::Open(path_, {}, tuning);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  SqliteStore& s = **opened;
  TaskRow t = OneTask("01A");
  ASSERT_TRUE(s.CreateRun(NewRun("01A"), {t}, 5).ok());
  auto holder = OpenOk();
  ASSERT_TRUE(holder->TEST_Exec("BEGIN IMMEDIATE").ok());

  t.state = state::TaskState::kQueued;
  Batch b;
  b.transitions.push_back(TaskTransition{t, state::TaskState::kPending, "needs_met"});
  CommitError error{"stale"};
  Micros start = MonotonicNow();
  Status st = s.Commit(b, &error);
  const Micros waited = MonotonicNow() - start;
  EXPECT_EQ(st.code(), Code::kBusy) << st.message();
  EXPECT_NE(st.message().find("is locked by another process"), std::string::npos) << st.message();
  EXPECT_EQ(error.run_id, "");
  EXPECT_LT(waited, 1000 * kMillisecond) << "waited as long as a one-off write";
  EXPECT_GE(waited, 30 * kMillisecond) << "did not wait at all";
  // A one-off write (a request) waits the longer timeout.
  Request r;
  r.run_id = "01A";
  r.kind = "cancel";
  start = MonotonicNow();
  EXPECT_EQ(s.AddRequest(r).status().code(), Code::kBusy);
  EXPECT_GE(MonotonicNow() - start, 1000 * kMillisecond);

  ASSERT_TRUE(holder->TEST_Exec("ROLLBACK").ok());
  st = s.Commit(b, &error);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.GetTasks("01A")->at(0).state, state::TaskState::kQueued);
  auto ev = *s.GetEvents("01A", 0);
  EXPECT_EQ(ev.size(), 2u);
  EXPECT_TRUE(events::VerifyChain(ev, "01A").ok);
  EXPECT_EQ(*s.FeedHead(), 2);
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The head file beside the store: a line per run per commit, "RUN SEQ
// HASH", after the commit (so it may lag the ledger, never lead it).
TEST_F(SqliteStoreTest, EachCommitAppendsTheHeadsOfItsRunsToTheHeadFile) {
  const std::string heads = path_ + SqliteStore::kHeadsSuffix;
  auto s = OpenOk();
  TaskRow a = OneTask("01A"), b = OneTask("01B");
  ASSERT_TRUE(s->CreateRun(NewRun("01A"), {a}, 5).ok());
  ASSERT_TRUE(s->CreateRun(NewRun("01B"), {b}, 6).ok());
  auto line = [&](const std::string& run) {
    const events::Event e = s->GetEvents(run, 0)->back();
    return run + " " + std::to_string(e.seq) + " " + e.hash;
  };
  EXPECT_EQ(Lines(heads), (std::vector<std::string>{line("01A"), line("01B")}));
  Batch both;
  a.state = b.state = state::TaskState::kQueued;
  both.transitions.push_back(TaskTransition{a, state::TaskState::kPending, "needs_met"});
  both.transitions.push_back(TaskTransition{b, state::TaskState::kPending, "needs_met"});
  a.state = state::TaskState::kClaimed;
  both.transitions.push_back(TaskTransition{a, state::TaskState::kQueued, "claimed"});
  ASSERT_TRUE(s->Commit(both).ok());
  std::vector<std::string> got = Lines(heads);
  ASSERT_EQ(got.size(), 4u);
  std::sort(got.begin() + 2, got.end());
  EXPECT_EQ(got[2], line("01A"));  // one line for two events of one run
  EXPECT_EQ(got[3], line("01B"));
  EXPECT_EQ(got[2].substr(0, 6), "01A 3 ");
  // A commit that fails writes no line.
  EXPECT_FALSE(s->Commit(both).ok());
  EXPECT_EQ(Lines(heads).size(), 4u);

  // The file lags when relay dies between its commit and the line (here:
  // the last line lost). The anchor is then an earlier head, which is no
  // error, and the next commit brings it up to date.
  b.state = state::TaskState::kClaimed;
  Batch claim;
  claim.transitions.push_back(TaskTransition{b, state::TaskState::kQueued, "claimed"});
  ASSERT_TRUE(s->Commit(claim).ok());
  ASSERT_EQ(Lines(heads).back(), line("01B"));
  s.reset();
  std::string text;
  got = Lines(heads);
  for (size_t i = 0; i + 1 < got.size(); ++i) text += got[i] + "\n";
  ASSERT_TRUE(WriteFileAtomic(heads, text).ok());
  s = OpenOk();
  EXPECT_EQ(s->GetHeadAnchor("01B")->seq, 2);
  EXPECT_EQ(s->GetEvents("01B", 0)->size(), 3u);
  b.state = state::TaskState::kRunning;
  Batch next;
  next.transitions.push_back(TaskTransition{b, state::TaskState::kClaimed, "started"});
  ASSERT_TRUE(s->Commit(next).ok());
  EXPECT_EQ(Lines(heads).back(), line("01B"));
  EXPECT_EQ(s->GetHeadAnchor("01B")->seq, 4);
  // A file that is gone is an anchor of nothing, and is made again.
  s.reset();
  std::filesystem::remove(heads);
  s = OpenOk();
  EXPECT_EQ(s->GetHeadAnchor("01A")->seq, 0);
  Batch more;
  a.state = state::TaskState::kRunning;
  more.transitions.push_back(TaskTransition{a, state::TaskState::kClaimed, "started"});
  ASSERT_TRUE(s->Commit(more).ok());
  EXPECT_EQ(Lines(heads), std::vector<std::string>{line("01A")});
}

// Lines only accumulate; a writer that opens the store and finds the file
// larger than kHeadsCompactBytes rewrites it with one line per run: its
// highest head (two relays may append a run's lines out of order).
TEST_F(SqliteStoreTest, AHeadFileGrownLargeIsCompactedAtOpen) {
  const std::string heads = path_ + SqliteStore::kHeadsSuffix;
  {
    auto s = OpenOk();
    ASSERT_TRUE(s->CreateRun(NewRun("01A"), {OneTask("01A")}, 5).ok());
  }
  const std::vector<std::string> real = Lines(heads);
  ASSERT_EQ(real.size(), 1u);
  const std::string h(64, 'a');
  {
    std::ofstream out(heads, std::ios::app);
    int64_t seq = 0;
    while (out.tellp() <= SqliteStore::kHeadsCompactBytes)
      out << "01OLD " << ++seq << " " << h << "\n";
    out << "01OLD " << seq - 5 << " " << std::string(64, 'b') << "\n";  // appended late
    out << "01TORN 7 abc\n";                                            // a torn line is no line
    ASSERT_GT(seq, 1000);
    out.close();
    auto s = OpenOk();
    ASSERT_NE(s, nullptr);
    std::vector<std::string> got = Lines(heads);
    EXPECT_EQ(got, (std::vector<std::string>{real[0], "01OLD " + std::to_string(seq) + " " + h}));
    EXPECT_EQ(s->GetHeadAnchor("01OLD")->seq, seq);
    EXPECT_EQ(s->GetHeadAnchor("01TORN")->seq, 0);
    for (const auto& f : std::filesystem::directory_iterator(dir_))
      EXPECT_EQ(f.path().filename().string().find("compact"), std::string::npos)
          << f.path() << " was left behind";
    // The writer appends to the compacted file.
    ASSERT_TRUE(s->CreateRun(NewRun("01B"), {}, 6).ok());
    EXPECT_EQ(Lines(heads).size(), 3u);
    EXPECT_EQ(s->GetHeadAnchor("01B")->seq, 1);
  }
  // A small file is left as it is (not even rewritten).
  struct stat before, after;
  ASSERT_EQ(::stat(heads.c_str(), &before), 0);
  ASSERT_NE(OpenOk(), nullptr);
  ASSERT_EQ(::stat(heads.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

}  // namespace
}  // namespace relay::store::sqlite
