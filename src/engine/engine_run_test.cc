#include <gtest/gtest.h>

#include <csignal>
#include <map>

#include "base/file_util.h"
#include "engine/engine.h"
#include "events/sha256.h"
#include "plan/dag.h"
#include "plan/inputs.h"
#include "sched/stored_run.h"
#include "spec/load.h"
#include "store/task_record.h"
#include "support/fake_runner.h"
#include "support/temp_dir.h"

namespace relay::engine {
namespace {

using sched::CreatedRun;
using sched::NewRunRow;
using sched::NewTaskRows;
using sched::Observer;
using state::RunState;
using state::TaskState;
using testing::Outcome;

// Every field of every row the scheduler kept in memory is what the store
// rebuilds from the ledger: the events record all that the rows say.
void ExpectSameRows(const std::vector<const store::TaskRow*>& mirror,
                    const std::vector<store::TaskRow>& stored) {
  ASSERT_EQ(mirror.size(), stored.size());
  for (size_t i = 0; i < mirror.size(); ++i) {
    const store::TaskRow& m = *mirror[i];
    const store::TaskRow& s = stored[i];
    SCOPED_TRACE(m.name);
    EXPECT_EQ(m.name, s.name);
    EXPECT_EQ(m.task, s.task);
    EXPECT_EQ(m.matrix_json, s.matrix_json);
    EXPECT_EQ(m.state, s.state);
    EXPECT_EQ(m.attempts, s.attempts);
    EXPECT_EQ(m.cause, s.cause);
    EXPECT_EQ(m.reason, s.reason);
    EXPECT_EQ(m.exit_code, s.exit_code);
    EXPECT_EQ(m.signal, s.signal);
    EXPECT_EQ(m.due_at, s.due_at);
    EXPECT_EQ(m.owner, s.owner);
    EXPECT_EQ(m.lease_until, s.lease_until);
    EXPECT_EQ(m.started_at, s.started_at);
    EXPECT_EQ(m.ended_at, s.ended_at);
    EXPECT_EQ(m.log_path, s.log_path);
    EXPECT_EQ(m.outputs_json, s.outputs_json);
  }
}

class EngineRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore(dir_.Join("relay.db"), {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  // Creates a run of `yaml` in the store, as `relay run` does.
  void Create(const std::string& yaml, plan::InputArgs inputs = {}) {
    spec::LoadResult loaded = spec::LoadPipelineText(yaml, "p.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].message);
    pipeline_ = std::move(*loaded.pipeline);
    auto resolved = plan::ResolveInputs(pipeline_, inputs);
    ASSERT_TRUE(resolved.ok()) << resolved.status().message();
    auto plan = plan::BuildPlan(pipeline_, *resolved, {});
    ASSERT_TRUE(plan.ok());
    store::RunRow run = NewRunRow("RUN" + std::to_string(++runs_), pipeline_, *plan, "p.yaml",
                                  dir_.path(), "{}", clock_.Now());
    std::vector<store::TaskRow> rows = NewTaskRows(run.id, *plan);
    ASSERT_TRUE(store_->CreateRun(run, rows, clock_.Now()).ok());
    run_id_ = run.id;
  }

  // The options `relay run` would pass, owned by this process.
  EngineOptions RunOptions() const {
    EngineOptions o;
    o.owner = "test:1:1";
    o.log_dir = dir_.Join("logs");
    o.slots = 2;
    return o;
  }

  Result<RunState> Execute(int jobs = 2, Observer* observer = nullptr) {
    EngineOptions o = RunOptions();
    o.slots = jobs;
    o.seed = 42;
    Engine e(store_.get(), &runner_, &clock_, o);
    if (observer) e.AddObserver(observer);
    return e.Execute(run_id_);
  }

  // Executes the run and checks that the rows the scheduler kept in memory
  // are what the store folds from the ledger.
  Result<RunState> ExecuteAndCompareRows(const EngineOptions& o) {
    Engine e(store_.get(), &runner_, &clock_, o);
    auto result = e.Execute(run_id_);
    if (!result.ok()) return result;
    auto stored = store_->GetTasks(run_id_);
    if (!stored.ok()) {
      ADD_FAILURE() << stored.status().message();
      return result;
    }
    ExpectSameRows(e.rows(run_id_), *stored);
    return result;
  }

  std::map<std::string, store::TaskRow> Tasks() {
    std::map<std::string, store::TaskRow> out;
    auto rows = store_->GetTasks(run_id_);
    for (auto& t : *rows) out[t.name] = t;
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  testing::FakeRunner runner_{&clock_};
  std::unique_ptr<store::Store> store_;
  spec::Pipeline pipeline_;
  std::string run_id_;
  int runs_ = 0;
};

TEST_F(EngineRunTest, RunsADagInDependencyOrder) {
  Create(R"(
tasks:
  a: { run: "true" }
  b: { needs: [a], run: "true" }
  c: { needs: [a], run: "true" }
  d: { needs: [b, c], run: "true" }
)");
  auto result = Execute();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
  ASSERT_EQ(runner_.started.size(), 4u);
  EXPECT_EQ(runner_.started.front(), "a");
  EXPECT_EQ(runner_.started.back(), "d");
  for (auto& [name, t] : Tasks()) {
    EXPECT_EQ(t.state, TaskState::kSucceeded) << name;
    EXPECT_EQ(t.attempts, 1);
  }
  EXPECT_EQ(store_->GetRun(run_id_)->state, RunState::kSucceeded);
}

TEST_F(EngineRunTest, ARunJustCreatedStartsFromItsRowsAndEndsMirroringTheStore) {
  spec::LoadResult loaded = spec::LoadPipelineText(R"(
tasks:
  a: { run: "true" }
  b: { needs: [a], run: make }
  c: { needs: [b], run: "true" }
)",
                                                   "p.yaml");
  ASSERT_TRUE(loaded.ok());
  auto plan = plan::BuildPlan(*loaded.pipeline, nlohmann::json::object(), {});
  ASSERT_TRUE(plan.ok());
  CreatedRun created;
  created.pipeline = std::make_shared<const spec::Pipeline>(std::move(*loaded.pipeline));
  created.plan = std::move(plan).value();
  created.plan.pipeline = created.pipeline.get();
  created.run = NewRunRow("FRESH", *created.pipeline, created.plan, "p.yaml", dir_.path(), "{}",
                          clock_.Now());
  created.run.owner = "test:1:1";
  created.rows = NewTaskRows(created.run.id, created.plan);
  runner_.Script("b", {{.exit_code = 2}});
  Engine e(store_.get(), &runner_, &clock_, RunOptions());
  // Created by the engine's first commit, with the run's first transitions.
  auto result = e.Execute(std::move(created), /*create=*/true);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kFailed);
  // What `relay run` summarises from memory is what the store holds.
  EXPECT_EQ(e.run("FRESH")->state, store_->GetRun("FRESH")->state);
  auto stored = store_->GetTasks("FRESH");
  ASSERT_TRUE(stored.ok());
  ExpectSameRows(e.rows("FRESH"), *stored);
  EXPECT_EQ((*stored)[1].state, TaskState::kFailed);
  EXPECT_EQ((*stored)[2].state, TaskState::kSkipped);
}

TEST_F(EngineRunTest, TheLedgerRebuildsEveryRowTheSchedulerKept) {
  Create(R"(
tasks:
  build: { run: make, outputs: [version], retry: { attempts: 3, delay: 1s } }
  flaky: { run: flaky, timeout: 1s, retry: { attempts: 2, delay: 2s, on: [timeout] } }
  killed: { run: killed }
  lenient: { run: lenient, continue_on_error: true }
  test: { needs: [build], matrix: { shard: [1, 2] }, run: "test ${{ matrix.shard }}" }
  deploy: { needs: [test, killed], run: deploy }
  report: { needs: [deploy], if: "${{ always() }}", run: report }
  never: { needs: [build], if: "${{ needs.build.outputs.version == 'x' }}", run: never }
)");
  runner_.Script("build", {{.exit_code = 1}, {.outputs = "version=1.2.3\n"}});
  runner_.Script("flaky",
                 {{.timeout = true, .duration = 1 * kSecond}, {.duration = 5 * kMillisecond}});
  runner_.Script("killed", {{.exit_code = -1, .signal = SIGKILL}});
  runner_.Script("lenient", {{.exit_code = 3}});
  EngineOptions o = RunOptions();
  o.seed = 7;
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kFailed);
  auto t = Tasks();
  EXPECT_EQ(t["build"].outputs_json, R"({"version":"1.2.3"})");
  EXPECT_EQ(t["build"].attempts, 2);
  EXPECT_EQ(t["flaky"].attempts, 2);
  EXPECT_EQ(t["killed"].signal, SIGKILL);
  EXPECT_EQ(t["lenient"].exit_code, 3);
  EXPECT_EQ(t["deploy"].state, TaskState::kSkipped);
  EXPECT_EQ(t["report"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["never"].state, TaskState::kSkipped);
}

TEST_F(EngineRunTest, TheLedgerRebuildsTheRowsOfACancelledRun) {
  Create(R"(
tasks:
  slow: { run: slow }
  waiting: { needs: [slow], run: "true" }
  cleanup: { needs: [slow], if: "${{ cancelled() }}", run: cleanup }
)");
  runner_.Script("slow", {{.duration = 10 * kSecond}});
  runner_.InterruptAfterWaits(1);
  EngineOptions o = RunOptions();
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kCancelled);
  EXPECT_EQ(Tasks()["cleanup"].state, TaskState::kSucceeded);
}

TEST_F(EngineRunTest, NeverRunsMoreThanJobsAtOnceNorMoreThanMaxParallel) {
  Create(R"(
tasks:
  wide: { matrix: { i: [1, 2, 3, 4, 5, 6, 7, 8] }, run: "true" }
  capped: { matrix: { i: [1, 2, 3, 4, 5, 6] }, max_parallel: 2, run: "true" }
)");
  ASSERT_TRUE(Execute(3).ok());
  EXPECT_EQ(runner_.max_concurrent, 3u);
  EXPECT_EQ(runner_.started.size(), 14u);
}

TEST_F(EngineRunTest, AFailureSkipsDependantsButNotAlwaysTasks) {
  Create(R"(
tasks:
  build: { run: "make" }
  test: { needs: [build], run: "true" }
  report: { needs: [test], if: "${{ always() }}", run: "true" }
  rollback: { needs: [test], if: "${{ failure() }}", run: "true" }
  notify: { needs: [test], if: "${{ success() }}", run: "true" }
)");
  runner_.Script("build", {{.exit_code = 2}});
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kFailed);
  auto t = Tasks();
  EXPECT_EQ(t["build"].state, TaskState::kFailed);
  EXPECT_EQ(t["build"].exit_code, 2);
  EXPECT_EQ(t["build"].reason, "exit code 2");
  EXPECT_EQ(t["test"].state, TaskState::kSkipped);
  EXPECT_EQ(t["test"].reason, "needs 'build', which failed");
  EXPECT_EQ(t["report"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["rollback"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["notify"].state, TaskState::kSkipped);
  EXPECT_EQ(store_->GetRun(run_id_)->reason, "task 'build' failed");
}

TEST_F(EngineRunTest, StatusFunctionsLookAtEveryAncestorAsInActions) {
  // `report` runs after the failure (always()); below it, the default
  // success() still sees the failure two levels up, and success() and
  // failure() are never true together.
  Create(R"(
tasks:
  a: { run: "false" }
  report: { needs: [a], if: "${{ always() }}", run: "true" }
  deploy: { needs: [report], run: "true" }
  both: { needs: [report], if: "${{ success() && failure() }}", run: "true" }
  alert: { needs: [report], if: "${{ failure() }}", run: "true" }
)");
  runner_.Script("a", {{.exit_code = 1}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["report"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["deploy"].state, TaskState::kSkipped);
  EXPECT_EQ(t["deploy"].reason, "'a' upstream failed (via 'report')");
  EXPECT_EQ(t["both"].state, TaskState::kSkipped);
  EXPECT_EQ(t["alert"].state, TaskState::kSucceeded);
}

TEST_F(EngineRunTest, AMatrixWithSomeLegsSkippedByItsOwnConditionSucceeds) {
  Create(R"(
tasks:
  n:
    matrix: { x: [1, 2, 3] }
    if: "${{ matrix.x != 2 }}"
    run: "emit ${{ matrix.x }}"
    outputs: [o]
  after: { needs: [n], run: "got ${{ needs.n.result }}" }
  none:
    matrix: { x: [1, 2] }
    if: "${{ matrix.x > 5 }}"
    run: "true"
  after_none: { needs: [none], run: "true" }
)");
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["n[x=2]"].state, TaskState::kSkipped);
  EXPECT_EQ(t["after"].state, TaskState::kSucceeded);
  bool saw = false;
  for (const auto& spec : runner_.specs) saw = saw || spec.steps[0] == "got success";
  EXPECT_TRUE(saw);
  // Every leg skipped: the task is skipped, and so are its dependants.
  EXPECT_EQ(t["after_none"].state, TaskState::kSkipped);
  EXPECT_EQ(t["after_none"].reason, "needs 'none', which was skipped");
}

TEST_F(EngineRunTest, AMatrixPassesOnTheOutputsOfItsLastLegInMatrixOrder) {
  // Leg 1 finishes last in time; leg 2 is last in matrix order, which a
  // resumed run (counting legs in that order) would agree with.
  Create(R"(
tasks:
  m: { matrix: { i: [1, 2] }, run: "emit ${{ matrix.i }}", outputs: [o] }
  b: { needs: [m], run: "got ${{ needs.m.outputs.o }}" }
)");
  runner_.Script("m[i=1]", {{.duration = 500 * kMillisecond, .outputs = "o=one\n"}});
  runner_.Script("m[i=2]", {{.duration = 10 * kMillisecond, .outputs = "o=two\n"}});
  ASSERT_TRUE(Execute().ok());
  ASSERT_EQ(runner_.specs.size(), 3u);
  EXPECT_EQ(runner_.specs[2].steps[0], "got two");
}

TEST_F(EngineRunTest, TheRunsReasonNamesTheFirstFailureInTimeAndToleratedOnes) {
  Create(R"(
tasks:
  slow: { run: "false" }
  quick: { run: "false" }
)");
  runner_.Script("slow", {{.exit_code = 1, .duration = 2 * kSecond}});
  runner_.Script("quick", {{.exit_code = 1, .duration = 10 * kMillisecond}});
  ASSERT_TRUE(Execute().ok());
  EXPECT_EQ(store_->GetRun(run_id_)->reason, "2 tasks failed, first 'quick'");

  Create(R"(
tasks:
  lint: { run: "false", continue_on_error: true }
  build: { run: "true" }
)");
  runner_.Script("lint", {{.exit_code = 1}});
  auto state = Execute();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, RunState::kSucceeded);
  EXPECT_EQ(store_->GetRun(run_id_)->reason, "task 'lint' failed, under continue_on_error");
}

class CountingObserver : public Observer {
 public:
  void OnRunStarted(const store::RunRow&, const std::vector<const store::TaskRow*>&,
                    int already_done) override {
    done = already_done;
  }
  int done = -1;
};

TEST_F(EngineRunTest, TasksSkippedAtOnceAreNotReportedAsAlreadyDone) {
  Create(R"(
tasks:
  off: { if: "${{ false }}", run: "true" }
  on: { run: "true" }
)");
  CountingObserver observer;
  ASSERT_TRUE(Execute(2, &observer).ok());
  EXPECT_EQ(observer.done, 0);
}

TEST_F(EngineRunTest, RetriesWithExponentialBackoffOnTheFakeClock) {
  Create(R"(
tasks:
  flaky:
    run: "true"
    retry: { attempts: 3, backoff: exponential, delay: 10s, jitter: false }
)");
  runner_.Script("flaky", {{.exit_code = 1}, {.exit_code = 1}, {.exit_code = 0}});
  Micros start = clock_.Now();
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks()["flaky"].attempts, 3);
  // 10 s, then 20 s of back-off, plus three 10 ms attempts.
  EXPECT_GE(clock_.Now() - start, 30 * kSecond);
  EXPECT_LT(clock_.Now() - start, 31 * kSecond);
  auto events = *store_->GetEvents(run_id_, 0);
  int retries = 0;
  for (const auto& e : events) retries += e.to == "retry_wait";
  EXPECT_EQ(retries, 2);
}

TEST_F(EngineRunTest, RetriesOnlyTheListedExitCodesAndKinds) {
  Create(R"(
tasks:
  a: { run: "true", retry: { attempts: 3, delay: 0s, exit_codes: [75] } }
  b: { run: "true", retry: { attempts: 3, delay: 0s, on: [failure] } }
)");
  runner_.Script("a", {{.exit_code = 1}});
  runner_.Script("b", {{.timeout = true}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["a"].attempts, 1);
  EXPECT_EQ(t["a"].state, TaskState::kFailed);
  EXPECT_EQ(t["b"].attempts, 1);
  EXPECT_EQ(t["b"].cause, "timeout");
}

TEST_F(EngineRunTest, ATimeoutNamesTheLimitAndAStepThatIgnoredSigterm) {
  Create(R"(
tasks:
  polite: { run: serve, timeout: 300ms }
  stubborn: { run: serve, timeout: 300ms }
)");
  runner_.Script("polite", {{.timeout = true, .duration = 310 * kMillisecond}});
  runner_.Script("stubborn",
                 {{.timeout = true, .duration = 5300 * kMillisecond, .signal = SIGKILL}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["polite"].reason, "timed out after 300ms");
  EXPECT_EQ(t["stubborn"].reason,
            "timed out after 300ms; it ignored SIGTERM and was killed 5.0s later");
}

TEST_F(EngineRunTest, AnOutputHoldingASecretIsDroppedAndTheReasonSaysSo) {
  ASSERT_EQ(setenv("RELAY_TEST_OUTPUT_TOKEN", "s3cr3tvalue", 1), 0);
  Create(R"(
secrets: [RELAY_TEST_OUTPUT_TOKEN]
tasks:
  a: { run: login, outputs: [v, plain] }
  b: { needs: [a], run: "use '${{ needs.a.outputs.v }}' ${{ needs.a.outputs.plain }}" }
)");
  runner_.Script("a", {{.outputs = "v=x-s3cr3tvalue-y\nplain=ok\n"}});
  ASSERT_TRUE(Execute().ok());
  unsetenv("RELAY_TEST_OUTPUT_TOKEN");
  auto t = Tasks();
  // Dropped as GitHub Actions drops it, not passed on as "x-***-y".
  EXPECT_EQ(t["a"].outputs_json, R"({"plain":"ok","v":""})");
  EXPECT_EQ(t["a"].reason, "exit 0 in 10ms; output 'v' dropped: it contains a secret");
  ASSERT_EQ(runner_.specs.size(), 2u);
  EXPECT_EQ(runner_.specs[1].steps[0], "use '' ok");
  // The output file kept next to the log is masked.
  std::string out = t["a"].log_path.substr(0, t["a"].log_path.size() - 4) + ".out";
  auto text = ReadFile(out);
  ASSERT_TRUE(text.ok()) << out;
  EXPECT_EQ(*text, "v=x-***-y\nplain=ok\n");
}

TEST_F(EngineRunTest, SecretsSetByThePipelineOrATaskAreMaskedToo) {
  unsetenv("RELAY_TEST_PIPE_SECRET");
  Create(R"(
secrets: [RELAY_TEST_PIPE_SECRET, RELAY_TEST_TASK_SECRET]
inputs: { tok: { type: string, default: "from-an-input" } }
env: { RELAY_TEST_PIPE_SECRET: "pipeline-value" }
tasks:
  a:
    env: { RELAY_TEST_TASK_SECRET: "${{ inputs.tok }}" }
    cwd: "/nonexistent/${{ env.RELAY_TEST_PIPE_SECRET }}"
    run: "true"
  b:
    env: { RELAY_TEST_TASK_SECRET: "${{ inputs.tok }}" }
    run: "echo"
)");
  runner_.Script("a", {{.spawn_error = "cwd /nonexistent/pipeline-value: No such file"}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["a"].reason, "cwd /nonexistent/***: No such file");
  ASSERT_EQ(runner_.specs.size(), 2u);
  for (const auto& spec : runner_.specs) {
    ASSERT_TRUE(spec.masker);
    std::string scratch;
    EXPECT_EQ(spec.masker->Apply("pipeline-value, from-an-input", &scratch), "***, ***");
  }
}

TEST_F(EngineRunTest, TaskEnvSecretsThatDependOnLaterFactsAreNotGuessedUpFront) {
  // Evaluated up front, failure() would read false and 'hello' would be
  // taken for the secret, masking every "hello" in every log.
  Create(R"(
secrets: [RELAY_TEST_LATE_TOKEN]
tasks:
  a: { run: "echo hello" }
  b:
    needs: [a]
    env: { RELAY_TEST_LATE_TOKEN: "${{ failure() && 'real-secret' || 'hello' }}" }
    run: "true"
)");
  ASSERT_TRUE(Execute(/*jobs=*/1).ok());
  ASSERT_EQ(runner_.started[0], "a");
  EXPECT_FALSE(runner_.specs[0].masker);
}

TEST_F(EngineRunTest, ATaskEnvSecretIsMaskedFromTheStartWhateverRunsFirst) {
  // `b` runs before `a` sets the secret in its env: b's log and outputs
  // must be treated as a's would, not depend on the order of the file.
  Create(R"(
secrets: [RELAY_TEST_ORDER_TOKEN]
inputs: { t: { type: string, default: "tok-from-input" } }
tasks:
  b: { run: "echo", outputs: [x] }
  a: { env: { RELAY_TEST_ORDER_TOKEN: "${{ inputs.t }}" }, run: "true" }
  c: { needs: [b], run: "got '${{ needs.b.outputs.x }}'" }
)");
  runner_.Script("b", {{.outputs = "x=tok-from-input\n"}});
  ASSERT_TRUE(Execute(/*jobs=*/1).ok());
  ASSERT_EQ(runner_.started[0], "b");
  ASSERT_TRUE(runner_.specs[0].masker);
  auto t = Tasks();
  EXPECT_EQ(t["b"].outputs_json, R"({"x":""})");
  EXPECT_EQ(runner_.specs[2].steps[0], "got ''");
}

TEST_F(EngineRunTest, ALogThatCouldNotBeWrittenIsNamedInTheReason) {
  Create(R"(
tasks:
  a: { run: "true" }
  b: { run: "false" }
)");
  runner_.Script("a", {{.log_error = "cannot write log /l/a.1.log: No space left on device"}});
  runner_.Script("b", {{.exit_code = 1, .log_error = "cannot write log /l/b.1.log: Disk quota"}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["a"].reason, "exit 0 in 10ms; cannot write log /l/a.1.log: No space left on device");
  EXPECT_EQ(t["b"].reason, "exit code 1; cannot write log /l/b.1.log: Disk quota");
}

TEST_F(EngineRunTest, AHugeReasonKeepsItsStartAndItsEnd) {
  Create(R"(
tasks:
  a: { run: "true", retry: { attempts: 2, delay: 0s } }
)");
  std::string error = "cannot run echo " + std::string(200000, 'a') + ": Argument list too long";
  runner_.Script("a", {{.spawn_error = error}, {.spawn_error = error}});
  ASSERT_TRUE(Execute().ok());
  auto events = store_->GetEvents(run_id_, 0);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> reasons;
  for (const auto& e : *events) {
    EXPECT_LT(e.data.size() + e.reason.size(), 4200u);
    if (e.kind == "task" && (e.to == "retry_wait" || e.to == "failed")) reasons.push_back(e.reason);
  }
  ASSERT_EQ(reasons.size(), 2u);
  for (const auto& reason : reasons) {
    SCOPED_TRACE(reason.substr(reason.size() - 80));
    EXPECT_EQ(reason.substr(0, 20), "cannot run echo aaaa");
    EXPECT_LT(reason.size(), 2000u);
    EXPECT_NE(reason.find(" bytes cut) … "), std::string::npos);
    EXPECT_NE(reason.find("Argument list too long"), std::string::npos);
  }
  // What relay adds at the end survives the cut.
  EXPECT_NE(reasons[0].find("retry 2 of 2"), std::string::npos);
}

TEST_F(EngineRunTest, AMalformedOutputFileFailsTheAttempt) {
  Create(R"(
tasks:
  a: { run: emit, outputs: [x, last] }
  b: { needs: [a], run: "true" }
)");
  runner_.Script("a", {{.outputs = "x<<END\nzzz\nlast=1\n"}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["a"].state, TaskState::kFailed);
  EXPECT_EQ(t["a"].cause, "bad_outputs");
  EXPECT_EQ(t["a"].reason, "$RELAY_OUTPUT line 1: 'x<<END' is never closed by a line 'END'");
  EXPECT_EQ(t["b"].state, TaskState::kSkipped);
}

TEST_F(EngineRunTest, ACommandThatExpandsToNothingFailsInsteadOfSucceeding) {
  Create(R"(
inputs: { cmd: { type: string, default: "" } }
tasks:
  a: { run: "${{ inputs.cmd }}" }
)");
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["a"].state, TaskState::kFailed);
  EXPECT_NE(t["a"].reason.find("empty"), std::string::npos) << t["a"].reason;
  EXPECT_TRUE(runner_.started.empty());
}

TEST_F(EngineRunTest, OutputsFlowToDependantsAndConditions) {
  Create(R"(
tasks:
  build: { run: "true", outputs: [version] }
  deploy:
    needs: [build]
    if: "${{ needs.build.outputs.version == '1.2.3' }}"
    run: "echo ${{ needs.build.outputs.version }}"
  skip_me:
    needs: [build]
    if: "needs.build.outputs.version == '9'"
    run: "true"
)");
  runner_.Script("build", {{.outputs = "version=1.2.3\nignored=x\n"}});
  ASSERT_TRUE(Execute().ok());
  auto t = Tasks();
  EXPECT_EQ(t["build"].outputs_json, R"({"version":"1.2.3"})");
  EXPECT_EQ(t["deploy"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["skip_me"].state, TaskState::kSkipped);
  EXPECT_EQ(t["skip_me"].reason, "condition `needs.build.outputs.version == '9'` was false");
  ASSERT_EQ(runner_.specs.size(), 2u);
  EXPECT_EQ(runner_.specs[1].steps[0], "echo 1.2.3");
}

TEST_F(EngineRunTest, AttemptsGetTheRelayEnvironment) {
  Create(
      "env: { LEVEL: debug }\ntasks:\n  t: { run: \"true\", env: { X: \"${{ env.LEVEL }}-1\" } "
      "}\n");
  ASSERT_TRUE(Execute().ok());
  std::map<std::string, std::string> env(runner_.specs[0].env.begin(), runner_.specs[0].env.end());
  EXPECT_EQ(env["RELAY_RUN_ID"], run_id_);
  EXPECT_EQ(env["RELAY_TASK"], "t");
  EXPECT_EQ(env["RELAY_ATTEMPT"], "1");
  EXPECT_EQ(env["LEVEL"], "debug");
  EXPECT_EQ(env["X"], "debug-1");
  EXPECT_NE(env["RELAY_OUTPUT"].find(run_id_), std::string::npos);
}

TEST_F(EngineRunTest, ContinueOnErrorKeepsTheRunGreen) {
  Create(
      "tasks:\n  lint: { run: \"false\", continue_on_error: true }\n  after: { needs: [lint], run: "
      "\"true\" }\n");
  runner_.Script("lint", {{.exit_code = 1}});
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks()["lint"].state, TaskState::kFailed);
  EXPECT_EQ(Tasks()["after"].state, TaskState::kSucceeded);
}

TEST_F(EngineRunTest, ResumeRetriesLostAttemptsAndNeverRerunsSucceededWork) {
  Create(R"(
tasks:
  a: { run: "true" }
  b: { needs: [a], run: "true", retry: { attempts: 2, delay: 0s } }
  c: { needs: [b], run: "true" }
)");
  // Simulate a relay that died while b was running: a succeeded, b running.
  auto rows = *store_->GetTasks(run_id_);
  store::Batch batch;
  batch.now = clock_.Now();
  store::RunRow run = *store_->GetRun(run_id_);
  run.state = RunState::kRunning;
  run.owner = "otherhost:1:1";
  batch.transitions.push_back(store::RunTransition{run, RunState::kPending, "started"});
  auto move = [&](store::TaskRow& row, TaskState to, const char* cause) {
    TaskState from = row.state;
    row.state = to;
    batch.transitions.push_back(store::TaskTransition{row, from, cause});
  };
  move(rows[0], TaskState::kQueued, "needs_met");
  move(rows[0], TaskState::kClaimed, "claimed");
  move(rows[0], TaskState::kRunning, "started");
  move(rows[0], TaskState::kSucceeded, "exit_zero");
  move(rows[1], TaskState::kQueued, "needs_met");
  move(rows[1], TaskState::kClaimed, "claimed");
  rows[1].attempts = 1;
  move(rows[1], TaskState::kRunning, "started");
  ASSERT_TRUE(store_->Commit(batch).ok());

  auto result = Execute();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(runner_.started, (std::vector<std::string>{"b", "c"}));
  auto t = Tasks();
  EXPECT_EQ(t["a"].attempts, 1);  // started once, by the relay that died
  EXPECT_EQ(t["b"].attempts, 2);
  bool lost = false;
  auto events = store_->GetEvents(run_id_, 0);
  for (const auto& e : *events) lost = lost || (e.subject == "b" && e.to == "lost");
  EXPECT_TRUE(lost);
}

// Moves stored rows as a relay that died mid-run would have left them.
void SimulateDeadRelay(
    store::Store* store, const std::string& run_id, Micros now,
    const std::vector<std::pair<int, std::vector<std::pair<TaskState, const char*>>>>& moves) {
  auto rows = *store->GetTasks(run_id);
  store::Batch batch;
  batch.now = now;
  store::RunRow run = *store->GetRun(run_id);
  run.state = RunState::kRunning;
  run.owner = "otherhost:1:1";
  batch.transitions.push_back(store::RunTransition{run, RunState::kPending, "started"});
  for (const auto& [index, steps] : moves) {
    for (const auto& [to, cause] : steps) {
      store::TaskRow& row = rows[index];
      TaskState from = row.state;
      row.state = to;
      if (to == TaskState::kRunning) row.attempts += 1;
      if (to == TaskState::kFailed) row.exit_code = 1;
      batch.transitions.push_back(store::TaskTransition{row, from, cause});
    }
  }
  ASSERT_TRUE(store->Commit(batch).ok());
}

TEST_F(EngineRunTest, ALostAttemptDoesNotUseUpARetry) {
  Create("tasks:\n  t: { run: \"true\", retry: { attempts: 2, delay: 0s } }\n");
  SimulateDeadRelay(store_.get(), run_id_, clock_.Now(),
                    {{0,
                      {{TaskState::kQueued, "needs_met"},
                       {TaskState::kClaimed, "claimed"},
                       {TaskState::kRunning, "started"}}}});
  runner_.Script("t", {{.exit_code = 1}, {.exit_code = 0}});
  auto result = Execute();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks()["t"].attempts, 3);  // lost, failed, succeeded
  // The reasons count as retry.attempts does.
  auto events = store_->GetEvents(run_id_, 0);
  ASSERT_TRUE(events.ok()) << events.status().message();
  std::vector<std::string> retries;
  for (const auto& e : *events)
    if (e.to == "retry_wait") retries.push_back(e.reason);
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_NE(retries[0].find("attempt 2 in 0ms (a lost attempt does not count toward "
                            "retry.attempts)"),
            std::string::npos)
      << retries[0];
  EXPECT_NE(retries[1].find("retry 2 of 2 in 0ms"), std::string::npos) << retries[1];
}

TEST_F(EngineRunTest, AResumedRunDecidesLikeAFreshOneAfterContinueOnError) {
  Create(R"(
tasks:
  a: { run: "false", continue_on_error: true }
  b: { run: "true" }
  c: { needs: [a, b], run: "true" }
)");
  SimulateDeadRelay(store_.get(), run_id_, clock_.Now(),
                    {{0,
                      {{TaskState::kQueued, "needs_met"},
                       {TaskState::kClaimed, "claimed"},
                       {TaskState::kRunning, "started"},
                       {TaskState::kFailed, "exit_nonzero"}}}});
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks()["c"].state, TaskState::kSucceeded);
}

class Recorder : public Observer {
 public:
  void OnTaskChanged(const store::TaskRow& row, TaskState from, TaskState to) override {
    seen.push_back(std::string(state::Name(to)) + ": " + row.reason);
  }
  std::vector<std::string> seen;
};

TEST_F(EngineRunTest, ObserversSeeEachTransitionsOwnReason) {
  Create("tasks:\n  t: { run: \"true\", retry: { attempts: 2, delay: 0s } }\n");
  runner_.Script("t", {{.exit_code = 3}, {.exit_code = 0}});
  Recorder rec;
  ASSERT_TRUE(Execute(2, &rec).ok());
  bool retry_reason = false;
  for (const auto& s : rec.seen)
    retry_reason = retry_reason || s.rfind("retry_wait: exit code 3", 0) == 0;
  EXPECT_TRUE(retry_reason) << ::testing::PrintToString(rec.seen);
}

// Samples the store after every commit, as `relay show` in another terminal
// would: for each step seen running with a stored process group, how long it
// had been running then.
class PgidWatcher : public Observer {
 public:
  PgidWatcher(store::Store* store, FakeClock* clock, std::string run)
      : store_(store), clock_(clock), run_(std::move(run)) {}
  void OnCommitted() override {
    auto rows = store_->GetTasks(run_);
    ASSERT_TRUE(rows.ok());
    for (const auto& t : *rows) {
      if (t.state == TaskState::kRunning && t.pgid > 0 && !stored_after.count(t.name))
        stored_after[t.name] = clock_->Now() - t.started_at;
    }
  }
  std::map<std::string, Micros> stored_after;

 private:
  store::Store* store_;
  FakeClock* clock_;
  std::string run_;
};

TEST_F(EngineRunTest, ALongStepsProcessGroupIsStoredWhileItRunsAQuickOnesNever) {
  Create("tasks:\n  long: { run: serve }\n  medium: { run: make }\n  quick: { run: \"true\" }\n");
  runner_.Script("long", {{.duration = 5 * kSecond}});
  runner_.Script("medium", {{.duration = 300 * kMillisecond}});
  PgidWatcher watcher(store_.get(), &clock_, run_id_);
  ASSERT_TRUE(Execute(3, &watcher).ok());
  // `relay resume` kills a dead relay's leftovers by this group: a long step
  // has it stored while it runs, after kPidPersistDelay at the latest.
  ASSERT_TRUE(watcher.stored_after.count("long")) << "never stored while running";
  EXPECT_LE(watcher.stored_after["long"], sched::kPidPersistDelay + kSecond);
  // Shorter steps end first: a finished step's group needs no killing, so
  // it costs no write at all.
  EXPECT_FALSE(watcher.stored_after.count("quick"));
  EXPECT_FALSE(watcher.stored_after.count("medium"));
  auto t = Tasks();
  EXPECT_EQ(t["quick"].pgid, 0);
  EXPECT_EQ(t["medium"].pgid, 0);
  EXPECT_GT(t["long"].pgid, 0);
}

TEST_F(EngineRunTest, AFinishedRunCannotBeResumed) {
  Create("tasks:\n  a: { run: \"true\" }\n");
  ASSERT_TRUE(Execute().ok());
  auto again = Execute();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kInvalid);
  EXPECT_NE(again.status().message().find("already finished"), std::string::npos);
}

TEST_F(EngineRunTest, InterruptCancelsRunningWorkButAlwaysTasksStillRun) {
  Create(R"(
tasks:
  long: { run: "sleep 100" }
  after: { needs: [long], run: "true" }
  cleanup: { needs: [long], if: "${{ always() }}", run: "true" }
)");
  runner_.Script("long", {{.duration = 100 * kSecond}});
  runner_.InterruptAfterWaits(1);
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kCancelled);
  auto t = Tasks();
  EXPECT_EQ(t["long"].state, TaskState::kCancelled);
  EXPECT_EQ(t["after"].state, TaskState::kCancelled);
  EXPECT_EQ(t["cleanup"].state, TaskState::kSucceeded);
}

TEST_F(EngineRunTest, CancelRequestedThroughTheStoreStopsTheRun) {
  Create("tasks:\n  long: { run: \"sleep 100\" }\n  next: { needs: [long], run: \"true\" }\n");
  runner_.Script("long", {{.duration = 100 * kSecond}});
  ASSERT_TRUE(store_->RequestCancel(run_id_).ok());
  auto result = Execute();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RunState::kCancelled);
  EXPECT_EQ(Tasks()["next"].state, TaskState::kCancelled);
}

// `relay cancel` writes its request and pokes the run's relay, which reads
// the store at once instead of at its next poll.
TEST_F(EngineRunTest, APokedRelayReadsACancelRequestAtOnce) {
  Create("tasks:\n  long: { run: \"sleep 100\" }\n");
  runner_.Script("long", {{.duration = 100 * kSecond}});
  runner_.PokeAfterWaits(1, [&] { ASSERT_TRUE(store_->RequestCancel(run_id_).ok()); });
  EngineOptions o = RunOptions();
  o.inbox_poll = 60 * kSecond;
  const Micros start = clock_.Now();
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kCancelled);
  EXPECT_LT(clock_.Now() - start, o.inbox_poll);
  EXPECT_EQ(Tasks()["long"].state, TaskState::kCancelled);
}

TEST_F(EngineRunTest, EveryTransitionIsInTheLedger) {
  Create("tasks:\n  a: { run: \"true\" }\n  b: { needs: [a], run: \"true\" }\n");
  ASSERT_TRUE(Execute().ok());
  auto events = *store_->GetEvents(run_id_, 0);
  EXPECT_TRUE(events::VerifyChain(events).ok);
  std::vector<std::string> a;
  for (const auto& e : events)
    if (e.subject == "a") a.push_back(e.from + ">" + e.to);
  EXPECT_EQ(a, (std::vector<std::string>{"pending>queued", "queued>claimed", "claimed>running",
                                         "running>succeeded"}));
  // Stamped when decided, so they read in time order.
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_GE(events[i].ts, events[i - 1].ts) << "event " << events[i].seq;
}

}  // namespace
}  // namespace relay::engine

namespace relay::engine {
namespace {

// The fold of the ledger against the scheduler's rows on the paths the tests
// above do not take: a resumed run (lost and released attempts), a rerun's
// reused results, and an attempt that cannot be built.
TEST_F(EngineRunTest, TheLedgerRebuildsTheRowsOfAResumedRun) {
  Create(R"(
tasks:
  again: { run: again, retry: { attempts: 2, delay: 0s, on: [lost] } }
  gone: { run: gone }
  held: { run: held }
  after: { needs: [again, gone, held], if: "${{ always() }}", run: after }
)");
  SimulateDeadRelay(store_.get(), run_id_, clock_.Now(),
                    {{0,
                      {{TaskState::kQueued, "needs_met"},
                       {TaskState::kClaimed, "claimed"},
                       {TaskState::kRunning, "started"}}},
                     {1,
                      {{TaskState::kQueued, "needs_met"},
                       {TaskState::kClaimed, "claimed"},
                       {TaskState::kRunning, "started"}}},
                     {2, {{TaskState::kQueued, "needs_met"}, {TaskState::kClaimed, "claimed"}}}});
  clock_.Advance(3 * kSecond);
  EngineOptions o = RunOptions();
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
}

TEST_F(EngineRunTest, TheLedgerRebuildsTheRowsOfARerun) {
  spec::LoadResult loaded = spec::LoadPipelineText(R"(
tasks:
  a: { run: a, outputs: [k] }
  b: { needs: [a], run: "echo ${{ needs.a.outputs.k }}" }
)",
                                                   "p.yaml");
  ASSERT_TRUE(loaded.ok());
  pipeline_ = std::move(*loaded.pipeline);
  auto plan = plan::BuildPlan(pipeline_, nlohmann::json::object(), {});
  ASSERT_TRUE(plan.ok());
  nlohmann::json options = {
      {"reuse", {{"a", {{"run", "OLD"}, {"outputs", {{"k", "v"}}}, {"log", "/elsewhere/a.log"}}}}}};
  store::RunRow run =
      NewRunRow("RERUN", pipeline_, *plan, "p.yaml", dir_.path(), options.dump(), clock_.Now());
  ASSERT_TRUE(store_->CreateRun(run, NewTaskRows(run.id, *plan), clock_.Now()).ok());
  run_id_ = run.id;
  EngineOptions o = RunOptions();
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
}

TEST_F(EngineRunTest, TheLedgerRebuildsTheRowOfAnAttemptThatCannotBeBuilt) {
  Create(R"(
tasks:
  bad: { run: "echo ${{ fromJSON('not json') }}", retry: { attempts: 2, delay: 1s } }
)");
  EngineOptions o = RunOptions();
  auto result = ExecuteAndCompareRows(o);
  ASSERT_TRUE(result.ok()) << result.status().message();
}

// A step may write any bytes to $RELAY_OUTPUT: they become outputs (invalid
// UTF-8 replaced), never an abort that every resume would repeat.
TEST_F(EngineRunTest, OutputsThatAreNotUtf8DoNotAbortTheRun) {
  Create("tasks:\n  a: { run: a, outputs: [v] }\n");
  runner_.Script("a", {{.outputs = "v=ok\xff\xfe\n"}});
  Result<RunState> result = Status::Internal("not run");
  EXPECT_NO_THROW(result = Execute());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks()["a"].outputs_json, "{\"v\":\"ok\xef\xbf\xbd\xef\xbf\xbd\"}");
}

// A runner that only reads the specs it starts, as the keeper's does: the
// engine then builds each next attempt in the memory of one it started
// (RunHost::SpareSpec), and every field must be the new attempt's.
class ReadingRunner : public testing::FakeRunner {
 public:
  using FakeRunner::FakeRunner;
  exec::Started StartFrom(exec::AttemptSpec& spec) override { return Start(spec); }  // a copy
};

TEST_F(EngineRunTest, AnAttemptBuiltInTheMemoryOfAStartedOneIsItsOwn) {
  Create(R"(
env: { SHARED: s }
tasks:
  a: { run: "first ${{ env.SHARED }}", env: { X: "1", Y: "2" }, cwd: sub, timeout: 5m }
  b: { needs: [a], steps: [one, two] }
  c: { needs: [b], run: third, env: { Z: "3" } }
)");
  ReadingRunner runner(&clock_);
  EngineOptions o = RunOptions();
  o.slots = 1;
  Engine e(store_.get(), &runner, &clock_, o);
  auto state = e.Execute(run_id_);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(*state, RunState::kSucceeded);
  ASSERT_EQ(runner.specs.size(), 3u);
  using Env = std::vector<std::pair<std::string, std::string>>;
  auto relay_env = [&](const std::string& task, int index) {
    const std::string log = store::AttemptLogPath(o.log_dir, run_id_, index, task, 1);
    return Env{{"RELAY_RUN_ID", run_id_},
               {"RELAY_TASK", task},
               {"RELAY_ATTEMPT", "1"},
               {"RELAY_OUTPUT", log.substr(0, log.size() - 4) + ".out"}};
  };
  auto with = [](Env head, const Env& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  const std::vector<std::string> names = {"a", "b", "c"};
  const std::vector<std::vector<std::string>> steps = {{"first s"}, {"one", "two"}, {"third"}};
  const std::vector<Env> envs = {with({{"SHARED", "s"}, {"X", "1"}, {"Y", "2"}}, relay_env("a", 0)),
                                 with({{"SHARED", "s"}}, relay_env("b", 1)),
                                 with({{"SHARED", "s"}, {"Z", "3"}}, relay_env("c", 2))};
  for (int i = 0; i < 3; ++i) {
    const exec::AttemptSpec& spec = runner.specs[i];
    SCOPED_TRACE(names[i]);
    EXPECT_EQ(spec.key, (exec::AttemptKey{run_id_, i, 1}));
    EXPECT_EQ(spec.steps, steps[i]);
    EXPECT_EQ(spec.env, envs[i]);
    EXPECT_EQ(spec.cwd, i == 0 ? dir_.path() + "/sub" : dir_.path());
    EXPECT_EQ(spec.log_path, store::AttemptLogPath(o.log_dir, run_id_, i, names[i], 1));
    EXPECT_EQ(spec.timeout, i == 0 ? 5 * kMinute : 0);
    EXPECT_FALSE(spec.masker);
  }
}

}  // namespace
}  // namespace relay::engine
