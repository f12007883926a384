#include <gtest/gtest.h>

#include <clocale>
#include <cmath>

#include "expr/expr.h"

namespace relay::expr {
namespace {

Value Roots() {
  return Value::parse(R"({
    "inputs": {"name": "World", "count": 3, "flag": true, "empty": "", "zero": 0,
               "list": ["a", "B", "c"], "json": "{\"k\": [1, 2]}", "fmt": "{0}-{1"},
    "env": {"HOME": "/home/u", "Mixed": "Value"},
    "matrix": {"os": "linux", "n": 2},
    "needs": {
      "build": {"result": "success", "outputs": {"version": "1.2.3"}},
      "test": {"result": "failure", "outputs": {}},
      "my-job": {"result": "skipped"}
    },
    "run": {"id": "r-1"}
  })");
}

class EvalTest : public ::testing::Test {
 protected:
  Result<Value> Run(std::string_view source) {
    Expression e;
    auto err = Expression::Parse(source, &e);
    if (err) return Status::Internal("parse error: " + err->message);
    return e.Evaluate(ctx_);
  }
  Value Eval(std::string_view source) {
    Result<Value> v = Run(source);
    EXPECT_TRUE(v.ok()) << source << ": " << v.status().ToString();
    return v.ok() ? *v : Value("<error>");
  }
  std::string Fails(std::string_view source) {
    Result<Value> v = Run(source);
    EXPECT_FALSE(v.ok()) << source;
    EXPECT_EQ(v.status().code(), Code::kInvalid) << source;
    return v.status().message();
  }

  JsonContext ctx_{Roots()};
};

TEST_F(EvalTest, Literals) {
  EXPECT_EQ(Eval("null"), Value(nullptr));
  EXPECT_EQ(Eval("true"), Value(true));
  EXPECT_EQ(Eval("42"), Value(42));
  EXPECT_EQ(Eval("-9.2"), Value(-9.2));
  EXPECT_EQ(Eval("0xff"), Value(255));
  EXPECT_EQ(Eval("-2.99e-2"), Value(-0.0299));
  EXPECT_EQ(Eval("'It''s open source!'"), Value("It's open source!"));
}

TEST_F(EvalTest, PropertyAccess) {
  EXPECT_EQ(Eval("inputs.name"), Value("World"));
  EXPECT_EQ(Eval("inputs['name']"), Value("World"));
  EXPECT_EQ(Eval("needs.build.outputs.version"), Value("1.2.3"));
  EXPECT_EQ(Eval("needs.my-job.result"), Value("skipped"));
  EXPECT_EQ(Eval("needs['my-job']['result']"), Value("skipped"));
  EXPECT_EQ(Eval("inputs.list[1]"), Value("B"));
  EXPECT_EQ(Eval("inputs.list['2']"), Value("c"));
  EXPECT_EQ(Eval("inputs[matrix.os == 'linux' && 'name']"), Value("World"));
  EXPECT_EQ(Eval("inputs.list[matrix.n]"), Value("c"));
  EXPECT_EQ(Eval("matrix"), (Value{{"os", "linux"}, {"n", 2}}));
}

TEST_F(EvalTest, MissingPropertiesAndBadIndexesAreNull) {
  for (const char* source :
       {"inputs.missing", "inputs.missing.deeper", "inputs.name.length", "inputs.list[3]",
        "inputs.list[-1]", "inputs.list[0.5]", "inputs.list['x']", "inputs.list.foo", "inputs[0]",
        "inputs[null]", "'abc'[0]", "inputs.count.x", "null.x", "fromJSON('{\"a\":1}').b"}) {
    EXPECT_EQ(Eval(source), Value(nullptr)) << source;
  }
}

TEST_F(EvalTest, PropertiesOfComputedValues) {
  EXPECT_EQ(Eval("fromJSON(inputs.json).k[1]"), Value(2));
  EXPECT_EQ(Eval("fromJSON(inputs.json)['k'][0]"), Value(1));
  EXPECT_EQ(Eval("fromJSON(inputs.json).k.*"), Value::parse("[1, 2]"));
}

TEST_F(EvalTest, Wildcards) {
  // Objects iterate in key order: build, my-job, test.
  EXPECT_EQ(Eval("needs.*.result"), Value::parse(R"(["success", "skipped", "failure"])"));
  EXPECT_EQ(Eval("needs[*].result"), Value::parse(R"(["success", "skipped", "failure"])"));
  EXPECT_EQ(Eval("needs.*.outputs.version"), Value::parse(R"(["1.2.3"])"));
  EXPECT_EQ(Eval("inputs.list.*"), Value::parse(R"(["a", "B", "c"])"));
  EXPECT_EQ(Eval("needs.*.outputs.*"), Value::parse(R"(["1.2.3"])"));
  EXPECT_EQ(Eval("inputs.name.*"), Value::array());
  EXPECT_EQ(Eval("fromJSON('[[1,2],[3]]').*[0]"), Value::parse("[1, 3]"));
  EXPECT_EQ(Eval("contains(needs.*.result, 'failure')"), Value(true));
  EXPECT_EQ(Eval("contains(needs.*.result, 'cancelled')"), Value(false));
}

TEST_F(EvalTest, NamesIgnoreCaseButValuesKeepIt) {
  // Actions: `${{ Contains(Github.Event_Name, 'PUSH') }}` works.
  EXPECT_EQ(Eval("Contains(Inputs.Name, 'WORLD')"), Value(true));
  EXPECT_EQ(Eval("ENDSWITH(ENV.home, '/U')"), Value(true));
  EXPECT_EQ(Eval("FromJson(Inputs.JSON).K[1]"), Value(2));
  EXPECT_EQ(Eval("INPUTS.NAME"), Value("World"));
  EXPECT_EQ(Eval("env.mixed"), Value("Value"));
  EXPECT_EQ(Eval("Needs.Build.Outputs.VERSION"), Value("1.2.3"));
  EXPECT_EQ(Eval("needs['BUILD']['Result']"), Value("success"));
  EXPECT_EQ(Eval("inputs[format('{0}', 'NAME')]"), Value("World"));  // dynamic index
  EXPECT_EQ(Eval("Matrix.OS"), Value("linux"));
  EXPECT_EQ(Eval("needs.*.RESULT"), Value::parse(R"(["success", "skipped", "failure"])"));
  EXPECT_EQ(Eval("fromJSON('{\"Key\": {\"Inner\": 1}}').key.INNER"), Value(1));  // owned
  EXPECT_EQ(Eval("inputs.name == 'world' && 'WORLD' == inputs.name"), Value(true));
  EXPECT_EQ(Eval("matrix.os != 'LINUX'"), Value(false));
  EXPECT_EQ(Eval("toJSON(Matrix)"), Value("{\n  \"n\": 2,\n  \"os\": \"linux\"\n}"));
}

TEST_F(EvalTest, KeywordsAreLowerCaseOnly) {
  // As in Actions, `True` is a name, not the literal.
  EXPECT_EQ(Fails("True"), "unknown name 'True'");
  EXPECT_EQ(Fails("NULL || 1"), "unknown name 'NULL'");
}

TEST(CaseInsensitiveNamesTest, ExactSpellingWinsAndTiesFindNothing) {
  JsonContext ctx(Value::parse(R"({
    "o": {"x": 1, "X": 2, "ab": 3, "AB": 4, "only": 5},
    "Dup": "upper", "dup": "lower"
  })"));
  auto eval = [&](const char* source) {
    Expression e;
    EXPECT_FALSE(Expression::Parse(source, &e)) << source;
    Result<Value> v = e.Evaluate(ctx);
    EXPECT_TRUE(v.ok()) << source << ": " << v.status().ToString();
    return v.ok() ? *v : Value("<error>");
  };
  EXPECT_EQ(eval("o.x"), Value(1));
  EXPECT_EQ(eval("o.X"), Value(2));
  EXPECT_EQ(eval("o['X']"), Value(2));
  EXPECT_EQ(eval("o.ab"), Value(3));
  EXPECT_EQ(eval("o.AB"), Value(4));
  EXPECT_EQ(eval("o.Ab"), Value(nullptr));  // "ab" or "AB": neither is chosen
  EXPECT_EQ(eval("o.ONLY"), Value(5));
  EXPECT_EQ(eval("Dup"), Value("upper"));
  EXPECT_EQ(eval("dup"), Value("lower"));
  // A tie at the top level falls back to the lower-case spelling (the
  // evaluator's retry for contexts whose names are all lower case).
  EXPECT_EQ(eval("DUP"), Value("lower"));
  EXPECT_EQ(ctx.Lookup("DUP"), nullptr);
}

// Like the scheduler's context: exact, lower-case names only.
class LowerCaseContext : public Context {
 public:
  const Value* Lookup(std::string_view root) const override {
    return root == "inputs" ? &inputs_ : nullptr;
  }

 private:
  Value inputs_ = Value{{"Tag", "v1"}};
};

TEST(CaseInsensitiveNamesTest, EvaluatorRetriesTopLevelNamesInLowerCase) {
  LowerCaseContext ctx;
  Expression e;
  ASSERT_FALSE(Expression::Parse("Inputs.TAG", &e));
  Result<Value> v = e.Evaluate(ctx);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, Value("v1"));
  ASSERT_FALSE(Expression::Parse("Secrets.x", &e));
  EXPECT_EQ(e.Evaluate(ctx).status().message(), "unknown name 'Secrets'");
}

TEST(FindNameTest, ExactFirstThenTheOnlyCaseInsensitiveMatch) {
  const std::vector<std::string> names = {"Build", "test", "TEST", "deploy"};
  EXPECT_EQ(FindName("Build", names), 0u);
  EXPECT_EQ(FindName("build", names), 0u);
  EXPECT_EQ(FindName("BUILD", names), 0u);
  EXPECT_EQ(FindName("test", names), 1u);
  EXPECT_EQ(FindName("TEST", names), 2u);
  EXPECT_EQ(FindName("Test", names), std::nullopt);
  EXPECT_EQ(FindName("Deploy", names), 3u);
  EXPECT_EQ(FindName("deploy2", names), std::nullopt);
  EXPECT_EQ(FindName("", names), std::nullopt);
  EXPECT_EQ(FindName("x", {}), std::nullopt);
  // Only ASCII letters fold: bytes above 0x7F must match exactly.
  EXPECT_EQ(FindName("\xC3\xA9t\xC3\xA9", {"\xC3\x89T\xC3\x89"}), std::nullopt);
  EXPECT_EQ(FindName("_a-1", {"_A-1"}), 0u);
}

TEST_F(EvalTest, UnknownRootIsARuntimeError) {
  EXPECT_EQ(Fails("secrets.token"), "unknown name 'secrets'");
  EXPECT_EQ(Fails("inputs.x || github.sha"), "unknown name 'github'");
  // Short-circuiting skips it, like Actions.
  EXPECT_EQ(Eval("true || github.sha"), Value(true));
  EXPECT_EQ(Eval("false && github.sha"), Value(false));
}

TEST_F(EvalTest, LogicalOperatorsReturnOperands) {
  EXPECT_EQ(Eval("inputs.empty || 'default'"), Value("default"));
  EXPECT_EQ(Eval("inputs.name || 'default'"), Value("World"));
  EXPECT_EQ(Eval("'a' && 'b'"), Value("b"));
  EXPECT_EQ(Eval("0 && 'b'"), Value(0));
  EXPECT_EQ(Eval("null || 0"), Value(0));
  EXPECT_EQ(Eval("inputs.list && matrix.n"), Value(2));
  EXPECT_EQ(Eval("needs.* && 1"), Value(1));
}

TEST_F(EvalTest, NotReturnsBooleans) {
  EXPECT_EQ(Eval("!inputs.empty"), Value(true));
  EXPECT_EQ(Eval("!inputs.name"), Value(false));
  EXPECT_EQ(Eval("!!inputs.count"), Value(true));
  EXPECT_EQ(Eval("!inputs.list"), Value(false));
}

struct Row {
  const char* source;
  bool want;
};

TEST_F(EvalTest, LooseEqualityFollowsActions) {
  const Row rows[] = {
      // Actions' documented coercions.
      {"null == 0", true},
      {"null == false", true},
      {"'' == 0", true},
      {"'' == null", true},
      {"'' == false", true},
      {"'1' == 1", true},
      {"'0x10' == 16", true},
      {"' 12 ' == 12", true},
      {"'1.5e1' == 15", true},
      {"'abc' == 'ABC'", true},
      {"'abc' != 'ABD'", true},
      {"true == 1", true},
      {"false == 0", true},
      {"true == 2", false},
      {"true == 'true'", false},  // 'true' is NaN as a number
      {"'abc' == 0", false},
      {"'1' == true", true},
      {"null == null", true},
      {"1 == 1.0", true},
      {"0x2A == 42", true},
      {"9007199254740993 == 9007199254740992", false},  // exact integers
      {"18446744073709551615 == -1", false},
  };
  for (const Row& r : rows) EXPECT_EQ(Eval(r.source), Value(r.want)) << r.source;
}

TEST_F(EvalTest, NaNComparesFalse) {
  // 'abc' converts to NaN when compared with a number.
  EXPECT_EQ(Eval("'abc' == 0"), Value(false));
  EXPECT_EQ(Eval("'abc' != 0"), Value(true));
  EXPECT_EQ(Eval("'abc' < 1"), Value(false));
  EXPECT_EQ(Eval("'abc' >= 1"), Value(false));
  // NaN != NaN: an object coerces to NaN against a number.
  EXPECT_EQ(Eval("inputs.list == 1"), Value(false));
  EXPECT_EQ(Eval("inputs.list != 1"), Value(true));
  EXPECT_EQ(Eval("'x' == true"), Value(false));
}

TEST_F(EvalTest, ArraysAndObjectsCompareDeeply) {
  EXPECT_EQ(Eval("inputs.list == inputs.list"), Value(true));
  EXPECT_EQ(Eval("fromJSON('[1,2]') == fromJSON('[1,2]')"), Value(true));
  EXPECT_EQ(Eval("fromJSON('[1,2]') == fromJSON('[2,1]')"), Value(false));
  EXPECT_EQ(Eval("matrix == fromJSON('{\"os\":\"linux\",\"n\":2}')"), Value(true));
  EXPECT_EQ(Eval("fromJSON('[]') == ''"), Value(false));
  EXPECT_EQ(Eval("fromJSON('{}') == null"), Value(false));
  EXPECT_EQ(Eval("fromJSON('{}') != null"), Value(true));
  EXPECT_EQ(Eval("inputs.list < inputs.list"), Value(false));
  EXPECT_EQ(Eval("inputs.list <= inputs.list"), Value(false));
}

TEST_F(EvalTest, OrderedComparisons) {
  const Row rows[] = {
      {"1 < 2", true},
      {"2 < 1", false},
      {"2 <= 2", true},
      {"3 > 2", true},
      {"2 >= 3", false},
      {"-1 < 0", true},
      {"1.5 > 1", true},
      {"'a' < 'b'", true},
      {"'B' > 'a'", true},
      {"'abc' <= 'ABC'", true},
      {"'abc' < 'ABC'", false},
      {"'_' > 'a'", true},  // like .NET's OrdinalIgnoreCase, which upper-cases
      {"'10' > 9", true},
      {"'10' < '9'", true},
      {"false < true", true},
      {"true > false", true},
      {"true >= true", true},
      {"null < 1", true},
      {"null <= null", true},
      {"null < null", false},
      {"'' < 1", true},
      {"matrix.n > 1", true},
      {"inputs.count >= 3", true},
      {"-9223372036854775808 < 18446744073709551615", true},
      {"18446744073709551615 > 18446744073709551614", true},
  };
  for (const Row& r : rows) EXPECT_EQ(Eval(r.source), Value(r.want)) << r.source;
}

TEST_F(EvalTest, Contains) {
  const Row rows[] = {
      {"contains('Hello world', 'llo')", true},
      {"contains('Hello world', 'LLO')", true},
      {"contains('Hello world', 'xyz')", false},
      {"contains(inputs.list, 'b')", true},
      {"contains(inputs.list, 'd')", false},
      {"contains(fromJSON('[1, 2]'), '2')", true},
      {"contains(fromJSON('[[1]]'), fromJSON('[1]'))", true},
      {"contains(123, 2)", true},
      {"contains(true, 'ru')", true},
      {"contains(null, '')", true},
      {"contains(matrix, 'os')", false},
      {"contains('a', inputs.list)", false},
  };
  for (const Row& r : rows) EXPECT_EQ(Eval(r.source), Value(r.want)) << r.source;
}

TEST_F(EvalTest, StartsWithAndEndsWith) {
  const Row rows[] = {
      {"startsWith('Hello world', 'he')", true},
      {"startsWith('Hello world', 'lo')", false},
      {"startsWith('a', '')", true},
      {"startsWith('', 'a')", false},
      {"startsWith(123, 12)", true},
      {"startsWith(inputs.list, 'a')", false},
      {"endsWith('Hello world', 'LD')", true},
      {"endsWith('Hello world', 'He')", false},
      {"endsWith(env.HOME, '/u')", true},
      {"endsWith(1.5, '.5')", true},
  };
  for (const Row& r : rows) EXPECT_EQ(Eval(r.source), Value(r.want)) << r.source;
}

TEST_F(EvalTest, Format) {
  EXPECT_EQ(Eval("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')"),
            Value("Hello Mona the Octocat"));
  EXPECT_EQ(Eval("format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')"),
            Value("{Hello Mona the Octocat!}"));
  EXPECT_EQ(Eval("format('{0}{0}-{1}', inputs.count, null)"), Value("33-"));
  EXPECT_EQ(Eval("format('{0} {1} {2}', true, 1.0, matrix)"),
            Value("true 1 {\"n\":2,\"os\":\"linux\"}"));
  EXPECT_EQ(Eval("format('no holes')"), Value("no holes"));
  EXPECT_EQ(Eval("format('{{0}}', 1)"), Value("{0}"));
}

TEST_F(EvalTest, FormatWithDynamicStringFailsAtRuntime) {
  EXPECT_EQ(Fails("format(inputs.fmt, 1, 2)"),
            "format: unclosed '{' at position 4 (write '{{' for a literal brace)");
  EXPECT_EQ(Fails("format(inputs.empty || '{3}', 1)"),
            "format: {3} needs 4 values after the "
            "format string, but 1 given");
  EXPECT_EQ(Eval("format(inputs.name, 1)"), Value("World"));
}

TEST_F(EvalTest, Join) {
  EXPECT_EQ(Eval("join(inputs.list)"), Value("a,B,c"));
  EXPECT_EQ(Eval("join(inputs.list, ' | ')"), Value("a | B | c"));
  EXPECT_EQ(Eval("join(needs.*.result, ', ')"), Value("success, skipped, failure"));
  EXPECT_EQ(Eval("join(fromJSON('[1, 2.5, true, null]'), '')"), Value("12.5true"));
  EXPECT_EQ(Eval("join('abc', ',')"), Value("abc"));
  EXPECT_EQ(Eval("join(fromJSON('[]'))"), Value(""));
  EXPECT_EQ(Eval("join(fromJSON('[1,2]'), 0)"), Value("102"));
}

TEST_F(EvalTest, ToJsonIsPrettyPrinted) {
  EXPECT_EQ(Eval("toJSON(matrix)"), Value("{\n  \"n\": 2,\n  \"os\": \"linux\"\n}"));
  EXPECT_EQ(Eval("toJSON(inputs.list)"), Value("[\n  \"a\",\n  \"B\",\n  \"c\"\n]"));
  EXPECT_EQ(Eval("toJSON('a\"b')"), Value("\"a\\\"b\""));
  EXPECT_EQ(Eval("toJSON(null)"), Value("null"));
  EXPECT_EQ(Eval("toJSON(1.5)"), Value("1.5"));
  EXPECT_EQ(Eval("toJSON(fromJSON('{}'))"), Value("{}"));
}

TEST_F(EvalTest, FromJson) {
  EXPECT_EQ(Eval("fromJSON(inputs.json)"), Value::parse(R"({"k": [1, 2]})"));
  EXPECT_EQ(Eval("fromJSON('true')"), Value(true));
  EXPECT_EQ(Eval("fromJSON('12345678901234567')"), Value(int64_t{12345678901234567}));
  EXPECT_EQ(Eval("fromJSON(toJSON(matrix)) == matrix"), Value(true));
  EXPECT_EQ(Eval("fromJSON(42)"), Value(42));
}

TEST_F(EvalTest, FromJsonErrorsNameTheFunction) {
  std::string m = Fails("fromJSON('{bad')");
  EXPECT_EQ(m.rfind("fromJSON: invalid JSON: parse error at line 1, column 2", 0), 0u) << m;
  EXPECT_EQ(Fails("fromJSON('')").rfind("fromJSON: invalid JSON: ", 0), 0u);
  EXPECT_EQ(Fails("fromJSON(inputs.name)").rfind("fromJSON: invalid JSON: ", 0), 0u);
  EXPECT_EQ(Fails("fromJSON('1e999')").rfind("fromJSON: invalid JSON: ", 0), 0u);
  std::string deep = "fromJSON('" + std::string(300, '[') + std::string(300, ']') + "')";
  EXPECT_EQ(Fails(deep), "fromJSON: JSON nested deeper than 256 levels");
}

TEST(StatusFunctionsTest, ComeFromTheContext) {
  auto eval = [](const char* source, StatusFunctions status) {
    JsonContext ctx(Value::object(), status);
    Expression e;
    EXPECT_FALSE(Expression::Parse(source, &e)) << source;
    Result<Value> v = e.Evaluate(ctx);
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : Value();
  };
  StatusFunctions ok;  // defaults: success
  StatusFunctions failed{false, true, false};
  StatusFunctions cancelling{false, false, true};
  EXPECT_EQ(eval("success()", ok), Value(true));
  EXPECT_EQ(eval("failure()", ok), Value(false));
  EXPECT_EQ(eval("cancelled()", ok), Value(false));
  EXPECT_EQ(eval("always()", ok), Value(true));
  EXPECT_EQ(eval("success()", failed), Value(false));
  EXPECT_EQ(eval("failure()", failed), Value(true));
  EXPECT_EQ(eval("always()", failed), Value(true));
  EXPECT_EQ(eval("cancelled()", cancelling), Value(true));
  EXPECT_EQ(eval("success() || cancelled()", cancelling), Value(true));
}

TEST(JsonContextTest, LooksUpTopLevelKeysOnly) {
  JsonContext ctx(Value{{"inputs", {{"a", 1}}}});
  ASSERT_NE(ctx.Lookup("inputs"), nullptr);
  EXPECT_EQ(*ctx.Lookup("inputs"), (Value{{"a", 1}}));
  EXPECT_EQ(ctx.Lookup("a"), nullptr);
  EXPECT_EQ(ctx.Lookup("Inputs"), ctx.Lookup("inputs"));
  JsonContext not_object(Value::array());
  EXPECT_EQ(not_object.Lookup("inputs"), nullptr);
  ctx.roots()["env"] = Value::object();
  EXPECT_NE(ctx.Lookup("env"), nullptr);
}

TEST(TruthinessTest, FalsyValuesAreFalseZeroEmptyNullNaN) {
  EXPECT_FALSE(IsTruthy(Value(false)));
  EXPECT_FALSE(IsTruthy(Value(0)));
  EXPECT_FALSE(IsTruthy(Value(0u)));
  EXPECT_FALSE(IsTruthy(Value(0.0)));
  EXPECT_FALSE(IsTruthy(Value(-0.0)));
  EXPECT_FALSE(IsTruthy(Value(NAN)));
  EXPECT_FALSE(IsTruthy(Value("")));
  EXPECT_FALSE(IsTruthy(Value(nullptr)));
  EXPECT_TRUE(IsTruthy(Value(true)));
  EXPECT_TRUE(IsTruthy(Value(-1)));
  EXPECT_TRUE(IsTruthy(Value(0.5)));
  EXPECT_TRUE(IsTruthy(Value("false")));
  EXPECT_TRUE(IsTruthy(Value("0")));
  EXPECT_TRUE(IsTruthy(Value::array()));
  EXPECT_TRUE(IsTruthy(Value::object()));
}

TEST(DisplayStringTest, Conversions) {
  EXPECT_EQ(ToDisplayString(Value(nullptr)), "");
  EXPECT_EQ(ToDisplayString(Value(true)), "true");
  EXPECT_EQ(ToDisplayString(Value(false)), "false");
  EXPECT_EQ(ToDisplayString(Value(1.0)), "1");
  EXPECT_EQ(ToDisplayString(Value(-0.0)), "0");
  EXPECT_EQ(ToDisplayString(Value(1.5)), "1.5");
  EXPECT_EQ(ToDisplayString(Value(-0.0299)), "-0.0299");
  EXPECT_EQ(ToDisplayString(Value(0.1)), "0.1");
  EXPECT_EQ(ToDisplayString(Value(1e15)), "1000000000000000");
  EXPECT_EQ(ToDisplayString(Value(1e300)), "1e+300");
  EXPECT_EQ(ToDisplayString(Value(NAN)), "NaN");
  EXPECT_EQ(ToDisplayString(Value(INFINITY)), "Infinity");
  EXPECT_EQ(ToDisplayString(Value(-INFINITY)), "-Infinity");
  EXPECT_EQ(ToDisplayString(Value(int64_t{9007199254740993})), "9007199254740993");
  EXPECT_EQ(ToDisplayString(Value(uint64_t{18446744073709551615u})), "18446744073709551615");
  EXPECT_EQ(ToDisplayString(Value(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(ToDisplayString(Value("as is")), "as is");
  EXPECT_EQ(ToDisplayString(Value::parse(R"({"b": [1, "x"], "a": null})")),
            R"({"a":null,"b":[1,"x"]})");
  // Invalid UTF-8 is replaced rather than thrown.
  EXPECT_EQ(ToDisplayString(Value::array({"\xFF"})), "[\"\xEF\xBF\xBD\"]");
}

TEST(DisplayStringTest, IndependentOfLocale) {
  const char* old = std::setlocale(LC_ALL, nullptr);
  std::string saved = old ? old : "C";
  if (std::setlocale(LC_ALL, "de_DE.UTF-8") == nullptr) GTEST_SKIP() << "no de_DE locale";
  EXPECT_EQ(ToDisplayString(Value(1.5)), "1.5");
  JsonContext ctx(Value::object());
  Expression e;
  ASSERT_FALSE(Expression::Parse("'1.5' == 1.5", &e));
  EXPECT_EQ(*e.Evaluate(ctx), Value(true));
  std::setlocale(LC_ALL, saved.c_str());
}

}  // namespace
}  // namespace relay::expr
