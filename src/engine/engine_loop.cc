// The engine's loop: one screen of steps (RunUntilIdle), each below.
#include <algorithm>
#include <limits>

#include "base/duration.h"
#include "engine/engine.h"

namespace relay::engine {

namespace {
constexpr Micros kNever = std::numeric_limits<Micros>::max();
constexpr Micros kFirstBackoff = 10 * kMillisecond;
constexpr Micros kMaxBackoff = kSecond;
// Specs kept for their memory once started (about the slots in use).
constexpr size_t kSpareSpecs = 64;
// Starts a run makes in a row before the next run in order takes its turn.
constexpr int kTurn = 8;
}  // namespace

Status Engine::RunUntilIdle() {
  while (true) {
    const Micros now = clock_->Now();
    if (now >= next_inbox_) PollInbox(now);
    if (now >= next_heartbeat_) Heartbeat(now);
    FireTimers(now);
    Step();
    RELAY_RETURN_IF_ERROR(Flush());
    if (active_ == 0 && batch_.empty() && child_ends_.empty() && dirty_.empty())
      return Status::Ok();
    if (!runner_->CanStart() && batch_.empty() && dirty_.empty()) {
      // What the keeper's death ended is recorded (lost, to be retried);
      // nothing more can start here. A resume finishes the runs.
      return Status::Io(
          "the keeper of this relay died (was it killed?): no attempt can start, so "
          "relay stops here; `relay resume` finishes the run");
    }
    if (!observers_.empty() && options_.tick > 0 && now >= next_tick_) {
      next_tick_ = now + options_.tick;
      for (auto* o : observers_) o->OnTick(now);
    }
    exec::WaitResult w = runner_->Wait(NextWakeup(clock_->Now()));
    Dispatch(w);
    runner_->Recycle(std::move(w));
  }
}

// Requests written by another process (relay cancel, relay approve, the
// API), read in one query whatever the number of runs, and only when the
// store changed since the last look.
void Engine::PollInbox(Micros now) {
  next_inbox_ = now + options_.inbox_poll;
  auto changed = store_->ChangedElsewhere();
  const bool news = !changed.ok() || *changed || poked_;
  poked_ = false;
  while (news) {
    auto requests = store_->ReadRequests(inbox_cursor_, 256);
    if (!requests.ok() || requests->empty()) break;
    for (const store::Request& r : *requests) {
      inbox_cursor_ = r.id;
      if (r.done_at != 0) continue;
      sched::RunDriver* d = Find(r.run_id);
      if (r.kind == "start") {
        if (d == nullptr && options_.accept_starts) {
          Status taken = Resume(r.run_id);
          batch_.outcomes.push_back(
              store::RequestOutcome{r.id, taken.ok() ? "started by relay " + options_.owner
                                                     : "refused: " + taken.message()});
        }
        continue;
      }
      if (d == nullptr) continue;  // another relay's run, or one not held yet
      batch_.outcomes.push_back(store::RequestOutcome{r.id, d->OnRequest(r)});
      MarkDirty(SlotOf(r.run_id));
    }
    if (requests->size() < 256) break;
  }
  // Another relay may have given back a concurrency group's place; and a
  // waiter ahead whose relay died goes stale with nothing committed at all,
  // so groups are also asked again every second.
  if (!news && now < next_groups_) return;
  next_groups_ = now + kSecond;
  RetryGroups();
}

// Runs and instances waiting for a concurrency group ask it again.
void Engine::RetryGroups() {
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (!slots_[slot].active || !slots_[slot].driver->WaitsForGroup()) continue;
    slots_[slot].driver->RetryGroups();
    MarkDirty(slot);
  }
}

void Engine::Heartbeat(Micros now) {
  next_heartbeat_ = now + options_.heartbeat_interval;
  // A busy store skips a beat: the lease is many beats long.
  if (active_ > 0) (void)store_->HeartbeatOwner(options_.owner, now);
  // A waiter ahead in a group's queue whose relay died is passed over once
  // it has been quiet long enough: time frees that turn, not a change to the
  // store that PollInbox would notice.
  RetryGroups();
}

void Engine::FireTimers(Micros now) {
  due_.clear();
  for (auto it = wakes_.begin(); it != wakes_.end() && it->first <= now; ++it)
    due_.push_back(it->second);
  for (uint32_t slot : due_) {
    Slot& s = slots_[slot];
    if (!s.active || s.driver->NextTimer() > now) continue;
    s.driver->FireTimers(now);
    MarkDirty(slot);  // its wake is placed again when it settles
  }
}

// A wake placed too early only costs a loop that finds nothing due and
// places it again; every change that brings one closer (a start, a result,
// a retry's timer) goes through Settle, which places it.
void Engine::UpdateWake(uint32_t slot) {
  Slot& s = slots_[slot];
  const Micros wake = s.active ? std::min(s.driver->NextTimer(), s.driver->PidsDue()) : kNoWake;
  if (wake == s.wake) return;
  if (s.wake != kNoWake) wakes_.erase({s.wake, slot});
  s.wake = wake;
  if (wake != kNoWake) wakes_.emplace(wake, slot);
}

// Decisions, ends and starts, until nothing more is decided without waiting.
void Engine::Step() {
  for (const ChildEnd& end : child_ends_) {
    if (sched::RunDriver* caller = Find(end.caller)) {
      caller->OnChildEnded(end.index, end.child);
      MarkDirty(SlotOf(end.caller));
    }
  }
  child_ends_.clear();
  for (int rounds = 0; rounds < 1000; ++rounds) {
    while (!dirty_.empty()) {
      // Swapped with a member, not a local: both keep their memory.
      touched_.swap(dirty_);
      for (uint32_t slot : touched_) {
        slots_[slot].dirty = false;
        Settle(slot);
      }
      touched_.clear();
    }
    // While the store is busy nothing starts: a start decided now would be
    // stamped now but spawned only after the commit the busy store delays,
    // and its recorded duration would include the wait.
    if (busy_since_ == 0 && runner_->CanStart()) StartReady();
    if (dirty_.empty()) break;
  }
}

void Engine::Settle(uint32_t slot) {
  Slot& s = slots_[slot];
  if (!s.active) return;
  sched::RunDriver& d = *s.driver;
  const int32_t before = d.in_slots();
  d.Drain();
  if (!d.broken().empty() || d.Stalled()) d.FailInternal();
  if (d.Done()) d.Finish();
  used_ += d.in_slots() - before;
  UpdateWake(slot);
  if (d.finished()) {
    ended_.push_back(slot);
    const store::RunRow& row = d.run();
    // Its caller learns it in the same commit as its end.
    if (!row.caller_run.empty()) {
      if (sched::RunDriver* caller = Find(row.caller_run)) {
        caller->OnChildEnded(row.caller_index, row);
        MarkDirty(SlotOf(row.caller_run));
      }
    }
  }
  UpdateReady(slot);
}

void Engine::StartReady() {
  while (used_ < options_.slots && !ready_.empty()) {
    const uint32_t slot = std::get<2>(*ready_.begin());
    spare_ready_ = ready_.extract(ready_.begin());  // UpdateReady puts it back
    slots_[slot].in_ready = false;
    // Starting a sub-pipeline adds a slot for its run, which may move
    // slots_: no Slot& is held across StartOne (the driver itself stays put).
    sched::RunDriver& d = *slots_[slot].driver;
    const int32_t before = d.in_slots();
    auto started = d.StartOne();
    used_ += d.in_slots() - before;
    // A run keeps its turn for a few starts (among runs running as few
    // attempts as it): turns are still taken in order, but one commit then
    // mostly touches one run, not a new one at every start — each run's
    // ledger grows where it is, not everywhere at once.
    Slot& s = slots_[slot];
    if (started == sched::RunDriver::Started::kNone || ++s.turn >= kTurn) {
      s.served = ++serve_counter_;
      s.turn = 0;
    }
    if (started == sched::RunDriver::Started::kNone) continue;
    // What started may have ended at once (an attempt that cannot be
    // built, a skip): the run is looked at again before the commit.
    MarkDirty(slot);
    UpdateReady(slot);
  }
}

// One commit for every run, then what it made durable: processes spawned,
// results acknowledged to the keeper, observers told.
Status Engine::Flush() {
  const Micros now = clock_->Now();
  if (busy_since_ != 0 && now < retry_commit_at_) return Status::Ok();
  due_.clear();
  for (auto it = wakes_.begin(); it != wakes_.end() && it->first <= now; ++it)
    due_.push_back(it->second);
  for (uint32_t slot : due_) {
    Slot& s = slots_[slot];
    if (s.active && s.driver->PidsDue() <= now) s.driver->CollectProcesses(now, &batch_.processes);
    UpdateWake(slot);
  }
  if (batch_.empty()) return Status::Ok();
  batch_.now = now;
  while (true) {
    if (busy_since_ != 0) {
      // Attempts decided before the store turned out busy start only after
      // this commit: their recorded start is now, or their durations would
      // count the wait. (Normally a start is committed in the loop that
      // decided it.)
      for (auto& t : batch_.transitions) {
        auto* tt = std::get_if<store::TaskTransition>(&t);
        if (tt == nullptr || tt->row.state != state::TaskState::kRunning) continue;
        tt->ts = tt->row.started_at = now;
        if (sched::RunDriver* d = Find(tt->row.run_id)) d->Restamp(tt->row.index, now);
      }
    }
    store::CommitError error;
    Status st = store_->Commit(batch_, &error);
    if (st.ok()) break;
    if (st.code() == Code::kBusy) {
      // Another process holds the store's write lock (a backup, a long
      // transaction, another relay): wait it out. Nothing decided is lost;
      // nothing is spawned before its commit.
      if (busy_since_ == 0) {
        busy_since_ = now;
        busy_backoff_ = kFirstBackoff;
        Notice("the store is busy (another process holds it): waiting");
      } else {
        busy_backoff_ = std::min(busy_backoff_ * 2, kMaxBackoff);
      }
      retry_commit_at_ = now + busy_backoff_;
      if (now - busy_since_ >= options_.busy_limit) {
        return Status::Busy(st.message() + "; the store stayed unwritable for " +
                            FormatDuration(now - busy_since_) +
                            ", so relay stops here. Tasks still running go on under its keeper; "
                            "`relay resume` adopts them");
      }
      return Status::Ok();
    }
    if (error.run_id.empty() || Find(error.run_id) == nullptr) return st;
    // One run's transitions do not fit the store (another process changed
    // that run): that run alone is dropped, the others are committed.
    DropRun(error.run_id, st);
  }
  busy_since_ = 0;

  for (auto& spec : to_spawn_) {
    const uint64_t token = spec.token;
    exec::Started started = runner_->StartFrom(spec);
    // What the runner left of it is the next attempt's spec to fill (not
    // its run's masker: that would outlive the run).
    if (spare_specs_.size() < kSpareSpecs) {
      spec.masker.reset();
      spare_specs_.push_back(std::move(spec));
    }
    const uint32_t slot = static_cast<uint32_t>(token >> 32);
    if (started.pid > 0 && slot < slots_.size() && slots_[slot].active) {
      slots_[slot].driver->OnStarted(static_cast<int32_t>(token & 0xffffffff), started.pid,
                                     started.pgid);
      UpdateWake(slot);  // its pid is to be stored
    }
  }
  to_spawn_.clear();
  if (!acks_.empty()) {
    runner_->Acknowledge(acks_);
    acks_.clear();
  }
  for (uint32_t slot : unannounced_) {
    Slot& s = slots_[slot];
    if (s.driver == nullptr || s.announced) continue;
    s.announced = true;
    for (auto* o : observers_)
      o->OnRunStarted(s.driver->run(), s.driver->rows(), s.driver->already_final());
  }
  unannounced_.clear();
  for (auto* o : observers_) {
    // Each transition's own snapshot, so a view shows the reason of that
    // transition, not the row's state after the whole batch.
    for (const auto& t : batch_.transitions) {
      if (const auto* tt = std::get_if<store::TaskTransition>(&t))
        o->OnTaskChanged(tt->row, tt->from, tt->row.state);
      else if (const auto* rt = std::get_if<store::RunTransition>(&t))
        o->OnRunChanged(rt->row, rt->from);
    }
    o->OnCommitted();
  }
  // Places given back, explicitly or by a run's end: blocked ones look again.
  bool released = !batch_.releases.empty();
  for (const auto& t : batch_.transitions)
    if (const auto* rt = std::get_if<store::RunTransition>(&t))
      released = released || state::IsFinal(rt->row.state);
  batch_.clear();
  for (uint32_t slot : ended_) {
    Slot& s = slots_[slot];
    if (s.active && s.driver->finished()) {
      s.active = false;
      --active_;
      if (s.in_ready) {
        ready_.erase(s.key);
        s.in_ready = false;
      }
      UpdateWake(slot);
    }
  }
  ended_.clear();
  if (released) {
    // Places this engine gave back: its own blocked instances look first.
    RetryGroups();
  }
  return Status::Ok();
}

// A run whose transitions the store refused (another process changed it, or
// took it over): nothing more of it is committed, and it is no longer
// driven. Its attempts are left alone: whoever holds the run now adopts them.
void Engine::DropRun(const std::string& run_id, const Status& why) {
  auto of_run = [&](const auto& t) {
    if (const auto* tt = std::get_if<store::TaskTransition>(&t)) return tt->row.run_id == run_id;
    return std::get<store::RunTransition>(t).row.id == run_id;
  };
  auto& ts = batch_.transitions;
  ts.erase(std::remove_if(ts.begin(), ts.end(), of_run), ts.end());
  auto& nr = batch_.new_runs;
  nr.erase(std::remove_if(nr.begin(), nr.end(),
                          [&](const store::NewRun& n) { return n.run.id == run_id; }),
           nr.end());
  auto& ps = batch_.processes;
  ps.erase(std::remove_if(ps.begin(), ps.end(),
                          [&](const store::AttemptProcess& p) { return p.run_id == run_id; }),
           ps.end());
  auto& rs = batch_.releases;
  rs.erase(std::remove_if(rs.begin(), rs.end(),
                          [&](const store::GroupRelease& r) { return r.run_id == run_id; }),
           rs.end());
  const uint32_t slot = SlotOf(run_id);
  to_spawn_.erase(
      std::remove_if(to_spawn_.begin(), to_spawn_.end(),
                     [&](const exec::AttemptSpec& a) { return (a.token >> 32) == slot; }),
      to_spawn_.end());
  Slot& s = slots_[slot];
  used_ -= s.driver->in_slots();
  s.active = false;
  --active_;
  if (s.in_ready) {
    ready_.erase(s.key);
    s.in_ready = false;
  }
  UpdateWake(slot);
  Notice("stopped driving run " + run_id + ": " + why.message());
}

void Engine::Dispatch(const exec::WaitResult& w) {
  for (const exec::Started& started : w.started) {
    const uint32_t slot = static_cast<uint32_t>(started.token >> 32);
    if (slot < slots_.size() && slots_[slot].active) {
      slots_[slot].driver->OnStarted(static_cast<int32_t>(started.token & 0xffffffff), started.pid,
                                     started.pgid);
      UpdateWake(slot);  // its pid is to be stored
    }
  }
  for (const exec::AttemptResult& r : w.finished) {
    acks_.push_back(r.token);
    const uint32_t slot = static_cast<uint32_t>(r.token >> 32);
    if (slot >= slots_.size() || !slots_[slot].active) continue;
    sched::RunDriver& d = *slots_[slot].driver;
    const int32_t before = d.in_slots();
    d.OnFinished(static_cast<int32_t>(r.token & 0xffffffff), r);
    used_ += d.in_slots() - before;
    MarkDirty(slot);
  }
  if (w.interrupt_signal) {
    if (!interrupted_) {
      interrupted_ = true;
      for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
        if (!slots_[slot].active) continue;
        slots_[slot].driver->BeginCancel(
            state::run_cause::kInterrupted,
            "interrupted (signal " + std::to_string(w.interrupt_signal) + ")");
        MarkDirty(slot);
      }
      Notice("cancelling: stopping running tasks (press Ctrl-C again to kill them)");
    } else {
      runner_->KillAll();
      for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
        if (!slots_[slot].active) continue;
        slots_[slot].driver->ForceCancel();
        MarkDirty(slot);
      }
      Notice("killing every running task");
    }
  }
  if (w.poked) {
    // Another process wrote a request and says so: read the inbox now.
    next_inbox_ = 0;
    poked_ = true;
  }
}

Micros Engine::NextWakeup(Micros now) {
  Micros wake = std::min(next_inbox_, next_heartbeat_);
  if (busy_since_ != 0) wake = std::min(wake, retry_commit_at_);
  if (!observers_.empty() && options_.tick > 0) wake = std::min(wake, next_tick_);
  if (!wakes_.empty()) wake = std::min(wake, wakes_.begin()->first);
  if (!dirty_.empty() || !child_ends_.empty()) return 0;
  return wake == kNever ? -1 : std::max<Micros>(0, wake - now);
}

}  // namespace relay::engine
