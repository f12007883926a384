#include "spec/matrix_size.h"

#include <gtest/gtest.h>

namespace relay::spec {
namespace {

using nlohmann::json;

Matrix Make(std::vector<std::pair<std::string, std::vector<json>>> axes,
            std::vector<json> include = {}, std::vector<json> exclude = {}) {
  Matrix m;
  m.axes = std::move(axes);
  m.include = std::move(include);
  m.exclude = std::move(exclude);
  return m;
}

int64_t Count(const Matrix& m) {
  MatrixSize s = CountMatrixInstances(m);
  EXPECT_TRUE(s.exact);
  return s.count;
}

TEST(MatrixSize, ProductOfAxes) {
  EXPECT_EQ(Count(Make({{"os", {"linux", "macos"}}, {"v", {1, 2, 3}}})), 6);
}

TEST(MatrixSize, PartialAndOverlappingExcludes) {
  auto axes = std::vector<std::pair<std::string, std::vector<json>>>{
      {"os", {"linux", "macos", "windows"}}, {"v", {1, 2, 3}}};
  EXPECT_EQ(Count(Make(axes, {}, {{{"os", "macos"}}})), 6);
  // {os: macos} and {v: 1} overlap in (macos, 1): 9 - (3 + 3 - 1).
  EXPECT_EQ(Count(Make(axes, {}, {{{"os", "macos"}}, {{"v", 1}}})), 4);
  // The same exclude twice removes its combinations once.
  EXPECT_EQ(Count(Make(axes, {}, {{{"os", "macos"}, {"v", 1}}, {{"os", "macos"}, {"v", 1}}})), 8);
  // An exclude naming a value no axis has matches nothing.
  EXPECT_EQ(Count(Make(axes, {}, {{{"os", "beos"}}})), 9);
}

TEST(MatrixSize, IncludesExtendOrAdd) {
  auto axes = std::vector<std::pair<std::string, std::vector<json>>>{{"os", {"linux", "macos"}},
                                                                     {"v", {1, 2}}};
  // Extends (linux, 1) with a new key: no new instance.
  EXPECT_EQ(Count(Make(axes, {{{"os", "linux"}, {"v", 1}, {"extra", true}}})), 4);
  // Only new keys: extends every combination.
  EXPECT_EQ(Count(Make(axes, {{{"color", "green"}}})), 4);
  // A value no axis has: a new combination.
  EXPECT_EQ(Count(Make(axes, {{{"os", "windows"}, {"v", 1}}})), 5);
  // Matching only an excluded combination: it comes back as a new one.
  EXPECT_EQ(Count(Make(axes, {{{"os", "macos"}, {"v", 2}}}, {{{"os", "macos"}, {"v", 2}}})), 4);
  // Matching (macos, *) while (macos, 2) is excluded still extends (macos, 1).
  EXPECT_EQ(Count(Make(axes, {{{"os", "macos"}, {"x", 1}}}, {{{"os", "macos"}, {"v", 2}}})), 3);
}

TEST(MatrixSize, IncludeOnlyMatrix) {
  EXPECT_EQ(Count(Make({}, {{{"a", 1}}, {{"a", 2}}, {{"b", 3}}})), 3);
}

TEST(MatrixSize, DuplicateAxisValuesCountTwice) {
  EXPECT_EQ(Count(Make({{"a", {1, 1, 2}}}, {}, {{{"a", 1}}})), 1);
}

// As the planner matches them (plan/matrix.cc): loosely, 1, 1.0 and '1' are
// the same value.
TEST(MatrixSize, ValuesMatchLooselyAsThePlannerMatchesThem) {
  EXPECT_EQ(Count(Make({{"v", {1, 2}}}, {}, {{{"v", "1"}}})), 1);
  EXPECT_EQ(Count(Make({{"v", {1, 2}}}, {}, {{{"v", 2.0}}, {{"v", "1"}}})), 0);
  EXPECT_EQ(Count(Make({{"b", {true, false}}}, {{{"b", "true"}, {"x", 1}}}, {})), 2);
}

TEST(MatrixSize, SaturatesInsteadOfOverflowing) {
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  for (int i = 0; i < 40; ++i)
    axes.push_back({"a" + std::to_string(i), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}});
  EXPECT_EQ(CountMatrixInstances(Make(axes)).count, kMatrixSizeCap);
}

TEST(MatrixSize, ManyOverlappingExcludesFallBackToAnUpperBound) {
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  std::vector<json> excludes;
  for (int i = 0; i < 40; ++i) {
    axes.push_back({"a" + std::to_string(i), {0, 1}});
    excludes.push_back({{"a" + std::to_string(i), 1}});  // all overlap pairwise
  }
  // (Finishing at all is the point: an exact count would take 2^40 steps.
  // Speed is for benchmarks, not for a timed test.)
  MatrixSize s = CountMatrixInstances(Make(axes, {}, excludes));
  EXPECT_FALSE(s.exact);
  EXPECT_EQ(s.count, (int64_t{1} << 40) - (int64_t{1} << 39));  // minus the largest exclude
}

TEST(MatrixSize, ManyDisjointExcludesAreExact) {
  std::vector<json> values, excludes;
  for (int i = 0; i < 1000; ++i) {
    values.push_back(i);
    excludes.push_back({{"a", i}, {"b", i % 10}});
  }
  EXPECT_EQ(Count(Make({{"a", values}, {"b", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}, {}, excludes)),
            9000);
}

}  // namespace
}  // namespace relay::spec
