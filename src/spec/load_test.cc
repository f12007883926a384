// Before and at the YAML layer: unreadable, binary, non-UTF-8, empty and
// malformed files, duplicate keys, and a top level that is not a mapping.
#include "spec/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>

#include "spec/spec_test_util.h"
#include "support/temp_dir.h"

namespace relay::spec {
namespace {

using ::testing::ElementsAre;
using testing::Errors;

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(LoadFile, MissingFileIsOneDiagnosticWithoutPosition) {
  LoadResult r = LoadPipelineFile("/nonexistent/relay/pipeline.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].mark.line, 0);
  EXPECT_EQ(r.diagnostics[0].message,
            "cannot read /nonexistent/relay/pipeline.yaml: No such file or directory");
  EXPECT_EQ(FormatHeadline(r.diagnostics[0]),
            "/nonexistent/relay/pipeline.yaml: error: cannot read "
            "/nonexistent/relay/pipeline.yaml: No such file or directory");
}

TEST(LoadFile, DirectoryIsNotReadable) {
  std::string dir = std::filesystem::temp_directory_path().string();
  LoadResult r = LoadPipelineFile(dir);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(FormatHeadline(r.diagnostics[0]),
            dir + ": error: cannot read " + dir + ": is a directory");
}

// Issue: `relay validate /dev/zero` read until memory ran out.
TEST(LoadFile, DevZeroIsRefusedWithoutReading) {
  LoadResult r = LoadPipelineFile("/dev/zero");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(FormatHeadline(r.diagnostics[0]),
            "/dev/zero: error: cannot read /dev/zero: is a character device");
}

// Opened with O_NONBLOCK: a FIFO nobody writes to cannot hang relay.
TEST(LoadFile, FifoIsRefusedWithoutBlocking) {
  relay::testing::TempDir dir;
  std::string path = dir.Join("pipe.yaml");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  LoadResult r = LoadPipelineFile(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message, "cannot read " + path + ": is a FIFO (named pipe)");
}

TEST(LoadFile, FileOverTheCapIsRefused) {
  relay::testing::TempDir dir;
  std::string path = dir.Join("big.yaml");
  std::string at_cap = "tasks: {a: {run: x}}\n";
  at_cap += std::string(kMaxPipelineFileBytes - at_cap.size() - 1, '#') + "\n";
  std::ofstream(path, std::ios::binary) << at_cap;
  EXPECT_TRUE(LoadPipelineFile(path).ok());  // exactly 16 MiB: allowed
  std::ofstream(path, std::ios::app | std::ios::binary) << "#";
  LoadResult r = LoadPipelineFile(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message,
            "cannot read " + path + ": larger than 16 MiB, the limit for this file");
  EXPECT_EQ(r.diagnostics[0].mark.line, 0);
}

// However a load runs out of memory, the caller gets a diagnostic, not an
// abort (here the resolver of a sub-pipeline is where it happens).
TEST(LoadText, OutOfMemoryIsADiagnostic) {
  LoadOptions options{[](const std::string&) -> Result<std::string> { throw std::bad_alloc(); }};
  LoadResult r = LoadPipelineText("tasks: {a: {uses: child.yaml}}\n", "p.yaml", options);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(FormatHeadline(r.diagnostics[0]),
            "p.yaml: error: out of memory while loading the pipeline");
}

TEST(LoadFile, BinaryFileNamesTheNulByte) {
  std::string path = WriteTemp("relay_spec_binary.yaml", std::string("tasks:\n  a\0b: x\n", 15));
  LoadResult r = LoadPipelineFile(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(testing::Describe(r.diagnostics[0]),
            "2:4: binary file (NUL byte) [hint: a pipeline file is YAML or JSON text]");
  EXPECT_EQ(r.diagnostics[0].file, path);
  std::remove(path.c_str());
}

TEST(LoadFile, NotUtf8NamesTheByte) {
  std::string path = WriteTemp("relay_spec_latin1.yaml", "name: ok\ntasks:\n  caf\xe9: {run: x}\n");
  LoadResult r = LoadPipelineFile(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(testing::Describe(r.diagnostics[0]),
            "3:6: not UTF-8: invalid byte 0xe9 [hint: save the file as UTF-8]");
  std::remove(path.c_str());
}

TEST(LoadFile, GoodFileLoadsWithDefaultNameFromStem) {
  std::string path = WriteTemp("relay_spec_good.yaml", "tasks:\n  build: {run: make}\n");
  LoadResult r = LoadPipelineFile(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pipeline->name, "relay_spec_good");
  EXPECT_EQ(r.pipeline->file, path);
  EXPECT_EQ(r.pipeline->source, "tasks:\n  build: {run: make}\n");
  std::remove(path.c_str());
}

TEST(LoadText, EmptyAndCommentOnlyFiles) {
  const std::string msg = "0:0: empty pipeline file: expected a mapping with 'tasks'";
  EXPECT_THAT(Errors(""), ElementsAre(msg));
  EXPECT_THAT(Errors("  \n\t\n"), ElementsAre(msg));
  EXPECT_THAT(Errors("# just a comment\n   # another\n"), ElementsAre(msg));
  EXPECT_THAT(Errors("---\n"), ElementsAre(msg));
}

TEST(LoadText, MalformedYamlGivesParserPosition) {
  EXPECT_THAT(Errors("tasks:\n  build: {run: make\n"),
              ElementsAre("2:10: invalid YAML: '{' is never closed"));
  EXPECT_THAT(Errors("tasks: [a, b\n"), ElementsAre("1:8: invalid YAML: '[' is never closed"));
  EXPECT_THAT(Errors("tasks:\n  build:\n    run: echo a: b: c\n"),
              ElementsAre("3:16: invalid YAML: unexpected ':' (quote a value that contains ': ')"));
  EXPECT_THAT(Errors("tasks:\n\tbuild: {run: make}\n"),
              ElementsAre("2:1: invalid YAML: tabs are not allowed in indentation"));
  EXPECT_THAT(Errors("tasks:\n  build: {run: \"a\\qb\"}\n"),
              ElementsAre("2:18: invalid YAML: unknown escape character: q"));
  EXPECT_THAT(Errors("tasks:\n  build: *nope\n"),
              ElementsAre("2:10: invalid YAML: alias to an undefined anchor"));
}

TEST(LoadText, MoreThanOneDocument) {
  EXPECT_THAT(Errors("tasks: {a: {run: x}}\n---\ntasks: {b: {run: y}}\n"),
              ElementsAre("2:1: expected one YAML document, found 2 (remove the '---' separator)"));
}

TEST(LoadText, TopLevelMustBeAMapping) {
  EXPECT_THAT(Errors("- build\n- test\n"),
              ElementsAre("1:1: top level: expected a mapping with 'tasks', got a list"));
  EXPECT_THAT(Errors("hello\n"),
              ElementsAre("1:1: top level: expected a mapping with 'tasks', got a string"));
}

TEST(LoadText, DuplicateKeysAtEveryLevel) {
  EXPECT_THAT(Errors("tasks:\n  a: {run: x}\ntasks:\n  b: {run: y}\n"),
              ElementsAre("3:1: duplicate key 'tasks' [hint: first defined at line 1]"));
  EXPECT_THAT(Errors("tasks:\n  a:\n    run: x\n  b: {run: y}\n  a:\n    run: z\n"),
              ElementsAre("5:3: tasks: duplicate key 'a' [hint: first defined at line 2]"));
  EXPECT_THAT(Errors("tasks:\n  a:\n    run: x\n    timeout: 1m\n    run: y\n"),
              ElementsAre("5:5: tasks.a: duplicate key 'run' [hint: first defined at line 3]"));
  EXPECT_THAT(
      Errors("tasks:\n  a:\n    steps:\n      - {name: one, run: x, run: y}\n"),
      ElementsAre("4:29: tasks.a.steps[0]: duplicate key 'run' [hint: first defined at line 4]"));
}

TEST(LoadText, JsonIsAccepted) {
  Pipeline p = testing::MustLoad(R"({
	"name": "from-json",
	"tasks": {"build": {"run": "make", "timeout": 90, "retry": 2},
	          "test": {"needs": ["build"], "run": "make test"}}
})");
  EXPECT_EQ(p.name, "from-json");
  ASSERT_EQ(p.tasks.size(), 2u);
  EXPECT_EQ(p.tasks[0].timeout, 90 * kSecond);
  EXPECT_EQ(p.tasks[0].retry->attempts, 2);
  EXPECT_EQ(p.tasks[1].needs[0].value, "build");
}

TEST(LoadText, JsonErrorsPointIntoTheJson) {
  EXPECT_THAT(
      Errors("{\"tasks\": {\"build\": {\"run\": \"make\", \"timout\": 5}}}"),
      ElementsAre("1:37: tasks.build: unknown key 'timout' [hint: did you mean 'timeout'?]"));
}

TEST(LoadText, ByteOrderMarkIsIgnored) {
  EXPECT_TRUE(LoadPipelineText("\xEF\xBB\xBFtasks: {a: {run: x}}\n", "p.yaml").ok());
}

TEST(LoadText, AliasBombIsRefused) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", *" : "*") + prev;
    yaml += "]\n";
    prev = c;
  }
  yaml += "tasks: {t: {run: x}}\n";
  auto errors = Errors(yaml);
  ASSERT_EQ(errors.size(), 1u);
  // The alias that crosses the limit: the 8th on line 5.
  EXPECT_EQ(errors[0], "5:36: document too large: aliases expand to more than 100000 nodes");
}

TEST(LoadText, ModestAliasesAreFine) {
  Pipeline p = testing::MustLoad(
      "tasks:\n  a: {run: x, retry: &r {attempts: 3, delay: 5s}}\n  b: {run: y, retry: *r}\n");
  EXPECT_EQ(p.tasks[1].retry->attempts, 3);
  EXPECT_EQ(p.tasks[1].retry->delay, 5 * kSecond);
}

TEST(LoadText, MergeKeysShareTaskSettings) {
  Pipeline p = testing::MustLoad(
      "x-defaults: &d {timeout: 10s, retry: {attempts: 2}}\n"
      "tasks:\n"
      "  build:\n    <<: *d\n    run: make\n"
      "  test:\n    timeout: 1m\n    <<: *d\n    run: make test\n");
  ASSERT_EQ(p.tasks.size(), 2u);
  EXPECT_EQ(p.tasks[0].timeout, 10 * kSecond);
  ASSERT_TRUE(p.tasks[0].retry.has_value());
  EXPECT_EQ(p.tasks[0].retry->attempts, 2);
  EXPECT_EQ(p.tasks[1].timeout, 60 * kSecond);  // written in the task, so it wins
  EXPECT_EQ(p.tasks[1].retry->attempts, 2);
}

TEST(LoadText, MergedKeysAreReportedWhereWritten) {
  EXPECT_THAT(Errors("x-d: &d {timout: 10s}\ntasks:\n  a:\n    <<: *d\n    run: x\n"),
              ElementsAre("1:10: tasks.a: unknown key 'timout' [hint: did you mean 'timeout'?]"));
  EXPECT_THAT(Errors("tasks:\n  a:\n    <<: [1]\n    run: x\n"),
              ElementsAre("3:10: invalid YAML: merge key '<<' needs a mapping or an alias of one"));
  // A quoted '<<' is an ordinary key.
  EXPECT_THAT(Errors("tasks:\n  a:\n    '<<': {}\n    run: x\n"),
              ElementsAre("3:5: tasks.a: unknown key '<<'"));
}

TEST(LoadText, AnAliasUsedAsAKeyIsReportedWhereUsed) {
  EXPECT_THAT(Errors("tasks:\n  &n a: {run: x}\n  *n : {run: y}\n"),
              ElementsAre("3:3: tasks: duplicate key 'a' [hint: first defined at line 2]"));
}

TEST(LoadText, DiagnosticsAreSortedByPosition) {
  LoadResult r = LoadPipelineText(
      "tasks:\n  b:\n    needs: [zz]\n    run: x\n  a:\n    runn: y\ntaks: 1\n", "p.yaml");
  ASSERT_EQ(r.diagnostics.size(), 4u);
  for (size_t i = 1; i < r.diagnostics.size(); ++i) {
    EXPECT_LE(r.diagnostics[i - 1].mark.line, r.diagnostics[i].mark.line);
  }
}

}  // namespace
}  // namespace relay::spec

namespace relay::spec {
namespace {

// Found by the fuzzer when yaml-cpp parsed: it built a recursive alias as a cycle.
TEST(LoadRegression, RecursiveAliasIsAnErrorNotAStackOverflow) {
  LoadResult r = LoadPipelineText("x: &a\n  b: *a\ntasks:\n  t: { run: x }\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_NE(r.diagnostics[0].message.find("recursive anchor"), std::string::npos)
      << r.diagnostics[0].message;
}

// Found by the fuzzer: yaml-cpp allocated without bound on these four bytes.
TEST(LoadRegression, StrayCommaIsAnErrorNotAnOutOfMemory) {
  EXPECT_THAT(Errors("   ,"), ElementsAre("1:4: invalid YAML: expected a value, found ','"));
  EXPECT_THAT(Errors("tasks:\n  a: ,\n"),
              ElementsAre("2:6: invalid YAML: expected a value, found ','"));
}

TEST(LoadRegression, DeepNestingIsAnError) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  LoadResult r = LoadPipelineText("x: " + deep + "\ntasks:\n  t: { run: x }\n", "p.yaml");
  ASSERT_FALSE(r.ok());
}

}  // namespace
}  // namespace relay::spec
