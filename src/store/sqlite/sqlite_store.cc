// SqliteStore: opening, migrations, queries and the small writes. The commit
// path (CreateRun, Commit, ClaimQueued) is in sqlite_commit.cc.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/file_util.h"
#include "base/strings.h"
#include "store/migrations.h"
#include "store/sqlite/errors.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/statements.h"

namespace relay::store::sqlite {
namespace {

using std::string;

// A migration's version that this relay does not know about means a newer
// relay wrote the store; running old code on a new schema could lose data.
Status TooNew(const string& path, int64_t have, int known) {
  return Status::TooNew("store " + path + " was written by a newer relay (schema " +
                        std::to_string(have) + ", this relay knows up to " + std::to_string(known) +
                        "); upgrade relay");
}

}  // namespace

SqliteStore::SqliteStore(sqlite3* db, string path, const OpenOptions& options, const Tuning& tuning)
    : db_(db), path_(std::move(path)), options_(options), tuning_(tuning), st_(new Statements) {
  std::filesystem::path dir = std::filesystem::path(path_ == ":memory:" ? "" : path_).parent_path();
  if (dir.empty()) dir = ".";
  log_dir_ = (std::filesystem::absolute(dir) / "logs").lexically_normal().string();
}

SqliteStore::~SqliteStore() {
  st_.reset();  // statements first: close_v2 would otherwise defer the close
  sqlite3_close_v2(db_);
  if (heads_fd_ >= 0) ::close(heads_fd_);
}

Status SqliteStore::CheckIsDatabase(const string& path) {
  // SQLite reads an empty file as an empty database: a store truncated to
  // nothing would silently become a new, empty one. relay never leaves such
  // a file (a new store is written whole, then linked into place).
  static constexpr char kMagic[] = "SQLite format 3";  // and its NUL: 16 bytes
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::Ok();  // unreadable: opening it says why
  struct stat st;
  char header[16] = {0};
  ssize_t n = -1;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular) n = ::pread(fd, header, sizeof header, 0);
  ::close(fd);
  if (!regular) return Status::Ok();  // a directory and the like: opening it says why
  if (n == static_cast<ssize_t>(sizeof header) && std::memcmp(header, kMagic, sizeof header) == 0)
    return Status::Ok();
  return Status::Corrupt(
      "store " + path + " exists but is not a relay store (" +
      (st.st_size < 100 ? std::to_string(st.st_size) + " bytes" : string("no SQLite header")) +
      "): it was truncated or overwritten; restore it from a backup, or move it away to start a "
      "new store");
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const string& path,
                                                       const OpenOptions& options,
                                                       const Tuning& tuning) {
  const bool memory = path == ":memory:";
  if (!memory && !FileExists(path)) {
    if (!options.create) return Status::NotFound("store " + path + " does not exist");
    string dir = std::filesystem::path(path).parent_path().string();
    if (!dir.empty()) RELAY_RETURN_IF_ERROR(MakeDirs(dir));
    if (!options.read_only) WriteNewStore(path, options.durability == Durability::kPower);
  } else if (!memory) {
    RELAY_RETURN_IF_ERROR(CheckIsDatabase(path));
  }
  // SQLite counts every allocation under a global mutex unless told not to;
  // relay never reads those statistics. Must precede any other SQLite call.
  static const int kConfigured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kConfigured;  // SQLITE_MISUSE if another library initialised SQLite first: harmless
  OpenOptions effective = options;
  if (!memory && !effective.read_only && !MayWrite(path)) effective.read_only = true;
  sqlite3* db = nullptr;
  int rc;
  if (effective.read_only) {
    rc = sqlite3_open_v2(ReadOnlyUri(path).c_str(), &db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  } else {
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (effective.create ? SQLITE_OPEN_CREATE : 0);
    rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  }
  // The store owns the handle from here, also on failure (it must be closed).
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path, effective, tuning));
  if (rc != SQLITE_OK) return store->Error(rc, "open");
  RELAY_RETURN_IF_ERROR(store->Init(tuning));
  return store;
}

// Creates the file of a new store from NewStoreImage(): what running the
// schema would make, in one write. Written beside `path` and linked into
// place, so that no reader sees half of it and, of two relays creating the
// same store, one wins and the other opens its file. On any failure SQLite
// creates the file instead (slower, to the same effect). So it does when a
// -wal or -shm file is already there (a store deleted after a crash): SQLite
// discards the WAL of the empty file it creates, but would replay it into
// this one.
//
// The file is written unnamed (O_TMPFILE) where the file system allows, so
// that a relay killed while writing it leaves nothing behind; elsewhere under
// a name of its own, removed unless the relay dies in between.
void SqliteStore::WriteNewStore(const string& path, bool sync) {
  if (FileExists(path + "-wal") || FileExists(path + "-shm")) return;
  const std::string_view image = NewStoreImage();
  string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  string tmp;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    tmp = path + ".new-" + std::to_string(::getpid());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return;
  bool ok = true;
  for (size_t done = 0; ok && done < image.size();) {
    ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  if (ok && sync) ok = ::fsync(fd) == 0;
  if (tmp.empty()) {
    // Naming an O_TMPFILE file through /proc needs no privilege (AT_EMPTY_PATH does).
    string self = "/proc/self/fd/" + std::to_string(fd);
    if (ok) (void)::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
    ::close(fd);
    return;
  }
  ok = ::close(fd) == 0 && ok;
  if (ok) (void)::link(tmp.c_str(), path.c_str());
  ::unlink(tmp.c_str());
}

// A WAL database is only writable, and only readable the usual way, by
// someone who may create its -wal and -shm files next to it.
bool SqliteStore::MayWrite(const string& path) {
  if (!FileExists(path)) return true;  // being created: the directory decides, with a clear error
  if (::access(path.c_str(), W_OK) != 0) return false;
  string dir = std::filesystem::path(path).parent_path().string();
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK) == 0) return true;
  return ::access((path + "-wal").c_str(), W_OK) == 0 &&
         ::access((path + "-shm").c_str(), W_OK) == 0;
}

// Nobody can be writing a store whose directory is closed to us as well
// (no -wal next to it), so it is read as an immutable file: SQLite then
// needs no -shm, which we could not create. With a -wal present, a plain
// read-only open sees what it holds.
string SqliteStore::ReadOnlyUri(const string& path) {
  string uri = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      uri += c;
    }
  }
  std::error_code ec;
  auto wal_size = std::filesystem::file_size(path + "-wal", ec);
  if (ec || wal_size == 0) uri += "?immutable=1";
  return uri;
}

Status SqliteStore::Error(int rc, std::string_view what) const {
  return SqliteStatus(rc, db_, path_, what);
}

Status SqliteStore::ReadOnly(std::string_view doing) const {
  return Status::Io("cannot " + string(doing) + " store " + path_ +
                    ": it is open read-only (this user may not write the file or its "
                    "directory); nothing was written");
}

Status SqliteStore::Exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, what);
}

Status SqliteStore::Init(const Tuning& tuning) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, tuning.busy_timeout_ms);
  // The first statement reads the file header: a file that is not a database
  // fails here with SQLITE_NOTADB.
  if (options_.read_only) {
    // Reads the header (SQLITE_NOTADB for junk) without asking for WAL,
    // which would need to write.
    RELAY_RETURN_IF_ERROR(Exec("SELECT COUNT(*) FROM sqlite_master", "open"));
  } else {
    // 2 KB pages for a new store (an existing one keeps its own): a commit
    // appends one ledger row of a few hundred bytes, and the WAL frame it
    // writes is checksummed whole. 4 KB pages cost each task ~2.7 k more
    // instructions on W1, 1 KB ones split rows across pages (bench/README.md).
    RELAY_RETURN_IF_ERROR(Exec("PRAGMA page_size=2048; PRAGMA journal_mode=WAL", "open"));
  }
  // Foreign keys stay declared (documentation) but unchecked: relay writes a
  // run before its tasks and events in one transaction, and the check would
  // cost a lookup per event on the scheduler's hot path.
  RELAY_RETURN_IF_ERROR(Migrate());
  {
    // Runs from before schema 5 live in tables a new store does not have.
    Statement s;
    int rc = s.Prepare(db_, "SELECT 1 FROM sqlite_master WHERE name = 'events_v1'", false);
    if (rc == SQLITE_OK) rc = s.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "read the schema");
    has_old_runs_ = rc == SQLITE_ROW;
  }
  DefineStatements();
  RELAY_RETURN_IF_ERROR(ApplyDurability());
  if (!options_.read_only && path_ != ":memory:") OpenHeads();
  return Status::Ok();
}

// The schema version: the highest row of schema_version, 0 for an empty
// database. A database with tables but no schema_version is someone else's.
static Result<int64_t> ReadSchemaVersion(sqlite3* db, const string& path) {
  Statement s;
  int rc = s.Prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table'", false);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db, path, "read the schema");
  bool has_version = false;
  string other;
  while ((rc = s.Step()) == SQLITE_ROW) {
    std::string_view name = s.Text(0);
    if (name == "schema_version") {
      has_version = true;
    } else if (other.empty() && name.substr(0, 7) != "sqlite_") {
      other = name;
    }
  }
  if (rc != SQLITE_DONE) return SqliteStatus(rc, db, path, "read the schema");
  if (!has_version) {
    if (!other.empty()) {
      return Status::Corrupt(path + " is not a relay store or is corrupt: it is an SQLite " +
                             "database without relay's schema_version table (it has a table '" +
                             other + "')");
    }
    return int64_t{0};
  }
  rc = s.Prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", false);
  if (rc == SQLITE_OK) rc = s.Step();
  if (rc != SQLITE_ROW) return SqliteStatus(rc, db, path, "read the schema version");
  return s.Int(0);
}

// An older relay still running one of the store's runs would fail on the
// upgraded schema, leaving its tasks running: the upgrade waits for it.
Status SqliteStore::CheckNoLiveOwner(int64_t version, int latest) {
  if (!options_.owner_alive) return Status::Ok();
  Statement s;
  int rc = s.Prepare(db_,
                     "SELECT id, owner FROM runs WHERE owner <> '' AND state NOT IN "
                     "('succeeded', 'failed', 'cancelled')",
                     false);
  if (rc != SQLITE_OK) return Error(rc, "read the runs");
  while ((rc = s.Step()) == SQLITE_ROW) {
    string owner(s.Text(1));
    if (options_.owner_alive(owner)) {
      return Status::Busy("store " + path_ + " was made by an older relay (schema " +
                          std::to_string(version) + "; this one needs " + std::to_string(latest) +
                          ") that is still running run " + string(s.Text(0)) + " (" + owner +
                          "): let it finish, then run this relay again; nothing was changed");
    }
  }
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "read the runs");
}

Status SqliteStore::Migrate() {
  const auto& migrations = Migrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  // Check without a write lock first: opening an up-to-date store must not
  // wait for a relay that is busy writing to it.
  RELAY_ASSIGN_OR_RETURN(int64_t version, ReadSchemaVersion(db_, path_));
  if (version > latest) return TooNew(path_, version, latest);
  if (version == latest) return Status::Ok();
  if (options_.read_only) {
    return Status::Io("store " + path_ + " has schema " + std::to_string(version) +
                      " and needs upgrading to " + std::to_string(latest) +
                      ", but this user may not write it: run relay once with write access");
  }

  if (version > 0) RELAY_RETURN_IF_ERROR(CheckNoLiveOwner(version, latest));
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "migrate");
  Status s = [&]() -> Status {
    // Another process may have migrated while we waited for the lock.
    RELAY_ASSIGN_OR_RETURN(int64_t v, ReadSchemaVersion(db_, path_));
    if (v > latest) return TooNew(path_, v, latest);
    // A store with no schema yet (an empty file) gets it in one script,
    // recorded as every migration.
    if (v == 0) return Exec(NewStoreScript(), "create the schema");
    Statement ins;
    int r = ins.Prepare(db_,
                        "INSERT INTO schema_version (version, name, applied_at) "
                        "VALUES (?1, ?2, ?3)",
                        false);
    if (r != SQLITE_OK) return Error(r, "record the schema version");
    for (const Migration& m : migrations) {
      if (m.version <= v) continue;
      const string what = string("apply migration ") + m.name;
      RELAY_RETURN_IF_ERROR(Exec(m.sql, what));
      ScopedReset reset(ins);
      ins.Bind(1, int64_t{m.version});
      ins.Bind(2, std::string_view(m.name));
      ins.Bind(3, SystemClock::Get()->Now());
      r = ins.Step();
      if (r != SQLITE_DONE) return Error(r, what);
    }
    return Status::Ok();
  }();
  if (s.ok()) {
    rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) s = Error(rc, "migrate");
  }
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Status SqliteStore::ApplyDurability() {
  Durability d = options_.durability;
  if (d == Durability::kDefault) {
    RELAY_ASSIGN_OR_RETURN(string setting, GetSetting("durability"));
    d = setting == "power" ? Durability::kPower : Durability::kNormal;
  }
  power_ = d == Durability::kPower;
  return Exec(power_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "configure");
}

void SqliteStore::DefineStatements() {
  const string run_cols = kRunColumns;
  const string task_cols = kTaskColumns;
  Statements& s = *st_;
  // The SQL must outlive the statements, which prepare it at first use.
  s.sql = {
      {&s.begin, "BEGIN IMMEDIATE"},
      {&s.commit, "COMMIT"},
      {&s.rollback, "ROLLBACK"},
      // Changes only when another connection commits: this one's caches of
      // chain heads and task states stay valid while it does not.
      {&s.data_version, "PRAGMA data_version"},
      {&s.run_ledger,
       "SELECT num, tasks_seq, EXISTS (SELECT 1 FROM run_instances i WHERE i.num = r.num), "
       "definition_hash, inputs_json, options_json FROM runs r WHERE r.id = ?1"},
      {&s.run_instances, "SELECT list FROM run_instances WHERE num = ?1"},
      {&s.insert_instances, "INSERT INTO run_instances (num, list) VALUES (?1, ?2)"},
      // A run's ledger rows have the ids [?1, ?2) (schema 5) and come in
      // stretches (schema 8): the rows from a stretch's start on, in the
      // table's order, while each continues the one before.
      {&s.run_stretches,
       "SELECT feed, start FROM ledger WHERE start >= ?1 AND start < ?2 ORDER BY start"},
      {&s.last_run_stretch,
       "SELECT feed FROM ledger WHERE start >= ?1 AND start < ?2 ORDER BY start DESC LIMIT 1"},
      // From the row that holds feed position ?1 on.
      {&s.ledger_rows_from,
       "SELECT feed, id, events, hashes, start FROM ledger "
       "WHERE feed >= (SELECT MAX(feed) FROM ledger WHERE feed <= ?1) ORDER BY feed"},
      {&s.last_event_v1,
       "SELECT seq, hash FROM events_v1 WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 1"},
      {&s.insert_ledger,
       "INSERT INTO ledger (feed, id, events, hashes, start) VALUES (?4, ?1, ?2, ?3, ?5)"},
      {&s.events_v1_from, "SELECT " + string(kEventV1Columns) +
                              " FROM events_v1 WHERE id >= ?1 AND id < ?2 ORDER BY id"},
      {&s.insert_run, "INSERT INTO runs (" + run_cols +
                          ", num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                          "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
                          "(SELECT COALESCE(MAX(num), 0) + 1 FROM runs)) RETURNING num"},
      // The owner never writes cancel_requested: another process sets it.
      {&s.update_run,
       "UPDATE runs SET state = ?10, reason = ?11, started_at = ?13, ended_at = ?14, "
       "owner = ?15, heartbeat_at = ?16, outputs_json = ?21 WHERE id = ?1 AND state = ?22"},
      {&s.run_state, "SELECT state FROM runs WHERE id = ?1"},
      // The definition lives in `definitions`, shared by the runs of one text.
      {&s.get_run, "SELECT " +
                       ReplaceAll("r." + ReplaceAll(run_cols, ", ", ", r."), "r.definition,",
                                  "COALESCE(d.text, r.definition),") +
                       " FROM runs r LEFT JOIN definitions d ON d.hash = r.definition_hash "
                       "WHERE r.id = ?1"},
      {&s.insert_definition, "INSERT OR IGNORE INTO definitions (hash, text) VALUES (?1, ?2)"},
      {&s.list_runs, "SELECT " + ReplaceAll(run_cols, "definition,", "'' AS definition,") +
                         " FROM runs ORDER BY created_at DESC, id DESC LIMIT ?1"},
      {&s.last_run, "SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT 1"},
      {&s.runs_from, "SELECT id FROM runs WHERE id >= ?1 ORDER BY id LIMIT 64"},
      {&s.running_runs, "SELECT id FROM runs WHERE state = 'running' ORDER BY created_at, id"},
      {&s.get_tasks, "SELECT " + task_cols + " FROM tasks WHERE run_id = ?1 ORDER BY idx"},
      {&s.task_states, "SELECT idx, name, state FROM tasks WHERE run_id = ?1 ORDER BY idx"},
      {&s.put_process,
       "INSERT INTO processes (run_id, idx, attempt, pid, pgid) VALUES (?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT (run_id, idx) DO UPDATE SET attempt = excluded.attempt, "
       "pid = excluded.pid, pgid = excluded.pgid"},
      {&s.get_processes, "SELECT idx, attempt, pid, pgid FROM processes WHERE run_id = ?1"},
      {&s.get_leases, "SELECT owner, lease_until FROM leases WHERE run_id = ?1"},
      {&s.extend_lease,
       "INSERT INTO leases (run_id, owner, lease_until) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (run_id, owner) DO UPDATE SET lease_until = "
       "MAX(lease_until, excluded.lease_until)"},
      {&s.heartbeat_leases, "UPDATE leases SET lease_until = ?3 WHERE run_id = ?1 AND owner = ?2"},
      {&s.request_cancel, "UPDATE runs SET cancel_requested = 1 WHERE id = ?1"},
      {&s.cancel_requested, "SELECT cancel_requested FROM runs WHERE id = ?1"},
      {&s.take_ownership,
       "UPDATE runs SET owner = ?3, heartbeat_at = ?4 WHERE id = ?1 AND owner = ?2"},
      {&s.run_owner, "SELECT owner, heartbeat_at FROM runs WHERE id = ?1"},
      {&s.heartbeat_run, "UPDATE runs SET heartbeat_at = ?3 WHERE id = ?1 AND owner = ?2"},
      {&s.get_setting, "SELECT value FROM settings WHERE key = ?1"},
      {&s.get_definition, "SELECT text FROM definitions WHERE hash = ?1"},
      {&s.child_runs,
       "SELECT " + ReplaceAll(run_cols, "definition,", "'' AS definition,") +
           " FROM runs WHERE caller_run = ?1 AND caller_run <> '' ORDER BY created_at, id"},
      {&s.heartbeat_owner,
       "UPDATE runs SET heartbeat_at = ?2 WHERE owner = ?1 AND state NOT IN "
       "('succeeded', 'failed', 'cancelled')"},
      // The change feed (sqlite_inbox.cc): the rows in the table's order,
      // keyed by their positions (schema 8). The last row:
      {&s.feed_last, "SELECT feed, id, hashes FROM ledger ORDER BY feed DESC LIMIT 1"},
      // The rows from the one that holds position ?1 on, with their runs.
      {&s.feed_from,
       "SELECT l.feed, l.id, r.id, l.events, l.hashes FROM ledger l "
       "JOIN runs r ON r.num = (l.id >> 32) "
       "WHERE l.feed >= (SELECT COALESCE(MAX(feed), 0) FROM ledger WHERE feed <= ?1) "
       "ORDER BY l.feed LIMIT ?2"},
      {&s.add_request,
       "INSERT INTO requests (run_id, kind, task, actor, comment, created_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id"},
      {&s.read_requests,
       "SELECT id, run_id, kind, task, actor, comment, created_at, done_at, outcome "
       "FROM requests WHERE id > ?1 ORDER BY id LIMIT ?2"},
      {&s.get_request,
       "SELECT id, run_id, kind, task, actor, comment, created_at, done_at, outcome "
       "FROM requests WHERE id = ?1"},
      {&s.request_done,
       "UPDATE requests SET done_at = ?2, outcome = ?3 WHERE id = ?1 AND done_at = 0"},
      // Concurrency groups (sqlite_groups.cc).
      {&s.hold_exists, "SELECT 1 FROM group_holds WHERE grp = ?1 AND run_id = ?2 AND idx = ?3"},
      {&s.group_holders,
       "SELECT run_id, idx, since FROM group_holds WHERE grp = ?1 ORDER BY since, run_id, idx"},
      {&s.waiter_seq, "SELECT seq FROM group_waiters WHERE grp = ?1 AND run_id = ?2 AND idx = ?3"},
      // Waiters whose run is gone quiet (no heartbeat since ?3) do not hold
      // the queue up: their relay died and nobody resumed them.
      {&s.waiters_ahead,
       "SELECT COUNT(*) FROM group_waiters w JOIN runs r ON r.id = w.run_id WHERE w.grp = ?1 "
       "AND w.seq < ?2 AND r.heartbeat_at >= ?3 AND r.state NOT IN ('succeeded', 'failed', "
       "'cancelled')"},
      {&s.insert_hold,
       "INSERT OR IGNORE INTO group_holds (grp, run_id, idx, since) VALUES (?1, ?2, ?3, ?4)"},
      {&s.insert_waiter,
       "INSERT OR IGNORE INTO group_waiters (grp, run_id, idx, since) VALUES (?1, ?2, ?3, ?4)"},
      {&s.delete_waiter, "DELETE FROM group_waiters WHERE grp = ?1 AND run_id = ?2 AND idx = ?3"},
      {&s.release_hold, "DELETE FROM group_holds WHERE grp = ?1 AND run_id = ?2 AND idx = ?3"},
      {&s.release_run_holds, "DELETE FROM group_holds WHERE run_id = ?1"},
      {&s.release_run_waiters, "DELETE FROM group_waiters WHERE run_id = ?1"},
      {&s.set_setting,
       "INSERT INTO settings (key, value) VALUES (?1, ?2) "
       "ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
  };
  for (const auto& [stmt, sql] : s.sql) stmt->Define(db_, sql);
}

}  // namespace relay::store::sqlite

namespace relay::store::sqlite {

Result<RunRow> SqliteStore::GetRun(const std::string& id) {
  Statement& s = st_->get_run;
  ScopedReset reset(s);
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + id + "' in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read run " + id);
  RunRow row;
  RELAY_RETURN_IF_ERROR(ReadRun(s, path_, &row));
  // The text resume and rerun would run must be the one the run was made
  // from, whose hash its ledger records.
  if (!row.definition_hash.empty() && events::Sha256Hex(row.definition) != row.definition_hash) {
    return Status::Corrupt("store " + path_ + ": the definition stored with run " + id +
                           " does not match its hash " + row.definition_hash +
                           " (it was changed after the run was created)");
  }
  return row;
}

Result<std::vector<RunRow>> SqliteStore::ListRuns(int limit) {
  Statement& s = st_->list_runs;
  ScopedReset reset(s);
  s.Bind(1, int64_t{limit > 0 ? limit : -1});
  std::vector<RunRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.emplace_back();
    RELAY_RETURN_IF_ERROR(ReadRun(s, path_, &out.back()));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list runs");
  return out;
}

Result<std::string> SqliteStore::ResolveRunId(const std::string& ref) {
  if (ref.empty()) return Status::Invalid("empty run id");
  if (ref == "last") {
    Statement& s = st_->last_run;
    ScopedReset reset(s);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no runs in store " + path_ + " yet");
    if (rc != SQLITE_ROW) return Error(rc, "find the last run");
    return std::string(s.Text(0));
  }
  // Ids are ULIDs (upper case); accept a prefix typed in lower case too.
  std::string upper = ref;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& prefix : {ref, upper}) {
    std::vector<std::string> matches;
    Statement& s = st_->runs_from;
    ScopedReset reset(s);
    s.Bind(1, prefix);
    int rc;
    // Ids sort by text, so the matches are the rows from the prefix onward.
    while ((rc = s.Step()) == SQLITE_ROW && s.Text(0).substr(0, prefix.size()) == prefix) {
      if (s.Text(0) == prefix) return prefix;
      matches.emplace_back(s.Text(0));
      if (matches.size() > 5) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "find run " + ref);
    if (matches.size() == 1) return matches[0];
    if (matches.size() > 1) {
      std::string list =
          Join(std::vector<std::string>(matches.begin(),
                                        matches.begin() + std::min<size_t>(5, matches.size())),
               ", ");
      if (matches.size() > 5) list += ", …";
      return Status::Invalid("run id '" + ref + "' is ambiguous in store " + path_ +
                             ": it matches " + list + "; give more characters");
    }
    if (prefix == upper) break;
  }
  return Status::NotFound("no run matches '" + ref + "' in store " + path_);
}

Status SqliteStore::RunExists(const std::string& run_id) {
  Statement& s = st_->run_state;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return Status::Ok();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + run_id + "' in store " + path_);
  return Error(rc, "read run " + run_id);
}

Result<bool> SqliteStore::CancelRequested(const std::string& run_id) {
  Statement& s = st_->cancel_requested;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + run_id + "' in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read run " + run_id);
  return s.Int(0) != 0;
}

Status SqliteStore::TakeOwnership(const std::string& run_id, const std::string& expected_owner,
                                  const std::string& new_owner, Micros now) {
  if (options_.read_only) return ReadOnly("take over a run in");
  {
    Statement& s = st_->take_ownership;
    ScopedReset reset(s);
    s.Bind(1, run_id);
    s.Bind(2, expected_owner);
    s.Bind(3, new_owner);
    s.Bind(4, now);
    int rc = s.Step();
    if (rc != SQLITE_DONE) return Error(rc, "take ownership of run " + run_id);
    if (sqlite3_changes(db_) == 1) return Status::Ok();
  }
  Statement& s = st_->run_owner;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no run '" + run_id + "' in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read run " + run_id);
  std::string owner(s.Text(0));
  std::string msg =
      "run " + run_id + " is owned by " + (owner.empty() ? "nobody" : "'" + owner + "'");
  if (!owner.empty()) msg += " (last heartbeat " + FormatTimestamp(s.Int(1)) + ")";
  return Status::Conflict(msg + ", not " +
                          (expected_owner.empty() ? "nobody" : "'" + expected_owner + "'") +
                          " as expected");
}

Result<std::string> SqliteStore::GetSetting(const std::string& key) {
  Statement& s = st_->get_setting;
  ScopedReset reset(s);
  s.Bind(1, key);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return Error(rc, "read setting " + key);
  return std::string(s.Text(0));
}

Status SqliteStore::SetSetting(const std::string& key, const std::string& value) {
  if (options_.read_only) return ReadOnly("change a setting of");
  if (key == "durability" && value != "normal" && value != "power") {
    return Status::Invalid("setting durability must be 'normal' or 'power', not '" + value + "'");
  }
  {
    Statement& s = st_->set_setting;
    ScopedReset reset(s);
    s.Bind(1, key);
    s.Bind(2, value);
    int rc = s.Step();
    if (rc != SQLITE_DONE) return Error(rc, "write setting " + key);
  }
  if (key == "durability") return ApplyDurability();
  return Status::Ok();
}

int SqliteStore::TEST_SynchronousMode() {
  Statement s;
  if (s.Prepare(db_, "PRAGMA synchronous", false) != SQLITE_OK || s.Step() != SQLITE_ROW) return -1;
  return static_cast<int>(s.Int(0));
}

Status SqliteStore::TEST_Exec(const std::string& sql) { return Exec(sql.c_str(), "execute"); }

}  // namespace relay::store::sqlite
