#include "expr/functions.h"

#include <algorithm>
#include <array>

#include "expr/value.h"

namespace relay::expr {
namespace {

constexpr std::array<FunctionSpec, 11> kFunctions = {{
    {"always", Function::kAlways, 0, 0, true},
    {"cancelled", Function::kCancelled, 0, 0, true},
    {"contains", Function::kContains, 2, 2, false},
    {"endsWith", Function::kEndsWith, 2, 2, false},
    {"failure", Function::kFailure, 0, 0, true},
    {"format", Function::kFormat, 1, -1, false},
    {"fromJSON", Function::kFromJson, 1, 1, false},
    {"join", Function::kJoin, 1, 2, false},
    {"startsWith", Function::kStartsWith, 2, 2, false},
    {"success", Function::kSuccess, 0, 0, true},
    {"toJSON", Function::kToJson, 1, 1, false},
}};

// fromJSON refuses deeper documents: printing and comparing values recurse.
constexpr int kMaxJsonDepth = 256;

bool IsPrimitive(const Value& v) { return !v.is_structured(); }

std::string Plural(int n) { return n == 1 ? "argument" : "arguments"; }

// Expands `format` with `values` appended to *out; with values == nullptr
// only checks it against `count` values.
std::optional<std::string> ExpandFormat(std::string_view format, size_t count,
                                        const std::vector<Operand>* values, std::string* out) {
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        if (out) *out += '}';
        ++i;
        continue;
      }
      return "lone '}' at position " + std::to_string(i) + " (write '}}' for a literal brace)";
    }
    if (c != '{') {
      if (out) *out += c;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      if (out) *out += '{';
      ++i;
      continue;
    }
    size_t close = format.find('}', i);
    if (close == std::string_view::npos) {
      return "unclosed '{' at position " + std::to_string(i) + " (write '{{' for a literal brace)";
    }
    std::string_view digits = format.substr(i + 1, close - i - 1);
    size_t index = 0;
    bool ok = !digits.empty() && digits.size() <= 6;
    for (char d : digits) {
      ok = ok && d >= '0' && d <= '9';
      if (ok) index = index * 10 + static_cast<size_t>(d - '0');
    }
    if (!ok) {
      return "'{" + std::string(digits) + "}' at position " + std::to_string(i) +
             " is not an argument index such as {0}";
    }
    if (index >= count) {
      return "{" + std::to_string(index) + "} needs " + std::to_string(index + 1) +
             " values after the format string, but " + std::to_string(count) + " given";
    }
    if (out) AppendDisplayString((*values)[index + 1].value(), out);
    i = close;
  }
  return std::nullopt;
}

// Nesting depth of JSON text, counting brackets outside strings.
int JsonDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Status FromJson(const Value& arg, Operand* out) {
  std::string owned;
  const std::string* text;
  if (arg.is_string()) {
    text = &arg.get_ref<const std::string&>();
  } else {
    owned = ToDisplayString(arg);
    text = &owned;
  }
  if (JsonDepth(*text) > kMaxJsonDepth) {
    return Status::Invalid("fromJSON: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels");
  }
  // nlohmann-json reports errors by exception; this is its one parse site.
  try {
    *out = Operand::Own(Value::parse(*text));
  } catch (const Value::exception& e) {
    std::string what = e.what();
    // Drop the "[json.exception.parse_error.101] " prefix: users need the rest.
    size_t bracket = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    return Status::Invalid("fromJSON: invalid JSON: " + what);
  }
  return Status::Ok();
}

bool Contains(const Value& search, const Value& item) {
  if (search.is_array()) {
    for (const Value& element : search) {
      if (Compare(CompareOp::kEq, element, item)) return true;
    }
    return false;
  }
  if (!IsPrimitive(search) || !IsPrimitive(item)) return false;
  return ContainsIgnoreCase(ToDisplayString(search), ToDisplayString(item));
}

std::string Join(const Value& list, const Value* separator) {
  std::string sep = separator ? ToDisplayString(*separator) : ",";
  if (!list.is_array()) return ToDisplayString(list);
  std::string out;
  bool first = true;
  for (const Value& element : list) {
    if (!first) out += sep;
    first = false;
    AppendDisplayString(element, &out);
  }
  return out;
}

}  // namespace

const FunctionSpec* FindFunction(std::string_view name) {
  for (const FunctionSpec& spec : kFunctions) {
    if (EqualsIgnoreCase(spec.name, name)) return &spec;
  }
  return nullptr;
}

const std::vector<std::string>& FunctionNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const FunctionSpec& spec : kFunctions) v.emplace_back(spec.name);
    return v;
  }();
  return names;
}

std::string ArityText(const FunctionSpec& spec) {
  std::string name = std::string(spec.name) + "()";
  if (spec.max_args < 0) {
    return name + " takes at least " + std::to_string(spec.min_args) + " " + Plural(spec.min_args);
  }
  if (spec.min_args == spec.max_args) {
    if (spec.min_args == 0) return name + " takes no arguments";
    return name + " takes " + std::to_string(spec.min_args) + " " + Plural(spec.min_args);
  }
  return name + " takes " + std::to_string(spec.min_args) + " or " + std::to_string(spec.max_args) +
         " arguments";
}

std::optional<std::string> CheckFormatString(std::string_view format, size_t arg_count) {
  return ExpandFormat(format, arg_count, nullptr, nullptr);
}

Status CallFunction(Function function, std::vector<Operand>& args, const Context& ctx,
                    Operand* out) {
  auto arg = [&](size_t i) -> const Value& { return args[i].value(); };
  switch (function) {
    case Function::kAlways:
      *out = Operand::Own(true);
      break;
    case Function::kSuccess:
      *out = Operand::Own(ctx.Status().success);
      break;
    case Function::kFailure:
      *out = Operand::Own(ctx.Status().failure);
      break;
    case Function::kCancelled:
      *out = Operand::Own(ctx.Status().cancelled);
      break;
    case Function::kContains:
      *out = Operand::Own(Contains(arg(0), arg(1)));
      break;
    case Function::kStartsWith:
    case Function::kEndsWith: {
      bool result = false;
      if (IsPrimitive(arg(0)) && IsPrimitive(arg(1))) {
        std::string s = ToDisplayString(arg(0)), affix = ToDisplayString(arg(1));
        result = function == Function::kStartsWith ? StartsWithIgnoreCase(s, affix)
                                                   : EndsWithIgnoreCase(s, affix);
      }
      *out = Operand::Own(result);
      break;
    }
    case Function::kFormat: {
      std::string format = ToDisplayString(arg(0));
      std::string text;
      if (auto err = ExpandFormat(format, args.size() - 1, &args, &text)) {
        return Status::Invalid("format: " + *err);
      }
      *out = Operand::Own(std::move(text));
      break;
    }
    case Function::kJoin:
      *out = Operand::Own(Join(arg(0), args.size() > 1 ? &arg(1) : nullptr));
      break;
    case Function::kToJson:
      *out = Operand::Own(SafeDump(arg(0), 2));
      break;
    case Function::kFromJson:
      return FromJson(arg(0), out);
  }
  return Status::Ok();
}

}  // namespace relay::expr
