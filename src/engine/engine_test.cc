// The engine with many runs, against the fake runner and fake clock: fair
// sharing of slots, requests from the inbox, the change feed, sub-pipelines,
// approvals, concurrency groups, adoption of a dead relay's attempts, a busy
// store, and a bug in one run that must not stop the others.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "engine/create_run.h"
#include "events/event.h"
#include "sched/stored_run.h"
#include "spec/load.h"
#include "store/sqlite/sqlite_store.h"
#include "support/fake_runner.h"
#include "support/temp_dir.h"

namespace relay::engine {
namespace {

using state::RunState;
using state::TaskState;
using testing::Outcome;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenStore(dir_.Join("relay.db"), {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  EngineOptions Options(int slots = 2) const {
    EngineOptions o;
    o.owner = "test:1:1";
    o.log_dir = dir_.Join("logs");
    o.slots = slots;
    o.seed = 7;
    return o;
  }

  // A run of pipeline file `name` (written in the temp dir), prepared as
  // `relay run` does; `actor` is who starts it.
  sched::CreatedRun Prepare(const std::string& name, const std::string& yaml,
                            std::vector<std::string> inputs = {},
                            const std::string& actor = "ana") {
    std::ofstream(dir_.Join(name)) << yaml;
    RunRequest request;
    request.file = dir_.Join(name);
    request.inputs = std::move(inputs);
    request.workdir = dir_.path();
    request.actor = actor;
    request.owner = "test:1:1";
    std::vector<spec::Diagnostic> diagnostics;
    auto created = PrepareRun(request, &diagnostics);
    EXPECT_TRUE(created.ok()) << created.status().message()
                              << (diagnostics.empty() ? "" : ": " + diagnostics[0].message);
    EXPECT_TRUE(StoreDefinitions(store_.get(), *created).ok());
    return std::move(created).value();
  }

  std::map<std::string, store::TaskRow> Tasks(const std::string& run) {
    std::map<std::string, store::TaskRow> out;
    auto rows = store_->GetTasks(run);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    for (auto& t : *rows) out[t.name] = t;
    return out;
  }

  // A run's events (held here: a range-for over `*store_->GetEvents(…)`
  // would read a temporary already destroyed).
  std::vector<events::Event> Events(const std::string& run) {
    auto events = store_->GetEvents(run, 0);
    EXPECT_TRUE(events.ok());
    return events.ok() ? *events : std::vector<events::Event>{};
  }

  // Every event of every run, in feed order.
  std::vector<store::FeedEvent> Feed() {
    auto feed = store_->ReadFeed(0, 1 << 20);
    EXPECT_TRUE(feed.ok());
    return *feed;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  testing::FakeRunner runner_{&clock_};
  std::unique_ptr<store::Store> store_;
};

// Watches commits, and can act once (as another terminal would).
class Hook : public sched::Observer {
 public:
  std::function<void()> after_commit;
  std::vector<std::string> notices;
  void OnCommitted() override {
    if (!after_commit) return;
    auto f = std::move(after_commit);
    after_commit = nullptr;
    f();
  }
  void OnNotice(const std::string& text) override { notices.push_back(text); }
};

std::string Wide(const std::string& prefix, int n) {
  std::string values;
  for (int i = 0; i < n; ++i) values += (i ? "," : "") + std::to_string(i);
  return "tasks:\n  " + prefix + ": { run: work, matrix: { i: [" + values + "] } }\n";
}

TEST_F(EngineTest, ManyRunsShareTheSlotsAndASmallRunIsNotStarvedByABigOne) {
  for (int i = 0; i < 200; ++i) runner_.Script("big[i=" + std::to_string(i) + "]", {{}});
  Engine e(store_.get(), &runner_, &clock_, Options(2));
  auto big = Prepare("big.yaml", Wide("big", 200));
  auto small = Prepare("small.yaml", Wide("small", 3));
  const std::string big_id = big.run.id, small_id = small.run.id;
  ASSERT_TRUE(e.Add(std::move(big), true).ok());
  ASSERT_TRUE(e.Add(std::move(small), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(e.run(big_id)->state, RunState::kSucceeded);
  EXPECT_EQ(e.run(small_id)->state, RunState::kSucceeded);
  EXPECT_EQ(runner_.max_concurrent, 2u);  // one slot limit for every run
  // The small run's three tasks start among the first few, not after the
  // big run's 200: the run with fewer attempts running is served first.
  std::vector<size_t> small_at;
  for (size_t i = 0; i < runner_.started.size(); ++i)
    if (runner_.started[i].rfind("small", 0) == 0) small_at.push_back(i);
  ASSERT_EQ(small_at.size(), 3u);
  EXPECT_LT(small_at.back(), 8u) << "the small run waited behind the big one";
}

TEST_F(EngineTest, TheChangeFeedListsEveryRunsEventsGapFreeInCommitOrder) {
  Engine e(store_.get(), &runner_, &clock_, Options(2));
  auto a = Prepare("a.yaml", Wide("a", 5));
  auto b = Prepare("b.yaml", Wide("b", 5));
  const std::string a_id = a.run.id, b_id = b.run.id;
  ASSERT_TRUE(e.Add(std::move(a), true).ok());
  ASSERT_TRUE(e.Add(std::move(b), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  std::vector<store::FeedEvent> feed = Feed();
  std::map<std::string, int64_t> last_seq;
  for (size_t i = 0; i < feed.size(); ++i) {
    EXPECT_EQ(feed[i].pos, static_cast<int64_t>(i) + 1) << "a gap in the feed";
    // Each run's events in its own order.
    EXPECT_EQ(feed[i].event.seq, last_seq[feed[i].event.run_id] + 1);
    last_seq[feed[i].event.run_id] = feed[i].event.seq;
  }
  EXPECT_EQ(last_seq.size(), 2u);
  EXPECT_EQ(last_seq[a_id], static_cast<int64_t>(store_->GetEvents(a_id, 0)->size()));
  EXPECT_EQ(last_seq[b_id], static_cast<int64_t>(store_->GetEvents(b_id, 0)->size()));
  // Both runs were in flight together: their events interleave.
  bool switched = false;
  for (size_t i = 2; i < feed.size(); ++i)
    switched = switched || feed[i].event.run_id != feed[i - 1].event.run_id;
  EXPECT_TRUE(switched);
  // A reader resumes from any position.
  auto rest = store_->ReadFeed(feed[6].pos, 3);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].pos, feed[7].pos);
}

// A request written to the store while the engine waits (another process's
// `relay cancel`) is acted on within the inbox's poll, with nothing else to
// wake the engine: the fake runner has one 100 s task running.
TEST_F(EngineTest, ARequestInTheStoreIsActedOnWithinThePoll) {
  runner_.Script("long", {{.duration = 100 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto run =
      Prepare("p.yaml", "tasks:\n  long: { run: serve }\n  next: { needs: [long], run: x }\n");
  const std::string id = run.run.id;
  Hook hook;
  Micros asked = 0;
  hook.after_commit = [&] {
    store::Request r;
    r.run_id = id;
    r.kind = "cancel";
    r.actor = "bo";
    auto added = store_->AddRequest(r);
    ASSERT_TRUE(added.ok());
    asked = clock_.Now();
  };
  e.AddObserver(&hook);
  ASSERT_TRUE(e.Add(std::move(run), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(e.run(id)->state, RunState::kCancelled);
  EXPECT_LE(e.run(id)->ended_at - asked, Options().inbox_poll + 2 * kMillisecond);
  auto requests = store_->ReadRequests(0, 10);
  ASSERT_EQ(requests->size(), 1u);
  EXPECT_NE((*requests)[0].done_at, 0);
  EXPECT_EQ((*requests)[0].outcome, "cancelling");
  EXPECT_NE(Tasks(id)["long"].reason.find("stopped"), std::string::npos);
}

// A run created by someone else (the API, a trigger) waits, pending, until an
// engine that takes starts reads its `start` request.
TEST_F(EngineTest, AnEngineThatAcceptsStartsTakesARunCreatedElsewhere) {
  std::ofstream(dir_.Join("p.yaml")) << "tasks:\n  a: { run: a }\n";
  RunRequest request;
  request.file = dir_.Join("p.yaml");
  request.workdir = dir_.path();
  request.actor = "api";
  std::vector<spec::Diagnostic> diagnostics;
  auto id = CreateRun(store_.get(), request, &diagnostics);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(store_->GetRun(*id)->state, RunState::kPending);
  store::Request start;
  start.run_id = *id;
  start.kind = "start";
  ASSERT_TRUE(store_->AddRequest(start).ok());
  EngineOptions o = Options();
  o.accept_starts = true;
  Engine e(store_.get(), &runner_, &clock_, o);
  ASSERT_TRUE(e.RunUntilIdle().ok());  // nothing held: one look at the inbox
  ASSERT_NE(e.run(*id), nullptr);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(*id)->state, RunState::kSucceeded);
  EXPECT_EQ(store_->GetRun(*id)->created_by, "api");
  auto requests = store_->ReadRequests(0, 10);
  EXPECT_EQ((*requests)[0].outcome, "started by relay test:1:1");
  // An engine that does not accept starts leaves such runs alone.
  auto other = CreateRun(store_.get(), request, &diagnostics);
  start.run_id = *other;
  ASSERT_TRUE(store_->AddRequest(start).ok());
  Engine plain(store_.get(), &runner_, &clock_, Options());
  ASSERT_TRUE(plain.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(*other)->state, RunState::kPending);
}

// A bug (a transition outside the table) fails the run it belongs to, with
// the transition named in its reason, and the engine carries on with the
// others: no abort.
TEST_F(EngineTest, ATransitionOutsideTheTableFailsItsRunAloneWithAReadableReason) {
  runner_.Script("slow[i=0]", {{.duration = 5 * kSecond}});
  runner_.Script("slow[i=1]", {{.duration = 5 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options(4));
  auto bad = Prepare("bad.yaml", Wide("slow", 2));
  auto good = Prepare("good.yaml", Wide("fine", 4));
  const std::string bad_id = bad.run.id, good_id = good.run.id;
  ASSERT_TRUE(e.Add(std::move(bad), true).ok());
  ASSERT_TRUE(e.Add(std::move(good), true).ok());
  Hook hook;
  hook.after_commit = [&] {
    // slow[i=0] is running: "succeeded → running" is in no table.
    e.TEST_driver(bad_id)->TEST_Transition(0, TaskState::kQueued, state::cause::kNeedsMet);
  };
  e.AddObserver(&hook);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  const store::RunRow bad_row = *store_->GetRun(bad_id);
  EXPECT_EQ(bad_row.state, RunState::kFailed);
  EXPECT_NE(bad_row.reason.find("task transition running -> queued (cause 'needs_met') is not in "
                                "the state table"),
            std::string::npos)
      << bad_row.reason;
  for (auto& [name, t] : Tasks(bad_id)) EXPECT_EQ(t.state, TaskState::kCancelled) << name;
  EXPECT_EQ(store_->GetRun(good_id)->state, RunState::kSucceeded);
  // What was recorded verifies, transitions included.
  EXPECT_TRUE(events::VerifyChain(*store_->GetEvents(bad_id, 0), bad_id).ok);
}

TEST_F(EngineTest, AResultThatArrivesTwiceFailsItsRunNotTheProcess) {
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto run = Prepare("p.yaml", "tasks:\n  a: { run: x }\n  b: { needs: [a], run: y }\n");
  const std::string id = run.run.id;
  ASSERT_TRUE(e.Add(std::move(run), true).ok());
  Hook hook;
  hook.after_commit = [&] {
    exec::AttemptResult r;
    e.TEST_driver(id)->OnFinished(1, r);  // b has no attempt running
  };
  e.AddObserver(&hook);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(id)->state, RunState::kFailed);
  EXPECT_NE(store_->GetRun(id)->reason.find("which has no attempt running"), std::string::npos);
}

TEST_F(EngineTest, ASubPipelineRunsAsItsOwnRunAndItsOutputsFlowUp) {
  std::ofstream(dir_.Join("child.yaml")) << R"(
inputs: { who: { type: string, required: true }, n: { type: number, default: 1 } }
outputs: { greeting: "${{ tasks.hello.outputs.text }}", size: "${{ inputs.n }}" }
tasks:
  hello: { run: greet, outputs: [text] }
)";
  runner_.Script("hello", {{.outputs = "text=hi\n"}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto parent = Prepare("parent.yaml", R"(
outputs: { said: "${{ tasks.use.outputs.greeting }}" }
tasks:
  use: { uses: ./child.yaml, with: { who: world, n: 3 } }
  after: { needs: [use], run: "echo ${{ needs.use.outputs.greeting }}" }
)");
  const std::string id = parent.run.id;
  ASSERT_TRUE(e.Add(std::move(parent), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  store::RunRow row = *store_->GetRun(id);
  EXPECT_EQ(row.state, RunState::kSucceeded) << row.reason;
  EXPECT_EQ(row.outputs_json, R"({"said":"hi"})");
  auto t = Tasks(id);
  ASSERT_FALSE(t["use"].child_run.empty());
  store::RunRow child = *store_->GetRun(t["use"].child_run);
  EXPECT_EQ(child.caller_run, id);
  EXPECT_EQ(child.caller_index, 0);
  EXPECT_EQ(child.state, RunState::kSucceeded);
  EXPECT_EQ(child.inputs_json, R"({"n":3,"who":"world"})");
  EXPECT_EQ(child.outputs_json, R"({"greeting":"hi","size":"3"})");
  EXPECT_EQ(t["use"].outputs_json, child.outputs_json);
  ASSERT_EQ(runner_.specs.back().steps.size(), 1u);
  EXPECT_EQ(runner_.specs.back().steps[0], "echo hi");
  // Each run has its own chain, and each verifies.
  EXPECT_TRUE(events::VerifyChain(*store_->GetEvents(child.id, 0), child.id).ok);
  auto children = store_->ChildRuns(id);
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].id, child.id);
}

TEST_F(EngineTest, AMatrixOfSubPipelinesMakesOneChildRunPerInstance) {
  std::ofstream(dir_.Join("child.yaml")) << R"(
inputs: { shard: { type: number, required: true } }
outputs: { shard: "${{ inputs.shard }}" }
tasks:
  part: { run: "test ${{ inputs.shard }}" }
)";
  Engine e(store_.get(), &runner_, &clock_, Options(4));
  auto parent = Prepare("parent.yaml", R"(
tasks:
  shards: { uses: ./child.yaml, matrix: { s: [1, 2, 3] }, max_parallel: 2, with: { shard: "${{ matrix.s }}" } }
)");
  const std::string id = parent.run.id;
  ASSERT_TRUE(e.Add(std::move(parent), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(id)->state, RunState::kSucceeded);
  auto children = store_->ChildRuns(id);
  ASSERT_EQ(children->size(), 3u);
  for (const auto& c : *children) EXPECT_EQ(c.state, RunState::kSucceeded);
  EXPECT_EQ(Tasks(id)["shards[s=3]"].outputs_json, R"({"shard":"3"})");
}

TEST_F(EngineTest, AFailingChildFailsItsTaskAndCancellingTheParentCancelsTheChild) {
  std::ofstream(dir_.Join("child.yaml")) << "tasks:\n  inner: { run: long }\n";
  runner_.Script("inner", {{.duration = 100 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto parent = Prepare("parent.yaml", "tasks:\n  use: { uses: ./child.yaml }\n");
  const std::string id = parent.run.id;
  ASSERT_TRUE(e.Add(std::move(parent), true).ok());
  Hook hook;
  hook.after_commit = [&] {
    store::Request r;
    r.run_id = id;
    r.kind = "cancel";
    ASSERT_TRUE(store_->AddRequest(r).ok());
  };
  e.AddObserver(&hook);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(id)->state, RunState::kCancelled);
  auto child = (*store_->ChildRuns(id))[0];
  EXPECT_EQ(child.state, RunState::kCancelled);
  EXPECT_EQ(Tasks(child.id)["inner"].state, TaskState::kCancelled);
}

TEST_F(EngineTest, CancellingTheChildCancelsTheParent) {
  std::ofstream(dir_.Join("child.yaml")) << "tasks:\n  inner: { run: long }\n";
  runner_.Script("inner", {{.duration = 100 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto parent =
      Prepare("parent.yaml", "tasks:\n  use: { uses: ./child.yaml }\n  other: { run: other }\n");
  runner_.Script("other", {{.duration = 100 * kSecond}});
  const std::string id = parent.run.id;
  ASSERT_TRUE(e.Add(std::move(parent), true).ok());
  Hook hook;
  hook.after_commit = [&] {
    store::Request r;
    r.run_id = (*store_->ChildRuns(id))[0].id;
    r.kind = "cancel";
    ASSERT_TRUE(store_->AddRequest(r).ok());
  };
  e.AddObserver(&hook);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  store::RunRow row = *store_->GetRun(id);
  EXPECT_EQ(row.state, RunState::kCancelled);
  auto t = Tasks(id);
  EXPECT_EQ(t["use"].state, TaskState::kCancelled);
  EXPECT_EQ(t["other"].state, TaskState::kCancelled);
}

// Approvals decided through the inbox: who may, how many, and what a
// decision records.
class ApprovalTest : public EngineTest {
 protected:
  // Runs `yaml` started by "ana"; `decide` (actor, kind) requests are
  // written one per commit once the task waits.
  store::RunRow Decide(const std::string& yaml,
                       std::vector<std::pair<std::string, std::string>> decisions) {
    Engine e(store_.get(), &runner_, &clock_, Options());
    auto run = Prepare("p.yaml", yaml);
    id_ = run.run.id;
    EXPECT_TRUE(e.Add(std::move(run), true).ok());
    Decider decider(this, std::move(decisions));
    e.AddObserver(&decider);
    EXPECT_TRUE(e.RunUntilIdle().ok());
    return *store_->GetRun(id_);
  }

  class Decider : public sched::Observer {
   public:
    Decider(ApprovalTest* t, std::vector<std::pair<std::string, std::string>> d)
        : t_(t), left_(std::move(d)) {}
    void OnCommitted() override {
      if (left_.empty()) return;
      auto rows = t_->store_->GetTasks(t_->id_);
      bool waiting = false;
      for (const auto& r : *rows) waiting = waiting || r.state == TaskState::kWaitingApproval;
      if (!waiting) return;
      store::Request r;
      r.run_id = t_->id_;
      r.task = "deploy";
      r.actor = left_.front().first;
      r.kind = left_.front().second;
      r.comment = "by " + r.actor;
      left_.erase(left_.begin());
      ASSERT_TRUE(t_->store_->AddRequest(r).ok());
    }

   private:
    ApprovalTest* t_;
    std::vector<std::pair<std::string, std::string>> left_;
  };

  std::vector<std::string> Outcomes() {
    std::vector<std::string> out;
    auto requests = store_->ReadRequests(0, 100);
    for (const auto& r : *requests) out.push_back(r.outcome);
    return out;
  }

  std::string id_;
};

TEST_F(ApprovalTest, ATaskWaitsUntilApprovedAndTheLedgerSaysWhoAndWhy) {
  store::RunRow run =
      Decide("tasks:\n  deploy: { run: ship, approval: true }\n", {{"bo", "approve"}});
  EXPECT_EQ(run.state, RunState::kSucceeded);
  auto t = Tasks(id_)["deploy"];
  EXPECT_EQ(t.approved_by, "bo");
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(Outcomes(), (std::vector<std::string>{"approved"}));
  bool recorded = false;
  for (const auto& ev : Events(id_))
    recorded = recorded || (ev.cause == "approved" &&
                            ev.data.find("\"approver\":\"bo\"") != std::string::npos &&
                            ev.data.find("\"comment\":\"by bo\"") != std::string::npos);
  EXPECT_TRUE(recorded);
}

TEST_F(ApprovalTest, ARejectionFailsTheTaskWithTheCommentAsItsReason) {
  store::RunRow run =
      Decide("tasks:\n  deploy: { run: ship, approval: true }\n", {{"bo", "reject"}});
  EXPECT_EQ(run.state, RunState::kFailed);
  auto t = Tasks(id_)["deploy"];
  EXPECT_EQ(t.state, TaskState::kFailed);
  EXPECT_EQ(t.reason, "rejected by bo: by bo");
  EXPECT_TRUE(runner_.started.empty());
}

TEST_F(ApprovalTest, RequiredApprovalsAreDistinctReviewersFromTheList) {
  store::RunRow run =
      Decide(R"(
tasks:
  deploy: { run: ship, approval: { reviewers: [bo, cy], required: 2 } }
)",
             {{"eve", "approve"}, {"bo", "approve"}, {"bo", "approve"}, {"cy", "approve"}});
  EXPECT_EQ(run.state, RunState::kSucceeded);
  std::vector<std::string> outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0], "refused: 'eve' is not one of the reviewers (bo, cy)");
  EXPECT_EQ(outcomes[1], "approved (1 of 2)");
  EXPECT_EQ(outcomes[2], "refused: 'bo' already approved 'deploy' (1 of 2)");
  EXPECT_EQ(outcomes[3], "approved");
  EXPECT_EQ(Tasks(id_)["deploy"].approved_by, "bo,cy");
}

TEST_F(ApprovalTest, WhoStartedTheRunMayNotApproveItWhenAllowSelfIsFalse) {
  store::RunRow run = Decide(R"(
tasks:
  deploy: { run: ship, approval: { allow_self: false } }
)",
                             {{"ana", "approve"}, {"bo", "approve"}});
  EXPECT_EQ(run.state, RunState::kSucceeded);
  EXPECT_EQ(Outcomes()[0],
            "refused: 'ana' started this run, and its approval says allow_self: false");
}

TEST_F(ApprovalTest, TheTimeoutDecidesAsOnTimeoutSays) {
  store::RunRow approved = Decide(R"(
tasks:
  deploy: { run: ship, approval: { timeout: 1h, on_timeout: approve } }
)",
                                  {});
  EXPECT_EQ(approved.state, RunState::kSucceeded);
  EXPECT_EQ(Tasks(id_)["deploy"].attempts, 1);
  store::RunRow rejected = Decide(R"(
tasks:
  deploy: { run: ship, approval: { timeout: 30m } }
)",
                                  {});
  EXPECT_EQ(rejected.state, RunState::kFailed);
  EXPECT_EQ(Tasks(id_)["deploy"].reason, "nobody decided within 30m00s (on_timeout: reject)");
}

TEST_F(ApprovalTest, AnApprovalOnlyTaskSucceedsOnceApproved) {
  store::RunRow run = Decide(R"(
tasks:
  deploy: { approval: true }
  after: { needs: [deploy], run: go }
)",
                             {{"bo", "approve"}});
  EXPECT_EQ(run.state, RunState::kSucceeded);
  EXPECT_EQ(runner_.started, (std::vector<std::string>{"after"}));
}

TEST_F(EngineTest, AGroupOfLimitOneQueuesTheSecondRunUntilTheFirstEnds) {
  runner_.Script("work", {{.duration = 10 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options(4));
  const std::string yaml =
      "concurrency: { group: deploy, limit: 1 }\ntasks:\n  work: { run: work }\n";
  auto first = Prepare("a.yaml", yaml);
  auto second = Prepare("b.yaml", yaml);
  const std::string a = first.run.id, b = second.run.id;
  ASSERT_TRUE(e.Add(std::move(first), true).ok());
  ASSERT_TRUE(e.Add(std::move(second), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  auto ta = Tasks(a)["work"], tb = Tasks(b)["work"];
  EXPECT_EQ(ta.state, TaskState::kSucceeded);
  EXPECT_EQ(tb.state, TaskState::kSucceeded);
  EXPECT_LE(ta.ended_at, tb.started_at) << "the two runs of the group overlapped";
  bool queued = false;
  for (const auto& ev : Events(b))
    queued = queued || (ev.to == "queued" && ev.kind == "run" &&
                        ev.reason.find("concurrency group 'deploy'") != std::string::npos);
  EXPECT_TRUE(queued);
}

TEST_F(EngineTest, ATaskGroupBlocksQueuedInstancesAndSkipAndCancelRunningAreHonoured) {
  runner_.Script("g[i=0]", {{.duration = 10 * kSecond}});
  runner_.Script("g[i=1]", {{.duration = 10 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options(4));
  auto run = Prepare("p.yaml", R"(
tasks:
  g: { run: x, matrix: { i: [0, 1] }, concurrency: { group: "g", limit: 1 } }
  s: { needs: [g], run: y, concurrency: { group: "held", on_conflict: skip } }
)");
  const std::string id = run.run.id;
  // Someone else holds "held" for good.
  ASSERT_TRUE(store_->AcquireGroup("held", 1, {"OTHER", -1, clock_.Now()}).ok());
  ASSERT_TRUE(e.Add(std::move(run), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  auto t = Tasks(id);
  EXPECT_LE(t["g[i=0]"].ended_at, t["g[i=1]"].started_at);
  EXPECT_EQ(t["s"].state, TaskState::kSkipped);
  EXPECT_NE(t["s"].reason.find("on_conflict: skip"), std::string::npos) << t["s"].reason;
  bool blocked = false;
  for (const auto& ev : Events(id))
    blocked = blocked || (ev.to == "blocked" && ev.subject == "g[i=1]");
  EXPECT_TRUE(blocked);
}

TEST_F(EngineTest, CancelRunningCancelsTheHolderOfTheGroup) {
  runner_.Script("old", {{.duration = 100 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options(4));
  auto first = Prepare("a.yaml",
                       "concurrency: { group: deploy, cancel-in-progress: true }\n"
                       "tasks:\n  old: { run: old }\n");
  auto second = Prepare("b.yaml",
                        "concurrency: { group: deploy, cancel-in-progress: true }\n"
                        "tasks:\n  new: { run: new }\n");
  const std::string a = first.run.id, b = second.run.id;
  ASSERT_TRUE(e.Add(std::move(first), true).ok());
  ASSERT_TRUE(e.Add(std::move(second), true).ok());
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(store_->GetRun(a)->state, RunState::kCancelled);
  EXPECT_NE(store_->GetRun(a)->reason.find("takes its place in concurrency group 'deploy'"),
            std::string::npos)
      << store_->GetRun(a)->reason;
  EXPECT_EQ(store_->GetRun(b)->state, RunState::kSucceeded);
  EXPECT_EQ(runner_.started, (std::vector<std::string>{"new"}));
}

// A dead relay's attempts: one still running under its keeper is adopted
// (not started again), one that ended while no relay ran is recorded with
// its real result and end time; neither uses another attempt.
TEST_F(EngineTest, AResumedRunAdoptsWhatItsKeeperKeptAndNeverRunsItAgain) {
  auto run = Prepare("p.yaml", R"(
tasks:
  long: { run: long }
  done: { run: done, retry: { attempts: 3, delay: 0s } }
  after: { needs: [long, done], if: "${{ always() }}", run: after }
)");
  const std::string id = run.run.id;
  {
    // A relay that started both and died.
    Engine dead(store_.get(), &runner_, &clock_, Options());
    runner_.Script("long", {{.duration = 100 * kSecond}});
    runner_.Script("done", {{.duration = 100 * kSecond}});
    Hook hook;
    hook.after_commit = [&] { throw std::runtime_error("relay died"); };
    dead.AddObserver(&hook);
    ASSERT_TRUE(dead.Add(std::move(run), true).ok());
    EXPECT_THROW((void)dead.RunUntilIdle(), std::runtime_error);
  }
  auto before = Tasks(id);
  ASSERT_EQ(before["long"].state, TaskState::kRunning);
  ASSERT_EQ(before["long"].started_by, "test:1:1");
  testing::FakeRunner runner(&clock_);
  runner.Adoptable("test:1:1", {id, 0, 1}, {.duration = 5 * kSecond}, /*finished=*/false);
  const Micros real_end = clock_.Now() + 2 * kSecond;
  runner.Adoptable("test:1:1", {id, 1, 1}, {.exit_code = 4, .duration = 2 * kSecond},
                   /*finished=*/true, real_end);
  // Long enough for the dead relay's heartbeat to be stale (it is on
  // another "host": only its heartbeat tells).
  clock_.Advance(2 * Options().lease);
  EngineOptions o = Options();
  o.owner = "test:2:2";
  Engine e(store_.get(), &runner, &clock_, o);
  auto result = e.Execute(id);
  ASSERT_TRUE(result.ok()) << result.status().message();
  auto t = Tasks(id);
  EXPECT_EQ(t["long"].state, TaskState::kSucceeded);
  EXPECT_EQ(t["long"].attempts, 1);
  // Attempt 1 of `done` ended with its own exit code and end time while no
  // relay ran; that failure (not a loss) is what was retried, once.
  bool recorded = false;
  for (const auto& ev : Events(id)) {
    if (ev.subject != "done" || ev.from != "running") continue;
    recorded =
        ev.to == "retry_wait" && ev.cause == "retry" &&
        ev.data.find("\"exit_code\":4") != std::string::npos &&
        ev.data.find("\"duration_us\":" + std::to_string(real_end - before["done"].started_at)) !=
            std::string::npos;
    break;
  }
  EXPECT_TRUE(recorded);
  EXPECT_EQ(t["done"].attempts, 2);
  EXPECT_EQ(t["done"].state, TaskState::kSucceeded);
  EXPECT_EQ(runner.adopt_requests.size(), 2u);
  EXPECT_EQ(std::count(runner.started.begin(), runner.started.end(), "long"), 0);
  EXPECT_EQ(runner.acknowledged.size(), runner.started.size() + 2);
}

// The keeper died under a live relay: what it ran is lost (to be retried by
// a resume, which adopts or kills what is left), and nothing more starts —
// the engine stops with an error rather than lose attempt after attempt.
TEST_F(EngineTest, WhenItsKeeperDiesTheEngineRecordsTheLossAndStops) {
  runner_.Script("t", {{.keeper_lost = true}, {}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto run =
      Prepare("p.yaml", "tasks:\n  t: { run: t, retry: { attempts: 1 } }\n  u: { run: u }\n");
  const std::string id = run.run.id;
  ASSERT_TRUE(e.Add(std::move(run), true).ok());
  Status st = e.RunUntilIdle();
  EXPECT_EQ(st.code(), Code::kIo);
  EXPECT_NE(st.message().find("keeper of this relay died"), std::string::npos) << st.message();
  auto t = Tasks(id)["t"];
  // Lost, to be retried (a lost attempt does not use up retry.attempts), but
  // not started again here.
  EXPECT_TRUE(t.state == TaskState::kRetryWait || t.state == TaskState::kQueued)
      << state::Name(t.state);
  EXPECT_EQ(std::count(runner_.started.begin(), runner_.started.end(), "t"), 1);
  bool lost = false;
  for (const auto& ev : Events(id)) lost = lost || ev.cause == "keeper_died";
  EXPECT_TRUE(lost);
  // A resume (with a keeper) finishes the run.
  testing::FakeRunner fresh(&clock_);
  clock_.Advance(2 * Options().lease);
  EngineOptions o = Options();
  o.owner = "test:2:2";
  Engine again(store_.get(), &fresh, &clock_, o);
  auto result = again.Execute(id);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
  EXPECT_EQ(Tasks(id)["t"].attempts, 2);
}

// Another process holding the store's write lock: the engine waits it out
// (its attempts keep running), then commits; nothing is lost or killed.
TEST_F(EngineTest, ABusyStoreIsWaitedOutAndThenCommitted) {
  auto holder = store::sqlite::SqliteStore::Open(dir_.Join("relay.db"), {});
  ASSERT_TRUE(holder.ok());
  runner_.Script("a", {{.duration = 1 * kSecond}});
  Engine e(store_.get(), &runner_, &clock_, Options());
  auto run = Prepare("p.yaml", "tasks:\n  a: { run: a }\n  b: { needs: [a], run: b }\n");
  const std::string id = run.run.id;
  ASSERT_TRUE(e.Add(std::move(run), true).ok());
  Hook hook;
  int commits_while_held = 0;
  hook.after_commit = [&] {
    ASSERT_TRUE((*holder)->TEST_Exec("BEGIN IMMEDIATE").ok());
    commits_while_held = 1;
  };
  class Release : public sched::Observer {
   public:
    explicit Release(std::function<void()> f) : f_(std::move(f)) {}
    void OnNotice(const std::string& text) override {
      if (text.find("busy") != std::string::npos && f_) {
        auto f = std::move(f_);
        f_ = nullptr;
        f();
      }
    }

   private:
    std::function<void()> f_;
  } release([&] { ASSERT_TRUE((*holder)->TEST_Exec("COMMIT").ok()); });
  e.AddObserver(&hook);
  e.AddObserver(&release);
  ASSERT_TRUE(e.RunUntilIdle().ok());
  EXPECT_EQ(commits_while_held, 1);
  EXPECT_EQ(store_->GetRun(id)->state, RunState::kSucceeded);
}

TEST_F(EngineTest, AStoreBusyPastTheLimitStopsTheEngineCleanlyAndResumably) {
  auto holder = store::sqlite::SqliteStore::Open(dir_.Join("relay.db"), {});
  ASSERT_TRUE(holder.ok());
  runner_.Script("a", {{.duration = 1 * kSecond}});
  EngineOptions o = Options();
  o.busy_limit = 2 * kSecond;
  auto run = Prepare("p.yaml", "tasks:\n  a: { run: a }\n  b: { needs: [a], run: b }\n");
  const std::string id = run.run.id;
  {
    Engine e(store_.get(), &runner_, &clock_, o);
    ASSERT_TRUE(e.Add(std::move(run), true).ok());
    Hook hook;
    hook.after_commit = [&] { ASSERT_TRUE((*holder)->TEST_Exec("BEGIN IMMEDIATE").ok()); };
    e.AddObserver(&hook);
    Status st = e.RunUntilIdle();
    EXPECT_EQ(st.code(), Code::kBusy);
    EXPECT_NE(st.message().find("relay resume"), std::string::npos) << st.message();
  }
  ASSERT_TRUE((*holder)->TEST_Exec("COMMIT").ok());
  // What was committed is consistent: a was running when the lock came.
  EXPECT_EQ(Tasks(id)["a"].state, TaskState::kRunning);
  Engine again(store_.get(), &runner_, &clock_, Options());
  auto result = again.Execute(id);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, RunState::kSucceeded);
}

}  // namespace
}  // namespace relay::engine
