#include "expr/lexer.h"

#include <charconv>
#include <cstdint>
#include <cstdio>

namespace relay::expr {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
// Actions allows '-' inside names (needs.my-job.outputs.x); there is no
// subtraction operator, so this is unambiguous.
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '-'; }

ParseError Error(size_t offset, std::string message, std::string hint = "") {
  return ParseError{offset, std::move(message), std::move(hint)};
}

std::string Printable(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", u);
  return std::string("byte ") + buf;
}

// Parses the literal `text` (already matched against the number grammar).
// from_chars is locale-independent, unlike strtod.
std::optional<Value> NumberValue(std::string_view text, bool hex, bool integral) {
  const char* first = text.data();
  const char* last = first + text.size();
  bool negative = !text.empty() && text[0] == '-';
  if (hex) {
    uint64_t u = 0;
    auto [p, ec] = std::from_chars(first + (negative ? 3 : 2), last, u, 16);
    if (ec != std::errc() || p != last) return std::nullopt;
    if (!negative) return Value(u);
    if (u > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return Value(static_cast<int64_t>(0 - u));
  }
  if (integral) {
    int64_t i = 0;
    auto [p, ec] = std::from_chars(first, last, i);
    if (ec == std::errc() && p == last) return Value(i);
    uint64_t u = 0;
    auto [pu, ecu] = std::from_chars(first, last, u);
    if (!negative && ecu == std::errc() && pu == last) return Value(u);
  }
  double d = 0;
  auto [p, ec] = std::from_chars(first, last, d);
  if (ec != std::errc() || p != last) return std::nullopt;
  return Value(d);
}

class Lexer {
 public:
  Lexer(std::string_view src, std::vector<Token>* out) : src_(src), out_(out) {}

  std::optional<ParseError> Run() {
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) break;
      if (auto err = Next()) return err;
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.offset = src_.size();
    out_->push_back(std::move(end));
    return std::nullopt;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  void Push(TokenKind kind, size_t length) {
    Token t;
    t.kind = kind;
    t.offset = pos_;
    t.length = length;
    out_->push_back(std::move(t));
    pos_ += length;
  }

  char Peek(size_t ahead) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

  std::optional<ParseError> Next() {
    char c = src_[pos_];
    char n = Peek(1);
    switch (c) {
      case '(':
        Push(TokenKind::kLeftParen, 1);
        return std::nullopt;
      case ')':
        Push(TokenKind::kRightParen, 1);
        return std::nullopt;
      case '[':
        Push(TokenKind::kLeftBracket, 1);
        return std::nullopt;
      case ']':
        Push(TokenKind::kRightBracket, 1);
        return std::nullopt;
      case '.':
        Push(TokenKind::kDot, 1);
        return std::nullopt;
      case ',':
        Push(TokenKind::kComma, 1);
        return std::nullopt;
      case '*':
        Push(TokenKind::kStar, 1);
        return std::nullopt;
      case '!':
        Push(n == '=' ? TokenKind::kNotEqual : TokenKind::kNot, n == '=' ? 2 : 1);
        return std::nullopt;
      case '<':
        Push(n == '=' ? TokenKind::kLessEqual : TokenKind::kLess, n == '=' ? 2 : 1);
        return std::nullopt;
      case '>':
        Push(n == '=' ? TokenKind::kGreaterEqual : TokenKind::kGreater, n == '=' ? 2 : 1);
        return std::nullopt;
      case '=':
        if (n == '=') {
          Push(TokenKind::kEqual, 2);
          return std::nullopt;
        }
        return Error(pos_, "unexpected '='", "use '==' to compare");
      case '&':
        if (n == '&') {
          Push(TokenKind::kAnd, 2);
          return std::nullopt;
        }
        return Error(pos_, "unexpected '&'", "use '&&' for a logical and");
      case '|':
        if (n == '|') {
          Push(TokenKind::kOr, 2);
          return std::nullopt;
        }
        return Error(pos_, "unexpected '|'", "use '||' for a logical or");
      case '\'':
        return String();
      case '"':
        return Error(pos_, "strings are written in single quotes",
                     "use single quotes: 'text' (write '' for a quote inside)");
      default:
        break;
    }
    if (IsDigit(c) || (c == '-' && IsDigit(n))) return Number();
    if (IsIdentStart(c)) {
      size_t end = pos_ + 1;
      while (end < src_.size() && IsIdentChar(src_[end])) ++end;
      Token t;
      t.kind = TokenKind::kIdentifier;
      t.offset = pos_;
      t.length = end - pos_;
      t.text = std::string(src_.substr(pos_, end - pos_));
      out_->push_back(std::move(t));
      pos_ = end;
      return std::nullopt;
    }
    if (c == '-')
      return Error(pos_, "unexpected '-'",
                   "there is no subtraction; a negative number is written -1");
    return Error(pos_, "unexpected character " + Printable(c));
  }

  std::optional<ParseError> String() {
    size_t start = pos_;
    std::string text;
    size_t i = pos_ + 1;
    while (true) {
      if (i >= src_.size()) {
        return Error(start, "unterminated string",
                     "close it with ' (a quote inside a string is written '')");
      }
      if (src_[i] == '\'') {
        if (i + 1 < src_.size() && src_[i + 1] == '\'') {
          text += '\'';
          i += 2;
          continue;
        }
        break;
      }
      text += src_[i++];
    }
    Token t;
    t.kind = TokenKind::kString;
    t.offset = start;
    t.length = i + 1 - start;
    t.text = std::move(text);
    out_->push_back(std::move(t));
    pos_ = i + 1;
    return std::nullopt;
  }

  std::optional<ParseError> Number() {
    size_t start = pos_;
    size_t i = pos_;
    if (src_[i] == '-') ++i;
    bool hex = false;
    bool integral = true;
    auto digits = [&](bool (*pred)(char)) {
      size_t from = i;
      while (i < src_.size() && pred(src_[i])) ++i;
      return i > from;
    };
    bool ok = true;
    if (src_[i] == '0' && i + 1 < src_.size() && (src_[i + 1] == 'x' || src_[i + 1] == 'X')) {
      hex = true;
      i += 2;
      ok = digits(IsHexDigit);
    } else {
      digits(IsDigit);
      if (i < src_.size() && src_[i] == '.') {
        integral = false;
        ++i;
        ok = digits(IsDigit);
      }
      if (ok && i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
        integral = false;
        ++i;
        if (i < src_.size() && (src_[i] == '+' || src_[i] == '-')) ++i;
        ok = digits(IsDigit);
      }
    }
    // A number runs into the next delimiter: "12abc" or "1.2.3" is one bad token.
    size_t end = i;
    while (end < src_.size() && (IsIdentChar(src_[end]) || src_[end] == '.')) {
      ok = false;
      ++end;
    }
    std::string_view text = src_.substr(start, end - start);
    if (!ok) return Error(start, "invalid number '" + std::string(text) + "'");
    std::optional<Value> value = NumberValue(text, hex, integral);
    if (!value) return Error(start, "number '" + std::string(text) + "' is out of range");
    Token t;
    t.kind = TokenKind::kNumber;
    t.offset = start;
    t.length = end - start;
    t.number = std::move(*value);
    out_->push_back(std::move(t));
    pos_ = end;
    return std::nullopt;
  }

  std::string_view src_;
  std::vector<Token>* out_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<ParseError> Lex(std::string_view source, std::vector<Token>* out) {
  out->clear();
  return Lexer(source, out).Run();
}

std::string_view OperatorSpelling(TokenKind kind) {
  switch (kind) {
    case TokenKind::kLeftParen:
      return "(";
    case TokenKind::kRightParen:
      return ")";
    case TokenKind::kLeftBracket:
      return "[";
    case TokenKind::kRightBracket:
      return "]";
    case TokenKind::kDot:
      return ".";
    case TokenKind::kComma:
      return ",";
    case TokenKind::kStar:
      return "*";
    case TokenKind::kNot:
      return "!";
    case TokenKind::kLess:
      return "<";
    case TokenKind::kLessEqual:
      return "<=";
    case TokenKind::kGreater:
      return ">";
    case TokenKind::kGreaterEqual:
      return ">=";
    case TokenKind::kEqual:
      return "==";
    case TokenKind::kNotEqual:
      return "!=";
    case TokenKind::kAnd:
      return "&&";
    case TokenKind::kOr:
      return "||";
    default:
      return "";
  }
}

std::string DescribeToken(const Token& token, std::string_view source) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of expression";
    case TokenKind::kString:
      return "string";
    case TokenKind::kNumber:
      return "number " + std::string(source.substr(token.offset, token.length));
    case TokenKind::kIdentifier:
      return "'" + token.text + "'";
    default:
      return "'" + std::string(OperatorSpelling(token.kind)) + "'";
  }
}

}  // namespace relay::expr
