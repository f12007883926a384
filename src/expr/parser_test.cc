#include <gtest/gtest.h>

#include "expr/expr.h"

namespace relay::expr {
namespace {

Expression ParseOk(std::string_view source) {
  Expression e;
  auto err = Expression::Parse(source, &e);
  EXPECT_FALSE(err) << source << ": " << (err ? err->message : "");
  return e;
}

ParseError ParseFails(std::string_view source) {
  Expression e;
  auto err = Expression::Parse(source, &e);
  EXPECT_TRUE(err) << source;
  return err.value_or(ParseError{});
}

Value Eval(std::string_view source) {
  JsonContext ctx(Value{{"a", {{"b", {10, 20}}}}});
  Result<Value> v = ParseOk(source).Evaluate(ctx);
  EXPECT_TRUE(v.ok()) << source << ": " << v.status().ToString();
  return v.ok() ? *v : Value("<error>");
}

std::vector<std::vector<std::string>> Paths(const Expression& e) {
  std::vector<std::vector<std::string>> out;
  for (const Reference& r : e.references()) out.push_back(r.path);
  return out;
}

using Path = std::vector<std::string>;

TEST(ParserTest, AndBindsTighterThanOr) {
  EXPECT_EQ(Eval("true || false && false"), Value(true));
  EXPECT_EQ(Eval("false && false || true"), Value(true));
}

TEST(ParserTest, ComparisonBindsTighterThanEquality) {
  // 2 == (1 < 2) is 2 == true, i.e. 2 == 1: false. (2 == 1) < 2 would be true.
  EXPECT_EQ(Eval("2 == 1 < 2"), Value(false));
}

TEST(ParserTest, NotBindsTighterThanEquality) {
  // (!0) == 2 is true == 2: false. !(0 == 2) would be true.
  EXPECT_EQ(Eval("!0 == 2"), Value(false));
  EXPECT_EQ(Eval("!!a.b[1]"), Value(true));
}

TEST(ParserTest, EqualityBindsTighterThanAnd) {
  EXPECT_EQ(Eval("1 == 1 && 2 == 3"), Value(false));
  EXPECT_EQ(Eval("(1 == 1 && 2) == 2"), Value(true));
}

TEST(ParserTest, ParenthesesAndPostfix) {
  EXPECT_EQ(Eval("(false || true) && false"), Value(false));
  EXPECT_EQ(Eval("a.b[1]"), Value(20));
  EXPECT_EQ(Eval("(a).b[0]"), Value(10));
  EXPECT_EQ(Eval("fromJSON('{\"k\":[1,2]}').k[1]"), Value(2));
}

TEST(ParserTest, KeywordsAreLiterals) {
  EXPECT_EQ(Eval("null"), Value(nullptr));
  EXPECT_EQ(Eval("true"), Value(true));
  EXPECT_EQ(Eval("false"), Value(false));
  // After a dot they are property names.
  Expression e = ParseOk("inputs.true");
  EXPECT_EQ(Paths(e), (std::vector<Path>{{"inputs", "true"}}));
}

TEST(ParserTest, FunctionNamesAreCaseInsensitive) {
  EXPECT_EQ(Eval("STARTSWITH('abc', 'A')"), Value(true));
  EXPECT_EQ(Eval("tojson(1)"), Value("1"));
}

TEST(ParserTest, ReferencesKeepTheSpellingAsWritten) {
  Expression e = ParseOk("Needs.Build.outputs['X'] || INPUTS.a");
  EXPECT_EQ(Paths(e), (std::vector<Path>{{"Needs", "Build", "outputs", "X"}, {"INPUTS", "a"}}));
}

TEST(ParserTest, SourceIsKeptVerbatim) { EXPECT_EQ(ParseOk(" a.b ").source(), " a.b "); }

TEST(ParserTest, CopiesShareTheTree) {
  Expression e = ParseOk("a.b[0]");
  Expression copy = e;
  Expression moved = std::move(e);
  JsonContext ctx(Value{{"a", {{"b", {7}}}}});
  EXPECT_EQ(*copy.Evaluate(ctx), Value(7));
  EXPECT_EQ(*moved.Evaluate(ctx), Value(7));
  Expression assigned;
  assigned = copy;
  EXPECT_EQ(assigned.source(), "a.b[0]");
}

TEST(ParserTest, UnparsedExpressionFailsToEvaluate) {
  Expression e;
  JsonContext ctx(Value::object());
  EXPECT_FALSE(e.Evaluate(ctx).ok());
}

TEST(ParserTest, FailedParseLeavesOutputUnchanged) {
  Expression e = ParseOk("a");
  EXPECT_TRUE(Expression::Parse("a &&", &e));
  EXPECT_EQ(e.source(), "a");
}

struct ErrorCase {
  const char* source;
  size_t offset;
  const char* message;
  const char* hint = "";
};

TEST(ParserTest, Errors) {
  const ErrorCase cases[] = {
      {"", 0, "expected an expression"},
      {"   ", 3, "expected an expression"},
      {"a &&", 4, "expected an expression after '&&'"},
      {"a || ", 5, "expected an expression after '||'"},
      {"a && || b", 5, "expected an expression after '&&'"},
      {"a == ", 5, "expected an expression after '=='"},
      {"a < )", 4, "expected an expression after '<'"},
      {"!", 1, "expected an expression after '!'"},
      {"()", 1, "expected an expression after '('"},
      {")", 0, "unexpected ')'"},
      {"a)", 1, "unexpected ')'"},
      {"a ]", 2, "unexpected ']'"},
      {"(a", 2, "expected ')' to match '('"},
      {"(a b)", 3, "expected ')' to match '('"},
      {"a[0", 3, "expected ']' to match '['"},
      {"a[]", 2, "expected an expression after '['"},
      {"a.", 2, "expected a property name after '.'"},
      {"a.1", 2, "expected a property name after '.'"},
      {"a.'b'", 2, "expected a property name after '.'"},
      {"a b", 2, "unexpected 'b'", "expected an operator such as '==' or '&&' before it"},
      {"1 2", 2, "unexpected number 2", "expected an operator such as '==' or '&&' before it"},
      {"a 'b'", 2, "unexpected string", "expected an operator such as '==' or '&&' before it"},
      {"a == 'b", 5, "unterminated string",
       "close it with ' (a quote inside a string is written '')"},
      {"contains(1,)", 11, "expected an expression after ','"},
      {"contains(1 2)", 11, "expected ',' or ')' in the call of contains()"},
      {"contains(1, 2", 13, "expected ',' or ')' in the call of contains()"},
      {"a == startwith('a', 'b')", 5, "unknown function 'startwith'", "did you mean 'startsWith'?"},
      {"TOJSN(1)", 0, "unknown function 'TOJSN'", "did you mean 'toJSON'?"},
      {"frobnicate()", 0, "unknown function 'frobnicate'"},
      {"contains('a')", 0, "contains() takes 2 arguments, got 1"},
      {"startsWith('a', 'b', 'c')", 0, "startsWith() takes 2 arguments, got 3"},
      {"endsWith()", 0, "endsWith() takes 2 arguments, got 0"},
      {"join()", 0, "join() takes 1 or 2 arguments, got 0"},
      {"join(a, b, c)", 0, "join() takes 1 or 2 arguments, got 3"},
      {"format()", 0, "format() takes at least 1 argument, got 0"},
      {"toJSON()", 0, "toJSON() takes 1 argument, got 0"},
      {"fromJSON(1, 2)", 0, "fromJSON() takes 1 argument, got 2"},
      {"success(1)", 0, "success() takes no arguments, got 1"},
      {"x && always(true)", 5, "always() takes no arguments, got 1"},
      {"format('{1}', a)", 7, "format: {1} needs 2 values after the format string, but 1 given"},
      {"format('{0} {', a)", 7,
       "format: unclosed '{' at position 4 (write '{{' for a literal brace)"},
      {"format('a}b')", 7, "format: lone '}' at position 1 (write '}}' for a literal brace)"},
      {"format('{x}')", 7, "format: '{x}' at position 0 is not an argument index such as {0}"},
      {"format('{}', 1)", 7, "format: '{}' at position 0 is not an argument index such as {0}"},
  };
  for (const ErrorCase& c : cases) {
    ParseError e = ParseFails(c.source);
    EXPECT_EQ(e.message, c.message) << c.source;
    EXPECT_EQ(e.offset, c.offset) << c.source;
    EXPECT_EQ(e.hint, c.hint) << c.source;
  }
}

TEST(ParserTest, NestingIsBounded) {
  std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  ParseError e = ParseFails(deep);
  EXPECT_EQ(e.message, "expression is nested too deeply (more than 100 levels)");
  EXPECT_EQ(ParseFails(std::string(500, '!') + "a").message,
            "expression is nested too deeply (more than 100 levels)");
  std::string chain = "a";
  for (int i = 0; i < 300; ++i) chain += " && a";
  EXPECT_EQ(ParseFails(chain).message, "expression is nested too deeply (more than 100 levels)");
  std::string path = "a";
  for (int i = 0; i < 300; ++i) path += ".b";
  EXPECT_EQ(ParseFails(path).message, "expression is nested too deeply (more than 100 levels)");
  // Realistic sizes are fine.
  ParseOk(std::string(30, '(') + "1" + std::string(30, ')'));
}

TEST(ParserTest, ReferencesAreRecordedInSourceOrder) {
  Expression e = ParseOk("needs.build.outputs.version == inputs['env'] && matrix.os");
  ASSERT_EQ(e.references().size(), 3u);
  EXPECT_EQ(e.references()[0].path, (Path{"needs", "build", "outputs", "version"}));
  EXPECT_EQ(e.references()[0].offset, 0u);
  EXPECT_EQ(e.references()[1].path, (Path{"inputs", "env"}));
  EXPECT_EQ(e.references()[1].offset, 31u);
  EXPECT_EQ(e.references()[2].path, (Path{"matrix", "os"}));
  EXPECT_EQ(e.references()[2].offset, 48u);
}

TEST(ParserTest, ReferencePathsStopAtDynamicIndexOrWildcard) {
  EXPECT_EQ(Paths(ParseOk("inputs[matrix.key].x")),
            (std::vector<Path>{{"inputs"}, {"matrix", "key"}}));
  EXPECT_EQ(Paths(ParseOk("needs.*.result")), (std::vector<Path>{{"needs"}}));
  EXPECT_EQ(Paths(ParseOk("needs[*].result")), (std::vector<Path>{{"needs"}}));
  EXPECT_EQ(Paths(ParseOk("inputs.list[0].name")), (std::vector<Path>{{"inputs", "list"}}));
  EXPECT_EQ(Paths(ParseOk("needs['my-job'].outputs['v']")),
            (std::vector<Path>{{"needs", "my-job", "outputs", "v"}}));
  EXPECT_EQ(Paths(ParseOk("inputs['a' || 'b'].c")), (std::vector<Path>{{"inputs"}}));
}

TEST(ParserTest, ReferencesInsideFunctionsAndNoneForLiterals) {
  EXPECT_EQ(Paths(ParseOk("fromJSON(inputs.x).y")), (std::vector<Path>{{"inputs", "x"}}));
  EXPECT_EQ(Paths(ParseOk("format('{0}{1}', env.A, run.id)")),
            (std::vector<Path>{{"env", "A"}, {"run", "id"}}));
  EXPECT_TRUE(ParseOk("null || true || 'x' || 1 || success()").references().empty());
}

TEST(ParserTest, StatusFunctionUse) {
  EXPECT_TRUE(ParseOk("always()").UsesStatusFunction());
  EXPECT_TRUE(ParseOk("inputs.x && Failure()").UsesStatusFunction());
  EXPECT_TRUE(ParseOk("!cancelled()").UsesStatusFunction());
  EXPECT_TRUE(ParseOk("success()").UsesStatusFunction());
  EXPECT_FALSE(ParseOk("inputs.success").UsesStatusFunction());
  EXPECT_FALSE(ParseOk("contains('success()', 'x')").UsesStatusFunction());
}

}  // namespace
}  // namespace relay::expr
