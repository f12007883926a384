// How many task instances a matrix expands to, computed without expanding it
// (GitHub Actions semantics: the product of the axes, minus the combinations
// an `exclude` entry matches, plus each `include` entry that cannot extend
// any remaining combination).
#pragma once

#include <cstdint>

#include "spec/pipeline.h"

namespace relay::spec {

struct MatrixSize {
  // Saturates at kMatrixSizeCap.
  int64_t count = 0;
  // False when overlapping excludes were too many to count exactly; `count`
  // is then an upper bound (fewer exclusions and more new includes assumed).
  bool exact = true;
};

constexpr int64_t kMatrixSizeCap = int64_t{1} << 62;

// Work is linear in the matrix's size plus a bounded inclusion–exclusion
// over the exclude entries.
MatrixSize CountMatrixInstances(const Matrix& matrix);

}  // namespace relay::spec
