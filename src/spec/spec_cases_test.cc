// The shared cases in tests/spec_cases/: every good file loads, every
// bad_schema file is refused (the JSON Schema must agree: tests/schema/).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "spec/load.h"

namespace relay::spec {
namespace {

std::vector<std::filesystem::path> Files(const std::string& dir) {
  const char* root = std::getenv("RELAY_SOURCE_DIR");
  // Run by hand, the test finds the sources from its own path.
  std::filesystem::path base =
      root ? std::filesystem::path(root)
           : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(base / "tests/spec_cases" / dir))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SpecCases, GoodFilesLoad) {
  auto files = Files("good");
  EXPECT_GE(files.size(), 10u);
  for (const auto& f : files) {
    LoadResult r = LoadPipelineFile(f.string());
    std::string all;
    for (const auto& d : r.diagnostics) all += FormatHeadline(d) + "\n";
    EXPECT_TRUE(r.ok()) << all;
  }
}

TEST(SpecCases, BadSchemaFilesAreRefused) {
  auto files = Files("bad_schema");
  EXPECT_GE(files.size(), 10u);
  for (const auto& f : files) {
    LoadResult r = LoadPipelineFile(f.string());
    EXPECT_FALSE(r.diagnostics.empty()) << f;
    for (const auto& d : r.diagnostics) EXPECT_GT(d.mark.line, 0) << f << ": " << d.message;
  }
}

}  // namespace
}  // namespace relay::spec
