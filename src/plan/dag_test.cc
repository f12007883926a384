#include "plan/dag.h"

#include <gtest/gtest.h>

#include "expr/expr.h"
#include "plan/export.h"
#include "plan/inputs.h"
#include "plan/matrix.h"
#include "spec/load.h"

namespace relay::plan {
namespace {

spec::Pipeline Load(const std::string& yaml) {
  spec::LoadResult r = spec::LoadPipelineText(yaml, "p.yaml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].message);
  return r.ok() ? std::move(*r.pipeline) : spec::Pipeline{};
}

std::vector<std::string> Names(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& i : p.instances) out.push_back(i.name);
  return out;
}

TEST(Plan, OrdersTasksTopologicallyKeepingFileOrder) {
  auto p = Load(
      "tasks:\n  c: { needs: [b], run: x }\n  a: { run: x }\n  b: { needs: [a], run: x }\n  d: { "
      "run: x }\n");
  auto plan = BuildPlan(p, nlohmann::json::object(), {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Names(*plan), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(plan->tasks[p.FindTask("a")].critical_path, 2);
  EXPECT_EQ(plan->tasks[p.FindTask("c")].critical_path, 0);
}

TEST(Matrix, ExcludeAndIncludeFollowActions) {
  auto p = Load(R"(
tasks:
  t:
    run: x
    matrix:
      os: [linux, mac]
      v: [1, 2]
      exclude: [{ os: mac, v: 1 }]
      include:
        - { os: linux, extra: yes }
        - { os: windows, v: 3 }
)");
  auto combos = ExpandMatrix(*p.tasks[0].matrix);
  ASSERT_EQ(combos.size(), 4u);
  EXPECT_EQ(combos[0].label, "os=linux,v=1");
  EXPECT_EQ(combos[0].values["extra"], "yes");  // include extends matching combinations
  EXPECT_EQ(combos[1].values["extra"], "yes");
  EXPECT_EQ(combos[2].label, "os=mac,v=2");
  EXPECT_FALSE(combos[2].values.contains("extra"));
  EXPECT_EQ(combos[3].label, "os=windows,v=3");  // include matching nothing is added
}

TEST(Matrix, ControlCharactersInValuesAreEscapedInTheName) {
  auto p = Load(
      "tasks:\n  t:\n    run: x\n    matrix: { v: [\"two\\nlines\", \"tab\\there\", "
      "\"esc\\e[31m\"] }\n");
  auto combos = ExpandMatrix(*p.tasks[0].matrix);
  ASSERT_EQ(combos.size(), 3u);
  EXPECT_EQ(combos[0].label, "v=two\\nlines");
  EXPECT_EQ(combos[1].label, "v=tab\\there");
  EXPECT_EQ(combos[2].label, "v=esc\\x1b[31m");
  EXPECT_EQ(combos[0].values["v"], "two\nlines");  // the value itself is unchanged
}

TEST(Plan, SelectionOnlyFromUntil) {
  auto p = Load(
      "tasks:\n  a: { run: x }\n  b: { needs: [a], run: x }\n  c: { needs: [b], run: x }\n  d: { "
      "run: x }\n");
  auto from = BuildPlan(p, {}, Selection{{}, {"b"}, {}});
  EXPECT_EQ(Names(*from), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(from->tasks[p.FindTask("b")].needs.empty());
  auto until = BuildPlan(p, {}, Selection{{}, {}, {"b"}});
  EXPECT_EQ(Names(*until), (std::vector<std::string>{"a", "b"}));
  auto only = BuildPlan(p, {}, Selection{{"d", "a"}, {}, {}});
  EXPECT_EQ(Names(*only), (std::vector<std::string>{"a", "d"}));
  auto bad = BuildPlan(p, {}, Selection{{"bb"}, {}, {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--only: unknown task 'bb' (did you mean 'b'?)");
  // A matrix instance's name (cut at its comma by the option parser).
  auto instance = BuildPlan(p, {}, Selection{{"b[os=linux"}, {}, {}});
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().message(),
            "--only: 'b[os=linux' names a matrix instance; selections take whole tasks (use 'b')");
}

TEST(Plan, ASelectionOfNoTaskIsAnErrorNamingTheOptions) {
  auto p =
      Load("tasks:\n  a: { run: x }\n  b: { needs: [a], run: x }\n  e: { needs: [b], run: x }\n");
  auto none = BuildPlan(p, {}, Selection{{}, {"e"}, {"a"}});  // a is upstream of e
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalid);
  EXPECT_EQ(none.status().message(), "nothing to run: --from e --until a selects no task");
  auto only = BuildPlan(p, {}, Selection{{"a", "b"}, {"e"}, {}});
  ASSERT_FALSE(only.ok());
  EXPECT_EQ(only.status().message(), "nothing to run: --only a,b --from e selects no task");
  auto one = BuildPlan(p, {}, Selection{{}, {"b"}, {"b"}});
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(Names(*one), (std::vector<std::string>{"b"}));
}

// Validation rejects a matrix whose excludes remove everything when it can
// count exactly; the planner must not drop such a task silently either.
TEST(Plan, AMatrixWithNoInstancesIsAnErrorNamingTheTask) {
  auto p = Load("tasks:\n  a: { run: x }\n  b: { needs: [a], run: x }\n");
  spec::Matrix m;
  m.axes.push_back({"x", {1, 2}});
  m.exclude.push_back({{"x", 1}});
  m.exclude.push_back({{"x", 2}});
  ASSERT_TRUE(ExpandMatrix(m).empty());
  p.tasks[p.FindTask("b")].matrix = m;
  auto plan = BuildPlan(p, {}, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalid);
  EXPECT_NE(plan.status().message().find("matrix of task 'b' has no instances"), std::string::npos)
      << plan.status().message();
  // Left out by the selection, it does not matter.
  auto only_a = BuildPlan(p, {}, Selection{{"a"}, {}, {}});
  ASSERT_TRUE(only_a.ok()) << only_a.status().message();
}

TEST(Plan, AHundredThousandInstancesExpand) {
  std::string a, b;
  for (int i = 0; i < 100; ++i) a += (i ? "," : "") + std::to_string(i);
  for (int i = 0; i < 1000; ++i) b += (i ? "," : "") + std::to_string(i);
  auto p = Load("tasks:\n  t:\n    run: echo ${{ matrix.a }}\n    matrix: { a: [" + a + "], b: [" +
                b + "] }\n");
  auto plan = BuildPlan(p, {}, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->instances.size(), 100000u);
  EXPECT_EQ(plan->instances.back().name, "t[a=99,b=999]");
  EXPECT_NE(RenderPlanText(*plan).find("t[a=42,b=7]"), std::string::npos);
}

TEST(Inputs, TypesDefaultsAndErrors) {
  auto p = Load(R"(
inputs:
  env: { type: choice, enum: [staging, production], default: staging }
  n: { type: number, default: 3 }
  dry: { type: boolean, default: false }
  name: { type: string, required: true }
tasks:
  t: { run: x }
)");
  auto ok = ResolveInputs(p, {{"n", "7"}, {"dry", "true"}, {"name", "x"}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["env"], "staging");
  EXPECT_EQ((*ok)["n"], 7);
  EXPECT_EQ((*ok)["dry"], true);
  auto bad = ResolveInputs(p, {{"env", "prod"}, {"dry", "maybe"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'prod' is not one of: staging, production"),
            std::string::npos);
  EXPECT_NE(bad.status().message().find("'maybe' is not a boolean"), std::string::npos);
  EXPECT_NE(bad.status().message().find("missing required input 'name'"), std::string::npos);
  EXPECT_FALSE(ParseInputArg("novalue").ok());
  EXPECT_EQ(ParseInputArg("k=a=b")->second, "a=b");
  // Inputs are kept as JSON: bytes that are not UTF-8 are a usage error.
  auto not_utf8 = ParseInputArg("name=caf\xe9");
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_NE(not_utf8.status().message().find("not valid UTF-8"), std::string::npos)
      << not_utf8.status().message();
  EXPECT_TRUE(ParseInputArg("name=caf\xc3\xa9").ok());
}

TEST(Inputs, BooleansAreTrueOrFalseInAnyCase) {
  auto p = Load("inputs:\n  flag: { type: boolean }\ntasks:\n  t: { run: x }\n");
  for (const char* yes : {"true", "True", "TRUE", "tRuE"}) {
    auto r = ResolveInputs(p, {{"flag", yes}});
    ASSERT_TRUE(r.ok()) << yes << ": " << r.status().message();
    EXPECT_EQ((*r)["flag"], true) << yes;
  }
  for (const char* no : {"false", "False", "FALSE"}) {
    auto r = ResolveInputs(p, {{"flag", no}});
    ASSERT_TRUE(r.ok()) << no << ": " << r.status().message();
    EXPECT_EQ((*r)["flag"], false) << no;
  }
  // Like a `default:` in the file: yes/no/on/off/1/0 are not booleans.
  for (const char* bad : {"yes", "no", "on", "off", "1", "0", "", " true", "true "}) {
    auto r = ResolveInputs(p, {{"flag", bad}});
    ASSERT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    EXPECT_EQ(r.status().message(), "input 'flag': '" + std::string(bad) +
                                        "' is not a boolean (use true or false) (type boolean)");
  }
}

TEST(Inputs, NumbersAreWrittenAsInThePipelineFile) {
  auto p = Load("inputs:\n  n: { type: number }\ntasks:\n  t: { run: x }\n");
  auto value = [&](const std::string& text) -> nlohmann::json {
    auto r = ResolveInputs(p, {{"n", text}});
    EXPECT_TRUE(r.ok()) << "'" << text << "': " << r.status().message();
    return r.ok() ? (*r)["n"] : nlohmann::json();
  };
  EXPECT_EQ(value("5"), 5);
  EXPECT_EQ(value("-3"), -3);
  EXPECT_EQ(value("+3"), 3);
  EXPECT_EQ(value("1.5"), 1.5);
  EXPECT_EQ(value(".5"), 0.5);
  EXPECT_EQ(value("1e3"), 1000);
  EXPECT_EQ(value("0x1f"), 31);
  EXPECT_EQ(value("0o17"), 15);
  EXPECT_EQ(value("9007199254740993"), int64_t{9007199254740993});
  // Spaces on either side are refused alike, naming the input and the value.
  for (const char* spaced : {" 5", "5 ", "\t5", " 5 "}) {
    auto r = ResolveInputs(p, {{"n", spaced}});
    ASSERT_FALSE(r.ok()) << "'" << spaced << "' was accepted";
    EXPECT_EQ(r.status().message(), "input 'n': '" + std::string(spaced) +
                                        "' is not a number: it has spaces around it (type number)");
  }
  for (const char* bad : {"", "x", "5x", "1e", "inf", "nan", ".inf", "1e400", "0x1p3", "0x", "-0x1",
                          "0o8", "1_000"}) {
    auto r = ResolveInputs(p, {{"n", bad}});
    ASSERT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(r.status().message(),
              "input 'n': '" + std::string(bad) + "' is not a number (type number)");
  }
}

// Every value the file accepts as a number or boolean `default:` means the
// same given with -i, and what the file refuses -i refuses too.
TEST(Inputs, CommandLineAgreesWithFileDefaults) {
  for (const char* text :
       {"5", "-3", "1.5", ".5", "1e3", "0x1f", "0o17", "true", "False", "TRUE"}) {
    bool boolean = std::string(text).find_first_of("tTfF") == 0;
    std::string type = boolean ? "boolean" : "number";
    auto p = Load("inputs:\n  v: { type: " + type + ", default: " + text +
                  " }\ntasks:\n  t: { run: x }\n");
    auto from_file = ResolveInputs(p, {});
    auto from_cli = ResolveInputs(p, {{"v", text}});
    ASSERT_TRUE(from_file.ok() && from_cli.ok()) << text;
    EXPECT_EQ(expr::ToDisplayString((*from_file)["v"]), expr::ToDisplayString((*from_cli)["v"]))
        << text;
  }
  for (const char* text : {"yes", "no", "on", "off"}) {
    std::string yaml = std::string("inputs:\n  v: { type: boolean, default: ") + text +
                       " }\ntasks:\n  t: { run: x }\n";
    EXPECT_FALSE(spec::LoadPipelineText(yaml, "p.yaml").ok()) << text;
    auto p = Load("inputs:\n  v: { type: boolean }\ntasks:\n  t: { run: x }\n");
    EXPECT_FALSE(ResolveInputs(p, {{"v", text}}).ok()) << text;
  }
}

TEST(Export, DotAndMermaidShowTaskEdges) {
  auto p = Load("tasks:\n  a: { run: x }\n  b: { needs: [a], matrix: { i: [1, 2] }, run: x }\n");
  auto plan = BuildPlan(p, {}, {});
  EXPECT_NE(RenderDot(*plan).find("\"a\" -> \"b\""), std::string::npos);
  EXPECT_NE(RenderMermaid(*plan).find("t0 --> t1"), std::string::npos);
  auto json = nlohmann::json::parse(RenderPlanJson(*plan));
  EXPECT_EQ(json["tasks"][1]["instances"].size(), 2u);
}

}  // namespace
}  // namespace relay::plan
