#include "expr/eval.h"

#include <cmath>
#include <optional>

#include "expr/functions.h"
#include "expr/value.h"

namespace relay::expr {
namespace {

const Value kNull;

std::optional<Operand> Element(Operand& list, const Value& index);

// `object.name` for one non-projected value; nullopt when absent.
// Borrowed inputs yield borrowed results; owned inputs give up the child.
std::optional<Operand> Member(Operand& object, const std::string& name) {
  const Value& v = object.value();
  // a['1'] on an array is folded into a member access by the parser.
  if (v.is_array()) return Element(object, Value(name));
  auto it = FindMember(v, name);
  if (it == v.end()) return std::nullopt;
  if (!object.owned()) return Operand::Borrow(&*it);
  return Operand::Own(std::move(object.mutable_value()[it.key()]));
}

// `list[index]` for one non-projected value; nullopt when absent. Strings
// index objects; numbers (after Actions' coercion) index arrays.
std::optional<Operand> Element(Operand& list, const Value& index) {
  const Value& v = list.value();
  if (v.is_object()) {
    if (!index.is_string()) return std::nullopt;
    return Member(list, index.get_ref<const std::string&>());
  }
  if (!v.is_array()) return std::nullopt;
  double d = ToNumber(index);
  if (std::isnan(d) || d < 0 || d != std::trunc(d) || d >= static_cast<double>(v.size())) {
    return std::nullopt;
  }
  auto i = static_cast<size_t>(d);
  if (!list.owned()) return Operand::Borrow(&v[i]);
  return Operand::Own(std::move(list.mutable_value()[i]));
}

// Applies `access` to each element of a projection, keeping the hits: like
// Actions, `needs.*.result` skips tasks that have no `result`.
template <typename Access>
Operand Project(const Operand& projection, Access access) {
  Value result = Value::array();
  for (const Value& element : projection.value()) {
    Operand item = Operand::Borrow(&element);
    if (std::optional<Operand> hit = access(item)) result.push_back(std::move(*hit).Take());
  }
  return Operand::Own(std::move(result), /*projection=*/true);
}

Operand Wildcard(Operand& base) {
  const Value& v = base.value();
  if (base.projection()) {
    // A second `*` flattens one level of the projected elements.
    Value result = Value::array();
    for (const Value& element : v) {
      if (element.is_structured()) {
        for (const Value& inner : element) result.push_back(inner);
      }
    }
    return Operand::Own(std::move(result), true);
  }
  if (v.is_array()) {
    if (!base.owned()) return Operand::Borrow(&v, true);
    return Operand::Own(std::move(base.mutable_value()), true);
  }
  Value result = Value::array();
  if (v.is_object()) {
    for (const Value& inner : v) result.push_back(inner);
  }
  return Operand::Own(std::move(result), true);
}

Status EvaluateCall(const Node& node, const Context& ctx, Operand* out) {
  std::vector<Operand> args(node.children.size());
  for (size_t i = 0; i < node.children.size(); ++i) {
    RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[i], ctx, &args[i]));
  }
  return CallFunction(node.function, args, ctx, out);
}

}  // namespace

Status EvaluateNode(const Node& node, const Context& ctx, Operand* out) {
  switch (node.kind) {
    case NodeKind::kLiteral:
      *out = Operand::Borrow(&node.literal);
      return Status::Ok();
    case NodeKind::kRoot: {
      const Value* v = ctx.Lookup(node.name);
      if (v == nullptr) {
        std::string lower = ToLowerAscii(node.name);
        if (lower != node.name) v = ctx.Lookup(lower);
      }
      if (v == nullptr) return Status::Invalid("unknown name '" + node.name + "'");
      *out = Operand::Borrow(v);
      return Status::Ok();
    }
    case NodeKind::kMember: {
      Operand base;
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, &base));
      auto access = [&](Operand& o) { return Member(o, node.name); };
      if (base.projection()) {
        *out = Project(base, access);
      } else {
        std::optional<Operand> hit = access(base);
        *out = hit ? std::move(*hit) : Operand::Borrow(&kNull);
      }
      return Status::Ok();
    }
    case NodeKind::kIndex: {
      Operand base, index;
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, &base));
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[1], ctx, &index));
      auto access = [&](Operand& o) { return Element(o, index.value()); };
      if (base.projection()) {
        *out = Project(base, access);
      } else {
        std::optional<Operand> hit = access(base);
        *out = hit ? std::move(*hit) : Operand::Borrow(&kNull);
      }
      return Status::Ok();
    }
    case NodeKind::kWildcard: {
      Operand base;
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, &base));
      *out = Wildcard(base);
      return Status::Ok();
    }
    case NodeKind::kNot: {
      Operand v;
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, &v));
      *out = Operand::Own(!IsTruthy(v.value()));
      return Status::Ok();
    }
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      // Short-circuit, returning the deciding operand itself (Actions).
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, out));
      bool truthy = IsTruthy(out->value());
      if (truthy == (node.kind == NodeKind::kAnd)) {
        RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[1], ctx, out));
      }
      out->clear_projection();
      return Status::Ok();
    }
    case NodeKind::kCompare: {
      Operand a, b;
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[0], ctx, &a));
      RELAY_RETURN_IF_ERROR(EvaluateNode(*node.children[1], ctx, &b));
      *out = Operand::Own(Compare(node.op, a.value(), b.value()));
      return Status::Ok();
    }
    case NodeKind::kCall:
      return EvaluateCall(node, ctx, out);
  }
  return Status::Internal("unknown expression node");
}

Result<Value> Expression::Evaluate(const Context& ctx) const {
  if (root_ == nullptr) return Status::Internal("evaluating an expression that was not parsed");
  Operand result;
  RELAY_RETURN_IF_ERROR(EvaluateNode(*root_, ctx, &result));
  return std::move(result).Take();
}

const Value* JsonContext::Lookup(std::string_view root) const {
  auto it = FindMember(roots_, root);
  return it == roots_.end() ? nullptr : &*it;
}

}  // namespace relay::expr
