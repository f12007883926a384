// One test per rule: each bad input gives the exact position, message and hint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace relay::spec {
namespace {

using ::testing::ElementsAre;
using testing::Errors;
using ::testing::IsEmpty;

TEST(ValidateTop, UnknownTopLevelKeyGetsSuggestion) {
  EXPECT_THAT(Errors("name: x\ntaks:\n  a: {run: x}\n"),
              ElementsAre("1:1: missing 'tasks': a pipeline needs at least one task [hint: add a "
                          "'tasks:' mapping, e.g. tasks: { build: { run: make } }]",
                          "2:1: unknown key 'taks' [hint: did you mean 'tasks'?]"));
}

TEST(ValidateTop, TasksMustBeANonEmptyMapping) {
  EXPECT_THAT(Errors("tasks: [a, b]\n"),
              ElementsAre("1:8: tasks: expected a mapping of task names to tasks, got a list"));
  EXPECT_THAT(Errors("tasks: {}\n"), ElementsAre("1:8: tasks: expected at least one task"));
  EXPECT_THAT(
      Errors("tasks:\n"),
      ElementsAre("1:1: tasks: expected a mapping of task names to tasks, got an empty value"));
}

TEST(ValidateTop, NameAndDescriptionAreStrings) {
  EXPECT_THAT(Errors("name: [a]\ndescription: {x: 1}\ntasks: {a: {run: x}}\n"),
              ElementsAre("1:7: name: expected a string, got a list",
                          "2:14: description: expected a string, got a mapping"));
  EXPECT_THAT(Errors("name: ''\ntasks: {a: {run: x}}\n"),
              ElementsAre("1:7: name: must not be empty"));
}

// Keys a GitHub Actions workflow has: the hint says what relay has instead.
TEST(ValidateTop, ActionsKeysSayWhatRelayHasInstead) {
  EXPECT_THAT(Errors("on: push\njobs:\n  a: {runs-on: x}\ntasks: {a: {run: x}}\n"),
              ElementsAre("1:1: unknown key 'on' [hint: triggers are not supported by 'relay "
                          "run' yet: it runs the pipeline when you start it; remove 'on']",
                          "2:1: unknown key 'jobs' [hint: relay calls them 'tasks']"));
}

TEST(ValidateInputs, UnknownKeyAndType) {
  EXPECT_THAT(
      Errors("inputs:\n  env: {type: strng, defualt: x}\ntasks: {a: {run: x}}\n"),
      ElementsAre("2:15: inputs.env.type: unknown type 'strng' [hint: did you mean 'string'?]",
                  "2:22: inputs.env: unknown key 'defualt' [hint: did you mean 'default'?]"));
}

TEST(ValidateInputs, ChoiceNeedsEnum) {
  EXPECT_THAT(Errors("inputs:\n  env: {type: choice}\ntasks: {a: {run: x}}\n"),
              ElementsAre("2:3: inputs.env: a choice input needs 'enum', the list of options"));
}

TEST(ValidateInputs, DefaultMustMatchTypeAndEnum) {
  EXPECT_THAT(
      Errors("inputs:\n"
             "  n: {type: number, default: many}\n"
             "  b: {type: boolean, default: 'yes'}\n"
             "  e: {type: choice, enum: [staging, production], default: prod}\n"
             "  s: {enum: [a, b], default: c}\n"
             "tasks: {a: {run: x}}\n"),
      ElementsAre(
          "2:30: inputs.n.default: expected a number for a number input, got a string 'many'",
          "3:31: inputs.b.default: expected true or false for a boolean input, got a string 'yes'",
          "4:59: inputs.e.default: 'prod' is not one of the options: staging, production [hint: "
          "use one of: staging, production]",
          "5:30: inputs.s.default: 'c' is not one of the options: a, b [hint: use one of: a, b]"));
}

TEST(ValidateInputs, EnumRules) {
  EXPECT_THAT(
      Errors("inputs:\n  n: {type: number, enum: [1, 2]}\n  s: {enum: []}\n  "
             "r: {required: yes}\ntasks: {a: {run: x}}\n"),
      ElementsAre("2:27: inputs.n.enum: enum is only allowed on string and choice inputs",
                  "3:13: inputs.s.enum: expected a non-empty list of options, got an empty list",
                  "4:17: inputs.r.required: expected true or false, got a string 'yes'"));
}

TEST(ValidateInputs, BadInputName) {
  EXPECT_THAT(Errors("inputs:\n  my input: 1\ntasks: {a: {run: x}}\n"),
              ElementsAre("2:3: inputs: invalid input name 'my input' [hint: use letters, digits, "
                          "'_' and '-', starting with a letter or '_']"));
}

TEST(ValidateEnvAndSecrets, Rules) {
  EXPECT_THAT(Errors("env:\n  GOOD: 1\n  BAD-NAME: x\n  LIST: [1]\n"
                     "secrets: [TOKEN, 'not ok']\ntasks: {a: {run: x}}\n"),
              ElementsAre("3:3: env: invalid environment variable name 'BAD-NAME' [hint: use "
                          "letters, digits and '_', starting with a letter or '_']",
                          "4:9: env.LIST: expected a string, got a list",
                          "5:18: secrets[1]: invalid environment variable name 'not ok' [hint: use "
                          "letters, digits and '_', starting with a letter or '_']"));
  EXPECT_THAT(
      Errors("secrets: TOKEN\ntasks: {a: {run: x}}\n"),
      ElementsAre("1:10: secrets: expected a list of environment variable names, got a string"));
}

TEST(ValidateDefaults, Rules) {
  EXPECT_THAT(Errors("defaults:\n  timeout: soon\n  shell: ''\n  retry: 0\n  cwdd: x\n"
                     "tasks: {a: {run: x}}\n"),
              ElementsAre("2:12: defaults.timeout: bad duration 'soon': use a number with a unit "
                          "(ms, s, m, h, d) such as 30s, 5m, 1h30m",
                          "3:10: defaults.shell: must not be empty",
                          "4:10: defaults.retry: must be at least 1, got 0",
                          "5:3: defaults: unknown key 'cwdd' [hint: did you mean 'cwd'?]"));
}

TEST(ValidateTask, UnknownKeyGetsSuggestion) {
  EXPECT_THAT(Errors("tasks:\n  build:\n    run: make\n    neds: [x]\n"),
              ElementsAre("4:5: tasks.build: unknown key 'neds' [hint: did you mean 'needs'?]"));
}

TEST(ValidateTask, ActionsKeysSayWhatRelayHasInstead) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    runs-on: ubuntu-latest\n    timeout-minutes: 30\n"
             "    strategy: {matrix: {os: [x]}}\n    uses: actions/checkout@v4\n"
             "    with: {fetch-depth: 0}\n    continue-on-error: true\n    max-parallel: 2\n"
             "    working-directory: src\n    run: make\n  b:\n    timeout-minutes: soon\n"
             "    steps:\n      - uses: actions/checkout@v4\n        with: {x: 1}\n"
             "      - {run: make, working-directory: src}\n"),
      ElementsAre(
          "3:5: tasks.a: unknown key 'runs-on' [hint: relay runs every task on this machine; "
          "remove it]",
          "4:5: tasks.a: unknown key 'timeout-minutes' [hint: use 'timeout: 30m']",
          "5:5: tasks.a: unknown key 'strategy' [hint: put 'matrix' (and 'max_parallel') "
          "directly under the task]",
          // A task's uses: runs a pipeline file; an action is a remote reference.
          "6:11: tasks.a.uses: 'actions/checkout@v4' is a remote reference: relay runs pipeline "
          "files, not remote workflows [hint: write the path of a pipeline file relative to this "
          "one (e.g. uses: ./ci/build.yaml), or the command itself in 'run']",
          "8:5: tasks.a: unknown key 'continue-on-error' [hint: did you mean "
          "'continue_on_error'?]",
          "9:5: tasks.a: unknown key 'max-parallel' [hint: did you mean 'max_parallel'?]",
          "10:5: tasks.a: unknown key 'working-directory' [hint: relay calls it 'cwd']",
          "11:5: tasks.a: use either 'uses' or 'run', not both: a sub-pipeline task runs the "
          "child's tasks [hint: put the command in a task of the child, or in a task of its own]",
          "13:5: tasks.b: unknown key 'timeout-minutes' [hint: use 'timeout: Nm']",
          // An Actions step gets the hint instead of "missing 'run'".
          "15:9: tasks.b.steps[0]: unknown key 'uses' [hint: relay has no actions; write the "
          "command in 'run']",
          "16:9: tasks.b.steps[0]: unknown key 'with' [hint: relay has no actions; write the "
          "command in 'run']",
          "17:21: tasks.b.steps[1]: unknown key 'working-directory' [hint: steps run in the "
          "task's 'cwd'; set it on the task]"));
}

// A command of only whitespace would run nothing and succeed.
TEST(ValidateTask, EmptyCommand) {
  EXPECT_THAT(
      Errors(
          "tasks:\n  a: {run: ''}\n  b: {run: \"  \\t \"}\n  c: {steps: ['', echo hi]}\n"
          "  d: {steps: [{name: x, run: ' '}]}\n  e:\n    run: |\n\n  f: {run: \"${{ '' }}\"}\n"),
      ElementsAre("2:12: tasks.a.run: empty command: the task would run nothing [hint: write the "
                  "command to run, e.g. run: make]",
                  "3:12: tasks.b.run: empty command: the task would run nothing [hint: write the "
                  "command to run, e.g. run: make]",
                  "4:15: tasks.c.steps[0]: empty command: the step would run nothing [hint: "
                  "write the command to run, or remove the step]",
                  "5:30: tasks.d.steps[0].run: empty command: the step would run nothing [hint: "
                  "write the command to run, or remove the step]",
                  "7:10: tasks.e.run: empty command: the task would run nothing [hint: write the "
                  "command to run, e.g. run: make]"));
}

TEST(ValidateTask, BadTaskName) {
  EXPECT_THAT(Errors("tasks:\n  1st:\n    run: x\n"),
              ElementsAre("2:3: tasks: invalid task name '1st' [hint: use letters, digits, '_' and "
                          "'-', starting with a letter or '_']"));
}

TEST(ValidateTask, ExactlyOneOfRunAndSteps) {
  EXPECT_THAT(Errors("tasks:\n  a:\n    timeout: 1m\n"),
              ElementsAre("2:3: tasks.a: missing 'run', 'steps', 'uses' or 'approval': a task "
                          "needs a command, a sub-pipeline or an approval"));
  EXPECT_THAT(Errors("tasks:\n  a:\n    run: x\n    steps: [y]\n"),
              ElementsAre("4:12: tasks.a: use either 'run' or 'steps', not both"));
  EXPECT_THAT(
      Errors("tasks:\n  a:\n"),
      ElementsAre("2:3: tasks.a: expected a mapping with 'run' or 'steps', got an empty value"));
  EXPECT_THAT(Errors("tasks:\n  a: make\n"),
              ElementsAre("2:6: tasks.a: expected a mapping with 'run' or 'steps', got a string"));
}

TEST(ValidateTask, StepsRules) {
  EXPECT_THAT(Errors("tasks:\n  a:\n    steps: []\n"),
              ElementsAre("3:12: tasks.a.steps: expected at least one step"));
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    steps:\n      - name: no run\n      - [x]\n      - {run: x, "
             "nam: y}\n"),
      ElementsAre("4:9: tasks.a.steps[0]: missing 'run'",
                  "5:9: tasks.a.steps[1]: expected a command or a mapping with 'run', got a list",
                  "6:18: tasks.a.steps[2]: unknown key 'nam' [hint: did you mean 'name'?]"));
}

TEST(ValidateTask, WrongTypes) {
  EXPECT_THAT(
      Errors(
          "tasks:\n  build:\n    run: make\n    timeout: [1]\n    max_parallel: 0\n"
          "    continue_on_error: maybe\n    outputs: version\n    shell: ''\n    needs: {a: 1}\n"
          "    if: [x]\n    run2: x\n"),
      ElementsAre(
          "4:14: tasks.build.timeout: expected a duration such as 30s or 10m, got a list",
          "5:19: tasks.build.max_parallel: must be at least 1, got 0",
          "6:24: tasks.build.continue_on_error: expected true or false, got a string 'maybe'",
          "7:14: tasks.build.outputs: expected a list of output names, got a string",
          "8:12: tasks.build.shell: must not be empty",
          "9:12: tasks.build.needs: expected a name or a list of names, got a mapping",
          "10:9: tasks.build.if: expected a condition (an expression or true/false), got a list",
          "11:5: tasks.build: unknown key 'run2' [hint: did you mean 'run'?]"));
}

TEST(ValidateTask, TimeoutValues) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, timeout: 10x}\n  b: {run: x, timeout: 0}\n"),
              ElementsAre("2:24: tasks.a.timeout: bad duration '10x': use a number with a unit "
                          "(ms, s, m, h, d) such as 30s, 5m, 1h30m",
                          "3:24: tasks.b.timeout: must be more than 0"));
}

TEST(ValidateTask, Outputs) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, outputs: [v, v, 'bad name']}\n"),
              ElementsAre("2:28: tasks.a.outputs[1]: output 'v' is listed twice",
                          "2:31: tasks.a.outputs[2]: invalid output name 'bad name' [hint: use "
                          "letters, digits, '_' and '-', starting with a letter or '_']"));
}

TEST(ValidateRetry, Rules) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    run: x\n    retry:\n      attempts: 0\n      backoff: exponentail\n"
             "      delay: 5s\n      max_delay: 1s\n      jitter: 1\n      on: [failure, crash]\n"
             "      exit_codes: [0, 2]\n      tries: 3\n"),
      ElementsAre("5:17: tasks.a.retry.attempts: must be at least 1, got 0",
                  "6:16: tasks.a.retry.backoff: unknown backoff 'exponentail' [hint: did you mean "
                  "'exponential'?]",
                  "8:18: tasks.a.retry.max_delay: is shorter than delay",
                  "9:15: tasks.a.retry.jitter: expected true or false, got a number '1'",
                  "10:21: tasks.a.retry.on: unknown failure kind 'crash' [hint: use failure, "
                  "timeout or lost]",
                  "11:20: tasks.a.retry.exit_codes[0]: must be at least 1, got 0",
                  "12:7: tasks.a.retry: unknown key 'tries'"));
}

TEST(ValidateRetry, MappingNeedsAttempts) {
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    run: x\n    retry:\n      delay: 1s\n"),
      ElementsAre("5:7: tasks.a.retry: missing 'attempts' (total tries, including the first)"));
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, retry: lots}\n"),
              ElementsAre("2:22: tasks.a.retry: expected an integer, got a string 'lots'"));
  EXPECT_THAT(
      Errors("tasks:\n  a: {run: x, retry: [1]}\n"),
      ElementsAre("2:22: tasks.a.retry: expected a number of attempts or a mapping, got a list"));
}

TEST(ValidateMatrix, Rules) {
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix:\n      os: []\n      v: 3\n      deep: [[1]]\n"
             "      exclude: [{oss: linux}]\n      include: [a]\n"),
      ElementsAre(
          "5:11: tasks.t.matrix.os: expected a non-empty list of values, got an empty list",
          "6:10: tasks.t.matrix.v: expected a non-empty list of values, got a number",
          "7:14: tasks.t.matrix.deep[0]: expected a value (string, number or boolean), got a list",
          "8:18: tasks.t.matrix.exclude[0]: unknown axis 'oss'",
          "9:17: tasks.t.matrix.include[0]: expected a mapping of matrix keys to values, got a "
          "string"));
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix: {}\n"),
              ElementsAre("4:13: tasks.t.matrix: expected at least one axis or 'include'"));
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix: [1, 2]\n"),
      ElementsAre(
          "4:13: tasks.t.matrix: expected a mapping of axes to lists of values, got a list"));
}

TEST(ValidateMatrix, ADynamicMatrixIsNamedAsSuch) {
  const std::string hint =
      " [hint: relay has no dynamic matrix (values from an expression or an upstream output); "
      "list the values, or loop over them inside one task]";
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix: ${{ fromJSON(inputs.m) }}\n"),
              ElementsAre("4:13: tasks.t.matrix: a matrix must be written in the file" + hint));
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix: { include: \"${{ fromJSON('[]') }}\" }\n"),
      ElementsAre("4:24: tasks.t.matrix.include: a matrix's entries must be written in the file" +
                  hint));
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix: { os: \"${{ fromJSON('[1]') }}\" }\n"),
      ElementsAre("4:19: tasks.t.matrix.os: a matrix axis must be a list written in the file" +
                  hint));
}

TEST(ValidateTask, XKeysAreTheUsersAsAtTheTopLevel) {
  EXPECT_THAT(Errors("tasks:\n  t:\n    x-owner: team-a\n    x-retry: &r { attempts: 2 }\n"
                     "    run: x\n    retry: *r\n"),
              IsEmpty());
  EXPECT_THAT(Errors("tasks:\n  t: { run: x, y-note: 1 }\n"),
              ElementsAre("2:16: tasks.t: unknown key 'y-note'"));
}

TEST(ValidateMatrix, ExcludeSuggestsAxis) {
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix:\n      shard: [1, 2]\n"
             "      exclude: [{shar: 1}]\n"),
      ElementsAre("6:18: tasks.t.matrix.exclude[0]: unknown axis 'shar' [hint: did you mean "
                  "'shard'?]"));
}

// A matrix of literal values that expands to nothing would make the task
// silently disappear (and its dependants see it as succeeded).
TEST(ValidateMatrix, ExcludingEveryCombinationIsAnError) {
  const std::string error =
      ": the matrix has no instances: exclude removes every combination [hint: leave at least "
      "one combination, or remove the task]";
  EXPECT_THAT(Errors("tasks:\n  a: { matrix: { os: [x], exclude: [{os: x}] }, run: echo a }\n"
                     "  b: { needs: a, run: 'echo ${{ needs.a.result }}' }\n"),
              ElementsAre("2:27: tasks.a.matrix.exclude" + error));
  // Several partial entries together; values match loosely, as the planner
  // matches them (1 is '1').
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix:\n      os: [a, b]\n      v: [1, 2]\n"
                     "      exclude: [{os: a}, {v: '1'}, {os: b, v: 2.0}]\n"),
              ElementsAre("7:7: tasks.t.matrix.exclude" + error));
  // An include brings a combination back; one combination left is enough.
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix:\n      os: [a]\n"
                     "      exclude: [{os: a}]\n      include: [{os: a}]\n"),
              IsEmpty());
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix:\n      os: [a, b]\n"
                     "      exclude: [{os: a}]\n"),
              IsEmpty());
}

std::string Axis(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
  return s + "]";
}

TEST(ValidateMatrix, TaskOverInstanceLimit) {
  EXPECT_THAT(
      Errors("tasks:\n  t:\n    run: x\n    matrix:\n      a: " + Axis(1000) +
             "\n      b: " + Axis(1000) + "\n      c: [1, 2]\n"),
      ElementsAre("4:5: tasks.t.matrix: expands to 2000000 instances, more than the limit of "
                  "1000000 per run [hint: split the matrix across tasks or pipelines, or "
                  "exclude combinations]"));
}

TEST(ValidateMatrix, ExcludesBringATaskUnderTheLimit) {
  EXPECT_THAT(Errors("tasks:\n  t:\n    run: x\n    matrix:\n      a: " + Axis(1000) +
                     "\n      b: " + Axis(1000) + "\n      c: [1, 2]\n      exclude: [{c: 2}]\n"),
              IsEmpty());
}

TEST(ValidateMatrix, PipelineOverInstanceLimit) {
  std::string task = "    run: x\n    matrix: {a: " + Axis(1000) + ", b: " + Axis(600) + "}\n";
  EXPECT_THAT(
      Errors("tasks:\n  t1:\n" + task + "  t2:\n" + task),
      ElementsAre("1:1: tasks: the pipeline expands to 1200000 task instances, more than the "
                  "limit of 1000000 per run [hint: split the pipeline or reduce its matrices]"));
}

TEST(ValidateMatrix, AstronomicalMatrix) {
  std::string yaml = "tasks:\n  t:\n    run: x\n    matrix:\n";
  for (int i = 0; i < 30; ++i) yaml += "      a" + std::to_string(i) + ": " + Axis(10) + "\n";
  EXPECT_THAT(
      Errors(yaml),
      ElementsAre("4:5: tasks.t.matrix: expands to more than 10^18 instances, more than the "
                  "limit of 1000000 per run [hint: split the matrix across tasks or "
                  "pipelines, or exclude combinations]"));
}

TEST(ValidateNeeds, UnknownTaskGetsSuggestion) {
  EXPECT_THAT(
      Errors("tasks:\n  build: {run: make}\n  test:\n    needs: [biuld]\n    run: x\n"),
      ElementsAre("4:13: tasks.test.needs: unknown task 'biuld' [hint: did you mean 'build'?]"));
}

TEST(ValidateNeeds, SelfAndDuplicate) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x}\n  b: {run: x, needs: [b, a, a]}\n"),
              ElementsAre("3:23: tasks.b.needs: task 'b' needs itself",
                          "3:29: tasks.b.needs: 'a' is listed twice"));
}

TEST(ValidateNeeds, CycleReportedOnceWithFullPath) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, needs: c}\n  b: {run: x, needs: a}\n"
                     "  c: {run: x, needs: [b]}\n  d: {run: x, needs: [a]}\n"),
              ElementsAre("2:22: tasks.a.needs: dependency cycle: a → c → b → a [hint: remove one "
                          "of these needs]"));
}

TEST(ValidateNeeds, TwoCyclesInOneComponentAndASeparateOne) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x, needs: [b, c]}\n  b: {run: x, needs: a}\n"
                     "  c: {run: x, needs: a}\n  x: {run: x, needs: y}\n  y: {run: x, needs: x}\n"),
              ElementsAre("2:23: tasks.a.needs: dependency cycle: a → b → a [hint: remove one of "
                          "these needs]",
                          "2:26: tasks.a.needs: dependency cycle: a → c → a [hint: remove one of "
                          "these needs]",
                          "5:22: tasks.x.needs: dependency cycle: x → y → x [hint: remove one of "
                          "these needs]"));
}

TEST(ValidateNeeds, LongChainHasNoStackProblem) {
  std::string yaml = "tasks:\n  t0: {run: x, needs: t19999}\n";
  for (int i = 1; i < 20000; ++i)
    yaml += "  t" + std::to_string(i) + ": {run: x, needs: t" + std::to_string(i - 1) + "}\n";
  auto errors = Errors(yaml);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].substr(0, 52), "2:23: tasks.t0.needs: dependency cycle: t0 → t1999");
}

TEST(ValidateAll, EveryErrorAtOnce) {
  EXPECT_THAT(Errors("tasks:\n  a:\n    run: ${{ inputs.x }}\n    timeout: never\n  b:\n    "
                     "needs: [c]\n    steps: [echo]\n    retry: {attempts: 2, backoff: linear}\n"),
              ElementsAre("3:14: tasks.a.run: unknown input 'x' [hint: declare it under 'inputs:']",
                          "4:14: tasks.a.timeout: bad duration 'never': use a number with a unit "
                          "(ms, s, m, h, d) such as 30s, 5m, 1h30m",
                          "6:13: tasks.b.needs: unknown task 'c'",
                          "8:35: tasks.b.retry.backoff: unknown backoff 'linear' [hint: use fixed "
                          "or exponential]"));
}

}  // namespace
}  // namespace relay::spec
