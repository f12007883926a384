#include <variant>

#include "base/strings.h"
#include "expr/eval.h"
#include "expr/expr.h"
#include "expr/value.h"

namespace relay::expr {
namespace {

bool IsBlank(std::string_view s) { return Trim(s).empty(); }

// The offset of the `}}` closing an expression that starts at `start`,
// skipping quoted strings (whose text may contain `}}`), or a ParseError.
std::variant<size_t, ParseError> FindClose(std::string_view text, size_t open, size_t start) {
  size_t i = start;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\'') {
      size_t j = i + 1;
      while (j < text.size()) {
        if (text[j] != '\'') {
          ++j;
        } else if (j + 1 < text.size() && text[j + 1] == '\'') {
          j += 2;
        } else {
          break;
        }
      }
      if (j >= text.size()) {
        return ParseError{i, "unterminated string",
                          "close it with ' (a quote inside a string is written '')"};
      }
      i = j + 1;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      return i;
    } else {
      ++i;
    }
  }
  return ParseError{open, "unclosed '${{'", "end the expression with '}}'"};
}

// Splits `text` into pieces, parsing each `${{ … }}` on its own. An
// expression that does not parse is left out and its error added to
// *errors; with `stop`, parsing ends there. An unclosed `${{` or string
// always ends it: the rest of the text belongs to that expression.
void ParsePieces(std::string_view text, bool stop, std::vector<Template::Piece>* pieces,
                 std::vector<ParseError>* errors) {
  std::string literal;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("${{", pos);
    if (open == std::string_view::npos) {
      literal.append(text.substr(pos));
      break;
    }
    literal.append(text.substr(pos, open - pos));
    size_t start = open + 3;
    auto close = FindClose(text, open, start);
    if (auto* err = std::get_if<ParseError>(&close)) {
      errors->push_back(std::move(*err));
      break;
    }
    size_t end = std::get<size_t>(close);
    pos = end + 2;
    Expression e;
    if (auto err = Expression::Parse(text.substr(start, end - start), &e)) {
      err->offset += start;
      errors->push_back(std::move(*err));
      if (stop) break;
      continue;
    }
    pieces->push_back(Template::Piece{std::move(literal), std::move(e), start});
    literal.clear();
  }
  pieces->push_back(Template::Piece{std::move(literal), std::nullopt, 0});
}

}  // namespace

std::optional<ParseError> Template::Parse(std::string_view text, Template* out) {
  if (text.find("${{") == std::string_view::npos) {  // plain text, the common case
    out->pieces_.clear();
    out->pieces_.push_back(Piece{std::string(text), std::nullopt, 0});
    return std::nullopt;
  }
  std::vector<Piece> pieces;
  std::vector<ParseError> errors;
  ParsePieces(text, /*stop=*/true, &pieces, &errors);
  if (!errors.empty()) return std::move(errors.front());
  out->pieces_ = std::move(pieces);
  return std::nullopt;
}

std::vector<ParseError> Template::ParseEach(std::string_view text, Template* out) {
  std::vector<Piece> pieces;
  std::vector<ParseError> errors;
  ParsePieces(text, /*stop=*/false, &pieces, &errors);
  out->pieces_ = std::move(pieces);
  return errors;
}

bool Template::IsLiteral() const {
  for (const Piece& p : pieces_) {
    if (p.expr) return false;
  }
  return true;
}

const Expression* Template::SoleExpression() const {
  if (pieces_.size() != 2 || !pieces_[0].expr) return nullptr;
  if (!IsBlank(pieces_[0].literal) || !IsBlank(pieces_[1].literal)) return nullptr;
  return &*pieces_[0].expr;
}

std::vector<Reference> Template::References() const {
  std::vector<Reference> refs;
  for (const Piece& p : pieces_) {
    if (!p.expr) continue;
    for (Reference r : p.expr->references()) {
      r.offset += p.expr_offset;
      refs.push_back(std::move(r));
    }
  }
  return refs;
}

Result<std::string> Template::Render(const Context& ctx) const {
  std::string out;
  for (const Piece& p : pieces_) {
    out += p.literal;
    if (!p.expr) continue;
    if (p.expr->root_ == nullptr) return Status::Internal("rendering an unparsed template");
    // Evaluating in place appends context values without copying them.
    Operand value;
    Status s = EvaluateNode(*p.expr->root_, ctx, &value);
    if (!s.ok()) {
      return Status(s.code(),
                    "in ${{ " + std::string(Trim(p.expr->source())) + " }}: " + s.message());
    }
    AppendDisplayString(value.value(), &out);
  }
  return out;
}

}  // namespace relay::expr
