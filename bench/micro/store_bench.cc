// Store commit throughput: task transitions per second committed through
// Store::Commit in batches of 1, 16, 64 and 1024, with durability normal
// (WAL, synchronous=NORMAL) and power (synchronous=FULL, an fsync per commit).
//
// Each run has kTasks pending tasks; transitions go step by step across the
// run (every task pending→queued, then every task queued→claimed, …,
// running→succeeded), so a batch holds distinct rows: no folding helps.
//
//   bench_store_bench --benchmark_filter=Commit
// The store lives in $RELAY_BENCH_DIR (default: the current directory), which
// should be a real disk: on tmpfs "power" costs nothing.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "base/clock.h"
#include "store/store.h"

namespace relay::store {
namespace {

constexpr int kTasks = 4096;
using state::TaskState;

struct Step {
  TaskState from, to;
  const char* cause;
};
constexpr Step kSteps[] = {
    {TaskState::kPending, TaskState::kQueued, "needs_met"},
    {TaskState::kQueued, TaskState::kClaimed, "claimed"},
    {TaskState::kClaimed, TaskState::kRunning, "started"},
    {TaskState::kRunning, TaskState::kSucceeded, "exit_zero"},
};

class Workload {
 public:
  Workload(Durability d, int batch) : batch_(batch) {
    const char* dir = std::getenv("RELAY_BENCH_DIR");
    dir_ = std::filesystem::absolute(dir ? dir : ".") / "relay-store-bench";
    std::filesystem::remove_all(dir_);
    OpenOptions o;
    o.durability = d;
    auto s = OpenStore("sqlite:" + (dir_ / "relay.db").string(), o);
    if (!s.ok()) {
      error_ = s.status().message();
      return;
    }
    store_ = std::move(s).value();
  }
  ~Workload() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  const std::string& error() const { return error_; }

  // Prepares the next run's batches (not timed).
  bool NewRun() {
    std::string id = "01BENCH" + std::to_string(runs_++);
    RunRow run;
    run.id = id;
    run.pipeline = "bench";
    run.created_at = runs_;
    std::vector<TaskRow> tasks(kTasks);
    for (int i = 0; i < kTasks; ++i) {
      tasks[i].run_id = id;
      tasks[i].index = i;
      tasks[i].name = "task-" + std::to_string(i);
      tasks[i].task = "task";
    }
    Status s = store_->CreateRun(run, tasks, runs_);
    if (!s.ok()) {
      error_ = s.message();
      return false;
    }
    batches_.clear();
    Batch b;
    for (const Step& step : kSteps) {
      for (TaskRow& t : tasks) {
        t.state = step.to;
        t.reason = step.cause;
        b.transitions.push_back(TaskTransition{t, step.from, step.cause});
        if (static_cast<int>(b.transitions.size()) == batch_) {
          batches_.push_back(std::move(b));
          b = Batch();
        }
      }
    }
    if (!b.empty()) batches_.push_back(std::move(b));
    next_ = 0;
    return true;
  }

  bool Exhausted() const { return next_ == batches_.size(); }
  Batch& NextBatch() { return batches_[next_++]; }
  Store& store() { return *store_; }

 private:
  int batch_;
  int runs_ = 0;
  std::filesystem::path dir_;
  std::string error_;
  std::unique_ptr<Store> store_;
  std::vector<Batch> batches_;
  size_t next_ = 0;
};

void BM_Commit(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const Durability d = state.range(1) ? Durability::kPower : Durability::kNormal;
  Workload w(d, batch);
  if (!w.error().empty() || !w.NewRun()) {
    state.SkipWithError(w.error().c_str());
    return;
  }
  int64_t transitions = 0;
  for (auto _ : state) {
    if (w.Exhausted()) {
      state.PauseTiming();
      bool ok = w.NewRun();
      state.ResumeTiming();
      if (!ok) {
        state.SkipWithError(w.error().c_str());
        break;
      }
    }
    Batch& b = w.NextBatch();
    b.now = SystemClock::Get()->Now();
    Status s = w.store().Commit(b);
    if (!s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    transitions += static_cast<int64_t>(b.transitions.size());
  }
  state.SetItemsProcessed(transitions);
  state.SetLabel(d == Durability::kPower ? "power" : "normal");
}

BENCHMARK(BM_Commit)
    ->ArgNames({"batch", "power"})
    ->ArgsProduct({{1, 16, 64, 1024}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace relay::store

BENCHMARK_MAIN();
