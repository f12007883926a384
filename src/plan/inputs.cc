#include "plan/inputs.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/edit_distance.h"

namespace relay::plan {
namespace {

std::string InputTypeName(spec::InputType t) {
  switch (t) {
    case spec::InputType::kString:
      return "string";
    case spec::InputType::kNumber:
      return "number";
    case spec::InputType::kBoolean:
      return "boolean";
    case spec::InputType::kChoice:
      return "choice";
  }
  return "string";
}

// Converts the command-line text to the input's type, or explains why not.
Result<nlohmann::json> Convert(const spec::InputSpec& in, const std::string& text) {
  switch (in.type) {
    case spec::InputType::kNumber: {
      errno = 0;
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
        return Status::Invalid("input '" + in.name + "': '" + text + "' is not a number");
      if (v == std::floor(v) && std::fabs(v) < 9e15) return nlohmann::json(static_cast<int64_t>(v));
      return nlohmann::json(v);
    }
    case spec::InputType::kBoolean:
      if (text == "true" || text == "yes" || text == "1") return nlohmann::json(true);
      if (text == "false" || text == "no" || text == "0") return nlohmann::json(false);
      return Status::Invalid("input '" + in.name + "': '" + text +
                             "' is not a boolean (use true or false)");
    case spec::InputType::kString:
    case spec::InputType::kChoice:
      break;
  }
  if (!in.options.empty()) {
    bool found = false;
    for (const auto& o : in.options) found = found || o == text;
    if (!found) {
      std::string list;
      for (const auto& o : in.options) list += (list.empty() ? "" : ", ") + o;
      return Status::Invalid("input '" + in.name + "': '" + text + "' is not one of: " + list +
                             DidYouMean(text, in.options));
    }
  }
  return nlohmann::json(text);
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseInputArg(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    return Status::Invalid("bad input '" + arg + "': write it as -i key=value");
  return std::make_pair(arg.substr(0, eq), arg.substr(eq + 1));
}

Result<nlohmann::json> ResolveInputs(const spec::Pipeline& pipeline, const InputArgs& given) {
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> errors;
  std::vector<std::string> names, given_keys;
  for (const auto& in : pipeline.inputs) names.push_back(in.name);
  for (const auto& [key, text] : given) {
    const spec::InputSpec* spec = nullptr;
    for (const auto& in : pipeline.inputs)
      if (in.name == key) spec = &in;
    if (!spec) {
      errors.push_back(
          "unknown input '" + key + "'" + DidYouMean(key, names) +
          (names.empty() ? "; this pipeline declares no inputs" : "; declared inputs: " + [&] {
            std::string s;
            for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
            return s;
          }()));
      continue;
    }
    auto value = Convert(*spec, text);
    given_keys.push_back(key);
    if (!value.ok()) {
      errors.push_back(value.status().message() + " (type " + InputTypeName(spec->type) + ")");
      continue;
    }
    out[key] = *value;
  }
  for (const auto& in : pipeline.inputs) {
    if (out.contains(in.name) ||
        std::find(given_keys.begin(), given_keys.end(), in.name) != given_keys.end())
      continue;
    if (in.default_value) {
      out[in.name] = *in.default_value;
    } else if (in.required) {
      errors.push_back("missing required input '" + in.name + "': pass it with -i " + in.name +
                       "=VALUE");
    } else {
      // Unset optional inputs read as their type's zero value, as in Actions.
      switch (in.type) {
        case spec::InputType::kNumber:
          out[in.name] = 0;
          break;
        case spec::InputType::kBoolean:
          out[in.name] = false;
          break;
        default:
          out[in.name] = "";
          break;
      }
    }
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return Status::Invalid(msg);
  }
  return out;
}

}  // namespace relay::plan
