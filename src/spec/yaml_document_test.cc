// The YAML adapter on its own: positions, styles, nulls, aliases and their
// limits, and the parser's errors as a user reads them.
#include "spec/yaml_document.h"

#include <gtest/gtest.h>

#include <string>

namespace relay::spec {
namespace {

YamlNode Parse(const std::string& text) {
  YamlNode root;
  YamlError error;
  EXPECT_TRUE(ParseYaml(text, &root, &error)) << error.message;
  return root;
}

// "LINE:COL: message" of the error ParseYaml reports.
std::string Error(const std::string& text) {
  YamlNode root;
  YamlError error;
  if (ParseYaml(text, &root, &error)) return "parsed";
  EXPECT_TRUE(root.IsNull());
  return std::to_string(error.mark.line) + ":" + std::to_string(error.mark.col) + ": " +
         error.message;
}

std::string Where(const YamlNode& n) {
  return std::to_string(n.mark.line) + ":" + std::to_string(n.mark.col) + "+" +
         std::to_string(n.offset);
}

TEST(ParseYaml, EmptyAndCommentOnlyDocumentsAreNull) {
  EXPECT_TRUE(Parse("").IsNull());
  EXPECT_TRUE(Parse("# nothing\n").IsNull());
  EXPECT_TRUE(Parse("---\n").IsNull());
}

TEST(ParseYaml, PositionsAreOneBasedBytesAndLinesEndAtNewline) {
  YamlNode r = Parse("name: x\r\ntasks:\n  caf\xc3\xa9: {run: 'make'}\n");
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(Where(r.entries[0].key), "1:1+0");
  EXPECT_EQ(Where(r.entries[1].key), "2:1+9");
  const YamlNode::Entry& task = r.entries[1].value.entries[0];
  EXPECT_EQ(task.key.text, "caf\xc3\xa9");
  // Columns count bytes, so the caret lines up with the source bytes.
  EXPECT_EQ(Where(task.value), "3:10+25");
  EXPECT_EQ(Where(task.value.entries[0].value), "3:16+31");
  EXPECT_EQ(task.value.entries[0].value.style, YamlNode::Style::kSingleQuoted);
}

TEST(ParseYaml, ScalarStylesAreKept) {
  YamlNode r = Parse("- a\n- 'b'\n- \"c\"\n- |\n  d\n- >\n  e\n");
  ASSERT_EQ(r.items.size(), 5u);
  EXPECT_EQ(r.items[0].style, YamlNode::Style::kPlain);
  EXPECT_EQ(r.items[1].style, YamlNode::Style::kSingleQuoted);
  EXPECT_EQ(r.items[2].style, YamlNode::Style::kDoubleQuoted);
  EXPECT_EQ(r.items[3].style, YamlNode::Style::kLiteral);
  EXPECT_EQ(r.items[3].text, "d\n");
  EXPECT_EQ(r.items[4].style, YamlNode::Style::kFolded);
}

TEST(ParseYaml, OnlyUntaggedPlainNullsAreNull) {
  YamlNode r = Parse("a: ~\nb: null\nc: 'null'\nd: !!str null\ne:\n");
  ASSERT_EQ(r.entries.size(), 5u);
  EXPECT_TRUE(r.entries[0].value.IsNull());
  EXPECT_TRUE(r.entries[1].value.IsNull());
  EXPECT_TRUE(r.entries[2].value.IsScalar());
  EXPECT_TRUE(r.entries[3].value.IsScalar());
  EXPECT_EQ(r.entries[3].value.text, "null");
  // A null value carries its key's position.
  EXPECT_TRUE(r.entries[4].value.IsNull());
  EXPECT_EQ(Where(r.entries[4].value), "5:1+37");
}

TEST(ParseYaml, AnchorAndTagComeBeforeTheScalarsOffset) {
  YamlNode r = Parse("a: &x !!str 42\nb: *x\n");
  const YamlNode& a = r.entries[0].value;
  EXPECT_EQ(a.text, "42");
  EXPECT_EQ(a.mark.col, 4);  // the node starts at its anchor
  EXPECT_EQ(a.offset, 12u);  // the value itself
  // An alias is a copy of the anchored node, positions included.
  const YamlNode& b = r.entries[1].value;
  EXPECT_EQ(b.text, "42");
  EXPECT_EQ(Where(b), Where(a));
}

TEST(ParseYaml, MergeKeyIsAnOrdinaryKey) {
  YamlNode r = Parse("a: &d {x: 1}\nb: {<<: *d, y: 2}\n");
  const YamlNode& b = r.entries[1].value;
  ASSERT_EQ(b.entries.size(), 2u);
  EXPECT_EQ(b.entries[0].key.text, "<<");
  EXPECT_TRUE(b.entries[0].value.IsMapping());
}

TEST(ParseYaml, LatestAnchorWins) {
  YamlNode r = Parse("a: &x 1\nb: &x 2\nc: *x\n");
  EXPECT_EQ(r.entries[2].value.text, "2");
}

TEST(ParseYaml, JsonAndDuplicateKeysAreKept) {
  YamlNode r = Parse("{\"a\":1,\n\t\"a\": [true, null]}");
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].key.style, YamlNode::Style::kDoubleQuoted);
  EXPECT_EQ(Where(r.entries[1].key), "2:2+9");
  EXPECT_TRUE(r.entries[1].value.items[1].IsNull());
}

TEST(ParseYaml, AliasErrorsPointAtTheAlias) {
  EXPECT_EQ(Error("a: 1\nb: *nope\n"), "2:4: invalid YAML: alias to an undefined anchor");
  EXPECT_EQ(Error("a: &x\n  b: [1, *x]\n"),
            "2:10: invalid YAML: an alias refers to a node that contains it (a recursive anchor)");
}

TEST(ParseYaml, DepthIsLimitedAlsoThroughAliases) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_EQ(Error("a: " + deep + "\n"), "parsed");
  std::string nest = "b: " + std::string(50, '[') + "*x" + std::string(50, ']');
  EXPECT_EQ(Error("a: &x " + deep + "\n" + nest), "parsed");
  nest = "b: " + std::string(60, '[') + "*x" + std::string(60, ']');
  EXPECT_EQ(Error("a: &x " + deep + "\n" + nest),
            "2:64: invalid YAML: nested more than 256 levels deep (through an alias)");
  EXPECT_EQ(Error("a: " + std::string(300, '[')),
            "1:259: invalid YAML: nested more than 256 levels deep");
}

TEST(ParseYaml, AliasesMayNotCopyMuchText) {
  // Few nodes, but each copy is 100 kB of text.
  std::string yaml =
      "a: &a '" + std::string(100'000, 'x') + "'\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n";
  yaml += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c]\n";
  EXPECT_EQ(Error(yaml), "4:9: document too large: aliases expand to more than 16 MB of text");
}

TEST(ParseYaml, OneDocumentOnly) {
  EXPECT_EQ(Error("a: 1\n---\nb: 2\n---\nc: 3\n"),
            "3:1: expected one YAML document, found 3 (remove the '---' separator)");
  // A later document is still parsed; its error is the one reported.
  EXPECT_EQ(Error("a: 1\n---\nb: [\n"),
            "4:1: invalid YAML: unexpected end of file (a '[' or '{' is never closed)");
}

TEST(ParseYaml, ParserErrorsSayWhatIsWrongWhere) {
  EXPECT_EQ(Error("a: \"unclosed\nb: 2\n"), "1:4: invalid YAML: quoted string is never closed");
  EXPECT_EQ(Error("a: {x: 1 y: 2}\nb: 3\n"),
            "1:11: invalid YAML: expected ',' or '}' after an entry of the '{' at line 1");
  EXPECT_EQ(Error("a: b\nfoo\nc: d\n"),
            "2:1: invalid YAML: expected 'key: value' (no ':' after this key)");
  EXPECT_EQ(Error("a:\n  b: 1\n c: 2\n"), "3:2: invalid YAML: bad indentation of a mapping entry");
  EXPECT_EQ(Error("a: x\x01y\n"), "1:5: invalid YAML: control characters are not allowed (0x01)");
  EXPECT_EQ(Error("[[[{{"),
            "1:6: invalid YAML: unexpected end of file (a '[' or '{' is never closed)");
}

}  // namespace
}  // namespace relay::spec

namespace relay::spec {
namespace {

// A pipeline file never needs millions of nodes; a tree that large would take
// gigabytes (each node is about 100 bytes).
TEST(ParseYaml, TooManyNodesIsAPositionedError) {
  std::string yaml = "a:\n";
  for (size_t i = 0; i < kMaxYamlNodes / 2; ++i) yaml += "- [1]\n";
  YamlNode root;
  YamlError error;
  ASSERT_FALSE(ParseYaml(yaml, &root, &error));
  EXPECT_EQ(error.message, "document too large: more than 500000 nodes");
  // Nodes: the mapping, 'a', the list, then two per line.
  EXPECT_EQ(error.mark.line, 2 + static_cast<int>((kMaxYamlNodes - 3) / 2));
  EXPECT_TRUE(root.IsNull());
}

}  // namespace
}  // namespace relay::spec
