// A recursive-descent parser over the token list, with Actions' precedence
// (lowest first): ||, &&, == !=, < <= > >=, !, postfix . [ ].
#include <algorithm>

#include "base/edit_distance.h"
#include "expr/ast.h"
#include "expr/functions.h"
#include "expr/lexer.h"
#include "expr/value.h"

namespace relay::expr {
namespace {

// Bounds recursion in the parser, the evaluator and the destructor. Actions
// allows 50 levels; real pipelines use a handful.
constexpr int kMaxDepth = 100;

using NodePtr = std::unique_ptr<Node>;

class Parser {
 public:
  Parser(std::string_view source, const std::vector<Token>& tokens)
      : source_(source), tokens_(tokens) {}

  std::optional<ParseError> Parse(NodePtr* root) {
    if (Peek().kind == TokenKind::kEnd) return Error(Peek(), "expected an expression");
    *root = ParseOr();
    if (error_) return error_;
    if (Peek().kind != TokenKind::kEnd) {
      const Token& t = Peek();
      ParseError e{t.offset, "unexpected " + DescribeToken(t, source_), ""};
      if (t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kString ||
          t.kind == TokenKind::kNumber) {
        e.hint = "expected an operator such as '==' or '&&' before it";
      }
      return e;
    }
    std::stable_sort(references_.begin(), references_.end(),
                     [](const Reference& a, const Reference& b) { return a.offset < b.offset; });
    return std::nullopt;
  }

  std::vector<Reference> TakeReferences() { return std::move(references_); }
  bool uses_status() const { return uses_status_; }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  std::optional<ParseError> Error(const Token& at, std::string message, std::string hint = "") {
    if (!error_) error_ = ParseError{at.offset, std::move(message), std::move(hint)};
    return error_;
  }

  static NodePtr MakeNode(NodeKind kind, size_t offset) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->offset = offset;
    return n;
  }

  static NodePtr Binary(NodeKind kind, size_t offset, NodePtr lhs, NodePtr rhs) {
    NodePtr n = MakeNode(kind, offset);
    n->children.push_back(std::move(lhs));
    n->children.push_back(std::move(rhs));
    return n;
  }

  // Depth counts nested operands, so a long chain `a && b && c ...` (which
  // nests to the left) is bounded as well as deep parentheses.
  bool Enter() {
    if (++depth_ > kMaxDepth && !error_) {
      error_ = ParseError{
          Peek().offset,
          "expression is nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)",
          ""};
    }
    return !error_;
  }

  // A left-associative level: operand (op operand)*.
  template <typename Next>
  NodePtr ParseBinaryLevel(Next next, NodeKind kind_for_logic,
                           std::initializer_list<std::pair<TokenKind, CompareOp>> ops) {
    NodePtr lhs = (this->*next)();
    int nested = 0;
    while (!error_) {
      const Token& t = Peek();
      auto match =
          std::find_if(ops.begin(), ops.end(), [&](const auto& op) { return op.first == t.kind; });
      if (match == ops.end()) break;
      Advance();
      if (!Enter()) break;
      ++nested;
      operator_ = &t;
      NodePtr rhs = (this->*next)();
      if (error_) break;
      NodePtr n = Binary(kind_for_logic, t.offset, std::move(lhs), std::move(rhs));
      n->op = match->second;
      lhs = std::move(n);
    }
    depth_ -= nested;
    return lhs;
  }

  NodePtr ParseOr() {
    return ParseBinaryLevel(&Parser::ParseAnd, NodeKind::kOr, {{TokenKind::kOr, CompareOp::kEq}});
  }
  NodePtr ParseAnd() {
    return ParseBinaryLevel(&Parser::ParseEquality, NodeKind::kAnd,
                            {{TokenKind::kAnd, CompareOp::kEq}});
  }
  NodePtr ParseEquality() {
    return ParseBinaryLevel(
        &Parser::ParseComparison, NodeKind::kCompare,
        {{TokenKind::kEqual, CompareOp::kEq}, {TokenKind::kNotEqual, CompareOp::kNe}});
  }
  NodePtr ParseComparison() {
    return ParseBinaryLevel(&Parser::ParseUnary, NodeKind::kCompare,
                            {{TokenKind::kLess, CompareOp::kLt},
                             {TokenKind::kLessEqual, CompareOp::kLe},
                             {TokenKind::kGreater, CompareOp::kGt},
                             {TokenKind::kGreaterEqual, CompareOp::kGe}});
  }

  NodePtr ParseUnary() {
    if (Peek().kind != TokenKind::kNot) return ParsePostfix();
    const Token& bang = Advance();
    if (!Enter()) return nullptr;
    operator_ = &bang;
    NodePtr operand = ParseUnary();
    --depth_;
    if (error_) return nullptr;
    NodePtr n = MakeNode(NodeKind::kNot, bang.offset);
    n->children.push_back(std::move(operand));
    return n;
  }

  // The error for a token that cannot start an operand.
  void ExpectedOperand(const Token& t) {
    if (operator_ != nullptr) {
      Error(t, "expected an expression after '" +
                   std::string(source_.substr(operator_->offset, operator_->length)) + "'");
    } else {
      Error(t, "unexpected " + DescribeToken(t, source_));
    }
  }

  NodePtr ParsePostfix() {
    const Token& first = Peek();
    NodePtr base = ParsePrimary();
    if (error_) return nullptr;
    // The literal path of a reference, while it stays literal.
    std::optional<Reference> ref;
    bool literal_path = base->kind == NodeKind::kRoot;
    if (literal_path) ref = Reference{{base->name}, first.offset};
    int nested = 0;
    while (!error_) {
      const Token& t = Peek();
      if (t.kind == TokenKind::kDot) {
        Advance();
        if (!Enter()) break;
        ++nested;
        const Token& name = Advance();
        if (name.kind == TokenKind::kStar) {
          base = Wrap(NodeKind::kWildcard, t.offset, std::move(base));
          literal_path = false;
        } else if (name.kind == TokenKind::kIdentifier) {
          base = Wrap(NodeKind::kMember, t.offset, std::move(base));
          base->name = name.text;
          if (literal_path) ref->path.push_back(name.text);
        } else {
          Error(name, "expected a property name after '.'");
        }
      } else if (t.kind == TokenKind::kLeftBracket) {
        Advance();
        if (!Enter()) break;
        ++nested;
        base = ParseIndex(t, std::move(base), literal_path ? &*ref : nullptr, &literal_path);
      } else {
        break;
      }
    }
    depth_ -= nested;
    if (ref) references_.push_back(std::move(*ref));
    return error_ ? nullptr : std::move(base);
  }

  // After '[': `*]` or `expr]`. A string literal index becomes a member
  // access (and extends the reference path).
  NodePtr ParseIndex(const Token& bracket, NodePtr base, Reference* ref, bool* literal_path) {
    if (Peek().kind == TokenKind::kStar) {
      Advance();
      *literal_path = false;
      base = Wrap(NodeKind::kWildcard, bracket.offset, std::move(base));
    } else {
      operator_ = &bracket;
      NodePtr index = ParseOr();
      if (error_) return nullptr;
      if (index->kind == NodeKind::kLiteral && index->literal.is_string()) {
        std::string name = index->literal.get<std::string>();
        if (ref != nullptr) ref->path.push_back(name);
        base = Wrap(NodeKind::kMember, bracket.offset, std::move(base));
        base->name = std::move(name);
      } else {
        *literal_path = false;
        base = Wrap(NodeKind::kIndex, bracket.offset, std::move(base));
        base->children.push_back(std::move(index));
      }
    }
    if (Peek().kind != TokenKind::kRightBracket) {
      Error(Peek(), "expected ']' to match '['");
      return nullptr;
    }
    Advance();
    return base;
  }

  static NodePtr Wrap(NodeKind kind, size_t offset, NodePtr child) {
    NodePtr n = MakeNode(kind, offset);
    n->children.push_back(std::move(child));
    return n;
  }

  NodePtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kNumber: {
        Advance();
        NodePtr n = MakeNode(NodeKind::kLiteral, t.offset);
        n->literal = t.number;
        return n;
      }
      case TokenKind::kString: {
        Advance();
        NodePtr n = MakeNode(NodeKind::kLiteral, t.offset);
        n->literal = t.text;
        return n;
      }
      case TokenKind::kLeftParen: {
        Advance();
        if (!Enter()) return nullptr;
        operator_ = &t;
        NodePtr inner = ParseOr();
        --depth_;
        if (error_) return nullptr;
        if (Peek().kind != TokenKind::kRightParen) {
          Error(Peek(), "expected ')' to match '('");
          return nullptr;
        }
        Advance();
        return inner;
      }
      case TokenKind::kIdentifier:
        return ParseName();
      default:
        ExpectedOperand(t);
        return nullptr;
    }
  }

  NodePtr ParseName() {
    const Token& t = Advance();
    if (tokens_[pos_].kind == TokenKind::kLeftParen) return ParseCall(t);
    NodePtr n = MakeNode(NodeKind::kLiteral, t.offset);
    if (t.text == "null") return n;
    if (t.text == "true" || t.text == "false") {
      n->literal = t.text == "true";
      return n;
    }
    n->kind = NodeKind::kRoot;
    n->name = t.text;
    return n;
  }

  NodePtr ParseCall(const Token& name) {
    const FunctionSpec* spec = FindFunction(name.text);
    if (spec == nullptr) {
      std::vector<std::string> lowered;
      for (const std::string& f : FunctionNames()) lowered.push_back(ToLowerAscii(f));
      std::string guess = SuggestClosest(ToLowerAscii(name.text), lowered);
      std::string hint;
      for (const std::string& f : FunctionNames()) {
        if (!guess.empty() && ToLowerAscii(f) == guess) hint = "did you mean '" + f + "'?";
      }
      Error(name, "unknown function '" + name.text + "'", hint);
      return nullptr;
    }
    const Token& paren = Advance();
    if (!Enter()) return nullptr;
    NodePtr call = MakeNode(NodeKind::kCall, name.offset);
    call->function = spec->function;
    if (spec->is_status) uses_status_ = true;
    if (Peek().kind != TokenKind::kRightParen) {
      operator_ = &paren;
      while (!error_) {
        call->children.push_back(ParseOr());
        if (error_) break;
        if (Peek().kind != TokenKind::kComma) break;
        operator_ = &Advance();
      }
    }
    --depth_;
    if (error_) return nullptr;
    if (Peek().kind != TokenKind::kRightParen) {
      Error(Peek(), "expected ',' or ')' in the call of " + std::string(spec->name) + "()");
      return nullptr;
    }
    Advance();
    auto count = static_cast<int>(call->children.size());
    if (count < spec->min_args || (spec->max_args >= 0 && count > spec->max_args)) {
      Error(name, ArityText(*spec) + ", got " + std::to_string(count));
      return nullptr;
    }
    if (spec->function == Function::kFormat) CheckFormat(*call);
    return call;
  }

  // A literal format string is checked now rather than at each evaluation.
  void CheckFormat(const Node& call) {
    const Node& format = *call.children[0];
    if (format.kind != NodeKind::kLiteral || !format.literal.is_string()) return;
    if (auto err = CheckFormatString(format.literal.get_ref<const std::string&>(),
                                     call.children.size() - 1)) {
      error_ = ParseError{format.offset, "format: " + *err, ""};
    }
  }

  std::string_view source_;
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  const Token* operator_ = nullptr;  // the token before the operand being parsed
  std::optional<ParseError> error_;
  std::vector<Reference> references_;
  bool uses_status_ = false;
};

}  // namespace

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(const Expression&) = default;
Expression& Expression::operator=(const Expression&) = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

std::optional<ParseError> Expression::Parse(std::string_view source, Expression* out) {
  std::vector<Token> tokens;
  if (auto err = Lex(source, &tokens)) return err;
  Parser parser(source, tokens);
  std::unique_ptr<Node> root;
  if (auto err = parser.Parse(&root)) return err;
  out->source_ = std::string(source);
  out->root_ = std::shared_ptr<const Node>(std::move(root));
  out->references_ = parser.TakeReferences();
  out->uses_status_ = parser.uses_status();
  return std::nullopt;
}

}  // namespace relay::expr
