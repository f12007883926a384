// Evaluation of a syntax tree, private to src/expr/.
#pragma once

#include <string>

#include "base/status.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "expr/operand.h"

namespace relay::expr {

// Evaluates `node` into *out.
Status EvaluateNode(const Node& node, const Context& ctx, Operand* out);

}  // namespace relay::expr
