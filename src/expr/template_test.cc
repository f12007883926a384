#include <gtest/gtest.h>

#include "expr/expr.h"

namespace relay::expr {
namespace {

Template ParseOk(std::string_view text) {
  Template t;
  auto err = Template::Parse(text, &t);
  EXPECT_FALSE(err) << text << ": " << (err ? err->message : "");
  return t;
}

ParseError ParseFails(std::string_view text) {
  Template t;
  auto err = Template::Parse(text, &t);
  EXPECT_TRUE(err) << text;
  return err.value_or(ParseError{});
}

class TemplateTest : public ::testing::Test {
 protected:
  std::string Render(std::string_view text) {
    Result<std::string> r = ParseOk(text).Render(ctx_);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    return r.ok() ? *r : "<error>";
  }

  JsonContext ctx_{Value::parse(R"({
    "inputs": {"name": "World", "n": 1.0, "half": 1.5, "on": true, "none": null,
               "list": [1, "two"], "big": 12345678901234567890},
    "matrix": {"os": "linux"}
  })")};
};

TEST_F(TemplateTest, LiteralText) {
  Template t = ParseOk("echo hello $HOME {{ not }} $ {{x}}");
  EXPECT_TRUE(t.IsLiteral());
  ASSERT_EQ(t.pieces().size(), 1u);
  EXPECT_EQ(t.pieces()[0].literal, "echo hello $HOME {{ not }} $ {{x}}");
  EXPECT_FALSE(t.pieces()[0].expr);
  EXPECT_EQ(t.SoleExpression(), nullptr);
  EXPECT_TRUE(t.References().empty());
  EXPECT_EQ(Render("plain"), "plain");
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(ParseOk("").pieces().size(), 1u);
}

TEST_F(TemplateTest, Pieces) {
  Template t = ParseOk("echo ${{ inputs.name }}! ${{matrix.os}}");
  EXPECT_FALSE(t.IsLiteral());
  ASSERT_EQ(t.pieces().size(), 3u);
  EXPECT_EQ(t.pieces()[0].literal, "echo ");
  ASSERT_TRUE(t.pieces()[0].expr);
  EXPECT_EQ(t.pieces()[0].expr->source(), " inputs.name ");
  EXPECT_EQ(t.pieces()[0].expr_offset, 8u);
  EXPECT_EQ(t.pieces()[1].literal, "! ");
  EXPECT_EQ(t.pieces()[1].expr->source(), "matrix.os");
  EXPECT_EQ(t.pieces()[1].expr_offset, 28u);
  EXPECT_EQ(t.pieces()[2].literal, "");
  EXPECT_FALSE(t.pieces()[2].expr);
}

TEST_F(TemplateTest, Render) {
  EXPECT_EQ(Render("echo ${{ inputs.name }}! on ${{ matrix.os }}"), "echo World! on linux");
  EXPECT_EQ(Render("${{ inputs.n }}|${{ inputs.half }}|${{ inputs.on }}|${{ inputs.none }}|"),
            "1|1.5|true||");
  EXPECT_EQ(Render("${{ inputs.list }}"), R"([1,"two"])");
  EXPECT_EQ(Render("${{ inputs.big }}"), "12345678901234567890");
  EXPECT_EQ(Render("${{ inputs.missing || 'fallback' }}"), "fallback");
  EXPECT_EQ(Render("a${{ 1 }}${{ 2 }}b"), "a12b");
}

TEST_F(TemplateTest, ClosingBracesInsideStrings) {
  EXPECT_EQ(Render("${{ '}}' }}"), "}}");
  EXPECT_EQ(Render("x${{ format('{{{0}}}', 'y') }}z"), "x{y}z");
  EXPECT_EQ(Render("${{ 'it''s }} here' }}!"), "it's }} here!");
  EXPECT_EQ(Render("${{ '${{' }}"), "${{");
}

TEST_F(TemplateTest, SoleExpression) {
  Template t = ParseOk("  ${{ inputs.list }}\n");
  ASSERT_NE(t.SoleExpression(), nullptr);
  EXPECT_EQ(t.SoleExpression()->source(), " inputs.list ");
  EXPECT_EQ(ParseOk("${{ a }}").SoleExpression()->source(), " a ");
  EXPECT_EQ(ParseOk("x ${{ a }}").SoleExpression(), nullptr);
  EXPECT_EQ(ParseOk("${{ a }} x").SoleExpression(), nullptr);
  EXPECT_EQ(ParseOk("${{ a }}${{ b }}").SoleExpression(), nullptr);
}

TEST_F(TemplateTest, ReferencesAreRelativeToTheText) {
  Template t = ParseOk("cp ${{ inputs.src }} ${{ needs.b.outputs['dir'] }}");
  std::vector<Reference> refs = t.References();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].path, (std::vector<std::string>{"inputs", "src"}));
  EXPECT_EQ(refs[0].offset, 7u);
  EXPECT_EQ(refs[1].path, (std::vector<std::string>{"needs", "b", "outputs", "dir"}));
  EXPECT_EQ(refs[1].offset, 25u);
}

TEST_F(TemplateTest, Errors) {
  struct Case {
    const char* text;
    size_t offset;
    const char* message;
  } cases[] = {
      {"echo ${{ inputs.x", 5, "unclosed '${{'"},
      {"${{ a }} ${{", 9, "unclosed '${{'"},
      {"echo ${{ 'abc }}", 9, "unterminated string"},
      {"ab ${{ a && }}", 12, "expected an expression after '&&'"},
      {"${{ }}", 4, "expected an expression"},
      {"${{}}", 3, "expected an expression"},
      {"x ${{ \"q\" }}", 6, "strings are written in single quotes"},
      {"${{ a }} ${{ startwith('a', 'b') }}", 13, "unknown function 'startwith'"},
      {"${{ a }} ${{ format('{1}', 1) }}", 20,
       "format: {1} needs 2 values after the format string, but 1 given"},
  };
  for (const auto& c : cases) {
    ParseError e = ParseFails(c.text);
    EXPECT_EQ(e.message, c.message) << c.text;
    EXPECT_EQ(e.offset, c.offset) << c.text;
  }
  EXPECT_EQ(ParseFails("${{ x").hint, "end the expression with '}}'");
  EXPECT_EQ(ParseFails("${{ startwith('a', 'b') }}").hint, "did you mean 'startsWith'?");
}

// For validation: each ${{ }} is parsed on its own, so one bad expression
// does not hide the next; the good ones are kept to check what they read.
TEST_F(TemplateTest, ParseEachReportsEveryBadExpression) {
  Template t;
  std::vector<ParseError> errors =
      Template::ParseEach("echo ${{ contains('x') }} ${{ inputs.a }} ${{ always(1) }} x", &t);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].offset, 9u);
  EXPECT_EQ(errors[0].message, "contains() takes 2 arguments, got 1");
  EXPECT_EQ(errors[1].offset, 46u);
  EXPECT_EQ(errors[1].message, "always() takes no arguments, got 1");
  std::vector<Reference> refs = t.References();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].path, (std::vector<std::string>{"inputs", "a"}));
  EXPECT_EQ(refs[0].offset, 30u);
  ASSERT_FALSE(t.pieces().empty());
  EXPECT_FALSE(t.pieces().back().expr);  // the trailing literal is still last

  // An unclosed ${{ (or string) takes the rest of the text: it ends the list.
  errors = Template::ParseEach("${{ 1 + }} ${{ 'x }} ${{ inputs.b }}", &t);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].offset, 6u);
  EXPECT_EQ(errors[1].message, "unterminated string");
  EXPECT_EQ(errors[1].offset, 15u);
  EXPECT_TRUE(t.References().empty());

  // Without errors it parses as Parse does.
  EXPECT_TRUE(Template::ParseEach("a ${{ inputs.name }} b", &t).empty());
  EXPECT_EQ(*t.Render(ctx_), "a World b");
  // Parse still stops at the first error.
  EXPECT_EQ(ParseFails("${{ contains('x') }} ${{ always(1) }}").offset, 4u);
}

TEST_F(TemplateTest, RuntimeErrorsNameTheExpression) {
  Result<std::string> r = ParseOk("echo ${{ fromJSON(inputs.name) }}").Render(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(
      r.status().message().rfind("in ${{ fromJSON(inputs.name) }}: fromJSON: invalid JSON", 0), 0u)
      << r.status().message();
  Result<std::string> unknown = ParseOk("${{ secrets.x }}").Render(ctx_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "in ${{ secrets.x }}: unknown name 'secrets'");
}

TEST_F(TemplateTest, FailedParseLeavesOutputUnchanged) {
  Template t = ParseOk("a ${{ inputs.name }}");
  EXPECT_TRUE(Template::Parse("${{", &t));
  EXPECT_EQ(t.pieces().size(), 2u);
}

TEST(TemplateRenderTest, UnparsedTemplateRendersEmpty) {
  Template t;
  JsonContext ctx(Value::object());
  Result<std::string> r = t.Render(ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
  EXPECT_TRUE(t.IsLiteral());
}

}  // namespace
}  // namespace relay::expr
