// Matrix expansion with GitHub Actions' rules: the cross product of the axes
// in declaration order, minus combinations matched by an `exclude` entry,
// then each `include` entry either extends every combination whose original
// axis values it matches (never overwriting them) or, matching none, is added
// as a combination of its own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec/pipeline.h"

namespace relay::plan {

struct Combination {
  nlohmann::json values;  // object: axis → value (include keys appended)
  std::string label;      // "os=linux,shard=1": the original axes, or every key of an added include
};

std::vector<Combination> ExpandMatrix(const spec::Matrix& matrix);

}  // namespace relay::plan
