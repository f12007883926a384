#include "store/task_record.h"

#include <gtest/gtest.h>

namespace relay::store {
namespace {

using state::TaskState;

TaskTransition To(TaskRow row, TaskState from, TaskState to, std::string cause) {
  row.state = to;
  return TaskTransition{row, from, std::move(cause)};
}

constexpr char kLogs[] = "/store/logs";

std::string Data(const TaskTransition& t) {
  std::string out;
  if (!AppendTaskData(t, kLogs, out)) return "not canonical";
  return out;
}

TEST(TaskRecordTest, EachTransitionRecordsItsFieldsInCanonicalOrder) {
  TaskRow r;
  r.name = "t";
  EXPECT_EQ(Data(To(r, TaskState::kPending, TaskState::kQueued, "needs_met")), "{}");
  r.owner = "w\"1";
  r.lease_until = 99;
  EXPECT_EQ(Data(To(r, TaskState::kQueued, TaskState::kClaimed, "claimed")),
            R"({"lease_until":99,"owner":"w\"1"})");
  r.attempts = 2;
  r.log_path = "/l/t.2.log";
  r.started_at = 1000;
  EXPECT_EQ(Data(To(r, TaskState::kClaimed, TaskState::kRunning, "started")),
            R"({"attempt":2,"log":"/l/t.2.log"})");
  r.ended_at = 1500;
  r.exit_code = -1;
  r.signal = 9;
  r.due_at = 7000;
  EXPECT_EQ(Data(To(r, TaskState::kRunning, TaskState::kRetryWait, "retry")),
            R"({"due_at":7000,"duration_us":500,"exit_code":-1,"signal":9})");
  r.exit_code = 0;
  r.signal = 0;
  r.outputs_json = R"({"v":"1"})";
  EXPECT_EQ(Data(To(r, TaskState::kRunning, TaskState::kSucceeded, "exit_zero")),
            R"({"duration_us":500,"exit_code":0,"outputs":{"v":"1"}})");
  EXPECT_EQ(Data(To(r, TaskState::kPending, TaskState::kSucceeded, "reused")),
            R"({"exit_code":0,"log":"/l/t.2.log","outputs":{"v":"1"}})");
}

TEST(TaskRecordTest, OnlyCanonicalJsonIsRecorded) {
  TaskRow r;
  r.outputs_json = R"({"b":"1","a":"2"})";  // keys out of order
  EXPECT_EQ(Data(To(r, TaskState::kRunning, TaskState::kSucceeded, "exit_zero")), "not canonical");
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
  Status s = ApplyTaskEvent(e, kLogs, &row);
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
  e.data = R"({"duration_us":9223372036854775807})";
  TaskRow row;
  row.state = TaskState::kRunning;
  row.started_at = 1796430154373595;
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, &row).code(), Code::kCorrupt) << row.ended_at;
}

TEST(TaskRecordTest, FactsAreMergedByKeyAndRecordedFieldsWin) {
  TaskRow r;
  r.attempts = 1;
  r.log_path = "/l";
  TaskTransition t = To(r, TaskState::kClaimed, TaskState::kRunning, "started");
  t.data.Add("a", 1).Add("attempt", 7).Add("b\"", "x").Add("zz", true);
  EXPECT_EQ(Data(t), R"({"a":1,"attempt":1,"b\"":"x","log":"/l","zz":true})");
}

TEST(TaskRecordTest, ApplyingTheEventRebuildsTheRecordedFields) {
  TaskRow before;
  before.name = "t";
  TaskRow after = before;
  after.attempts = 3;
  after.log_path = "/l/t.3.log";
  TaskTransition t = To(after, TaskState::kClaimed, TaskState::kRunning, "started");
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
  ASSERT_TRUE(ApplyTaskEvent(e, kLogs, &got).ok());
  EXPECT_EQ(got.state, TaskState::kRunning);
  EXPECT_EQ(got.attempts, 3);
  EXPECT_EQ(got.log_path, "/l/t.3.log");
  EXPECT_EQ(got.started_at, 4242);
  EXPECT_EQ(got.reason, "attempt 3");
  EXPECT_FALSE(got.exit_code.has_value());
}

// A running attempt of instance `index` of run 01R, logging where the store
// keeps logs.
TaskRow Started(int32_t index, const std::string& name, int32_t attempt) {
  TaskRow r;
  r.run_id = "01R";
  r.index = index;
  r.name = name;
  r.attempts = attempt;
  r.log_path = AttemptLogPath(kLogs, "01R", index, name, attempt);
  return r;
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
  e.data = Data(To(r, TaskState::kClaimed, TaskState::kRunning, "started"));
  TaskRow got = r;
  got.state = TaskState::kClaimed;
  got.log_path.clear();
  Status applied = ApplyTaskEvent(e, kLogs, &got);
  EXPECT_TRUE(applied.ok()) << applied.message();
  return got.log_path;
}

TEST(TaskRecordTest, ALogWhereTheStoreKeepsLogsNeedNotBeRecorded) {
  EXPECT_EQ(AttemptLogPath(kLogs, "01R", 3, "test[os=linux, n=2]", 2),
            "/store/logs/01R/3-test_os=linux__n=2_.2.log");
  TaskRow r = Started(3, "build", 2);
  TaskTransition t = To(r, TaskState::kClaimed, TaskState::kRunning, "started");
  EXPECT_EQ(Data(t), R"({"attempt":2})");
  EXPECT_EQ(FoldedLogPath(r), r.log_path);
  // Anywhere else, the path is recorded.
  t.row.log_path = "/elsewhere/build.2.log";
  EXPECT_EQ(Data(t), R"({"attempt":2,"log":"/elsewhere/build.2.log"})");
  t.row.log_path.clear();
  EXPECT_EQ(Data(t), R"({"attempt":2,"log":""})");

  // Names that are not file names, and paths that are almost the default.
  t.row.name = "test[os=linux, n=2]";
  t.row.index = 12;
  t.row.attempts = 10;
  t.row.log_path = AttemptLogPath(kLogs, "01R", 12, t.row.name, 10);
  EXPECT_EQ(Data(t), R"({"attempt":10})");
  for (const char* near : {"/store/logs/01R/12-test_os=linux__n=2_.10.logx",
                           "/store/logs/01R/12-test_os=linux__n=2_.1.log",
                           "/store/logs/01R/1-test_os=linux__n=2_.10.log",
                           "/store/logs/01S/12-test_os=linux__n=2_.10.log",
                           "/store/logs/01R/12-test[os=linux, n=2].10.log"}) {
    t.row.log_path = near;
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
  TaskRow r = Started(7, name, 3);
  EXPECT_EQ(r.log_path, path);
  EXPECT_EQ(Data(To(r, TaskState::kClaimed, TaskState::kRunning, "started")), R"({"attempt":3})");
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
  Status s = ApplyTaskEvent(e, kLogs, &row);
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_NE(s.message().find("event 9"), std::string::npos) << s.message();
  e.to = "claimed";
  e.data = R"({"owner":5})";
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, &row).code(), Code::kCorrupt);
  e.data = "not json";
  EXPECT_EQ(ApplyTaskEvent(e, kLogs, &row).code(), Code::kCorrupt);
}

}  // namespace
}  // namespace relay::store
