#include "expr/lexer.h"

#include <gtest/gtest.h>

namespace relay::expr {
namespace {

std::vector<Token> LexOk(std::string_view source) {
  std::vector<Token> tokens;
  auto err = Lex(source, &tokens);
  EXPECT_FALSE(err) << source << ": " << (err ? err->message : "");
  return tokens;
}

ParseError LexError(std::string_view source) {
  std::vector<Token> tokens;
  auto err = Lex(source, &tokens);
  EXPECT_TRUE(err) << source;
  return err.value_or(ParseError{});
}

Value Number(std::string_view source) {
  std::vector<Token> tokens = LexOk(source);
  EXPECT_EQ(tokens.size(), 2u) << source;
  EXPECT_EQ(tokens[0].kind, TokenKind::kNumber) << source;
  return tokens[0].number;
}

TEST(LexerTest, EveryOperatorAndPunctuation) {
  std::vector<Token> t = LexOk("( ) [ ] . , * ! < <= > >= == != && ||");
  std::vector<TokenKind> want = {
      TokenKind::kLeftParen,    TokenKind::kRightParen, TokenKind::kLeftBracket,
      TokenKind::kRightBracket, TokenKind::kDot,        TokenKind::kComma,
      TokenKind::kStar,         TokenKind::kNot,        TokenKind::kLess,
      TokenKind::kLessEqual,    TokenKind::kGreater,    TokenKind::kGreaterEqual,
      TokenKind::kEqual,        TokenKind::kNotEqual,   TokenKind::kAnd,
      TokenKind::kOr,           TokenKind::kEnd};
  ASSERT_EQ(t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[i].kind, want[i]) << i;
  EXPECT_EQ(t[5].offset, 10u);
  EXPECT_EQ(t[9].offset, 18u);
  EXPECT_EQ(t[9].length, 2u);
  EXPECT_EQ(t.back().offset, 37u);
}

TEST(LexerTest, OperatorsNeedNoSpaces) {
  std::vector<Token> t = LexOk("a<=b&&!c");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[1].kind, TokenKind::kLessEqual);
  EXPECT_EQ(t[3].kind, TokenKind::kAnd);
  EXPECT_EQ(t[4].kind, TokenKind::kNot);
  EXPECT_EQ(t[5].text, "c");
}

TEST(LexerTest, IdentifiersMayContainDashesAndDigits) {
  std::vector<Token> t = LexOk("needs.my-job_2.outputs");
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[2].kind, TokenKind::kIdentifier);
  EXPECT_EQ(t[2].text, "my-job_2");
  EXPECT_EQ(t[2].offset, 6u);
  EXPECT_EQ(t[2].length, 8u);
}

TEST(LexerTest, Numbers) {
  EXPECT_EQ(Number("42"), Value(42));
  EXPECT_TRUE(Number("42").is_number_integer());
  EXPECT_EQ(Number("-7"), Value(-7));
  EXPECT_EQ(Number("0x2A"), Value(42));
  EXPECT_EQ(Number("0XfF"), Value(255));
  EXPECT_EQ(Number("-0x10"), Value(-16));
  EXPECT_EQ(Number("1.5"), Value(1.5));
  EXPECT_EQ(Number("1e3"), Value(1000.0));
  EXPECT_TRUE(Number("1e3").is_number_float());
  EXPECT_EQ(Number("-2.99e-2"), Value(-0.0299));
  EXPECT_EQ(Number("2E+2"), Value(200.0));
  EXPECT_EQ(Number("9007199254740993"), Value(int64_t{9007199254740993}));
  EXPECT_EQ(Number("18446744073709551615"), Value(uint64_t{18446744073709551615u}));
  EXPECT_EQ(Number("-9223372036854775808"), Value(INT64_MIN));
  EXPECT_TRUE(Number("99999999999999999999").is_number_float());
}

TEST(LexerTest, BadNumbers) {
  for (const char* bad : {"12abc", "1.", "0x", "1e", "1e+", "1.2.3", "0xZ1", "3-4"}) {
    ParseError e = LexError(std::string("x == ") + bad);
    EXPECT_EQ(e.offset, 5u) << bad;
    EXPECT_EQ(e.message, std::string("invalid number '") + bad + "'") << bad;
  }
  ParseError e = LexError("1e999");
  EXPECT_EQ(e.message, "number '1e999' is out of range");
  EXPECT_EQ(LexError("0x1ffffffffffffffff").message,
            "number '0x1ffffffffffffffff' is out of range");
}

TEST(LexerTest, Strings) {
  std::vector<Token> t = LexOk("'it''s' '' 'a}}b'");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].kind, TokenKind::kString);
  EXPECT_EQ(t[0].text, "it's");
  EXPECT_EQ(t[0].length, 7u);
  EXPECT_EQ(t[1].text, "");
  EXPECT_EQ(t[1].offset, 8u);
  EXPECT_EQ(t[2].text, "a}}b");
}

TEST(LexerTest, UnterminatedString) {
  ParseError e = LexError("x == 'abc");
  EXPECT_EQ(e.offset, 5u);
  EXPECT_EQ(e.message, "unterminated string");
  EXPECT_EQ(LexError("'it''s").message, "unterminated string");
}

TEST(LexerTest, DoubleQuotesSuggestSingleQuotes) {
  ParseError e = LexError("x == \"abc\"");
  EXPECT_EQ(e.offset, 5u);
  EXPECT_EQ(e.message, "strings are written in single quotes");
  EXPECT_NE(e.hint.find("use single quotes"), std::string::npos);
}

TEST(LexerTest, SingleCharacterOperatorsHint) {
  struct Case {
    const char* source;
    size_t offset;
    const char* message;
    const char* hint;
  } cases[] = {
      {"a = b", 2, "unexpected '='", "use '==' to compare"},
      {"a & b", 2, "unexpected '&'", "use '&&' for a logical and"},
      {"a | b", 2, "unexpected '|'", "use '||' for a logical or"},
  };
  for (const Case& c : cases) {
    ParseError e = LexError(c.source);
    EXPECT_EQ(e.offset, c.offset) << c.source;
    EXPECT_EQ(e.message, c.message) << c.source;
    EXPECT_EQ(e.hint, c.hint) << c.source;
  }
}

TEST(LexerTest, UnexpectedCharacters) {
  EXPECT_EQ(LexError("a # b").message, "unexpected character '#'");
  EXPECT_EQ(LexError("a # b").offset, 2u);
  EXPECT_EQ(LexError("x\xC3\xA9").message, "unexpected character byte 0xC3");
  ParseError minus = LexError("- a");
  EXPECT_EQ(minus.message, "unexpected '-'");
  EXPECT_EQ(LexError("$x").message, "unexpected character '$'");
}

TEST(LexerTest, DescribeToken) {
  std::string src = "a 12 'x' && ";
  std::vector<Token> t = LexOk(src);
  EXPECT_EQ(DescribeToken(t[0], src), "'a'");
  EXPECT_EQ(DescribeToken(t[1], src), "number 12");
  EXPECT_EQ(DescribeToken(t[2], src), "string");
  EXPECT_EQ(DescribeToken(t[3], src), "'&&'");
  EXPECT_EQ(DescribeToken(t[4], src), "end of expression");
}

}  // namespace
}  // namespace relay::expr
