// What the keeper costs relay: N attempts of `true`, J in flight, through
// the in-process runner ("posix", before the keeper) or through a keeper
// ("keeper"), with specs shaped like the scheduler's (the four RELAY_*
// variables, a log path, a key, the run's masker) and every result
// acknowledged as relay does after its commit. Prints wall time per attempt.
//
//   bench_keeper posix|keeper [N=2000] [J=2]
//
// Instructions: run it under callgrind; the keeper is forked without exec,
// so callgrind writes a profile for it too (and one for the short-lived
// process that forks it): sum them all. Numbers: docs/architecture.md,
// "The keeper".
//
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/%p.out bench_keeper keeper 2000 2
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "exec/owner.h"
#include "exec/runner.h"
#include "keeper/keeper.h"
#include "keeper/rendezvous_posix.h"

namespace relay {
namespace {

// CPU time (user + system) a process has used, from /proc; 0 if unknown.
Micros ProcessCpu(int pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* after = std::strrchr(buf, ')');
  unsigned long long utime = 0, stime = 0;
  if (after == nullptr ||
      std::sscanf(after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return 0;
  return static_cast<Micros>(utime + stime) * kSecond / sysconf(_SC_CLK_TCK);
}

Micros SelfCpu() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * kSecond + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

int Main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "posix") != 0 && std::strcmp(argv[1], "keeper") != 0)) {
    std::fprintf(stderr, "usage: bench_keeper posix|keeper [N=2000] [J=2]\n");
    return 2;
  }
  const bool keeper = std::strcmp(argv[1], "keeper") == 0;
  const int total = argc > 2 ? std::atoi(argv[2]) : 2000;
  const size_t in_flight = argc > 3 ? static_cast<size_t>(std::atoi(argv[3])) : 2;
  char tmpl[] = "/tmp/relay_keeper_bench_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  const std::string run_id = "01JBENCH" + std::to_string(getpid());

  Micros start = MonotonicNow();
  std::unique_ptr<exec::Runner> runner;
  const std::string owner = exec::SelfOwnerId();
  if (keeper) {
    Result<std::unique_ptr<exec::Runner>> started = keeper::StartKeeper({owner});
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    runner = std::move(started).value();
  } else {
    runner = exec::NewPosixRunner();
  }
  // The scheduler hands every attempt of a run the same masker.
  auto masker = std::make_shared<const exec::Masker>(std::vector<std::string>{});

  int next = 0, done = 0, failed = 0;
  std::vector<uint64_t> acks;
  while (done < total) {
    while (next < total && runner->running() < in_flight) {
      exec::AttemptSpec spec;
      spec.token = static_cast<uint64_t>(next);
      spec.key = {run_id, next, 1};
      spec.steps = {"true"};
      spec.env = {{"RELAY_RUN_ID", run_id},
                  {"RELAY_TASK", "t[i=" + std::to_string(next) + "]"},
                  {"RELAY_ATTEMPT", "1"},
                  {"RELAY_OUTPUT", dir + "/out/" + std::to_string(next)}};
      spec.log_path = dir + "/logs/t[i=" + std::to_string(next) + "].1.log";
      spec.masker = masker;
      runner->Start(std::move(spec));
      ++next;
    }
    exec::WaitResult w = runner->Wait(-1);
    acks.clear();
    for (const exec::AttemptResult& r : w.finished) {
      failed += r.Succeeded() ? 0 : 1;
      acks.push_back(r.token);
      ++done;
    }
    runner->Acknowledge(acks);
  }
  // CPU of relay and, while it still lives, of its keeper (the steps' own
  // CPU is in neither).
  Micros cpu = SelfCpu();
  if (keeper) {
    int keeper_pid = 0;
    Result<int> fd = keeper::ConnectToKeeper(owner, &keeper_pid);
    if (fd.ok()) ::close(*fd);
    cpu += ProcessCpu(keeper_pid);
  }
  runner.reset();
  Micros took = MonotonicNow() - start;
  std::printf(
      "%s: %d attempts of `true`, %zu in flight: %.3f s, %.1f us per attempt, cpu %.3f s%s\n",
      argv[1], total, in_flight, static_cast<double>(took) / kSecond,
      static_cast<double>(took) / total, static_cast<double>(cpu) / kSecond,
      failed ? " (some FAILED)" : "");
  std::filesystem::remove_all(dir);
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace relay

int main(int argc, char** argv) { return relay::Main(argc, argv); }
