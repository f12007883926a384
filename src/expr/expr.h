// The expression language of pipeline files: `${{ … }}`, compatible with
// GitHub Actions' syntax and semantics where the two overlap.
//
//   literals     null true false 42 0x2A 1.5e3 'single quoted' ('' escapes ')
//   references   inputs.x  env.X  matrix.k  needs.<task>.outputs.<o>
//                needs.<task>.result  run.id  a['key']  a[0]
//   operators    ( ) [ ] . ! < <= > >= == != && ||
//   functions    success() failure() always() cancelled()
//                contains startsWith endsWith format join toJSON fromJSON
//
// Semantics follow Actions: == and != compare loosely (numbers, then
// case-insensitive strings), && and || return one of their operands, and the
// falsy values are false, 0, -0, '', null and NaN.
//
// Names ignore ASCII case, as in Actions: function names (Contains(...)),
// top-level names (Inputs.x) and properties and string indexes
// (needs.Build.outputs.X) all match by FindName below. Values keep their
// case; the keywords true, false and null are lower case only (as in
// Actions, where `True` is a name).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace relay::expr {

using Value = nlohmann::json;

struct Node;  // the AST, private to the module (ast.h)

// Where and why parsing failed. `offset` is a byte offset into the source
// text given to Parse; `hint` is an optional fix ("did you mean 'startsWith'?").
struct ParseError {
  size_t offset = 0;
  std::string message;
  std::string hint;
};

// A dotted name the expression reads, e.g. needs.build.outputs.version is
// {"needs", "build", "outputs", "version"}. Index access with a literal
// string (inputs['env']) is normalised to the same form; the path stops at
// the first dynamic index or `*`. Segments are spelled as written (Needs.B
// gives {"Needs", "B"}): match them with FindName, not ==.
struct Reference {
  std::vector<std::string> path;
  size_t offset = 0;  // byte offset of the reference in the source
};

// Results of the status functions for the task being decided.
struct StatusFunctions {
  bool success = true;     // every need succeeded
  bool failure = false;    // some need (or an ancestor) failed
  bool cancelled = false;  // the run is being cancelled
};

// What the names of an expression evaluate to.
class Context {
 public:
  virtual ~Context() = default;
  // The value of a top-level name (inputs, env, matrix, needs, run), or
  // nullptr when the name is not available here. `root` is spelled as
  // written; when this returns nullptr for a name with upper-case letters,
  // the evaluator asks again with the name in lower case, so a context whose
  // names are all lower case may compare exactly.
  virtual const Value* Lookup(std::string_view root) const = 0;
  virtual StatusFunctions Status() const { return {}; }
};

// A Context over a JSON object whose keys are the top-level names, matched
// by FindName (exact key first, else the only key equal ignoring case).
class JsonContext : public Context {
 public:
  explicit JsonContext(Value roots, StatusFunctions status = {})
      : roots_(std::move(roots)), status_(status) {}
  const Value* Lookup(std::string_view root) const override;
  StatusFunctions Status() const override { return status_; }
  Value& roots() { return roots_; }

 private:
  Value roots_;
  StatusFunctions status_;
};

class Expression {
 public:
  Expression();
  ~Expression();
  Expression(const Expression&);
  Expression& operator=(const Expression&);
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;

  // Parses an expression (the text between `${{` and `}}`, or a bare `if:`).
  // Unknown functions, wrong argument counts and a bad literal format string
  // are parse errors. `source` is kept verbatim; on error *out is unchanged.
  static std::optional<ParseError> Parse(std::string_view source, Expression* out);

  const std::string& source() const { return source_; }
  const std::vector<Reference>& references() const { return references_; }
  // True when success(), failure(), always() or cancelled() appears.
  bool UsesStatusFunction() const { return uses_status_; }

  // Evaluates against `ctx`. Fails (kInvalid) on a runtime error such as
  // fromJSON of malformed text, naming the function and the problem.
  Result<Value> Evaluate(const Context& ctx) const;

 private:
  friend class Template;  // renders through the tree without copying values

  std::string source_;
  std::shared_ptr<const Node> root_;
  std::vector<Reference> references_;
  bool uses_status_ = false;
};

// Text with `${{ … }}` holes, such as a `run:` command.
class Template {
 public:
  struct Piece {
    std::string literal;             // text before the expression
    std::optional<Expression> expr;  // absent for the trailing literal
    size_t expr_offset = 0;          // byte offset of the expression's first character
  };

  // Errors point into `text` (an unclosed `${{` points at its `$`). The
  // last piece is always the trailing literal (possibly empty) without an
  // expression, so a text without `${{` is one piece.
  static std::optional<ParseError> Parse(std::string_view text, Template* out);
  // For checking a template: parses each `${{ … }}` on its own and returns
  // every error, in order (an unclosed `${{` or string ends the text, so it
  // is the last). *out always receives the expressions that parsed, the
  // others left out: enough to check what they read, but render only a
  // template for which this returned no error.
  static std::vector<ParseError> ParseEach(std::string_view text, Template* out);

  bool IsLiteral() const;
  // When the text is exactly one `${{ expr }}` (surrounding spaces allowed).
  const Expression* SoleExpression() const;
  const std::vector<Piece>& pieces() const { return pieces_; }
  // The references of all expressions, offsets relative to the template text.
  std::vector<Reference> References() const;

  Result<std::string> Render(const Context& ctx) const;

 private:
  std::vector<Piece> pieces_;
};

// Actions' coercions, exposed for the scheduler and tests.
bool IsTruthy(const Value& v);
std::string ToDisplayString(const Value& v);  // null → "", 1.0 → "1", objects → JSON

// The function names the language knows (for did-you-mean and docs).
const std::vector<std::string>& FunctionNames();

// How the language matches a name it reads against the names available
// (top-level names, object keys, and for static checks input, env, matrix,
// task and output names): the index in `names` of `name` spelled exactly,
// else of the only entry equal to it ignoring ASCII case; nullopt when there
// is none or when several differ from it only in case (`ab` finds "ab" in
// {"AB", "ab"}; `Ab` finds nothing there). O(names.size()).
std::optional<size_t> FindName(std::string_view name, const std::vector<std::string>& names);

}  // namespace relay::expr
