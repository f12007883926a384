// Resolving `-i key=value` against a pipeline's declared inputs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "spec/pipeline.h"

namespace relay::plan {

using InputArgs = std::vector<std::pair<std::string, std::string>>;

// Parses "key=value" (value may contain '='). kInvalid when there is no '='.
Result<std::pair<std::string, std::string>> ParseInputArg(const std::string& arg);

// Returns a JSON object with every declared input: given values converted to
// their type, then defaults. Reports every problem at once in one kInvalid
// status, one per line: unknown input (did-you-mean), missing required input,
// a value of the wrong type, a value outside `enum`.
//
// Typed values follow the rules of a `default:` in the pipeline file: a
// boolean is `true` or `false` (any ASCII case; not yes/no/on/1/0), a number
// is written as YAML writes one (42, -1.5, 1e3, 0x1f, 0o17) with no spaces
// around it.
Result<nlohmann::json> ResolveInputs(const spec::Pipeline& pipeline, const InputArgs& given);

}  // namespace relay::plan
