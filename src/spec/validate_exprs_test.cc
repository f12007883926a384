// ${{ }} in templates: parse errors and the names each reference reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace relay::spec {
namespace {

using ::testing::ElementsAre;
using testing::Errors;
using ::testing::IsEmpty;

const char* kHead =
    "inputs:\n  version: '1.0'\nenv:\n  LOG: info\ntasks:\n"
    "  build:\n    run: make\n    outputs: [artifact]\n";  // 8 lines

std::vector<std::string> TaskErrors(const std::string& task) { return Errors(kHead + task); }

TEST(ValidateExprs, TheSecretsContextOfActionsGetsAHintToTheSecretsList) {
  EXPECT_THAT(TaskErrors("  t:\n    run: echo ${{ secrets.TOKEN }}\n"),
              ElementsAre(::testing::HasSubstr(
                  "unknown name 'secrets' [hint: relay has no secrets context: list the variable "
                  "under the pipeline's 'secrets:' and read it in the command as $NAME")));
}

TEST(ValidateExprs, GoodReferencesLoad) {
  EXPECT_THAT(TaskErrors("  test:\n    needs: build\n    matrix:\n      os: [linux]\n"
                         "      include: [{os: linux, extra: 1}]\n    env: {MINE: x}\n"
                         "    if: needs.build.result == 'success' && inputs.version != ''\n"
                         "    run: echo ${{ inputs.version }} ${{ env.LOG }} ${{ env.MINE }} "
                         "${{ matrix.os }} ${{ matrix.extra }} ${{ needs.build.outputs.artifact }} "
                         "${{ run.id }} ${{ toJSON(inputs) }} ${{ needs.build }}\n"),
              IsEmpty());
}

// Names match as the evaluator matches them: ignoring ASCII case, as in
// GitHub Actions, so what validates is what runs.
TEST(ValidateExprs, NamesIgnoreCaseAsAtRunTime) {
  EXPECT_THAT(TaskErrors("  test:\n    needs: build\n    matrix:\n      OS: [linux]\n"
                         "    if: Needs.Build.Result == 'success'\n"
                         "    run: echo ${{ Inputs.Version }} ${{ ENV.log }} ${{ matrix.os }} "
                         "${{ NEEDS.build.Outputs.ARTIFACT }} ${{ Run.ID }}\n"),
              IsEmpty());
  EXPECT_THAT(
      TaskErrors("  test:\n    needs: build\n    run: echo ${{ Needs.Build.outputs.nope }}\n"),
      ElementsAre("11:19: tasks.test.run: task 'build' has no output 'nope' [hint: declare "
                  "it in tasks.build.outputs]"));
}

TEST(ValidateExprs, ParseErrorPointsIntoPlainScalar) {
  EXPECT_THAT(
      TaskErrors("  test:\n    run: echo ${{ inputs.version\n"),
      ElementsAre("10:15: tasks.test.run: unclosed '${{' [hint: end the expression with '}}']"));
}

TEST(ValidateExprs, ParseErrorPointsIntoQuotedScalar) {
  // One more column for the opening quote.
  EXPECT_THAT(
      TaskErrors("  test:\n    run: \"echo ${{ inputs.version\"\n"),
      ElementsAre("10:16: tasks.test.run: unclosed '${{' [hint: end the expression with '}}']"));
  EXPECT_THAT(TaskErrors("  test:\n    run: 'it''s ${{ inputs.vesion }}'\n"),
              ElementsAre("10:21: tasks.test.run: unknown input 'vesion' [hint: did you mean "
                          "'version'?]"));
}

TEST(ValidateExprs, ErrorInsideBlockScalarFindsItsLine) {
  EXPECT_THAT(TaskErrors("  test:\n    run: |\n      echo one\n      echo ${{ inputs.vesion }}\n"),
              ElementsAre("12:16: tasks.test.run: unknown input 'vesion' [hint: did you mean "
                          "'version'?]"));
}

TEST(ValidateExprs, UnknownRoot) {
  EXPECT_THAT(
      TaskErrors("  test:\n    run: echo ${{ input.version }} ${{ github.sha }}\n"),
      ElementsAre("10:19: tasks.test.run: unknown name 'input' [hint: did you mean 'inputs'?]",
                  "10:40: tasks.test.run: unknown name 'github' [hint: expressions can read "
                  "inputs, env, matrix, needs and run]"));
}

TEST(ValidateExprs, UnknownEnv) {
  EXPECT_THAT(
      TaskErrors("  test:\n    run: echo ${{ env.LGO }} ${{ env.HOME }}\n"),
      ElementsAre("10:19: tasks.test.run: unknown env variable 'LGO' [hint: did you mean "
                  "'LOG'?]",
                  "10:34: tasks.test.run: unknown env variable 'HOME' [hint: declare it under "
                  "'env:' of the pipeline or of this task]"));
}

TEST(ValidateExprs, MatrixRules) {
  EXPECT_THAT(TaskErrors("  test:\n    run: echo ${{ matrix.os }}\n"),
              ElementsAre("10:19: tasks.test.run: task 'test' has no matrix [hint: add a 'matrix:' "
                          "to the task]"));
  EXPECT_THAT(
      TaskErrors("  test:\n    matrix: {shard: [1, 2]}\n    run: echo ${{ matrix.shrd }}\n"),
      ElementsAre("11:19: tasks.test.run: unknown matrix key 'shrd' [hint: did you mean "
                  "'shard'?]"));
}

TEST(ValidateExprs, NeedsRules) {
  EXPECT_THAT(TaskErrors("  test:\n    run: echo ${{ needs.build.outputs.artifact }}\n"),
              ElementsAre("10:19: tasks.test.run: task 'test' does not need 'build' [hint: add "
                          "'build' to needs]"));
  EXPECT_THAT(
      TaskErrors("  test:\n    needs: [build]\n    run: echo ${{ needs.biuld.result }} "
                 "${{ needs.build.outputs.artefact }} ${{ needs.build.status }}\n"),
      ElementsAre("11:19: tasks.test.run: unknown task 'biuld' [hint: did you mean 'build'?]",
                  "11:45: tasks.test.run: task 'build' has no output 'artefact' [hint: did "
                  "you mean 'artifact'?]",
                  "11:81: tasks.test.run: unknown property 'status' of needs.build [hint: "
                  "use needs.build.outputs.<name> or needs.build.result]"));
}

TEST(ValidateExprs, RunHasOnlyId) {
  EXPECT_THAT(TaskErrors("  test:\n    run: echo ${{ run.ids }}\n"),
              ElementsAre("10:19: tasks.test.run: unknown property 'ids' of run [hint: did you "
                          "mean 'id'?]"));
}

TEST(ValidateExprs, PipelineLevelTemplatesCannotReadTaskNames) {
  EXPECT_THAT(
      Errors("env:\n  A: ${{ matrix.x }}\n  B: ${{ needs.a.result }}\n  C: ${{ inputs.nope }}\n"
             "tasks: {a: {run: x}}\n"),
      ElementsAre("2:10: env.A: 'matrix' is only available in a task with a matrix",
                  "3:10: env.B: 'needs' is only available in tasks",
                  "4:10: env.C: unknown input 'nope' [hint: declare it under 'inputs:']"));
}

TEST(ValidateExprs, EveryTemplateFieldIsChecked) {
  EXPECT_THAT(
      TaskErrors("  test:\n    steps:\n      - echo ${{ inputs.a }}\n      - name: s\n"
                 "        run: echo ${{ inputs.b }}\n    cwd: ${{ inputs.c }}\n"
                 "    env: {X: '${{ inputs.e }}'}\n"),
      ElementsAre("11:18: tasks.test.steps[0]: unknown input 'a' [hint: declare it under "
                  "'inputs:']",
                  "13:23: tasks.test.steps[1].run: unknown input 'b' [hint: declare it under "
                  "'inputs:']",
                  "14:14: tasks.test.cwd: unknown input 'c' [hint: declare it under 'inputs:']",
                  "15:19: tasks.test.env.X: unknown input 'e' [hint: declare it under "
                  "'inputs:']"));
}

// The scheduler renders the pipeline's env values with inputs and run only
// (env is still empty then): env.A would be '' at run time.
TEST(ValidateExprs, PipelineEnvValuesCannotReadEnv) {
  EXPECT_THAT(Errors("env:\n  A: hello\n  B: ${{ env.A }}-b\n  C: \"${{ toJSON(env) }}\"\n"
                     "  D: ${{ inputs.x }}${{ run.id }}\ninputs: {x: 1}\ntasks: {a: {run: x}}\n"),
              ElementsAre("3:10: env.B: env.A is not available in the pipeline's env values "
                          "[hint: use the value directly, or read it in run as $A]",
                          "4:18: env.C: env is not available in the pipeline's env values "
                          "[hint: use the value directly, or read it in run as $NAME]"));
}

// A task's env values and its `if` are evaluated with the pipeline's env
// only; run, steps and cwd also see the task's own env.
TEST(ValidateExprs, TaskEnvAndIfReadOnlyThePipelinesEnv) {
  EXPECT_THAT(
      TaskErrors("  test:\n    env: {C: c, D: '${{ env.C }}-d', E: '${{ env.LOG }}-e'}\n"
                 "    if: env.C == 'c' && env.LOG == 'info'\n"
                 "    cwd: ${{ env.C }}\n    run: echo ${{ env.C }} ${{ env.D }} ${{ env.LOG }}\n"),
      ElementsAre("10:25: tasks.test.env.D: env.C is not available in a task's env values, "
                  "which read only the pipeline's env [hint: use the value directly, or read "
                  "it in run as $C]",
                  "11:9: tasks.test.if: env.C is not available in if, which reads only the "
                  "pipeline's env [hint: move C to the pipeline's env, or test $C in run]"));
  // Names the field cannot see are not suggested either.
  EXPECT_THAT(TaskErrors("  test:\n    env: {LOGS: x}\n    if: ${{ env.LGO }}\n    run: x\n"),
              ElementsAre("11:13: tasks.test.if: unknown env variable 'LGO' [hint: did you mean "
                          "'LOG'?]"));
  EXPECT_THAT(TaskErrors("  test:\n    env: {A: '${{ env.NOPE }}'}\n    run: x\n"),
              ElementsAre("10:19: tasks.test.env.A: unknown env variable 'NOPE' [hint: declare "
                          "it under the pipeline's 'env:']"));
}

// shell and matrix values are used as written: a ${{ }} there would reach
// the shell or the instance's name unevaluated.
TEST(ValidateExprs, ShellAndMatrixValuesAreNotTemplates) {
  EXPECT_THAT(
      Errors("defaults: {shell: '${{ inputs.sh }}'}\ntasks:\n  t:\n    shell: bash ${{ x }}\n"
             "    matrix:\n      os: [linux, '${{ inputs.os }}']\n"
             "      include: [{os: linux, cmd: {a: [\"echo ${{ matrix.os }}\"]}}]\n"
             "      exclude: [{os: '${{ y }}'}]\n    run: echo ${{ matrix.os }}\n"),
      ElementsAre("1:20: defaults.shell: ${{ }} is not evaluated in shell: the text is used as "
                  "written [hint: write the shell's name or command line, e.g. bash]",
                  "4:17: tasks.t.shell: ${{ }} is not evaluated in shell: the text is used as "
                  "written [hint: write the shell's name or command line, e.g. bash]",
                  "6:20: tasks.t.matrix.os[1]: ${{ }} is not evaluated in matrix values: the "
                  "text is used as written [hint: list the values themselves]",
                  "7:45: tasks.t.matrix.include[0].cmd.a[0]: ${{ }} is not evaluated in matrix "
                  "values: the text is used as written [hint: list the values themselves]",
                  "8:23: tasks.t.matrix.exclude[0].os: ${{ }} is not evaluated in matrix "
                  "values: the text is used as written [hint: list the values themselves]"));
}

// A matrix with errors is reported once: its matrix.* references are not
// reported as "has no matrix" on top.
TEST(ValidateExprs, InvalidMatrixGivesNoFollowOnErrors) {
  EXPECT_THAT(TaskErrors("  test:\n    matrix: {os: [linux, mac], exclude: [{arch: arm}]}\n"
                         "    run: echo ${{ matrix.os }}\n"),
              ElementsAre("10:43: tasks.test.matrix.exclude[0]: unknown axis 'arch'"));
  EXPECT_THAT(TaskErrors("  test:\n    matrix: {os: []}\n    run: echo ${{ matrix.os }}\n"),
              ElementsAre("10:18: tasks.test.matrix.os: expected a non-empty list of values, "
                          "got an empty list"));
  // Without a matrix key at all it still is an error.
  EXPECT_THAT(TaskErrors("  test:\n    run: echo ${{ matrix.os }}\n"), ::testing::SizeIs(1));
}

// Each ${{ }} is parsed on its own: every bad one is reported, at its own
// column, in text order with the names the good ones read.
TEST(ValidateExprs, EveryExpressionOfATemplateIsChecked) {
  EXPECT_THAT(
      TaskErrors("  test:\n    run: echo ${{ contains('x') }} ${{ always(1) }} ${{ nope }}\n"),
      ElementsAre("10:19: tasks.test.run: contains() takes 2 arguments, got 1",
                  "10:40: tasks.test.run: always() takes no arguments, got 1",
                  "10:57: tasks.test.run: unknown name 'nope' [hint: expressions can read "
                  "inputs, env, matrix, needs and run]"));
  // An unclosed ${{ takes the rest of the text: it is the last error.
  EXPECT_THAT(TaskErrors("  test:\n    run: echo ${{ inputs.x }} ${{ 1 + }} ${{ inputs.y\n"),
              ::testing::SizeIs(3));
}

// An escaped line break in a double-quoted scalar (`\` at the end of a
// line) is not in the value, nor is the next line's indentation.
TEST(ValidateExprs, ErrorAfterAnEscapedLineBreak) {
  EXPECT_THAT(TaskErrors("  test:\n    run: \"echo a\\\n      b ${{ nope8 }}\"\n"),
              ElementsAre("11:13: tasks.test.run: unknown name 'nope8' [hint: expressions can "
                          "read inputs, env, matrix, needs and run]"));
}

TEST(ValidateExprs, ConditionForms) {
  EXPECT_THAT(
      TaskErrors("  test:\n    if: ${{ inputs.version }} == '1'\n    run: x\n"),
      ElementsAre("10:9: tasks.test.if: text outside ${{ }} makes the condition always true "
                  "[hint: put the whole condition inside one ${{ }}, or leave ${{ }} out]"));
  EXPECT_THAT(TaskErrors("  test:\n    if: inputs.vrsion == '1'\n    run: x\n"),
              ElementsAre("10:9: tasks.test.if: unknown input 'vrsion' [hint: did you mean "
                          "'version'?]"));
  EXPECT_THAT(TaskErrors("  test:\n    if: success( && x\n    run: x\n"), ::testing::SizeIs(1));
}

}  // namespace
}  // namespace relay::spec
