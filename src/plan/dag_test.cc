#include "plan/dag.h"

#include <gtest/gtest.h>

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
