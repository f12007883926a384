// The syntax tree of an expression: private to src/expr/.
//
// Trees are immutable once parsed and shared between copies of an
// Expression. Index access with a string literal (a['b']) is folded into a
// member access at parse time, so evaluation of the common case is one hash
// lookup per segment.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace relay::expr {

enum class NodeKind {
  kLiteral,   // literal
  kRoot,      // name: a top-level name resolved through Context::Lookup
  kMember,    // children[0].name
  kIndex,     // children[0][children[1]]
  kWildcard,  // children[0].*  or  children[0][*]
  kNot,       // !children[0]
  kAnd,       // children[0] && children[1]
  kOr,        // children[0] || children[1]
  kCompare,   // children[0] <op> children[1]
  kCall,      // function(children...)
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

enum class Function {
  kAlways,
  kCancelled,
  kContains,
  kEndsWith,
  kFailure,
  kFormat,
  kFromJson,
  kJoin,
  kStartsWith,
  kSuccess,
  kToJson,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t offset = 0;                      // byte offset in the expression source
  Value literal;                          // kLiteral
  std::string name;                       // kRoot, kMember
  CompareOp op = CompareOp::kEq;          // kCompare
  Function function = Function::kAlways;  // kCall
  std::vector<std::unique_ptr<Node>> children;
};

}  // namespace relay::expr
