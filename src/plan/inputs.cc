#include "plan/inputs.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "base/edit_distance.h"
#include "base/strings.h"

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

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// "true"/"false" in any ASCII case, nothing else: `yes`, `on`, `1` are not
// booleans (a `default:` of a boolean input must be a YAML boolean too).
std::optional<bool> ParseBool(const std::string& text) {
  std::string lower = text;
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (lower == "true") return true;
  if (lower == "false") return false;
  return std::nullopt;
}

// The numbers a pipeline file's `default:` accepts (YAML 1.2 core schema, as
// src/spec reads plain scalars): decimal integers with an optional sign,
// 0x… hexadecimal and 0o… octal integers, and decimal floats with an optional
// fraction and exponent ("1.5", ".5", "1e3"). Finite values only; no spaces.
std::optional<nlohmann::json> ParseNumber(const std::string& t) {
  if (t.empty()) return std::nullopt;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) {
    int base = t[1] == 'x' ? 16 : 8;
    for (size_t i = 2; i < t.size(); ++i) {
      char c = t[i];
      bool ok =
          base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : c >= '0' && c <= '7';
      if (!ok) return std::nullopt;
    }
    errno = 0;
    long long v = std::strtoll(t.c_str() + 2, nullptr, base);
    if (errno == ERANGE) return std::nullopt;
    return nlohmann::json(static_cast<int64_t>(v));
  }
  size_t i = 0;
  if (t[i] == '-' || t[i] == '+') ++i;
  bool digit = false, integer = true;
  while (i < t.size() && IsDigit(t[i])) ++i, digit = true;
  if (i < t.size() && t[i] == '.') {
    ++i, integer = false;
    while (i < t.size() && IsDigit(t[i])) ++i, digit = true;
  }
  if (!digit) return std::nullopt;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i, integer = false;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == exp) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  if (integer) {
    errno = 0;
    long long v = std::strtoll(t.c_str(), nullptr, 10);
    if (errno != ERANGE) return nlohmann::json(static_cast<int64_t>(v));
  }
  errno = 0;
  double v = std::strtod(t.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  if (v == std::floor(v) && std::fabs(v) < 9e15) return nlohmann::json(static_cast<int64_t>(v));
  return nlohmann::json(v);
}

// Converts the command-line text to the input's type, or explains why not.
Result<nlohmann::json> Convert(const spec::InputSpec& in, const std::string& text) {
  switch (in.type) {
    case spec::InputType::kNumber: {
      if (!text.empty() && (IsSpace(text.front()) || IsSpace(text.back())))
        return Status::Invalid("input '" + in.name + "': '" + text +
                               "' is not a number: it has spaces around it");
      if (auto v = ParseNumber(text)) return *v;
      return Status::Invalid("input '" + in.name + "': '" + text + "' is not a number");
    }
    case spec::InputType::kBoolean:
      if (auto b = ParseBool(text)) return nlohmann::json(*b);
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
  // Inputs are stored, hashed and passed on as JSON text, which is UTF-8.
  size_t bad = 0;
  if (!IsValidUtf8(arg, &bad)) {
    return Status::Invalid("bad input: -i " + arg.substr(0, arg.find('=')) + "=…: byte " +
                           std::to_string(bad + 1) + " of the argument is not valid UTF-8");
  }
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
