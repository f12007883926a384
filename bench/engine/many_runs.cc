// Many runs started at once in one engine, against one run of as many tasks:
// the engine's cost of holding many runs (their drivers, fair sharing, one
// commit for all) measured with real processes under the keeper, as `relay
// run` runs them. bench/run.py ("many" section) runs it twice and prints
// the ratio.
//
//   bench_many_runs STORE_DIR PIPELINE RUNS SLOTS
//
// Prints one JSON object: {"runs": N, "tasks": T, "seconds": S, "failed": F}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/create_run.h"
#include "engine/engine.h"
#include "exec/owner.h"
#include "keeper/keeper.h"
#include "store/store.h"

int main(int argc, char** argv) {
  using namespace relay;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s STORE_DIR PIPELINE RUNS SLOTS\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], file = argv[2];
  const int runs = std::atoi(argv[3]), slots = std::atoi(argv[4]);
  const std::string owner = exec::SelfOwnerId();
  // Before anything else: the keeper is forked while this process has one thread.
  auto runner = keeper::StartKeeper({owner});
  if (!runner.ok()) {
    std::fprintf(stderr, "keeper: %s\n", runner.status().message().c_str());
    return 3;
  }
  const auto start = std::chrono::steady_clock::now();
  auto store = store::OpenStore(dir + "/relay.db", {});
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.status().message().c_str());
    return 3;
  }
  engine::EngineOptions options;
  options.slots = slots;
  options.owner = owner;
  engine::Engine engine(store->get(), runner->get(), SystemClock::Get(), options);
  std::vector<std::string> ids;
  size_t tasks = 0;
  for (int i = 0; i < runs; ++i) {
    engine::RunRequest request;
    request.file = file;
    request.owner = owner;
    std::vector<spec::Diagnostic> diagnostics;
    auto created = engine::PrepareRun(request, &diagnostics);
    if (!created.ok()) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), created.status().message().c_str());
      return 2;
    }
    tasks += created->rows.size();
    ids.push_back(created->run.id);
    Status added = engine.Add(std::move(created).value(), /*create=*/true);
    if (!added.ok()) {
      std::fprintf(stderr, "add: %s\n", added.message().c_str());
      return 3;
    }
  }
  Status ran = engine.RunUntilIdle();
  if (!ran.ok()) {
    std::fprintf(stderr, "run: %s\n", ran.message().c_str());
    return 3;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int failed = 0;
  for (const auto& id : ids) failed += engine.run(id)->state == state::RunState::kSucceeded ? 0 : 1;
  std::printf("{\"runs\": %d, \"tasks\": %zu, \"seconds\": %.4f, \"failed\": %d}\n", runs, tasks,
              seconds, failed);
  return failed == 0 ? 0 : 1;
}
