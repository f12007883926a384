// Sub-pipelines: uses: and with:, children loaded through a resolver (as a
// stored run loads them) or from disk, their errors in their own files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "spec/spec_test_util.h"
#include "support/temp_dir.h"

namespace relay::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "file:line:col: message [hint: …]", the file named as each diagnostic is.
std::string Describe(const Diagnostic& d) { return d.file + ":" + testing::Describe(d); }

std::vector<std::string> DescribeAll(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(Describe(d));
  return out;
}

// Pipeline texts by resolved path, served as a store serves a run's
// definitions; records what was asked for.
class Files {
 public:
  Files& Add(const std::string& name, const std::string& text) {
    files_[name] = text;
    return *this;
  }
  LoadOptions Options() {
    return {[this](const std::string& resolved) -> Result<std::string> {
      asked.push_back(resolved);
      auto it = files_.find(resolved);
      if (it == files_.end()) return Status::NotFound("no stored definition for " + resolved);
      return it->second;
    }};
  }
  LoadResult Load(const std::string& top) {
    return LoadPipelineText(files_.at(top), top, Options());
  }
  std::vector<std::string> Errors(const std::string& top) { return DescribeAll(Load(top)); }

  std::vector<std::string> asked;

 private:
  std::map<std::string, std::string> files_;
};

const char* kChild = R"(inputs:
  target: { type: choice, enum: [staging, production], required: true }
  count: { type: number, default: 1 }
  dry: { type: boolean }
outputs:
  version: ${{ tasks.build.outputs.version }}
tasks:
  build: { run: make, outputs: [version] }
)";

TEST(ResolveUsesPath, RelativeToTheNamingFileLexically) {
  EXPECT_EQ(ResolveUsesPath("./child.yaml", "ci/main.yaml"), "ci/child.yaml");
  EXPECT_EQ(ResolveUsesPath("child.yaml", "main.yaml"), "child.yaml");
  EXPECT_EQ(ResolveUsesPath("./lib/../lib/./b.yaml", "ci/main.yaml"), "ci/lib/b.yaml");
  EXPECT_EQ(ResolveUsesPath("../shared/b.yaml", "ci/main.yaml"), "shared/b.yaml");
  EXPECT_EQ(ResolveUsesPath("../../b.yaml", "main.yaml"), "../../b.yaml");
  EXPECT_EQ(ResolveUsesPath("../b.yaml", "/srv/ci/main.yaml"), "/srv/b.yaml");
  EXPECT_EQ(ResolveUsesPath("/abs/b.yaml", "ci/main.yaml"), "/abs/b.yaml");
  EXPECT_EQ(ResolveUsesPath("/abs//x/../b.yaml", "ci/main.yaml"), "/abs/b.yaml");
}

TEST(Uses, AValidChildIsLoadedAndKept) {
  Files files;
  files.Add("ci/lib/build.yaml", kChild).Add("ci/main.yaml", R"(inputs: { where: staging }
env: { LEVEL: info }
tasks:
  prep: { run: x, outputs: [n] }
  build:
    needs: prep
    uses: ./lib/build.yaml
    matrix: { dry: [true, false] }
    with:
      target: ${{ inputs.where }}
      count: 0x10
      dry: ${{ matrix.dry }}-${{ needs.prep.outputs.n }}-${{ env.LEVEL }}-${{ run.id }}
    approval: true
    concurrency: build
    continue_on_error: true
    max_parallel: 1
    if: inputs.where != ''
    description: the build, as its own pipeline
  ship: { needs: build, run: "echo ${{ needs.build.outputs.version }}" }
)");
  LoadResult r = files.Load("ci/main.yaml");
  ASSERT_THAT(DescribeAll(r), IsEmpty());
  EXPECT_THAT(files.asked, ElementsAre("ci/lib/build.yaml"));
  const TaskSpec& t = r.pipeline->tasks[1];
  ASSERT_TRUE(t.uses.has_value());
  EXPECT_TRUE(t.steps.empty());
  EXPECT_EQ(t.uses->path.value, "./lib/build.yaml");
  EXPECT_EQ(t.uses->path.mark.line, 7);
  EXPECT_EQ(t.uses->path.mark.col, 11);
  EXPECT_EQ(t.uses->resolved, "ci/lib/build.yaml");
  ASSERT_EQ(t.uses->with.size(), 3u);
  EXPECT_EQ(t.uses->with[0].first.value, "target");
  EXPECT_EQ(t.uses->with[0].first.mark.line, 10);
  EXPECT_EQ(t.uses->with[0].second.value, "${{ inputs.where }}");
  EXPECT_EQ(t.uses->with[0].second.mark.col, 15);
  EXPECT_EQ(t.uses->with[1].second.value, "0x10");
  ASSERT_NE(t.uses->pipeline, nullptr);
  const Pipeline& child = *t.uses->pipeline;
  EXPECT_EQ(child.file, "ci/lib/build.yaml");
  EXPECT_EQ(child.name, "build");
  EXPECT_EQ(child.source, kChild);
  EXPECT_EQ(child.FindTask("build"), 0);
  ASSERT_EQ(child.outputs.size(), 1u);
  EXPECT_TRUE(t.approval.has_value());
  EXPECT_EQ(t.concurrency->group.value, "build");
  EXPECT_TRUE(t.continue_on_error);
}

// A child's errors are its file's, with its lines; the parent says where it
// is used, and its own errors keep their order around that group.
TEST(Uses, AChildsErrorsAreReportedInItsFileBelowTheUses) {
  Files files;
  files.Add("lib/child.yaml", "tasks:\n  a: {run: x, neds: [b]}\n  b: {run: '${{ inputs.x }}'}\n")
      .Add("main.yaml",
           "tasks:\n  a: {run: x, timout: 1m}\n  b: {uses: ./lib/child.yaml}\n"
           "  c: {run: x, needs: [biuld]}\n");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre("main.yaml:2:15: tasks.a: unknown key 'timout' [hint: did you mean 'timeout'?]",
                  "main.yaml:3:13: tasks.b.uses: ./lib/child.yaml is not a valid pipeline (2 "
                  "errors below)",
                  "lib/child.yaml:2:15: tasks.a: unknown key 'neds' [hint: did you mean 'needs'?]",
                  "lib/child.yaml:3:17: tasks.b.run: unknown input 'x' [hint: declare it under "
                  "'inputs:']",
                  "main.yaml:4:23: tasks.c.needs: unknown task 'biuld'"));
}

TEST(Uses, AChildThatIsNotAPipelineFileIsItsOwnError) {
  Files files;
  files.Add("empty.yaml", "# nothing\n")
      .Add("latin1.yaml", "name: caf\xe9\ntasks: {a: {run: x}}\n")
      .Add("main.yaml", "tasks:\n  a: {uses: empty.yaml}\n  b: {uses: latin1.yaml}\n");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre(
          "main.yaml:2:13: tasks.a.uses: empty.yaml is not a valid pipeline (1 error below)",
          "empty.yaml:0:0: empty pipeline file: expected a mapping with 'tasks'",
          "main.yaml:3:13: tasks.b.uses: latin1.yaml is not a valid pipeline (1 error below)",
          "latin1.yaml:1:10: not UTF-8: invalid byte 0xe9 [hint: save the file as UTF-8]"));
}

TEST(Uses, AMissingChildIsAnErrorAtTheUses) {
  Files files;
  files.Add("main.yaml", "tasks:\n  a:\n    uses: ./gone.yaml\n    with: {x: 1}\n");
  EXPECT_THAT(files.Errors("main.yaml"),
              ElementsAre("main.yaml:3:11: tasks.a.uses: no stored definition for gone.yaml"));
}

TEST(Uses, ACycleOfTwoFilesIsNamed) {
  Files files;
  files.Add("a.yaml", "tasks:\n  x: {uses: ./b.yaml}\n")
      .Add("b.yaml", "tasks:\n  y: {uses: ./a.yaml}\n");
  EXPECT_THAT(
      files.Errors("a.yaml"),
      ElementsAre("a.yaml:2:13: tasks.x.uses: ./b.yaml is not a valid pipeline (1 error below)",
                  "b.yaml:2:13: tasks.y.uses: cycle of pipelines: a.yaml → b.yaml → a.yaml "
                  "[hint: a pipeline cannot use itself, directly or through others]"));
}

TEST(Uses, ACycleOfThreeFilesAndASelfUseAreNamed) {
  Files files;
  files.Add("ci/a.yaml", "tasks:\n  x: {uses: ./b.yaml}\n")
      .Add("ci/b.yaml", "tasks:\n  y: {uses: ../ci/c.yaml}\n")
      .Add("ci/c.yaml", "tasks:\n  z: {uses: ./a.yaml}\n")
      .Add("self.yaml", "tasks:\n  me: {uses: self.yaml}\n");
  EXPECT_THAT(
      files.Errors("ci/a.yaml"),
      ElementsAre(
          "ci/a.yaml:2:13: tasks.x.uses: ./b.yaml is not a valid pipeline (2 errors below)",
          "ci/b.yaml:2:13: tasks.y.uses: ../ci/c.yaml is not a valid pipeline (1 error below)",
          "ci/c.yaml:2:13: tasks.z.uses: cycle of pipelines: ci/a.yaml → ci/b.yaml → ci/c.yaml "
          "→ ci/a.yaml [hint: a pipeline cannot use itself, directly or through others]"));
  EXPECT_THAT(files.Errors("self.yaml"),
              ElementsAre("self.yaml:2:14: tasks.me.uses: cycle of pipelines: self.yaml → "
                          "self.yaml [hint: a pipeline cannot use itself, directly or through "
                          "others]"));
}

TEST(Uses, NestingIsLimited) {
  Files files;
  for (int i = 1; i <= kMaxPipelineDepth + 1; ++i)
    files.Add("p" + std::to_string(i) + ".yaml",
              "tasks:\n  t: {uses: ./p" + std::to_string(i + 1) + ".yaml}\n");
  files.Add("p" + std::to_string(kMaxPipelineDepth) + ".yaml", "tasks:\n  t: {run: x}\n");
  EXPECT_THAT(files.Errors("p1.yaml"), IsEmpty());  // 8 levels: the limit
  files.Add("p8.yaml", "tasks:\n  t: {uses: ./p9.yaml}\n");
  files.Add("p9.yaml", "tasks:\n  t: {run: x}\n");
  std::vector<std::string> errors = files.Errors("p1.yaml");
  ASSERT_EQ(errors.size(), 8u);
  EXPECT_EQ(errors[0],
            "p1.yaml:2:13: tasks.t.uses: ./p2.yaml is not a valid pipeline (7 errors "
            "below)");
  EXPECT_EQ(errors[7],
            "p8.yaml:2:13: tasks.t.uses: sub-pipelines nest more than 8 deep: p1.yaml → p2.yaml "
            "→ p3.yaml → p4.yaml → p5.yaml → p6.yaml → p7.yaml → p8.yaml → p9.yaml [hint: use "
            "fewer levels of uses:]");
}

// A child used by many tasks is read, checked and reported once.
TEST(Uses, AChildUsedTwiceIsLoadedOnce) {
  Files files;
  files.Add("ok.yaml", "tasks: {a: {run: x}}\n")
      .Add("bad.yaml", "tasks: {a: {run: x, bad: 1}}\n")
      .Add("main.yaml",
           "tasks:\n  a: {uses: ok.yaml}\n  b: {uses: ./ok.yaml}\n"
           "  c: {uses: bad.yaml}\n  d: {uses: bad.yaml}\n");
  LoadResult r = files.Load("main.yaml");
  EXPECT_THAT(files.asked, ElementsAre("ok.yaml", "bad.yaml"));
  EXPECT_THAT(
      DescribeAll(r),
      ElementsAre(
          "main.yaml:4:13: tasks.c.uses: bad.yaml is not a valid pipeline (1 error below)",
          "bad.yaml:1:21: tasks.a: unknown key 'bad'",
          "main.yaml:5:13: tasks.d.uses: bad.yaml is not a valid pipeline (its errors are shown "
          "above)"));
  files.Add("main.yaml", "tasks:\n  a: {uses: ok.yaml}\n  b: {uses: ./ok.yaml}\n");
  r = files.Load("main.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pipeline->tasks[0].uses->pipeline, r.pipeline->tasks[1].uses->pipeline);
}

TEST(Uses, WithIsCheckedAgainstTheChildsInputs) {
  Files files;
  files.Add("child.yaml", kChild)
      .Add("none.yaml", "tasks: {a: {run: x}}\n")
      .Add("main.yaml", R"(tasks:
  a:
    uses: ./child.yaml
    with:
      targte: staging
      count: many
      dry: yes
  b:
    uses: ./child.yaml
    with: { target: prod, count: ' 3', dry: 'TRUE' }
  c:
    uses: ./child.yaml
  d:
    uses: none.yaml
    with: { x: 1 }
  e:
    uses: ./child.yaml
    with: { target: [staging], count: "${{ 'x' }}" }
  f: { uses: ./child.yaml, with: { target: staging, Count: 2, zzz: 1 } }
)");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre(
          "main.yaml:4:5: tasks.a.with: missing required input 'target' of ./child.yaml [hint: "
          "add target: VALUE under with:]",
          "main.yaml:5:7: tasks.a.with: unknown input 'targte' of ./child.yaml [hint: did you "
          "mean 'target'?]",
          "main.yaml:6:14: tasks.a.with.count: 'many' is not a number (input 'count' of "
          "./child.yaml is a number)",
          "main.yaml:7:12: tasks.a.with.dry: 'yes' is not a boolean (use true or false) (input "
          "'dry' of ./child.yaml is a boolean)",
          "main.yaml:10:21: tasks.b.with.target: 'prod' is not one of: staging, production "
          "(input 'target' of ./child.yaml is a choice)",
          "main.yaml:10:34: tasks.b.with.count: ' 3' is not a number: it has spaces around it "
          "(input 'count' of ./child.yaml is a number)",
          "main.yaml:12:11: tasks.c.uses: ./child.yaml requires input 'target' [hint: give it "
          "under with:, e.g. with: { target: VALUE }]",
          "main.yaml:15:13: tasks.d.with: unknown input 'x' of none.yaml [hint: none.yaml "
          "declares no inputs]",
          "main.yaml:18:21: tasks.e.with.target: expected a value (a string, number or boolean), "
          "got a list [hint: pass a list or mapping as JSON text, e.g. ${{ toJSON(...) }}]",
          "main.yaml:19:53: tasks.f.with: unknown input 'Count' of ./child.yaml [hint: did you "
          "mean 'count'?]",
          "main.yaml:19:63: tasks.f.with: unknown input 'zzz' of ./child.yaml [hint: its "
          "inputs: target, count, dry]"));
}

TEST(Uses, WithTemplatesReadWhatATasksEnvReads) {
  Files files;
  files.Add("child.yaml", "inputs: {v: x}\ntasks: {a: {run: x}}\n")
      .Add("main.yaml",
           "env: {A: b}\ntasks:\n  a:\n    uses: child.yaml\n"
           "    with: {v: '${{ env.B }}${{ matrix.x }}${{ needs.z.result }}${{ tasks.a.result "
           "}}'}\n");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre("main.yaml:5:20: tasks.a.with.v: unknown env variable 'B' [hint: declare it "
                  "under the pipeline's 'env:']",
                  "main.yaml:5:32: tasks.a.with.v: task 'a' has no matrix [hint: add a "
                  "'matrix:' to the task]",
                  "main.yaml:5:47: tasks.a.with.v: unknown task 'z'",
                  "main.yaml:5:68: tasks.a.with.v: 'tasks' is only available in the pipeline's "
                  "outputs [hint: in a task, read another task through needs.<name>]"));
}

TEST(Uses, WithNeedsUses) {
  EXPECT_THAT(testing::Errors("tasks:\n  a: {run: x, with: {v: 1}}\n"),
              ElementsAre("2:15: tasks.a: 'with' gives the inputs of a sub-pipeline, but the task "
                          "has no 'uses' [hint: add uses: ./PIPELINE.yaml, or remove with]"));
}

// A sub-pipeline task runs the child: keys that shape a command of its own
// say where the setting belongs instead.
TEST(Uses, CommandKeysOnASubPipelineTaskSayWhereTheyBelong) {
  Files files;
  files.Add("child.yaml", "tasks: {a: {run: x}}\n").Add("main.yaml", R"(tasks:
  a:
    uses: child.yaml
    run: make
    steps: [make]
    shell: bash
    cwd: src
    env: { A: b }
    retry: 3
    timeout: 1m
    outputs: [v]
)");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre(
          "main.yaml:4:5: tasks.a: use either 'uses' or 'run', not both: a sub-pipeline task "
          "runs the child's tasks [hint: put the command in a task of the child, or in a task of "
          "its own]",
          "main.yaml:5:5: tasks.a: use either 'uses' or 'steps', not both: a sub-pipeline task "
          "runs the child's tasks [hint: put the command in a task of the child, or in a task of "
          "its own]",
          "main.yaml:6:5: tasks.a: shell is not supported on a sub-pipeline task: set shell in "
          "the child's defaults",
          "main.yaml:7:5: tasks.a: cwd is not supported on a sub-pipeline task: set cwd in the "
          "child's defaults or tasks",
          "main.yaml:8:5: tasks.a: env is not supported on a sub-pipeline task: a child inherits "
          "nothing but its with: inputs [hint: pass the value under with:, and set env in the "
          "child]",
          "main.yaml:9:5: tasks.a: retry is not supported on a sub-pipeline task: put retry on "
          "the child's tasks",
          "main.yaml:10:5: tasks.a: timeout is not supported on a sub-pipeline task: put timeout "
          "on the child's tasks",
          "main.yaml:11:5: tasks.a: outputs is not supported on a sub-pipeline task: its outputs "
          "are the child pipeline's outputs [hint: declare them under the child's top-level "
          "outputs:]"));
}

TEST(Uses, BadPaths) {
  const std::string hint =
      " [hint: write the path of a pipeline file relative to this one (e.g. uses: "
      "./ci/build.yaml), or the command itself in 'run']";
  EXPECT_THAT(
      testing::Errors("tasks:\n  a: {uses: octo/repo/.github/workflows/b.yml@v1}\n"
                      "  b: {uses: 'docker://alpine'}\n  c: {uses: ''}\n  d: {uses: [x]}\n"
                      "  e: {uses: './${{ inputs.x }}.yaml'}\n"),
      ElementsAre(
          "2:13: tasks.a.uses: 'octo/repo/.github/workflows/b.yml@v1' is a remote "
          "reference: relay runs pipeline files, not remote workflows" +
              hint,
          "3:13: tasks.b.uses: 'docker://alpine' is a remote reference: relay runs "
          "pipeline files, not remote workflows" +
              hint,
          "4:13: tasks.c.uses: expected the path of a pipeline file, got an empty string" + hint,
          "5:13: tasks.d.uses: expected the path of a pipeline file, got a list" + hint,
          "6:16: tasks.e.uses: ${{ }} is not evaluated in uses: the text is used as "
          "written [hint: write the path as it is; to choose between pipelines, use two "
          "tasks with if:]"));
}

// A sub-pipeline task's outputs are its child's pipeline outputs.
TEST(Uses, NeedsOfASubPipelineTaskReadTheChildsOutputs) {
  Files files;
  files.Add("child.yaml", kChild)
      .Add("plain.yaml", "tasks: {a: {run: x}}\n")
      .Add("main.yaml", R"(outputs:
  v: ${{ tasks.a.outputs.version }}
  w: ${{ tasks.a.outputs.versio }}
tasks:
  a: { uses: child.yaml, with: { target: staging } }
  p: { uses: plain.yaml }
  b:
    needs: [a, p]
    run: echo ${{ needs.a.outputs.version }} ${{ needs.a.outputs.build }} ${{ needs.p.outputs.x }}
)");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre("main.yaml:3:10: outputs.w: task 'a' has no output 'versio' [hint: did you mean "
                  "'version'?]",
                  "main.yaml:9:50: tasks.b.run: task 'a' has no output 'build' [hint: declare it "
                  "under the outputs: of child.yaml (a sub-pipeline task's outputs are its "
                  "pipeline's)]",
                  "main.yaml:9:79: tasks.b.run: task 'p' has no output 'x' [hint: declare it "
                  "under the outputs: of plain.yaml (a sub-pipeline task's outputs are its "
                  "pipeline's)]"));
}

// What a child may read is its own: the parent's env, inputs and matrix
// reach it only through with:.
TEST(Uses, AChildInheritsNothing) {
  Files files;
  files.Add("child.yaml", "tasks: {a: {run: 'echo ${{ env.LEVEL }} ${{ inputs.where }}'}}\n")
      .Add("main.yaml",
           "inputs: {where: x}\nenv: {LEVEL: info}\ntasks:\n  a: {uses: child.yaml}\n");
  EXPECT_THAT(
      files.Errors("main.yaml"),
      ElementsAre(
          "main.yaml:4:13: tasks.a.uses: child.yaml is not a valid pipeline (2 errors below)",
          "child.yaml:1:28: tasks.a.run: unknown env variable 'LEVEL' [hint: declare it under "
          "'env:' of the pipeline or of this task]",
          "child.yaml:1:45: tasks.a.run: unknown input 'where' [hint: declare it under "
          "'inputs:']"));
}

// Without a resolver, children are read from disk beside the file that
// names them, with the checks of the top file.
class UsesOnDisk : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.Join(name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  relay::testing::TempDir dir_;
};

TEST_F(UsesOnDisk, ChildrenAreReadRelativeToTheFileThatNamesThem) {
  Write("lib/child.yaml", "tasks: {a: {uses: ./grand/g.yaml}}\n");
  Write("lib/grand/g.yaml", "tasks: {a: {run: x}}\n");
  std::string top = Write("main.yaml", "tasks: {a: {uses: lib/child.yaml}}\n");
  LoadResult r = LoadPipelineFile(top);
  ASSERT_THAT(DescribeAll(r), IsEmpty());
  const UsesSpec& u = *r.pipeline->tasks[0].uses;
  EXPECT_EQ(u.resolved, dir_.Join("lib/child.yaml"));
  EXPECT_EQ(u.pipeline->tasks[0].uses->resolved, dir_.Join("lib/grand/g.yaml"));
  EXPECT_EQ(u.pipeline->tasks[0].uses->pipeline->file, dir_.Join("lib/grand/g.yaml"));
}

TEST_F(UsesOnDisk, WhatCannotBeReadIsAnErrorAtTheUses) {
  ASSERT_EQ(::mkfifo(dir_.Join("fifo.yaml").c_str(), 0600), 0);
  std::filesystem::create_directories(dir_.Join("dir.yaml"));
  Write("big.yaml", std::string(kMaxPipelineFileBytes + 1, '#'));
  std::string top = Write("main.yaml",
                          "tasks:\n  a: {uses: /dev/zero}\n  b: {uses: ./fifo.yaml}\n"
                          "  c: {uses: dir.yaml}\n  d: {uses: big.yaml}\n  e: {uses: gone.yaml}\n");
  EXPECT_THAT(DescribeAll(LoadPipelineFile(top)),
              ElementsAre(top + ":2:13: tasks.a.uses: cannot read /dev/zero: is a character device",
                          top + ":3:13: tasks.b.uses: cannot read " + dir_.Join("fifo.yaml") +
                              ": is a FIFO (named pipe)",
                          top + ":4:13: tasks.c.uses: cannot read " + dir_.Join("dir.yaml") +
                              ": is a directory",
                          top + ":5:13: tasks.d.uses: cannot read " + dir_.Join("big.yaml") +
                              ": larger than 16 MiB, the limit for this file",
                          top + ":6:13: tasks.e.uses: cannot read " + dir_.Join("gone.yaml") +
                              ": No such file or directory"));
}

// A stored run's children come from the store, even where a file of that
// name is on disk.
TEST_F(UsesOnDisk, AResolverIsUsedInsteadOfTheDisk) {
  Write("child.yaml", "tasks: {disk: {run: x}}\n");
  std::string top = Write("main.yaml", "tasks: {a: {uses: child.yaml}}\n");
  std::vector<std::string> asked;
  LoadOptions options{[&](const std::string& resolved) -> Result<std::string> {
    asked.push_back(resolved);
    return std::string("tasks: {stored: {run: x}}\n");
  }};
  LoadResult r = LoadPipelineFile(top, options);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(asked, ElementsAre(dir_.Join("child.yaml")));
  EXPECT_EQ(r.pipeline->tasks[0].uses->pipeline->tasks[0].name, "stored");
}

TEST(Uses, AResolversTextHasTheSameLimits) {
  Files files;
  files.Add("main.yaml", "tasks: {a: {uses: big.yaml}}\n")
      .Add("big.yaml", std::string(kMaxPipelineFileBytes + 1, '#'));
  EXPECT_THAT(files.Errors("main.yaml"),
              ElementsAre("main.yaml:1:19: tasks.a.uses: cannot read big.yaml: larger than 16 "
                          "MiB, the limit for this file"));
}

}  // namespace
}  // namespace relay::spec
