#include "store/task_record.h"

#include <gtest/gtest.h>

namespace relay::store {
namespace {

using state::TaskState;

TaskTransition To(TaskRow row, TaskState from, TaskState to, std::string cause,
                  TaskEffects effects = {}) {
  row.state = to;
  return TaskTransition{row, from, std::move(cause), std::move(effects)};
}

constexpr char kLogs[] = "/store/logs";

std::string Data(const TaskTransition& t) {
  std::string out;
  if (!AppendTaskData(t, kLogs, out)) return "not canonical";
  return out;
}

TEST(TaskRecordTest, EachTransitionRecordsItsEffectsInCanonicalOrder) {
  TaskRow r;
  r.name = "t";
  EXPECT_EQ(Data(To(r, TaskState::kPending, TaskState::kQueued, "needs_met")), "{}");
  TaskEffects claim;
  claim.owner = "w\"1";
  claim.lease_until = 99;
  EXPECT_EQ(Data(To(r, TaskState::kQueued, TaskState::kClaimed, "claimed", claim)),
            R"({"lease_until":99,"owner":"w\"1"})");
  TaskEffects start;
  start.attempt = 2;
  start.log = "/l/t.2.log";
  EXPECT_EQ(Data(To(r, TaskState::kClaimed, TaskState::kRunning, "started", start)),
            R"({"attempt":2,"log":"/l/t.2.log"})");
  r.started_at = 1000;
  TaskEffects end;
  end.ended_at = 1500;
  end.exit_code = -1;
  end.signal = 9;
  end.due_at = 7000;
  EXPECT_EQ(Data(To(r, TaskState::kRunning, TaskState::kRetryWait, "retry", end)),
            R"({"due_at":7000,"duration_us":500,"exit_code":-1,"signal":9})");
  TaskEffects ok;
  ok.ended_at = 1500;
  ok.exit_code = 0;
  ok.outputs = R"({"v":"1"})";
  EXPECT_EQ(Data(To(r, TaskState::kRunning, TaskState::kSucceeded, "exit_zero", ok)),
            R"({"duration_us":500,"exit_code":0,"outputs":{"v":"1"}})");
  TaskEffects reused;
  reused.exit_code = 0;
  reused.log = "/l/t.2.log";
  reused.outputs = R"({"v":"1"})";
  EXPECT_EQ(Data(To(r, TaskState::kPending, TaskState::kSucceeded, "reused", reused)),
            R"({"exit_code":0,"log":"/l/t.2.log","outputs":{"v":"1"}})");
  TaskEffects child;
  child.attempt = 1;
  child.child = "01CHILD";
  EXPECT_EQ(Data(To(r, TaskState::kQueued, TaskState::kWaitingChild, "child_started", child)),
            R"({"attempt":1,"child":"01CHILD"})");
  TaskEffects approval;
  approval.approver = "ana";
  approval.due_at = 5;  // not recorded: only entering waiting_approval sets a timeout
  TaskTransition approved =
      To(r, TaskState::kWaitingApproval, TaskState::kQueued, "approved", approval);
  approved.data.Add("comment", "ship it");
  EXPECT_EQ(Data(approved), R"({"approver":"ana","comment":"ship it"})");
  TaskTransition recorded = To(r, TaskState::kWaitingApproval, TaskState::kWaitingApproval,
                               "approval_recorded", approval);
  EXPECT_EQ(Data(recorded), R"({"approver":"ana"})") << "the timeout was set on entering";
  TaskEffects timeout;
  timeout.due_at = 5;
  EXPECT_EQ(
      Data(To(r, TaskState::kQueued, TaskState::kWaitingApproval, "approval_required", timeout)),
      R"({"due_at":5})");
}

// The scheduler and the replay share ApplyTaskEffects: what the scheduler
// makes of a row and what the fold of its recorded events makes of it are
// the same, transition by transition, whatever the kind of task.
TEST(TaskRecordTest, TheRowTheSchedulerKeepsIsTheRowTheLedgerRebuilds) {
  struct Step {
    TaskState to;
    const char* cause;
    TaskEffects fx;
    Micros ts;
  };
  TaskEffects claimed;
  TaskEffects running;
  running.attempt = 1;
  running.log = std::string(kLogs) + "/01R/0-t.1.log";
  TaskEffects failed;
  failed.ended_at = 250;
  failed.exit_code = 3;
  failed.due_at = 900;
  TaskEffects again;
  again.attempt = 2;
  again.log = "/elsewhere/t.2.log";
  TaskEffects ok;
  ok.ended_at = 1200;
  ok.exit_code = 0;
  ok.outputs = R"({"x":"1"})";
  TaskEffects wait;
  wait.due_at = 5000;
  TaskEffects ana, bo;
  ana.approver = "ana";
  bo.approver = "bo";
  const std::vector<std::vector<Step>> lives = {
      {{TaskState::kQueued, "needs_met", {}, 10},
       {TaskState::kClaimed, "claimed", claimed, 20},
       {TaskState::kRunning, "started", running, 20},
       {TaskState::kRetryWait, "retry", failed, 250},
       {TaskState::kQueued, "backoff_elapsed", {}, 900},
       {TaskState::kClaimed, "claimed", claimed, 900},
       {TaskState::kRunning, "started", again, 901},
       {TaskState::kSucceeded, "exit_zero", ok, 1300}},
      {{TaskState::kQueued, "needs_met", {}, 10},
       {TaskState::kWaitingApproval, "approval_required", wait, 11},
       {TaskState::kWaitingApproval, "approval_recorded", ana, 12},
       {TaskState::kQueued, "approved", bo, 13}},
  };
  for (const auto& life : lives) {
    TaskRow decided;
    decided.run_id = "01R";
    decided.name = "t";
    TaskRow folded = decided;
    for (const Step& step : life) {
      TaskTransition t = To(decided, decided.state, step.to, step.cause, step.fx);
      ApplyTaskEffects(&decided, step.to, step.cause, "why", step.ts, step.fx, kLogs, "me");
      t.row = decided;
      events::Event e;
      e.run_id = "01R";
      e.kind = "task";
      e.subject = "t";
      e.from = std::string(state::Name(t.from));
      e.to = std::string(state::Name(step.to));
      e.cause = step.cause;
      e.reason = "why";
      e.ts = step.ts;
      ASSERT_TRUE(AppendTaskData(t, kLogs, e.data));
      Status s = ApplyTaskEvent(e, kLogs, "me", &folded);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_EQ(folded.state, decided.state);
      EXPECT_EQ(folded.attempts, decided.attempts) << step.cause;
      EXPECT_EQ(folded.log_path, decided.log_path) << step.cause;
      EXPECT_EQ(folded.started_at, decided.started_at) << step.cause;
      EXPECT_EQ(folded.ended_at, decided.ended_at) << step.cause;
      EXPECT_EQ(folded.exit_code, decided.exit_code) << step.cause;
      EXPECT_EQ(folded.due_at, decided.due_at) << step.cause;
      EXPECT_EQ(folded.outputs_json, decided.outputs_json) << step.cause;
      EXPECT_EQ(folded.approved_by, decided.approved_by) << step.cause;
      EXPECT_EQ(folded.started_by, decided.started_by) << step.cause;
    }
  }
}

TEST(TaskRecordTest, AnEventOutsideTheTableIsNotFolded) {
  events::Event e;
  e.run_id = "01R";
  e.seq = 4;
  e.kind = "task";
  e.subject = "t";
  e.from = "queued";
  e.to = "succeeded";  // a pair the table does not have
  e.cause = "exit_zero";
  TaskRow row;
  row.state = TaskState::kQueued;
  Status s = ApplyTaskEvent(e, kLogs, "", &row);
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("a transition the task table does not have"), std::string::npos)
      << s.message();
  EXPECT_EQ(row.state, TaskState::kQueued);
}

TEST(TaskRecordTest, OnlyCanonicalJsonIsRecorded) {
  TaskEffects fx;
  fx.outputs = R"({"b":"1","a":"2"})";  // keys out of order
  EXPECT_EQ(Data(To(TaskRow{}, TaskState::kRunning, TaskState::kSucceeded, "exit_zero", fx)),
            "not canonical");
  TaskTransition t = To(TaskRow{}, TaskState::kPending, TaskState::kSkipped, "condition_false");
  t.data.AddJson("weird", "1.5");
  EXPECT_EQ(Data(t), "not canonical");
}

TEST(TaskRecordTest, ARowFollowsOnlyTheEventsOfItsState) {
  events::Event e;
  e.run_id = "01R";
  e.seq = 4;
  e.kind = "task";
  e.subject = "t";
  e.from = "running";
  e.to = "succeeded";
  TaskRow row;  // pending: an event from `running` skipped the ones between
  Status s = ApplyTaskEvent(e, kLogs, "", &row);
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("but the task is pending"), std::string::npos) << s.message();
}

TEST(TaskRecordTest, AnImpossibleDurationIsCorruptNotAnOverflow) {
  events::Event e;
  e.run_id = "01R";
  e.seq = 9;
  e.ts = 5;
  e.kind = "task";
  e.subject = "t";
  e.from = "running";
  e.to = "failed";
  e.cause = "exit_nonzero";
  e.data = R"({"duration_us":9223372036854775807})";
  TaskRow row;
  row.state = TaskState::kRunning;
  row.started_at = 1796430154373595;
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, "", &row).code(), Code::kCorrupt) << row.ended_at;
}

TEST(TaskRecordTest, FactsAreMergedByKeyAndRecordedFieldsWin) {
  TaskRow r;
  TaskEffects fx;
  fx.attempt = 1;
  fx.log = "/l";
  TaskTransition t = To(r, TaskState::kClaimed, TaskState::kRunning, "started", fx);
  t.data.Add("a", 1).Add("attempt", 7).Add("b\"", "x").Add("zz", true);
  EXPECT_EQ(Data(t), R"({"a":1,"attempt":1,"b\"":"x","log":"/l","zz":true})");
}

TEST(TaskRecordTest, ApplyingTheEventRebuildsTheRecordedFields) {
  TaskRow before;
  before.name = "t";
  TaskRow after = before;
  after.attempts = 3;
  after.log_path = "/l/t.3.log";
  TaskEffects fx;
  fx.attempt = 3;
  fx.log = "/l/t.3.log";
  TaskTransition t = To(after, TaskState::kClaimed, TaskState::kRunning, "started", fx);
  events::Event e;
  e.kind = "task";
  e.subject = "t";
  e.from = "claimed";
  e.to = "running";
  e.cause = "started";
  e.reason = "attempt 3";
  e.ts = 4242;
  ASSERT_TRUE(AppendTaskData(t, kLogs, e.data));
  TaskRow got = before;
  got.state = TaskState::kClaimed;
  got.exit_code = 5;  // of the last attempt: cleared by a new one
  ASSERT_TRUE(ApplyTaskEvent(e, kLogs, "", &got).ok());
  EXPECT_EQ(got.state, TaskState::kRunning);
  EXPECT_EQ(got.attempts, 3);
  EXPECT_EQ(got.log_path, "/l/t.3.log");
  EXPECT_EQ(got.started_at, 4242);
  EXPECT_EQ(got.reason, "attempt 3");
  EXPECT_FALSE(got.exit_code.has_value());
}

// A running attempt of instance `index` of run 01R, logging where the store
// keeps logs.
TaskRow Running(int32_t index, const std::string& name, int32_t attempt) {
  TaskRow r;
  r.run_id = "01R";
  r.index = index;
  r.name = name;
  r.attempts = attempt;
  r.log_path = AttemptLogPath(kLogs, "01R", index, name, attempt);
  return r;
}

// The claimed → running transition that starts r's attempt, as the
// scheduler makes it (its effects name the attempt and its log).
TaskTransition Started(const TaskRow& r) {
  TaskEffects fx;
  fx.attempt = r.attempts;
  fx.log = r.log_path;
  return To(r, TaskState::kClaimed, TaskState::kRunning, "started", fx);
}

// The log path the ledger gives back for `r`: its claimed → running event
// folded onto the row as it was before (claimed, no path).
std::string FoldedLogPath(const TaskRow& r) {
  events::Event e;
  e.run_id = r.run_id;
  e.kind = "task";
  e.subject = r.name;
  e.from = "claimed";
  e.to = "running";
  e.cause = "started";
  e.data = Data(Started(r));
  TaskRow got = r;
  got.state = TaskState::kClaimed;
  got.log_path.clear();
  Status applied = ApplyTaskEvent(e, kLogs, "", &got);
  EXPECT_TRUE(applied.ok()) << applied.message();
  return got.log_path;
}

TEST(TaskRecordTest, ALogWhereTheStoreKeepsLogsNeedNotBeRecorded) {
  EXPECT_EQ(AttemptLogPath(kLogs, "01R", 3, "test[os=linux, n=2]", 2),
            "/store/logs/01R/3-test_os=linux__n=2_.2.log");
  TaskRow r = Running(3, "build", 2);
  TaskTransition t = Started(r);
  EXPECT_EQ(Data(t), R"({"attempt":2})");
  EXPECT_EQ(FoldedLogPath(r), r.log_path);
  // Anywhere else, the path is recorded.
  t.effects.log = "/elsewhere/build.2.log";
  EXPECT_EQ(Data(t), R"({"attempt":2,"log":"/elsewhere/build.2.log"})");
  t.effects.log = "";
  EXPECT_EQ(Data(t), R"({"attempt":2,"log":""})");

  // Names that are not file names, and paths that are almost the default.
  t.row.name = "test[os=linux, n=2]";
  t.row.index = 12;
  t.row.attempts = 10;
  t.effects.attempt = 10;
  t.effects.log = AttemptLogPath(kLogs, "01R", 12, t.row.name, 10);
  EXPECT_EQ(Data(t), R"({"attempt":10})");
  for (const char* near : {"/store/logs/01R/12-test_os=linux__n=2_.10.logx",
                           "/store/logs/01R/12-test_os=linux__n=2_.1.log",
                           "/store/logs/01R/1-test_os=linux__n=2_.10.log",
                           "/store/logs/01S/12-test_os=linux__n=2_.10.log",
                           "/store/logs/01R/12-test[os=linux, n=2].10.log"}) {
    t.effects.log = near;
    EXPECT_NE(Data(t), R"({"attempt":10})") << near;
  }
}

TEST(TaskRecordTest, ALongNameIsCutToFitAFileNameAndStillFoldsBack) {
  // A wide matrix leg: "INDEX-NAME.ATTEMPT.log" must stay within 255 bytes.
  std::string name = "integration[" + std::string(400, 'x') + "]";
  std::string path = AttemptLogPath(kLogs, "01R", 7, name, 3);
  std::string file = path.substr(path.rfind('/') + 1);
  EXPECT_EQ(file.size(), 255u);
  EXPECT_EQ(file.substr(0, 14), "7-integration_");
  EXPECT_EQ(file.substr(file.size() - 7), "x.3.log");
  // A name that fits is not cut.
  std::string fits(255 - 8, 'n');  // "7-" + name + ".3.log"
  EXPECT_EQ(AttemptLogPath(kLogs, "01R", 7, fits, 3),
            std::string(kLogs) + "/01R/7-" + fits + ".3.log");
  // Default paths are not recorded, and fold back to the same path.
  TaskRow r = Running(7, name, 3);
  EXPECT_EQ(r.log_path, path);
  EXPECT_EQ(Data(Started(r)), R"({"attempt":3})");
  EXPECT_EQ(FoldedLogPath(r), path);
}

TEST(TaskRecordTest, UnreadableEventsAreCorrupt) {
  events::Event e;
  e.run_id = "01R";
  e.seq = 9;
  e.subject = "t";
  e.from = "queued";
  e.to = "nonsense";
  TaskRow row;
  Status s = ApplyTaskEvent(e, kLogs, "", &row);
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("event 9"), std::string::npos) << s.message();
  e.to = "claimed";
  e.cause = "claimed";
  e.data = R"({"owner":5})";
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, "", &row).code(), Code::kCorrupt);
  e.data = "not json";
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, "", &row).code(), Code::kCorrupt);
}

}  // namespace
}  // namespace relay::store
