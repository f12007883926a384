// The scheduler's own cost per finished task instance, with the fake runner
// (no processes) and a real SQLite store: it must not grow with the size of
// the DAG (O(dependants) per completion, not O(tasks)). Compare the
// "per_task" counters across sizes.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "events/sha256.h"
#include "plan/dag.h"
#include "sched/stored_run.h"
#include "spec/load.h"
#include "support/fake_runner.h"
#include "support/temp_dir.h"

namespace relay {
namespace {

// wide: one matrix task of n instances; fanin: the same, then a matrix task
// of n instances that needs all of them.
std::string Pipeline(int n, bool fanin) {
  std::string values;
  for (int i = 0; i < n; ++i) values += (i ? "," : "") + std::to_string(i);
  std::string y = "tasks:\n  a: { run: 'true', matrix: { i: [" + values + "] } }\n";
  if (fanin) y += "  b: { run: 'true', needs: [a], matrix: { i: [" + values + "] } }\n";
  return y;
}

void Run(benchmark::State& state, bool fanin) {
  const int n = static_cast<int>(state.range(0));
  const std::string yaml = Pipeline(n, fanin);
  spec::LoadResult loaded = spec::LoadPipelineText(yaml, "bench.yaml");
  if (!loaded.ok()) {
    state.SkipWithError("pipeline does not load");
    return;
  }
  auto pipeline = std::make_shared<const spec::Pipeline>(std::move(*loaded.pipeline));
  auto plan = plan::BuildPlan(*pipeline, nlohmann::json::object(), {});
  int64_t tasks = 0;
  for (auto _ : state) {
    state.PauseTiming();
    testing::TempDir dir;
    auto store = store::OpenStore(dir.Join("relay.db"), {});
    FakeClock clock;
    testing::FakeRunner runner(&clock);
    sched::CreatedRun created;
    created.pipeline = pipeline;
    created.plan = *plan;
    created.run =
        sched::NewRunRow("BENCH", *pipeline, *plan, "bench.yaml", dir.path(), "{}", clock.Now());
    created.run.owner = "bench:1:1";
    created.rows = sched::NewTaskRows(created.run.id, *plan);
    engine::EngineOptions o;
    o.slots = 2;
    o.owner = "bench:1:1";
    o.log_dir = dir.Join("logs");
    o.seed = 1;
    engine::Engine e(store->get(), &runner, &clock, o);
    state.ResumeTiming();
    auto result = e.Execute(std::move(created), /*create=*/true);
    if (!result.ok() || *result != state::RunState::kSucceeded) state.SkipWithError("run failed");
    tasks += static_cast<int64_t>(plan->instances.size());
  }
  state.SetItemsProcessed(tasks);
  state.counters["per_task"] = benchmark::Counter(
      static_cast<double>(tasks), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_SchedulerWide(benchmark::State& state) { Run(state, false); }
void BM_SchedulerFanIn(benchmark::State& state) { Run(state, true); }

BENCHMARK(BM_SchedulerWide)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(50000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(BM_SchedulerFanIn)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace relay

BENCHMARK_MAIN();
