// Typing the text given for an input: a `with:` literal of a sub-pipeline
// task, checked when the file is loaded, or a rendered `with:` template when
// the task starts. The rules are those of `relay run -i name=value`
// (plan::ResolveInputs), which could share this function.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"
#include "spec/pipeline.h"

namespace relay::spec {

// `text` as a value of input `in`: a number input takes a number as YAML
// writes one (42, -1.5, 1e3, 0x1f, 0o17; finite; no spaces around it), a
// boolean input `true` or `false` in any ASCII case (not yes/on/1), a string
// or choice input any text, which must be one of `enum` when it has one.
// kInvalid otherwise, with a message naming the text and not the input:
// "'many' is not a number", "'yes' is not a boolean (use true or false)",
// "'prod' is not one of: staging, production".
Result<nlohmann::json> ParseInputValue(const InputSpec& in, std::string_view text);

// "string", "number", "boolean" or "choice".
const char* InputTypeName(InputType type);

}  // namespace relay::spec
