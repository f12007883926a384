// Good files load into the expected typed values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace relay::spec {
namespace {

using testing::MustLoad;

TEST(PipelineLoad, MinimalPipelineGetsDefaults) {
  Pipeline p = MustLoad("tasks:\n  build:\n    run: make -j\n");
  EXPECT_EQ(p.name, "release");  // stem of pipelines/release.yaml
  EXPECT_EQ(p.file, "pipelines/release.yaml");
  ASSERT_EQ(p.tasks.size(), 1u);
  const TaskSpec& t = p.tasks[0];
  EXPECT_EQ(t.name, "build");
  EXPECT_EQ(t.mark.line, 2);
  EXPECT_EQ(t.mark.col, 3);
  ASSERT_EQ(t.steps.size(), 1u);
  EXPECT_EQ(t.steps[0].run, "make -j");
  EXPECT_EQ(t.steps[0].mark.line, 3);
  EXPECT_EQ(t.steps[0].mark.col, 10);
  EXPECT_FALSE(t.timeout.has_value());
  EXPECT_FALSE(t.retry.has_value());
  EXPECT_FALSE(t.matrix.has_value());
  EXPECT_FALSE(t.if_expr.has_value());
  EXPECT_EQ(t.max_parallel, 0);
  EXPECT_FALSE(t.continue_on_error);
  EXPECT_EQ(t.shell, "");
  EXPECT_EQ(t.cwd, "");
  EXPECT_EQ(p.FindTask("build"), 0);
  EXPECT_EQ(p.FindTask("nope"), -1);
}

TEST(PipelineLoad, TopLevelSections) {
  Pipeline p = MustLoad(R"(
name: release
description: Ship it
inputs:
  target: { type: choice, enum: [staging, production], default: staging, description: where }
  count: { type: number, default: 3, required: true }
  dry: { type: boolean, default: false }
  label: nightly
  shards: 4
  fast: true
  tag:
env:
  LOG_LEVEL: info
  RETRIES: 3
  TARGET: ${{ inputs.target }}
secrets: [GITHUB_TOKEN, NPM_TOKEN]
defaults:
  timeout: 30m
  shell: bash
  cwd: build
  retry: 2
tasks:
  build: { run: make }
)");
  EXPECT_EQ(p.name, "release");
  ASSERT_EQ(p.inputs.size(), 7u);
  EXPECT_EQ(p.inputs[0].name, "target");
  EXPECT_EQ(p.inputs[0].type, InputType::kChoice);
  EXPECT_THAT(p.inputs[0].options, ::testing::ElementsAre("staging", "production"));
  EXPECT_EQ(*p.inputs[0].default_value, "staging");
  EXPECT_EQ(p.inputs[0].description, "where");
  EXPECT_EQ(p.inputs[1].type, InputType::kNumber);
  EXPECT_EQ(*p.inputs[1].default_value, 3);
  EXPECT_TRUE(p.inputs[1].required);
  EXPECT_EQ(p.inputs[2].type, InputType::kBoolean);
  EXPECT_EQ(*p.inputs[2].default_value, false);
  // Shorthand: a bare value is the default, its type inferred.
  EXPECT_EQ(p.inputs[3].type, InputType::kString);
  EXPECT_EQ(*p.inputs[3].default_value, "nightly");
  EXPECT_EQ(p.inputs[4].type, InputType::kNumber);
  EXPECT_EQ(*p.inputs[4].default_value, 4);
  EXPECT_EQ(p.inputs[5].type, InputType::kBoolean);
  EXPECT_EQ(*p.inputs[5].default_value, true);
  EXPECT_EQ(p.inputs[6].type, InputType::kString);
  EXPECT_FALSE(p.inputs[6].default_value.has_value());
  ASSERT_EQ(p.env.size(), 3u);
  EXPECT_EQ(p.env[1], (std::pair<std::string, std::string>{"RETRIES", "3"}));
  EXPECT_EQ(p.env[2].second, "${{ inputs.target }}");
  EXPECT_THAT(p.secrets, ::testing::ElementsAre("GITHUB_TOKEN", "NPM_TOKEN"));
  EXPECT_EQ(p.defaults.timeout, 30 * kMinute);
  EXPECT_EQ(p.defaults.shell, "bash");
  EXPECT_EQ(p.defaults.cwd, "build");
  EXPECT_EQ(p.defaults.retry->attempts, 2);
}

TEST(PipelineLoad, StringInputKeepsQuotedAndNumericTextAsString) {
  Pipeline p = MustLoad(
      "inputs:\n  version: '1.10'\n  build: { type: string, default: 42 }\ntasks: {a: {run: x}}\n");
  EXPECT_EQ(p.inputs[0].type, InputType::kString);
  EXPECT_EQ(*p.inputs[0].default_value, "1.10");
  EXPECT_EQ(*p.inputs[1].default_value, "42");
}

TEST(PipelineLoad, TaskKeys) {
  Pipeline p = MustLoad(R"(
tasks:
  build:
    description: compile
    run: make
    outputs: [version, sha]
    timeout: 1h30m
    env: { CC: clang }
    cwd: src
    shell: bash
    continue_on_error: true
  test:
    needs: build
    if: ${{ needs.build.outputs.version != '' }}
    max_parallel: 2
    matrix: { shard: [1, 2] }
    run: ./test.sh ${{ matrix.shard }}
  report:
    needs: [build, test]
    if: always()
    run: echo done
  never:
    if: false
    run: echo no
)");
  const TaskSpec& build = p.tasks[0];
  EXPECT_THAT(build.outputs, ::testing::ElementsAre("version", "sha"));
  EXPECT_EQ(build.timeout, kHour + 30 * kMinute);
  ASSERT_EQ(build.env.size(), 1u);
  EXPECT_EQ(build.env[0].first, "CC");
  EXPECT_EQ(build.cwd, "src");
  EXPECT_EQ(build.shell, "bash");
  EXPECT_TRUE(build.continue_on_error);
  const TaskSpec& test = p.tasks[1];
  ASSERT_EQ(test.needs.size(), 1u);
  EXPECT_EQ(test.needs[0].value, "build");
  EXPECT_EQ(test.needs[0].mark.line, 13);
  EXPECT_EQ(test.needs[0].mark.col, 12);
  ASSERT_TRUE(test.if_expr.has_value());
  EXPECT_EQ(test.if_expr->value, "needs.build.outputs.version != ''");
  EXPECT_EQ(test.if_expr->mark.line, 14);
  EXPECT_EQ(test.max_parallel, 2);
  EXPECT_EQ(p.tasks[2].if_expr->value, "always()");
  EXPECT_EQ(p.tasks[2].needs.size(), 2u);
  EXPECT_EQ(p.tasks[3].if_expr->value, "false");
}

TEST(PipelineLoad, TimeoutForms) {
  Pipeline p = MustLoad(
      "tasks:\n  a: {run: x, timeout: 45}\n  b: {run: x, timeout: 1.5}\n  c: {run: x, timeout: "
      "500ms}\n  d: {run: x, timeout: '2h'}\n  e: {run: x, timeout: 1d}\n");
  EXPECT_EQ(p.tasks[0].timeout, 45 * kSecond);
  EXPECT_EQ(p.tasks[1].timeout, 1500 * kMillisecond);
  EXPECT_EQ(p.tasks[2].timeout, 500 * kMillisecond);
  EXPECT_EQ(p.tasks[3].timeout, 2 * kHour);
  EXPECT_EQ(p.tasks[4].timeout, 24 * kHour);
}

TEST(PipelineLoad, RetryShorthandAndFullForm) {
  Pipeline p = MustLoad(R"(
tasks:
  a: { run: x, retry: 3 }
  b:
    run: x
    retry:
      attempts: 5
      backoff: exponential
      delay: 2s
      max_delay: 1m
      jitter: false
      on: [timeout, lost]
      exit_codes: [1, 75]
  c: { run: x, retry: { attempts: 2, on: failure } }
)");
  const RetrySpec& a = *p.tasks[0].retry;
  EXPECT_EQ(a.attempts, 3);
  EXPECT_EQ(a.backoff, RetrySpec::Backoff::kFixed);
  EXPECT_EQ(a.delay, kSecond);
  EXPECT_EQ(a.max_delay, 5 * kMinute);
  EXPECT_TRUE(a.jitter);
  EXPECT_TRUE(a.on_failure && a.on_timeout && a.on_lost);
  const RetrySpec& b = *p.tasks[1].retry;
  EXPECT_EQ(b.attempts, 5);
  EXPECT_EQ(b.backoff, RetrySpec::Backoff::kExponential);
  EXPECT_EQ(b.delay, 2 * kSecond);
  EXPECT_EQ(b.max_delay, kMinute);
  EXPECT_FALSE(b.jitter);
  EXPECT_FALSE(b.on_failure);
  EXPECT_TRUE(b.on_timeout);
  EXPECT_TRUE(b.on_lost);
  EXPECT_THAT(b.exit_codes, ::testing::ElementsAre(1, 75));
  const RetrySpec& c = *p.tasks[2].retry;
  EXPECT_TRUE(c.on_failure);
  EXPECT_FALSE(c.on_timeout);
  EXPECT_FALSE(c.on_lost);
}

TEST(PipelineLoad, StepForms) {
  Pipeline p = MustLoad(R"(
tasks:
  a:
    steps:
      - make
      - name: test
        run: make test
      - { run: make install }
      - |
        echo one
        echo two
)");
  const auto& steps = p.tasks[0].steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].name, "");
  EXPECT_EQ(steps[0].run, "make");
  EXPECT_EQ(steps[0].mark.line, 5);
  EXPECT_EQ(steps[0].mark.col, 9);
  EXPECT_EQ(steps[1].name, "test");
  EXPECT_EQ(steps[1].run, "make test");
  EXPECT_EQ(steps[1].mark.line, 7);
  EXPECT_EQ(steps[1].mark.col, 14);
  EXPECT_EQ(steps[2].run, "make install");
  EXPECT_EQ(steps[3].run, "echo one\necho two\n");
}

TEST(PipelineLoad, MatrixWithIncludeAndExclude) {
  Pipeline p = MustLoad(R"(
tasks:
  test:
    matrix:
      os: [linux, macos]
      version: [10, 12, "14"]
      include:
        - { os: linux, version: 16, experimental: true }
      exclude:
        - { os: macos, version: 10 }
    run: test ${{ matrix.os }} ${{ matrix.version }} ${{ matrix.experimental }}
)");
  const Matrix& m = *p.tasks[0].matrix;
  EXPECT_EQ(m.mark.line, 4);
  ASSERT_EQ(m.axes.size(), 2u);
  EXPECT_EQ(m.axes[0].first, "os");
  EXPECT_EQ(m.axes[0].second, (std::vector<nlohmann::json>{"linux", "macos"}));
  EXPECT_EQ(m.axes[1].first, "version");
  EXPECT_EQ(m.axes[1].second, (std::vector<nlohmann::json>{10, 12, "14"}));
  ASSERT_EQ(m.include.size(), 1u);
  EXPECT_EQ(m.include[0],
            (nlohmann::json{{"os", "linux"}, {"version", 16}, {"experimental", true}}));
  ASSERT_EQ(m.exclude.size(), 1u);
  EXPECT_EQ(m.exclude[0], (nlohmann::json{{"os", "macos"}, {"version", 10}}));
}

TEST(PipelineLoad, LargeMatrixLoadsFastWithoutExpanding) {
  std::string yaml = "tasks:\n  t:\n    run: x ${{ matrix.a }}\n    matrix:\n      a: [";
  for (int i = 0; i < 1000; ++i) yaml += (i ? ", " : "") + std::to_string(i);
  yaml += "]\n      b: [";
  for (int i = 0; i < 100; ++i) yaml += (i ? ", " : "") + std::to_string(i);
  yaml += "]\n";  // 100,000 instances
  Micros start = MonotonicNow();
  LoadResult r = LoadPipelineText(yaml, "big.yaml");
  Micros took = MonotonicNow() - start;
  EXPECT_TRUE(r.ok());
  EXPECT_LT(took, 300 * kMillisecond);
}

}  // namespace
}  // namespace relay::spec
