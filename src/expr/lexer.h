// Splits an expression's source into tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"

namespace relay::expr {

enum class TokenKind {
  kEnd,         // end of the source (always the last token)
  kNumber,      // number holds the value
  kString,      // text holds the unescaped contents
  kIdentifier,  // text; includes the keywords null, true and false
  kLeftParen,
  kRightParen,
  kLeftBracket,
  kRightBracket,
  kDot,
  kComma,
  kStar,
  kNot,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kEqual,
  kNotEqual,
  kAnd,
  kOr,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;  // byte offset of the first character in the source
  size_t length = 0;  // bytes of source the token spans
  std::string text;   // kString, kIdentifier
  Value number;       // kNumber: an integer when it fits int64/uint64, else a double
};

// Tokenises all of `source` into `out` (ending with kEnd), or says where the
// first bad character is. Numbers are parsed independently of the locale.
std::optional<ParseError> Lex(std::string_view source, std::vector<Token>* out);

// How a token reads in a message: "'&&'", "'needs'", "number 12", "string",
// "end of expression".
std::string DescribeToken(const Token& token, std::string_view source);

// The spelling of an operator token ("&&"), or "" for other kinds.
std::string_view OperatorSpelling(TokenKind kind);

}  // namespace relay::expr
