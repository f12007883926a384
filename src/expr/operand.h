// The evaluator's operand, private to src/expr/. In a header of its own
// because the built-in functions (functions.h), which the evaluator calls,
// take operands too and must not include the evaluator back.
#pragma once

#include <utility>

#include "expr/expr.h"

namespace relay::expr {

// A value met during evaluation: either borrowed (a context value or an AST
// literal, which outlive the evaluation) or owned (computed). Borrowing is
// what keeps `needs.build.outputs.big` from copying the context.
class Operand {
 public:
  Operand() = default;
  static Operand Borrow(const Value* v, bool projection = false) {
    Operand o;
    o.ptr_ = v;
    o.projection_ = projection;
    return o;
  }
  static Operand Own(Value v, bool projection = false) {
    Operand o;
    o.owned_ = std::move(v);
    o.projection_ = projection;
    return o;
  }

  const Value& value() const { return ptr_ != nullptr ? *ptr_ : owned_; }
  bool owned() const { return ptr_ == nullptr; }
  // REQUIRES: owned().
  Value& mutable_value() { return owned_; }
  // The value, moved out when owned and copied when borrowed.
  Value Take() && { return ptr_ != nullptr ? *ptr_ : std::move(owned_); }

  // True for the result of `*` and of member/index access on such a result:
  // Actions' "filtered array", whose further accesses apply to each element.
  bool projection() const { return projection_; }
  void clear_projection() { projection_ = false; }

 private:
  const Value* ptr_ = nullptr;
  Value owned_;
  bool projection_ = false;
};

}  // namespace relay::expr
