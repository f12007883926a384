// SqliteStore's service side: the change feed, the requests inbox,
// definitions kept for sub-pipelines, child runs and an engine's heartbeat.
#include <sqlite3.h>

#include <algorithm>
#include <limits>

#include "events/canonical_json.h"
#include "store/sqlite/errors.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statements.h"

namespace relay::store::sqlite {
namespace {

void ReadRequestRow(const Statement& s, Request* r) {
  r->id = s.Int(0);
  r->run_id = std::string(s.Text(1));
  r->kind = std::string(s.Text(2));
  r->task = std::string(s.Text(3));
  r->actor = std::string(s.Text(4));
  r->comment = std::string(s.Text(5));
  r->created_at = s.Int(6);
  r->done_at = s.Int(7);
  r->outcome = std::string(s.Text(8));
}

}  // namespace

namespace {

// Reads of several statements that must see one state of the store (a
// writer may append between them): one read transaction, unless the
// connection is in one already.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(sqlite3* db) : db_(db) {
    if (sqlite3_get_autocommit(db_) != 0)
      open_ = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~ReadSnapshot() {
    if (open_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

// The ledger's rows are in commit order, each keyed by the position of
// its first event (schema 8): the feed is those rows' events in order.
Result<std::vector<FeedEvent>> SqliteStore::ReadFeed(int64_t after, int limit) {
  std::vector<FeedEvent> out;
  if (limit <= 0) return out;
  if (after < 0) after = 0;
  ReadSnapshot snapshot(db_);
  // From the row that holds position after + 1. Each holds at least one
  // event: `limit` rows are enough.
  Statement& s = st_->feed_from;
  ScopedReset reset(s);
  s.Bind(1, after + 1);
  s.Bind(2, int64_t{limit});
  int rc = SQLITE_DONE;
  while (static_cast<int>(out.size()) < limit && (rc = s.Step()) == SQLITE_ROW) {
    const int64_t start = s.Int(0), id = s.Int(1);
    const std::string_view run_id = s.Text(2), text = s.Text(3), hashes = s.Blob(4);
    const int64_t lo = id / kEventsPerRun * kEventsPerRun;
    const size_t n = hashes.size() / 32;
    size_t at = 0;
    for (size_t i = 0; i < n && at <= text.size(); ++i) {
      size_t nl = text.find('\n', at);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(at, nl - at);
      at = nl + 1;
      const int64_t pos = start + static_cast<int64_t>(i);
      if (pos <= after) continue;
      if (static_cast<int>(out.size()) >= limit) break;
      FeedEvent& fe = out.emplace_back();
      fe.pos = pos;
      fe.event.run_id = run_id;
      fe.event.format = 2;
      fe.event.seq = id - lo + static_cast<int64_t>(i);
      // The feed tells readers what happened; `relay ledger verify` is what
      // vouches for it. An event that does not decode is passed on marked.
      events::DecodeCanonical(line, &fe.event);
      events::Sha256Digest d;
      std::copy_n(hashes.data() + 32 * i, 32, d.begin());
      fe.event.hash = events::DigestToHex(d);
    }
  }
  if (static_cast<int>(out.size()) < limit && rc != SQLITE_DONE)
    return Error(rc, "read the change feed");
  return out;
}

Result<int64_t> SqliteStore::FeedHead() {
  ReadSnapshot snapshot(db_);
  int64_t next, last_id;
  RELAY_RETURN_IF_ERROR(ReadFeedEnd(&next, &last_id));
  return next - 1;
}

Result<int64_t> SqliteStore::AddRequest(Request r) {
  if (options_.read_only) return ReadOnly("add a request to");
  if (r.created_at == 0) r.created_at = SystemClock::Get()->Now();
  int64_t id = 0;
  RELAY_RETURN_IF_ERROR(WriteTransaction(
      [&]() -> Status {
        RELAY_RETURN_IF_ERROR(RunExists(r.run_id));
        Statement& s = st_->add_request;
        ScopedReset reset(s);
        s.Bind(1, r.run_id);
        s.Bind(2, r.kind);
        s.Bind(3, r.task);
        s.Bind(4, r.actor);
        s.Bind(5, r.comment);
        s.Bind(6, r.created_at);
        int rc = s.Step();
        if (rc != SQLITE_ROW) return Error(rc, "record a request for run " + r.run_id);
        id = s.Int(0);
        rc = s.Step();
        if (rc != SQLITE_DONE) return Error(rc, "record a request for run " + r.run_id);
        // Any cancel of the whole run (a user's, or another relay's with
        // its cause as the kind).
        if (r.task.empty() && (r.kind == "cancel" || r.kind.find("cancel") != std::string::npos)) {
          // Also on the run's row: a relay that resumes it later sees it
          // without reading the inbox.
          Statement& c = st_->request_cancel;
          ScopedReset reset_cancel(c);
          c.Bind(1, r.run_id);
          rc = c.Step();
          if (rc != SQLITE_DONE) return Error(rc, "request cancel of run " + r.run_id);
        }
        return Status::Ok();
      },
      /*counts=*/false));
  // A request added through this connection is news too, for an engine
  // that shares it (its own data_version does not move).
  changes_version_ = -1;
  return id;
}

Status SqliteStore::RequestCancel(const std::string& run_id) {
  Request r;
  r.run_id = run_id;
  r.kind = "cancel";
  return AddRequest(std::move(r)).status();
}

Result<std::vector<Request>> SqliteStore::ReadRequests(int64_t after, int limit) {
  Statement& s = st_->read_requests;
  ScopedReset reset(s);
  s.Bind(1, after);
  s.Bind(2, int64_t{limit > 0 ? limit : -1});
  std::vector<Request> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) ReadRequestRow(s, &out.emplace_back());
  if (rc != SQLITE_DONE) return Error(rc, "read the requests");
  return out;
}

Result<Request> SqliteStore::GetRequest(int64_t id) {
  Statement& s = st_->get_request;
  ScopedReset reset(s);
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_DONE)
    return Status::NotFound("no request " + std::to_string(id) + " in store " + path_);
  if (rc != SQLITE_ROW) return Error(rc, "read request " + std::to_string(id));
  Request r;
  ReadRequestRow(s, &r);
  return r;
}

Status SqliteStore::ApplyOutcome(const RequestOutcome& o, Micros now) {
  Statement& s = st_->request_done;
  ScopedReset reset(s);
  s.Bind(1, o.id);
  s.Bind(2, now);
  s.Bind(3, o.outcome);
  int rc = s.Step();
  return rc == SQLITE_DONE ? Status::Ok()
                           : Error(rc, "record what request " + std::to_string(o.id) + " did");
}

Result<bool> SqliteStore::ChangedElsewhere() {
  Statement& v = st_->data_version;
  int rc = v.Step();
  int64_t version = rc == SQLITE_ROW ? v.Int(0) : -1;
  v.Reset();
  if (rc != SQLITE_ROW) return Error(rc, "read the store's version");
  bool changed = version != changes_version_;
  changes_version_ = version;
  return changed;
}

Result<int> SqliteStore::HeartbeatOwner(const std::string& owner, Micros now) {
  if (options_.read_only) return ReadOnly("record a heartbeat in");
  int changed = 0;
  RELAY_RETURN_IF_ERROR(WriteTransaction(
      [&]() -> Status {
        Statement& s = st_->heartbeat_owner;
        ScopedReset reset(s);
        s.Bind(1, owner);
        s.Bind(2, now);
        int rc = s.Step();
        if (rc != SQLITE_DONE) return Error(rc, "record a heartbeat");
        changed = sqlite3_changes(db_);
        return Status::Ok();
      },
      /*counts=*/false));
  return changed;
}

Result<std::string> SqliteStore::GetDefinition(const std::string& hash) {
  Statement& s = st_->get_definition;
  ScopedReset reset(s);
  s.Bind(1, hash);
  int rc = s.Step();
  if (rc == SQLITE_DONE)
    return Status::NotFound("store " + path_ + " has no definition with hash " + hash);
  if (rc != SQLITE_ROW) return Error(rc, "read definition " + hash);
  std::string text(s.Text(0));
  if (events::Sha256Hex(text) != hash)
    return Status::Corrupt("store " + path_ + ": the definition stored as " + hash +
                           " does not match its hash (it was changed after it was stored)");
  return text;
}

Status SqliteStore::PutDefinition(const std::string& text) {
  if (options_.read_only) return ReadOnly("store a definition in");
  // Bound text is not copied (statement.h): the hash must outlive Step().
  const std::string hash = events::Sha256Hex(text);
  return WriteTransaction(
      [&]() -> Status {
        Statement& def = st_->insert_definition;
        ScopedReset reset(def);
        def.Bind(1, hash);
        def.Bind(2, text);
        int rc = def.Step();
        return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "store a definition");
      },
      /*counts=*/false);
}

Result<std::vector<RunRow>> SqliteStore::ChildRuns(const std::string& run_id) {
  Statement& s = st_->child_runs;
  ScopedReset reset(s);
  s.Bind(1, run_id);
  std::vector<RunRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    RELAY_RETURN_IF_ERROR(ReadRun(s, path_, &out.emplace_back()));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list the sub-pipeline runs of run " + run_id);
  return out;
}

}  // namespace relay::store::sqlite
