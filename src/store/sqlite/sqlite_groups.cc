// SqliteStore's concurrency groups: places held by runs or task instances,
// and a queue of those waiting, shared by every relay on the store.
#include <sqlite3.h>

#include "store/sqlite/errors.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statements.h"

namespace relay::store::sqlite {
namespace {

// A waiter whose run has not heartbeat for this long is passed over: its
// relay died and nobody resumed it (docs/pipeline.md, concurrency).
constexpr Micros kStaleWaiter = 60 * kSecond;

}  // namespace

Result<GroupState> SqliteStore::AcquireGroup(const std::string& group, int limit,
                                             const GroupHolder& holder) {
  if (options_.read_only) return ReadOnly("take a concurrency group's place in");
  const Micros now = holder.since ? holder.since : SystemClock::Get()->Now();
  GroupState state;
  auto bind3 = [&](Statement& s) {
    s.Bind(1, group);
    s.Bind(2, holder.run_id);
    s.Bind(3, int64_t{holder.index});
  };
  RELAY_RETURN_IF_ERROR(WriteTransaction(
      [&]() -> Status {
        state = GroupState{};
        {
          Statement& s = st_->hold_exists;
          ScopedReset reset(s);
          bind3(s);
          int rc = s.Step();
          if (rc == SQLITE_ROW)
            state.acquired = true;
          else if (rc != SQLITE_DONE)
            return Error(rc, "read concurrency group " + group);
        }
        auto read_holders = [&]() -> Status {
          state.holders.clear();
          Statement& s = st_->group_holders;
          ScopedReset reset(s);
          s.Bind(1, group);
          int rc;
          while ((rc = s.Step()) == SQLITE_ROW)
            state.holders.push_back(
                GroupHolder{std::string(s.Text(0)), static_cast<int32_t>(s.Int(1)), s.Int(2)});
          return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "read concurrency group " + group);
        };
        RELAY_RETURN_IF_ERROR(read_holders());
        if (state.acquired) return Status::Ok();
        int64_t my_seq = INT64_MAX;
        {
          Statement& s = st_->waiter_seq;
          ScopedReset reset(s);
          bind3(s);
          int rc = s.Step();
          if (rc == SQLITE_ROW)
            my_seq = s.Int(0);
          else if (rc != SQLITE_DONE)
            return Error(rc, "read concurrency group " + group);
        }
        {
          Statement& s = st_->waiters_ahead;
          ScopedReset reset(s);
          s.Bind(1, group);
          s.Bind(2, my_seq);
          s.Bind(3, now - kStaleWaiter);
          int rc = s.Step();
          if (rc != SQLITE_ROW) return Error(rc, "read concurrency group " + group);
          state.ahead = static_cast<int>(s.Int(0));
        }
        if (static_cast<int>(state.holders.size()) + state.ahead < limit) {
          for (Statement* st : {&st_->insert_hold, &st_->delete_waiter}) {
            ScopedReset reset(*st);
            bind3(*st);
            if (st == &st_->insert_hold) st->Bind(4, now);
            int rc = st->Step();
            if (rc != SQLITE_DONE) return Error(rc, "take a place in concurrency group " + group);
          }
          state.acquired = true;
          return read_holders();
        }
        if (my_seq == INT64_MAX) {
          Statement& s = st_->insert_waiter;
          ScopedReset reset(s);
          bind3(s);
          s.Bind(4, now);
          int rc = s.Step();
          if (rc != SQLITE_DONE) return Error(rc, "queue for concurrency group " + group);
        }
        return Status::Ok();
      },
      /*counts=*/false));
  return state;
}

Status SqliteStore::ApplyRelease(const GroupRelease& r) {
  for (Statement* st : {&st_->release_hold, &st_->delete_waiter}) {
    ScopedReset reset(*st);
    st->Bind(1, r.group);
    st->Bind(2, r.run_id);
    st->Bind(3, int64_t{r.index});
    int rc = st->Step();
    if (rc != SQLITE_DONE) return Error(rc, "give back a place in concurrency group " + r.group);
  }
  return Status::Ok();
}

Status SqliteStore::ReleaseRun(const std::string& run_id) {
  for (Statement* st : {&st_->release_run_holds, &st_->release_run_waiters}) {
    ScopedReset reset(*st);
    st->Bind(1, run_id);
    int rc = st->Step();
    if (rc != SQLITE_DONE) return Error(rc, "give back the concurrency places of run " + run_id);
  }
  return Status::Ok();
}

}  // namespace relay::store::sqlite
