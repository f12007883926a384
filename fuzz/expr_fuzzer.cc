// Feeds arbitrary bytes to the expression language: as a template and as a
// bare expression, evaluating whatever parses. Nothing may crash, throw,
// hang or leak; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expr/expr.h"

namespace {

const relay::expr::JsonContext& Context() {
  static const relay::expr::JsonContext ctx(relay::expr::Value::parse(R"({
        "inputs": {"name": "relay", "count": 3, "flag": true, "list": ["a", "b", 1, null],
                   "json": "{\"k\": [1, {\"x\": 2}]}", "empty": ""},
        "env": {"HOME": "/home/u", "PATH": "/bin"},
        "matrix": {"os": "linux", "n": 2.5},
        "needs": {"build": {"result": "success", "outputs": {"v": "1.0"}},
                  "test": {"result": "failure", "outputs": {}}},
        "run": {"id": "r-1", "attempt": 1}
      })"),
                                            relay::expr::StatusFunctions{false, true, false});
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const relay::expr::Context& ctx = Context();

  relay::expr::Template tmpl;
  if (auto err = relay::expr::Template::Parse(text, &tmpl)) {
    if (err->offset > size) __builtin_trap();
  } else {
    (void)tmpl.Render(ctx);
    (void)tmpl.References();
    (void)tmpl.SoleExpression();
  }

  relay::expr::Expression expr;
  if (auto err = relay::expr::Expression::Parse(text, &expr)) {
    if (err->offset > size) __builtin_trap();  // errors must point into the input
    return 0;
  }
  relay::Result<relay::expr::Value> value = expr.Evaluate(ctx);
  if (value.ok()) {
    (void)relay::expr::ToDisplayString(*value);
    (void)relay::expr::IsTruthy(*value);
  }
  for (const relay::expr::Reference& ref : expr.references()) {
    if (ref.path.empty() || ref.offset >= size) __builtin_trap();
  }
  return 0;
}
