// The engine: one per process, it drives every run the process holds — a
// `relay run`'s run and its sub-pipelines, later a server's many runs —
// through one process runner, under one global slot limit shared fairly
// between runs. Its loop, per iteration:
//
//   requests from the inbox, heartbeat, due timers
//   → each touched run decides what became ready; finished runs end (and
//     their callers learn it in the same batch)
//   → ready work starts, up to the free slots, fairest run first
//   → ONE commit for every run's transitions; then the processes that
//     commit made durable are spawned and the results it recorded are
//     acknowledged to the keeper
//   → wait for the next exit, signal, timer or request
//
// A busy store is waited out with back-off: running work keeps running, the
// commit is retried, and only a store that stays unwritable past
// EngineOptions::busy_limit stops the engine (its attempts live on under the
// keeper and are adopted by the next relay). A bug in one run (a transition
// outside the table) fails that run alone.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "exec/runner.h"
#include "sched/observer.h"
#include "sched/run_driver.h"
#include "sched/run_host.h"
#include "store/store.h"

namespace relay::engine {

struct EngineOptions {
  int slots = 0;        // attempts running at once, across every run; 0 = number of cores
  std::string owner;    // this process's owner id (exec::SelfOwnerId)
  std::string log_dir;  // "" = the store's LogDir()
  Micros heartbeat_interval = 5 * kSecond;
  Micros lease = 60 * kSecond;  // an owner silent this long is taken for dead
  // Requests another process wrote are looked for at least this often (a
  // poke from the same host wakes the engine at once).
  Micros inbox_poll = 100 * kMillisecond;
  Micros tick = 0;  // Observer::OnTick period; 0 = none
  Micros kill_grace = 5 * kSecond;
  // How long a store may stay unwritable (another process holding its write
  // lock) before the engine gives up; docs/architecture.md.
  Micros busy_limit = 5 * kMinute;
  // Take runs that others created and asked to start (a `start` request in
  // the inbox for a pending run nobody drives): a server's engine does; the
  // engine of `relay run` drives only its own.
  bool accept_starts = false;
  uint64_t seed = 0;  // for retry jitter; 0 = random
};

class Engine final : private sched::RunHost {
 public:
  Engine(store::Store* store, exec::Runner* runner, const Clock* clock, EngineOptions options);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void AddObserver(sched::Observer* observer) { observers_.push_back(observer); }

  // Drives a run just made. With `create`, its creation goes into the
  // engine's next commit (nothing is written before); without, it is
  // already in the store.
  Status Add(sched::CreatedRun run, bool create);
  // Drives a stored run again (resume): kInvalid when it is final, kBusy
  // when a live relay owns it. A sub-pipeline's run resumes its caller's
  // top run, which drives it.
  Status Resume(const std::string& run_id);
  // Drives every run it holds until all are final. An error is the store's
  // (unwritable, full): attempts still running are left to their keeper.
  Status RunUntilIdle();

  // Add or Resume, then RunUntilIdle: the run's final state.
  Result<state::RunState> Execute(sched::CreatedRun run, bool create);
  Result<state::RunState> Execute(const std::string& run_id);

  // A run this engine drove (or drives): its row and task rows as last
  // decided. nullptr for a run it never held.
  const store::RunRow* run(const std::string& id) const;
  std::vector<const store::TaskRow*> rows(const std::string& id) const;
  // The top run of `id` (following callers) that the store knows.
  Result<std::string> TopRun(const std::string& id);

  // Test hooks: a run's driver (nullptr when unknown), and the slots in use.
  sched::RunDriver* TEST_driver(const std::string& id);
  int TEST_used_slots() const { return used_; }

 private:
  using ReadyKey = std::tuple<int32_t, uint64_t, uint32_t>;  // (in slots, served, slot)
  struct Slot {
    std::unique_ptr<sched::RunDriver> driver;
    bool active = true;      // not yet final (or not yet committed final)
    bool announced = false;  // observers were told it started
    bool dirty = false;
    bool in_ready = false;
    ReadyKey key;           // its place in ready_
    uint64_t served = 0;    // when its last turn ended
    int turn = 0;           // starts made in its current turn
    Micros wake = kNoWake;  // its place in wakes_: its next timer or pid to store
  };
  static constexpr Micros kNoWake = std::numeric_limits<Micros>::max();
  struct ChildEnd {
    std::string caller;
    int32_t index;
    store::RunRow child;
  };

  // RunHost.
  const Clock* clock() const override { return clock_; }
  store::Store* store() override { return store_; }
  store::Batch& batch() override { return batch_; }
  void Spawn(exec::AttemptSpec spec) override { to_spawn_.push_back(std::move(spec)); }
  exec::AttemptSpec SpareSpec() override;
  void Cancel(uint64_t token) override { runner_->Cancel(token); }
  exec::AdoptResult Adopt(const exec::AdoptRequest& request) override;
  void StartChild(sched::CreatedRun child) override;
  Status ResumeChild(const std::string& child_id) override;
  void CancelRun(const std::string& run_id, std::string_view cause,
                 const std::string& reason) override;
  void CancelTaskOf(const std::string& run_id, int32_t index, const std::string& reason) override;
  void Notice(const std::string& text) override;

  sched::RunHost* AsHost() { return this; }
  uint32_t NewSlot();
  Status Take(uint32_t slot, std::unique_ptr<sched::RunDriver> driver);
  sched::RunDriver* Find(const std::string& id) const;  // an active run's driver
  uint32_t SlotOf(const std::string& id) const;
  void MarkDirty(uint32_t slot);
  void UpdateReady(uint32_t slot);
  sched::DriverOptions DriverOptionsFor(uint32_t slot) const;

  // The loop's steps (engine.cc, engine_loop.cc).
  void PollInbox(Micros now);
  void Heartbeat(Micros now);
  void RetryGroups();  // what waits for a concurrency group asks it again
  void FireTimers(Micros now);
  void Step();
  void Settle(uint32_t slot);  // decide, end, notify the caller
  void UpdateWake(uint32_t slot);
  void StartReady();
  Status Flush();
  void DropRun(const std::string& run_id, const Status& why);
  void Dispatch(const exec::WaitResult& w);
  Micros NextWakeup(Micros now);

  store::Store* store_;
  exec::Runner* runner_;
  const Clock* clock_;
  EngineOptions options_;
  std::vector<sched::Observer*> observers_;

  std::vector<Slot> slots_;  // by slot number (tokens carry it)
  std::map<std::string, uint32_t> by_id_;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> touched_;  // Step's: the dirty runs it settles
  std::set<ReadyKey> ready_;
  std::set<ReadyKey>::node_type spare_ready_;  // a node of ready_ out for reuse
  // Runs with a timer or an unstored pid, soonest first: a loop of the
  // engine looks at the runs that are due, not at every run it holds.
  std::set<std::pair<Micros, uint32_t>> wakes_;
  std::vector<uint32_t> due_;          // the runs wakes_ says are due now
  std::vector<uint32_t> ended_;        // runs that ended in the batch being committed
  std::vector<uint32_t> unannounced_;  // runs observers have not been told of
  uint64_t serve_counter_ = 0;
  int active_ = 0;
  int used_ = 0;  // slots in use, across runs
  std::vector<ChildEnd> child_ends_;

  store::Batch batch_;
  std::vector<exec::AttemptSpec> to_spawn_;
  std::vector<exec::AttemptSpec> spare_specs_;  // started, kept for their memory
  std::vector<uint64_t> acks_;                  // results to acknowledge after the next commit
  std::vector<uint32_t> created_;               // runs whose creation is in the batch

  int64_t inbox_cursor_ = 0;
  Micros next_inbox_ = 0;
  Micros next_heartbeat_ = 0;
  Micros next_groups_ = 0;  // waiting for a group: asked again at least this often
  Micros next_tick_ = 0;
  Micros busy_since_ = 0;  // the first busy commit of a streak; 0 = not busy
  Micros retry_commit_at_ = 0;
  Micros busy_backoff_ = 0;
  bool interrupted_ = false;
  bool poked_ = false;           // the inbox is read even if the store looks unchanged
  bool groups_changed_ = false;  // a commit gave places back: blocked instances look again
};

}  // namespace relay::engine
