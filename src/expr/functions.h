// The built-in functions: their table (names, arities) and implementations.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "expr/operand.h"

namespace relay::expr {

struct FunctionSpec {
  const char* name;  // canonical spelling, e.g. "startsWith"
  Function function;
  int min_args;
  int max_args;  // -1: unbounded
  bool is_status;
};

// The spec for `name` (case-insensitive, as in Actions), or nullptr.
const FunctionSpec* FindFunction(std::string_view name);

// "startsWith() takes 2 arguments", "join() takes 1 or 2 arguments", ...
std::string ArityText(const FunctionSpec& spec);

// Checks a format string given `arg_count` values to substitute; returns a
// message saying what is wrong, or nullopt.
std::optional<std::string> CheckFormatString(std::string_view format, size_t arg_count);

// Calls `function` on evaluated `args` (arity already checked by the parser).
Status CallFunction(Function function, std::vector<Operand>& args, const Context& ctx,
                    Operand* out);

}  // namespace relay::expr
