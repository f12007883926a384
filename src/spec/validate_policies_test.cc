// approval:, concurrency: and the pipeline's outputs: each good form loads
// into its typed value; each bad form gives its exact position and message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace relay::spec {
namespace {

using ::testing::ElementsAre;
using testing::Errors;
using ::testing::IsEmpty;
using testing::MustLoad;

TEST(Approval, GoodForms) {
  Pipeline p = MustLoad(R"(
tasks:
  a: { run: x, approval: true }
  b: { run: x, approval: false }
  gate:
    approval:
      reviewers: [alice, bob]
      required: 2
      timeout: 24h
      on_timeout: approve
      allow_self: false
  c: { approval: { reviewers: carol } }
  d: { approval: {} }
)");
  const TaskSpec& a = p.tasks[0];
  ASSERT_TRUE(a.approval.has_value());
  EXPECT_EQ(a.approval->mark.line, 3);
  EXPECT_EQ(a.approval->mark.col, 16);
  EXPECT_TRUE(a.approval->reviewers.empty());
  EXPECT_EQ(a.approval->required, 1);
  EXPECT_FALSE(a.approval->timeout.has_value());
  EXPECT_EQ(a.approval->on_timeout, ApprovalSpec::OnTimeout::kReject);
  EXPECT_TRUE(a.approval->allow_self);
  EXPECT_FALSE(p.tasks[1].approval.has_value());
  // An approval-only task: no command, it succeeds once approved.
  const TaskSpec& gate = p.tasks[2];
  EXPECT_TRUE(gate.steps.empty());
  ASSERT_TRUE(gate.approval.has_value());
  EXPECT_EQ(gate.approval->reviewers, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(gate.approval->required, 2);
  EXPECT_EQ(gate.approval->timeout, 24 * kHour);
  EXPECT_EQ(gate.approval->on_timeout, ApprovalSpec::OnTimeout::kApprove);
  EXPECT_FALSE(gate.approval->allow_self);
  EXPECT_EQ(p.tasks[3].approval->reviewers, std::vector<std::string>{"carol"});
  EXPECT_EQ(p.tasks[4].approval->required, 1);
}

TEST(Approval, WrongKinds) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, approval: yes}\n  b: {run: x, approval: [al]}\n"
                     "  c: {run: x, approval: 1}\n  d: {run: x, approval: 'true'}\n"),
              ElementsAre("2:25: tasks.a.approval: expected true, false or a mapping, got a "
                          "string 'yes'",
                          "3:25: tasks.b.approval: expected true, false or a mapping, got a list",
                          "4:25: tasks.c.approval: expected true, false or a mapping, got a "
                          "number '1'",
                          "5:25: tasks.d.approval: expected true, false or a mapping, got a "
                          "string 'true'"));
}

TEST(Approval, BadFields) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    run: x\n    approval:\n      reviewer: al\n"
             "      required: 0\n      timeout: soon\n      on_timeout: approved\n"
             "      allow_self: maybe\n"),
      ElementsAre("5:7: tasks.a.approval: unknown key 'reviewer' [hint: did you mean "
                  "'reviewers'?]",
                  "6:17: tasks.a.approval.required: must be at least 1, got 0",
                  "7:16: tasks.a.approval.timeout: bad duration 'soon': use a number with a unit "
                  "(ms, s, m, h, d) such as 30s, 5m, 1h30m",
                  "8:19: tasks.a.approval.on_timeout: unknown on_timeout 'approved' [hint: did "
                  "you mean 'approve'?]",
                  "9:19: tasks.a.approval.allow_self: expected true or false, got a string "
                  "'maybe'"));
}

TEST(Approval, ReviewersAndRequiredAgree) {
  EXPECT_THAT(Errors("tasks:\n  a:\n    run: x\n    approval: {reviewers: [al, bo], required: 3}\n"
                     "  b: {run: x, approval: {reviewers: [], timeout: 0}}\n"
                     "  c: {run: x, approval: {reviewers: [al, '', al, '${{ inputs.x }}']}}\n"
                     "  d: {run: x, approval: {reviewers: al, required: 2}}\n"),
              ElementsAre("4:47: tasks.a.approval.required: 3 approvals required, but only 2 "
                          "reviewers are listed [hint: lower required, or add reviewers]",
                          "5:37: tasks.b.approval.reviewers: expected at least one reviewer "
                          "[hint: leave reviewers out to let anyone approve]",
                          "5:50: tasks.b.approval.timeout: must be more than 0",
                          "6:42: tasks.c.approval.reviewers: empty reviewer name [hint: write "
                          "the reviewer's user name]",
                          "6:46: tasks.c.approval.reviewers: reviewer 'al' is listed twice",
                          "6:50: tasks.c.approval.reviewers: ${{ }} is not evaluated in "
                          "reviewers: names are used as written [hint: write the reviewers' user "
                          "names]",
                          "7:51: tasks.d.approval.required: 2 approvals required, but only 1 "
                          "reviewer is listed [hint: lower required, or add reviewers]"));
}

TEST(Approval, OnTimeoutNeedsATimeout) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, approval: {on_timeout: approve}}\n"),
              ElementsAre("2:38: tasks.a.approval.on_timeout: on_timeout has no effect without a "
                          "timeout [hint: add approval.timeout (e.g. timeout: 24h), or remove "
                          "on_timeout]"));
}

// A task with only an approval runs nothing: keys that shape a command are
// errors there, not silently ignored.
TEST(Approval, AnApprovalOnlyTaskHasNoCommandKeys) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    approval: true\n    timeout: 1h\n    retry: 2\n    env: {A: b}\n"
             "    shell: bash\n    cwd: x\n    outputs: [o]\n"),
      ElementsAre("4:5: tasks.a: timeout is not supported on an approval-only task: it runs no "
                  "command [hint: to limit the wait for a decision, set approval.timeout]",
                  "5:5: tasks.a: retry is not supported on an approval-only task: it runs no "
                  "command",
                  "6:5: tasks.a: env is not supported on an approval-only task: it runs no command",
                  "7:5: tasks.a: shell is not supported on an approval-only task: it runs no "
                  "command",
                  "8:5: tasks.a: cwd is not supported on an approval-only task: it runs no command",
                  "9:5: tasks.a: outputs is not supported on an approval-only task: it runs no "
                  "command"));
  // approval: false is no approval: the task has nothing to do.
  EXPECT_THAT(Errors("tasks:\n  a: {approval: false}\n"),
              ElementsAre("2:3: tasks.a: missing 'run', 'steps', 'uses' or 'approval': a task "
                          "needs a command, a sub-pipeline or an approval"));
  // A wrong kind of approval is that error alone.
  EXPECT_THAT(Errors("tasks:\n  a: {approval: yes}\n"),
              ElementsAre("2:17: tasks.a.approval: expected true, false or a mapping, got a "
                          "string 'yes'"));
}

TEST(Concurrency, GoodForms) {
  Pipeline p = MustLoad(R"(
inputs: { target: staging }
concurrency: deploy-${{ inputs.target }}
tasks:
  a:
    run: x
    concurrency: { group: a, cancel-in-progress: true }
  b:
    run: x
    matrix: { shard: [1, 2] }
    concurrency: { group: "b-${{ matrix.shard }}", limit: 3, on_conflict: skip }
  c:
    run: x
    concurrency: { group: c, cancel-in-progress: false }
  d:
    run: x
    concurrency: { group: d, cancel-in-progress: true, on_conflict: cancel-running }
)");
  ASSERT_TRUE(p.concurrency.has_value());
  EXPECT_EQ(p.concurrency->group.value, "deploy-${{ inputs.target }}");
  EXPECT_EQ(p.concurrency->group.mark.line, 3);
  EXPECT_EQ(p.concurrency->group.mark.col, 14);
  EXPECT_EQ(p.concurrency->mark.line, 3);
  EXPECT_EQ(p.concurrency->mark.col, 1);
  EXPECT_EQ(p.concurrency->limit, 1);
  EXPECT_EQ(p.concurrency->on_conflict, ConcurrencySpec::OnConflict::kQueue);
  const auto& a = *p.tasks[0].concurrency;
  EXPECT_EQ(a.group.value, "a");
  EXPECT_EQ(a.on_conflict, ConcurrencySpec::OnConflict::kCancelRunning);
  const auto& b = *p.tasks[1].concurrency;
  EXPECT_EQ(b.limit, 3);
  EXPECT_EQ(b.on_conflict, ConcurrencySpec::OnConflict::kSkip);
  EXPECT_EQ(p.tasks[2].concurrency->on_conflict, ConcurrencySpec::OnConflict::kQueue);
  EXPECT_EQ(p.tasks[3].concurrency->on_conflict, ConcurrencySpec::OnConflict::kCancelRunning);
}

TEST(Concurrency, BadForms) {
  EXPECT_THAT(
      Errors("concurrency: [a]\ntasks:\n  a: {run: x, concurrency: '  '}\n"
             "  b: {run: x, concurrency: {limit: 0}}\n"
             "  c: {run: x, concurrency: {group: c, on_conflict: queu}}\n"
             "  d: {run: x, concurrency: {group: d, on_conflict: cancel}}\n"
             "  e: {run: x, concurrency: {group: e, cancel_in_progress: true}}\n"
             "  f: {run: x, concurrency: {group: f, cancel-in-progress: yes}}\n"
             "  g: {run: x, concurrency: {group: ''}}\n"),
      ElementsAre(
          "1:14: concurrency: expected a group name or a mapping with 'group', got a list",
          "3:28: tasks.a.concurrency: the group must not be empty [hint: name the group, e.g. "
          "deploy-${{ inputs.target }}]",
          "4:28: tasks.b.concurrency: missing 'group' [hint: name the group, e.g. group: deploy]",
          "4:36: tasks.b.concurrency.limit: must be at least 1, got 0",
          "5:52: tasks.c.concurrency.on_conflict: unknown on_conflict 'queu' [hint: did you mean "
          "'queue'?]",
          "6:52: tasks.d.concurrency.on_conflict: unknown on_conflict 'cancel' [hint: use queue, "
          "cancel-running or skip]",
          "7:39: tasks.e.concurrency: unknown key 'cancel_in_progress' [hint: did you mean "
          "'cancel-in-progress'?]",
          "8:59: tasks.f.concurrency.cancel-in-progress: expected true or false, got a string "
          "'yes'",
          "9:36: tasks.g.concurrency.group: the group must not be empty [hint: name the group, "
          "e.g. deploy-${{ inputs.target }}]"));
}

TEST(Concurrency, ActionsAndRelayFormsMustNotContradict) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    run: x\n    concurrency:\n      group: a\n"
             "      cancel-in-progress: true\n      on_conflict: queue\n"
             "  b:\n    run: x\n    concurrency:\n      group: b\n"
             "      cancel-in-progress: false\n      on_conflict: cancel-running\n"),
      ElementsAre("7:20: tasks.a.concurrency.on_conflict: on_conflict: queue contradicts "
                  "cancel-in-progress: true (which means on_conflict: cancel-running) [hint: keep "
                  "one of the two]",
                  "13:20: tasks.b.concurrency.on_conflict: on_conflict: cancel-running "
                  "contradicts cancel-in-progress: false [hint: keep one of the two]"));
}

// The top level's group is rendered when the run is created; a task's when
// the task is otherwise ready, as its if: is.
TEST(Concurrency, WhatGroupsMayRead) {
  EXPECT_THAT(
      Errors("inputs: {t: x}\nenv: {A: b}\n"
             "concurrency: ${{ inputs.t }}-${{ env.A }}-${{ run.id }}-${{ matrix.x }}\n"
             "tasks:\n  a: {run: x, outputs: [o]}\n"
             "  b:\n    needs: a\n    matrix: {x: [1]}\n    env: {MINE: x}\n    run: x\n"
             "    concurrency: ${{ needs.a.outputs.o }}-${{ matrix.x }}-${{ env.A }}-${{ "
             "env.MINE }}\n"),
      ElementsAre("3:61: concurrency: 'matrix' is only available in a task with a matrix",
                  "11:76: tasks.b.concurrency: env.MINE is not available in a task's "
                  "concurrency, which reads only the pipeline's env [hint: move MINE to the "
                  "pipeline's env]"));
  EXPECT_THAT(Errors("concurrency: {group: '${{ needs.a.result }}'}\ntasks: {a: {run: x}}\n"),
              ElementsAre("1:27: concurrency.group: 'needs' is only available in tasks"));
}

TEST(PipelineOutputs, GoodForms) {
  Pipeline p = MustLoad(R"(
inputs: { target: staging }
env: { LEVEL: info }
outputs:
  version: ${{ tasks.build.outputs.version }}
  report:
    value: ${{ tasks.test.result }}-${{ inputs.target }}-${{ env.LEVEL }}-${{ run.id }}
    description: how the tests went
  literal: fixed
tasks:
  build: { run: make, outputs: [version] }
  test: { run: make test, matrix: { shard: [1, 2] } }
)");
  ASSERT_EQ(p.outputs.size(), 3u);
  EXPECT_EQ(p.outputs[0].name, "version");
  EXPECT_EQ(p.outputs[0].value.value, "${{ tasks.build.outputs.version }}");
  EXPECT_EQ(p.outputs[0].value.mark.line, 5);
  EXPECT_EQ(p.outputs[0].value.mark.col, 12);
  EXPECT_EQ(p.outputs[0].description, "");
  EXPECT_EQ(p.outputs[1].name, "report");
  EXPECT_EQ(p.outputs[1].value.mark.line, 7);
  EXPECT_EQ(p.outputs[1].description, "how the tests went");
  EXPECT_EQ(p.outputs[2].value.value, "fixed");
}

TEST(PipelineOutputs, BadForms) {
  EXPECT_THAT(Errors("outputs: [version]\ntasks: {a: {run: x}}\n"),
              ElementsAre("1:10: outputs: expected a mapping of output names to values, got a "
                          "list [hint: map each name to a value: outputs: { version: ${{ "
                          "tasks.build.outputs.version }} }]"));
  EXPECT_THAT(
      Errors("outputs:\n  'bad name': x\n  empty:\n  list: [a]\n  nov: {description: d}\n"
             "  typo: {value: x, descripton: d}\n  deep: {value: [x]}\ntasks: {a: {run: x}}\n"),
      ElementsAre("2:3: outputs: invalid output name 'bad name' [hint: use letters, digits, '_' "
                  "and '-', starting with a letter or '_']",
                  "3:3: outputs.empty: expected a value such as ${{ tasks.build.outputs.version "
                  "}}, got an empty value [hint: or a mapping with 'value' and 'description']",
                  "4:9: outputs.list: expected a value such as ${{ tasks.build.outputs.version }}, "
                  "got a list [hint: or a mapping with 'value' and 'description']",
                  "5:8: outputs.nov: missing 'value' [hint: e.g. value: ${{ "
                  "tasks.build.outputs.version }}]",
                  "6:20: outputs.typo: unknown key 'descripton' [hint: did you mean "
                  "'description'?]",
                  "7:17: outputs.deep.value: expected a value such as ${{ "
                  "tasks.build.outputs.version }}, got a list"));
}

TEST(PipelineOutputs, WhatTheyMayRead) {
  EXPECT_THAT(
      Errors("env: {A: b}\noutputs:\n"
             "  a: ${{ tasks.biuld.result }}\n"
             "  b: ${{ tasks.build.outputs.versoin }}\n"
             "  c: ${{ tasks.build.reslt }}\n"
             "  d: ${{ needs.build.result }}\n"
             "  e: ${{ matrix.x }}\n"
             "  f: ${{ env.B }}\n"
             "  g: ${{ taks.build.result }}\n"
             "  h: ${{ tasks.test.outputs.any }}\n"
             "tasks:\n  build: {run: x, outputs: [version]}\n  test: {run: x}\n"
             "  use: {run: 'echo ${{ tasks.build.result }}'}\n"),
      ElementsAre(
          "3:10: outputs.a: unknown task 'biuld' [hint: did you mean 'build'?]",
          "4:10: outputs.b: task 'build' has no output 'versoin' [hint: did you mean 'version'?]",
          "5:10: outputs.c: unknown property 'reslt' of tasks.build [hint: did you mean "
          "'result'?]",
          "6:10: outputs.d: 'needs' is not available in the pipeline's outputs [hint: read a "
          "task as tasks.<name>.outputs.<key> or tasks.<name>.result]",
          "7:10: outputs.e: 'matrix' is only available in a task with a matrix [hint: read a "
          "task's outputs as tasks.<name>.outputs.<key>]",
          "8:10: outputs.f: unknown env variable 'B' [hint: declare it under the pipeline's "
          "'env:']",
          "9:10: outputs.g: unknown name 'taks' [hint: did you mean 'tasks'?]",
          "10:10: outputs.h: task 'test' has no output 'any' [hint: declare it in "
          "tasks.test.outputs]",
          "14:24: tasks.use.run: 'tasks' is only available in the pipeline's outputs [hint: in "
          "a task, read another task through needs.<name>]"));
}

}  // namespace
}  // namespace relay::spec
