#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "state/run.h"
#include "state/task.h"

namespace relay::state {
namespace {

template <typename S>
void ExpectTableIsConsistent(const Machine<S>& m) {
  std::set<std::string_view> names(m.names.begin(), m.names.end());
  EXPECT_EQ(names.size(), m.names.size()) << "duplicate state name in " << m.entity;
  for (const auto& e : m.edges) {
    EXPECT_FALSE(e.cause.empty());
    EXPECT_FALSE(e.meaning.empty());
    // Every row is allowed, and only with its own cause.
    EXPECT_TRUE(m.Allows(e.from, e.to, e.cause));
    EXPECT_FALSE(m.Allows(e.from, e.to, "no_such_cause"));
  }
  for (size_t i = 0; i < m.names.size(); ++i) {
    S s = static_cast<S>(i);
    EXPECT_EQ(m.Parse(m.Name(s)), s);
  }
  EXPECT_FALSE(m.Parse("bogus").has_value());
}

// Every (from, to) pair not in the table is refused.
template <typename S>
int CountRefusedPairs(const Machine<S>& m) {
  int refused = 0;
  for (size_t f = 0; f < m.names.size(); ++f) {
    for (size_t t = 0; t < m.names.size(); ++t) {
      bool in_table = false;
      for (const auto& e : m.edges)
        in_table = in_table || (e.from == static_cast<S>(f) && e.to == static_cast<S>(t));
      EXPECT_EQ(m.AllowsPair(static_cast<S>(f), static_cast<S>(t)), in_table)
          << m.Name(static_cast<S>(f)) << " -> " << m.Name(static_cast<S>(t));
      if (!in_table) ++refused;
    }
  }
  return refused;
}

// The compiled index (pairs, finals) says what scanning the table says, for
// every pair with every cause the table knows.
template <typename S>
void ExpectIndexMatchesTable(const Machine<S>& m) {
  ASSERT_FALSE(m.pair_start.empty()) << m.entity;
  ASSERT_NE(m.final_mask, 0u) << m.entity;
  Machine<S> scanned{m.entity, m.names, m.finals, m.edges};
  for (size_t f = 0; f < m.names.size(); ++f) {
    const S from = static_cast<S>(f);
    EXPECT_EQ(m.IsFinal(from), scanned.IsFinal(from)) << m.Name(from);
    for (size_t t = 0; t < m.names.size(); ++t) {
      const S to = static_cast<S>(t);
      for (const auto& e : m.edges) {
        EXPECT_EQ(m.Allows(from, to, e.cause), scanned.Allows(from, to, e.cause))
            << m.Name(from) << " -> " << m.Name(to) << " (" << e.cause << ")";
      }
    }
  }
  EXPECT_FALSE(m.Allows(static_cast<S>(m.names.size()), static_cast<S>(0), m.edges[0].cause));
}

TEST(TaskMachine, IndexMatchesTheTable) { ExpectIndexMatchesTable(TaskMachine()); }
TEST(RunMachine, IndexMatchesTheTable) { ExpectIndexMatchesTable(RunMachine()); }

TEST(TaskMachine, TableIsConsistent) { ExpectTableIsConsistent(TaskMachine()); }
TEST(RunMachine, TableIsConsistent) { ExpectTableIsConsistent(RunMachine()); }

TEST(TaskMachine, RefusesEveryPairOutsideTheTable) {
  EXPECT_GT(CountRefusedPairs(TaskMachine()), 60);
}
TEST(RunMachine, RefusesEveryPairOutsideTheTable) {
  EXPECT_GT(CountRefusedPairs(RunMachine()), 20);
}

TEST(TaskMachine, TheLifecycleOfDesignSection3) {
  const auto& m = TaskMachine();
  EXPECT_TRUE(m.Allows(TaskState::kPending, TaskState::kQueued, cause::kNeedsMet));
  EXPECT_TRUE(m.Allows(TaskState::kQueued, TaskState::kClaimed, cause::kClaimed));
  EXPECT_TRUE(m.Allows(TaskState::kClaimed, TaskState::kRunning, cause::kStarted));
  EXPECT_TRUE(m.Allows(TaskState::kRunning, TaskState::kSucceeded, cause::kExitZero));
  EXPECT_TRUE(m.Allows(TaskState::kRunning, TaskState::kRetryWait, cause::kRetry));
  EXPECT_TRUE(m.Allows(TaskState::kRetryWait, TaskState::kQueued, cause::kBackoffElapsed));
  EXPECT_TRUE(m.Allows(TaskState::kRunning, TaskState::kLost, cause::kOwnerDied));
  EXPECT_TRUE(m.Allows(TaskState::kLost, TaskState::kRetryWait, cause::kRetry));
  // Finished work never starts again; a pending task cannot skip the queue.
  EXPECT_FALSE(m.AllowsPair(TaskState::kSucceeded, TaskState::kRunning));
  EXPECT_FALSE(m.AllowsPair(TaskState::kPending, TaskState::kRunning));
  EXPECT_FALSE(m.AllowsPair(TaskState::kFailed, TaskState::kQueued));
  EXPECT_TRUE(IsFinal(TaskState::kSkipped));
  EXPECT_FALSE(IsFinal(TaskState::kRetryWait));
}

TEST(TaskMachine, TransitionOutsideTheTableIsAnErrorValueNotAnAbort) {
  EXPECT_EQ(
      CheckTransition(TaskMachine(), TaskState::kSucceeded, TaskState::kRunning, cause::kStarted),
      "internal error: task transition succeeded -> running (cause 'started') is not in "
      "the state table");
  EXPECT_EQ(
      CheckTransition(TaskMachine(), TaskState::kQueued, TaskState::kClaimed, cause::kClaimed), "");
  EXPECT_NE(
      CheckTransition(RunMachine(), RunState::kSucceeded, RunState::kRunning, run_cause::kResumed),
      "");
}

TEST(TaskMachine, KindsAddTheirStates) {
  const auto& m = TaskMachine();
  // Approvals: ready → waiting → ready (approved) or failed (rejected); an
  // approval-only task succeeds once approved.
  EXPECT_TRUE(m.Allows(TaskState::kQueued, TaskState::kWaitingApproval, cause::kApprovalRequired));
  EXPECT_TRUE(
      m.Allows(TaskState::kWaitingApproval, TaskState::kWaitingApproval, cause::kApprovalRecorded));
  EXPECT_TRUE(m.Allows(TaskState::kWaitingApproval, TaskState::kQueued, cause::kApproved));
  EXPECT_TRUE(m.Allows(TaskState::kWaitingApproval, TaskState::kFailed, cause::kRejected));
  EXPECT_FALSE(m.AllowsPair(TaskState::kWaitingApproval, TaskState::kRunning));
  // Concurrency groups: a queue that is not a failure.
  EXPECT_TRUE(m.Allows(TaskState::kQueued, TaskState::kBlocked, cause::kConcurrencyWait));
  EXPECT_TRUE(m.Allows(TaskState::kBlocked, TaskState::kQueued, cause::kConcurrencyFree));
  EXPECT_FALSE(m.AllowsPair(TaskState::kBlocked, TaskState::kClaimed));
  // Sub-pipelines wait for their child run, which decides their end.
  EXPECT_TRUE(m.Allows(TaskState::kQueued, TaskState::kWaitingChild, cause::kChildStarted));
  EXPECT_TRUE(m.Allows(TaskState::kWaitingChild, TaskState::kSucceeded, cause::kChildSucceeded));
  EXPECT_TRUE(m.Allows(TaskState::kWaitingChild, TaskState::kFailed, cause::kChildFailed));
  EXPECT_FALSE(m.AllowsPair(TaskState::kWaitingChild, TaskState::kQueued));
  // Every waiting state can be cancelled, and none is final.
  for (TaskState s : {TaskState::kWaitingApproval, TaskState::kBlocked, TaskState::kWaitingChild}) {
    EXPECT_TRUE(m.Allows(s, TaskState::kCancelled, cause::kCancelled)) << Name(s);
    EXPECT_FALSE(IsFinal(s)) << Name(s);
  }
}

TEST(RunMachine, QueuedRunsWaitForTheirGroup) {
  const auto& m = RunMachine();
  EXPECT_TRUE(m.Allows(RunState::kPending, RunState::kQueued, run_cause::kConcurrencyWait));
  EXPECT_TRUE(m.Allows(RunState::kQueued, RunState::kRunning, run_cause::kStarted));
  EXPECT_TRUE(m.Allows(RunState::kPending, RunState::kCancelled, run_cause::kConcurrencySkip));
  EXPECT_TRUE(m.Allows(RunState::kRunning, RunState::kCancelling, run_cause::kConcurrencyCancel));
  EXPECT_FALSE(m.AllowsPair(RunState::kQueued, RunState::kSucceeded));
}

// Every state that is not final can reach a final one through the table
// (no state a run could be stuck in), and a cancel reaches every waiting one.
template <typename S>
void ExpectEveryStateCanEnd(const Machine<S>& m) {
  for (size_t i = 0; i < m.names.size(); ++i) {
    std::set<size_t> seen{i}, frontier{i};
    bool reaches_final = m.IsFinal(static_cast<S>(i));
    while (!frontier.empty() && !reaches_final) {
      std::set<size_t> next;
      for (size_t f : frontier)
        for (const auto& e : m.edges)
          if (static_cast<size_t>(e.from) == f && seen.insert(static_cast<size_t>(e.to)).second)
            next.insert(static_cast<size_t>(e.to));
      for (size_t n : next) reaches_final = reaches_final || m.IsFinal(static_cast<S>(n));
      frontier = std::move(next);
    }
    EXPECT_TRUE(reaches_final) << m.entity << " state " << m.names[i] << " can never end";
  }
}

TEST(TaskMachine, EveryStateCanEnd) { ExpectEveryStateCanEnd(TaskMachine()); }
TEST(RunMachine, EveryStateCanEnd) { ExpectEveryStateCanEnd(RunMachine()); }

std::string RenderedDoc() {
  return "# State machines\n\n"
         "Generated from the tables in `src/state/` — do not edit by hand. The test\n"
         "`StateMachinesDoc.MatchesTheTables` fails when they differ; regenerate with\n"
         "`RELAY_UPDATE_DOCS=1 build/tests/state_test`.\n\n"
         "Every transition is committed in one store transaction with the entity's new\n"
         "state and its event. A transition not in its table is a bug in relay: it fails\n"
         "the run it belongs to, with the bad transition named in the run's reason, and\n"
         "never stops a relay that serves other runs. Ledger replay and `relay ledger\n"
         "verify` refuse events whose transition is not in these tables.\n\n" +
         RenderMarkdown(RunMachine()) + "\n" + RenderMarkdown(TaskMachine());
}

TEST(StateMachinesDoc, MatchesTheTables) {
  const char* src = std::getenv("RELAY_SOURCE_DIR");
  std::string path = std::string(src ? src : RELAY_SOURCE_DIR_FALLBACK) + "/docs/state-machines.md";
  if (std::getenv("RELAY_UPDATE_DOCS")) {
    std::ofstream(path) << RenderedDoc();
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), RenderedDoc()) << path << " is out of date";
}

}  // namespace
}  // namespace relay::state
