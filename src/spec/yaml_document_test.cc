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

// "key=value@line:col" for each entry of a mapping of scalars.
std::string Entries(const YamlNode& map) {
  std::string s;
  for (const YamlNode::Entry& e : map.entries) {
    if (!s.empty()) s += " ";
    s += e.key.text + "=" + (e.value.IsScalar() ? e.value.text : "?") + "@" +
         std::to_string(e.key.mark.line) + ":" + std::to_string(e.key.mark.col);
  }
  return s;
}

TEST(ParseYaml, MergeKeyMergesWhereItStandsAndWrittenKeysWin) {
  YamlNode r = Parse(
      "d: &d {a: 1, b: 2}\n"
      "e: &e {b: 3, c: 4}\n"
      "x:\n  b: 9\n  <<: [*d, *e]\n  c: 8\n  z: 0\n");
  // 'b' and 'c' are written in x, before and after '<<'; of the sources the
  // earlier one wins ('b' of d over 'b' of e). Merged keys keep their place
  // in the file, at the anchors.
  EXPECT_EQ(Entries(r.entries[2].value), "b=9@4:3 a=1@1:8 c=8@6:3 z=0@7:3");
  EXPECT_EQ(Entries(r.entries[0].value), "a=1@1:8 b=2@1:14");  // the source is unchanged
}

TEST(ParseYaml, MergeKeyTakesAnInlineMappingAndNests) {
  YamlNode r = Parse("a: &a {p: 1}\nb: &b {<<: *a, q: 2}\nc: {<<: *b, p: 0}\nd: {<<: {s: 5}}\n");
  EXPECT_EQ(Entries(r.entries[1].value), "p=1@1:8 q=2@2:16");
  EXPECT_EQ(Entries(r.entries[2].value), "q=2@2:16 p=0@3:13");
  EXPECT_EQ(Entries(r.entries[3].value), "s=5@4:10");
  EXPECT_TRUE(Parse("a: {<<: [], b: 1}\n").entries[0].value.entries.size() == 1);
}

// The keys of a mapping's entries ('?' if not a scalar), a repeated one
// marked with '!'.
std::string Keys(const YamlNode& map) {
  std::string s;
  for (const YamlNode::Entry& e : map.entries) {
    s += (s.empty() ? "" : " ") + (e.key.IsScalar() ? e.key.text : "?");
    if (e.duplicate) s += "!";
  }
  return s;
}

TEST(ParseYaml, RepeatedKeysAreKeptAndMarked) {
  YamlNode r = Parse("a: 1\nb: {x: 1, 'x': 2, [x]: 3, y: 4, x: 5}\na: 2\n");
  EXPECT_EQ(Keys(r), "a b a!");
  EXPECT_EQ(Keys(r.entries[1].value), "x x! ? y x!");
  // A mapping too large to compare pairwise.
  std::string many = "{", keys;
  for (int i = 0; i < 40; ++i) {
    std::string key = "k" + std::to_string(i % 30);
    many += key + ": 0, ";
    keys += (keys.empty() ? "" : " ") + key + (i >= 30 ? "!" : "");
  }
  EXPECT_EQ(Keys(Parse(many + "}")), keys);
  // Merged keys never repeat; with the plain '<<' gone, a quoted one is a key
  // like any other, and a written key repeated after the merge still is.
  r = Parse("d: &d {a: 1, a: 2}\nx: {<<: *d, '<<': 0, b: 1, b: 2}\n");
  EXPECT_EQ(Keys(r.entries[0].value), "a a!");
  EXPECT_EQ(Keys(r.entries[1].value), "a << b b!");
  r = Parse("x: {'<<': 0, <<: {a: 1}}\n");
  EXPECT_EQ(Keys(r.entries[0].value), "<< a");
}

TEST(ParseYaml, OnlyAPlainOrMergeTaggedMergeKeyMerges) {
  YamlNode r =
      Parse("d: &d {a: 1}\nx: {'<<': *d, \"<<\": *d, !!str <<: *d}\ny: {!!merge <<: *d}\n");
  const YamlNode& x = r.entries[1].value;
  ASSERT_EQ(x.entries.size(), 3u);  // ordinary keys, left for the validator to report
  for (const auto& e : x.entries) EXPECT_EQ(e.key.text, "<<");
  EXPECT_EQ(Entries(r.entries[2].value), "a=1@1:8");
  // An alias used as a key is never a merge key.
  r = Parse("k: &k <<\nx: {*k : {a: 1}}\n");
  EXPECT_EQ(r.entries[1].value.entries[0].key.text, "<<");
}

TEST(ParseYaml, WrittenDuplicatesStayMergedDuplicatesDoNot) {
  YamlNode r = Parse("d: &d {a: 1, a: 2, b: 3}\nx: {b: 4, b: 5, <<: [*d, *d]}\n");
  EXPECT_EQ(Entries(r.entries[1].value), "b=4@2:5 b=5@2:11 a=1@1:8");
}

TEST(ParseYaml, MergeKeyErrorsPointAtTheValue) {
  const std::string needs = "invalid YAML: merge key '<<' needs a mapping or an alias of one";
  EXPECT_EQ(Error("x:\n  <<: 1\n"), "2:7: " + needs);
  EXPECT_EQ(Error("s: &s [1]\nx: {<<: *s}\n"), "1:8: " + needs);  // the item, where written
  EXPECT_EQ(Error("x:\n  <<:\n  y: 1\n"), "2:3: " + needs);       // a null is at its key
  EXPECT_EQ(Error("d: &d {a: 1}\nx:\n  <<: [*d, b]\n"), "3:12: " + needs);
  EXPECT_EQ(Error("x: {<<: [[{a: 1}]]}\n"), "1:10: " + needs);
  EXPECT_EQ(Error("x:\n  <<: {a: 1}\n  <<: {b: 2}\n"),
            "3:3: invalid YAML: duplicate merge key '<<' (merge several mappings with "
            "'<<: [*a, *b]')");
}

TEST(ParseYaml, AnchorsInsideMergedMappingsStillResolve) {
  // Merging happens after parsing, so an anchor inside a merged mapping is
  // still found by its path while the document is read.
  YamlNode r = Parse("x: {<<: {p: &p 1, q: [&q 2]}, r: *p}\ny: [*p, *q]\n");
  EXPECT_EQ(Entries(r.entries[0].value), "p=1@1:10 q=?@1:19 r=1@1:31");
  EXPECT_EQ(r.entries[1].value.items[0].text, "1");
  EXPECT_EQ(r.entries[1].value.items[1].text, "2");
}

TEST(ParseYaml, MergedEntriesCountTowardAliasLimits) {
  // Each level merges the one below ten times: the merged mapping stays
  // small, but the aliases copy 10^k nodes before merging.
  std::string yaml = "a: &a {k: [x, x, x, x, x, x, x, x, x, x]}\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " {<<: [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", *" : "*") + prev;
    yaml += "]}\n";
    prev = c;
  }
  EXPECT_EQ(Error(yaml), "5:37: document too large: aliases expand to more than 100000 nodes");
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
  // The error points at the second '---'.
  EXPECT_EQ(Error("a: 1\n---\nb: 2\n---\nc: 3\n"),
            "2:1: expected one YAML document, found 3 (remove the '---' separator)");
  EXPECT_EQ(Error("a: 1\n---\n"),
            "2:1: expected one YAML document, found 2 (remove the '---' separator)");
  EXPECT_EQ(Error("--- {a: 1}\n...\n--- # two\n"),
            "3:1: expected one YAML document, found 2 (remove the '---' separator)");
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

// YAML as people write it for CI systems; the values are the ones PyYAML
// (also libyaml) gives, as strings.

std::string At(const Mark& m) { return std::to_string(m.line) + ":" + std::to_string(m.col); }

TEST(ParseYamlAsWritten, BlockScalarIndicators) {
  const std::string src =
      "a: |-\n  x\n  y\n\n"
      "b: >+\n  f\n  g\n\n\n"
      "c: |2\n    indented ${{ x }}\n  less\n"
      "d: >-\n  fold\n  this\n    more\n    indented\n  back\n";
  YamlNode r = Parse(src);
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].value.text, "x\ny");
  EXPECT_EQ(r.entries[1].value.text, "f g\n\n\n");
  EXPECT_EQ(r.entries[2].value.text, "  indented ${{ x }}\nless\n");
  EXPECT_EQ(r.entries[3].value.text, "fold this\n  more\n  indented\nback");
  EXPECT_EQ(Where(r.entries[2].value), "10:4+34");  // at the '|'
  EXPECT_EQ(Where(r.entries[3].key), "13:1+66");
  EXPECT_EQ(At(LocateInScalar(r.entries[2].value, 11, src)), "11:14");  // the '$'
  EXPECT_EQ(At(LocateInScalar(r.entries[3].value, 19, src)), "17:5");   // "indented"
  EXPECT_EQ(Error("a: |x\n  y\n"),
            "1:5: invalid YAML: after '|' or '>' only '-', '+', an indentation digit and a "
            "comment may follow");
}

TEST(ParseYamlAsWritten, MultiLinePlainAndQuotedScalars) {
  const std::string src =
      "a: multi\n  line plain\n\n  scalar\nb: \"dq\n  line \\\n  cont\"\nc: 'sq\n\n  two'\nd: x\n";
  YamlNode r = Parse(src);
  EXPECT_EQ(r.entries[0].value.text, "multi line plain\nscalar");
  EXPECT_EQ(r.entries[1].value.text, "dq line cont");
  EXPECT_EQ(r.entries[2].value.text, "sq\ntwo");
  EXPECT_EQ(Where(r.entries[1].value), "5:4+35");
  EXPECT_EQ(Where(r.entries[3].value), "11:4+74");
  EXPECT_EQ(At(LocateInScalar(r.entries[0].value, 17, src)), "4:3");  // "scalar"
  EXPECT_EQ(At(LocateInScalar(r.entries[1].value, 8, src)), "7:3");   // "cont"
}

// `\` at the end of a line in double quotes: the line break and the next
// line's indentation are not in the value.
TEST(ParseYamlAsWritten, EscapedLineBreakInDoubleQuotes) {
  const std::string src = "a: \"echo a\\\n      b ${{ x }}\"\nb: \"p\\\r\n  \\\n q\"\n";
  YamlNode r = Parse(src);
  ASSERT_EQ(r.entries[0].value.text, "echo ab ${{ x }}");
  EXPECT_EQ(At(LocateInScalar(r.entries[0].value, 5, src)), "1:10");  // "a"
  EXPECT_EQ(At(LocateInScalar(r.entries[0].value, 6, src)), "2:7");   // "b"
  EXPECT_EQ(At(LocateInScalar(r.entries[0].value, 8, src)), "2:9");   // "${{"
  ASSERT_EQ(r.entries[1].value.text, "pq");  // CRLF, and two escaped breaks in a row
  EXPECT_EQ(At(LocateInScalar(r.entries[1].value, 1, src)), "5:2");
}

TEST(ParseYamlAsWritten, FlowCollectionsOverLinesWithComments) {
  YamlNode r = Parse(
      "# top\na: [1,   # one\n  2, # two\n  3]  # end\nb: {x: 1,\n   y: [a,\n b],}\nc: [x,\n]\n");
  ASSERT_EQ(r.entries.size(), 3u);
  ASSERT_EQ(r.entries[0].value.items.size(), 3u);
  EXPECT_EQ(Where(r.entries[0].value.items[2]), "4:3+34");
  EXPECT_EQ(Entries(r.entries[1].value), "x=1@5:5 y=?@6:4");
  EXPECT_EQ(Where(r.entries[1].value.entries[1].value.items[1]), "7:2+65");
  EXPECT_EQ(r.entries[2].value.items.size(), 1u);  // a trailing comma is allowed
}

TEST(ParseYamlAsWritten, DirectivesAndDocumentMarkers) {
  YamlNode r =
      Parse("# top\n%YAML 1.2\n--- # doc\na: 1 # c\n# mid\nb: # after key\n  - x\n...\n# end\n");
  EXPECT_EQ(Entries(r), "a=1@4:1 b=?@6:1");
  EXPECT_EQ(Where(r.entries[1].value.items[0]), "7:5+60");
  EXPECT_EQ(Where(Parse("--- {a: 1}\n...\n")), "1:5+4");
  EXPECT_EQ(Parse("--- |\n  root\n").text, "root\n");
  EXPECT_EQ(Error("%YAML 1.2\na: 1\n"),
            "2:1: invalid YAML: expected '---' before this (a %YAML directive or a '...' ends "
            "what precedes it)");
  EXPECT_EQ(Error("a: 1\n...\nb: 2\n"),
            "3:1: invalid YAML: expected '---' before this (a %YAML directive or a '...' ends "
            "what precedes it)");
  EXPECT_EQ(Error("%YAML 2.0\n---\na: 1\n"),
            "1:1: invalid YAML: unsupported %YAML version (use 1.2, or leave the directive out)");
}

TEST(ParseYamlAsWritten, ByteOrderMarkCountsInOffsets) {
  YamlNode r = Parse(
      "\xEF\xBB\xBF"
      "a: 1\nb: [2, \"\xC3\xA9\", x]\n");
  EXPECT_EQ(Where(r.entries[0].key), "1:4+3");
  EXPECT_EQ(Where(r.entries[0].value), "1:7+6");
  EXPECT_EQ(Where(r.entries[1].value.items[2]), "2:14+21");
  EXPECT_EQ(Error("\xEF\xBB\xBF"
                  "a: \"x\x01\"\n"),
            "1:9: invalid YAML: control characters are not allowed (0x01)");
  // Not read as UTF-16.
  EXPECT_EQ(Error(std::string("\xFF\xFE"
                              "a\0:\0",
                              6)),
            "1:1: invalid YAML: invalid leading UTF-8 octet (0xff)");
}

TEST(ParseYamlAsWritten, CrlfLineEndings) {
  YamlNode r = Parse("a: 1\r\nb: |\r\n  x\r\n  y\r\nc: \"p\r\n  q\"\r\nd: >\r\n  f\r\n  g\r\n");
  EXPECT_EQ(r.entries[1].value.text, "x\ny\n");
  EXPECT_EQ(r.entries[2].value.text, "p q");
  EXPECT_EQ(r.entries[3].value.text, "f g\n");
  EXPECT_EQ(Where(r.entries[2].key), "5:1+22");
  EXPECT_EQ(Where(r.entries[3].key), "7:1+35");
  EXPECT_EQ(Error("a: 1\r\n\tb: 2\r\n"), "2:1: invalid YAML: tabs are not allowed in indentation");
}

TEST(ParseYamlAsWritten, EmptyValues) {
  YamlNode r = Parse("a:    # nothing\nb:\n  - \n  -\n  - x\nc: {k, m: }\nd: ''\n");
  EXPECT_TRUE(r.entries[0].value.IsNull());
  ASSERT_EQ(r.entries[1].value.items.size(), 3u);
  EXPECT_TRUE(r.entries[1].value.items[0].IsNull());
  EXPECT_EQ(Where(r.entries[1].value.items[0]), "3:4+22");
  EXPECT_TRUE(r.entries[1].value.items[1].IsNull());
  EXPECT_EQ(Where(r.entries[2].value.entries[1].value), "6:8+41");  // at the key
  EXPECT_TRUE(r.entries[2].value.entries[0].value.IsNull());
  EXPECT_TRUE(r.entries[3].value.IsScalar());
  EXPECT_EQ(r.entries[3].value.text, "");
  EXPECT_EQ(Error("a: [x, , y]\n"), "1:8: invalid YAML: expected a value, found ','");
}

TEST(ParseYamlAsWritten, ComplexKeysAreKeptWithPositions) {
  YamlNode r = Parse("? key\n: value\n? [a, b]\n: seq\n? |\n  block\n: v\n");
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(Where(r.entries[0].key), "1:3+2");
  EXPECT_EQ(r.entries[0].value.text, "value");
  EXPECT_TRUE(r.entries[1].key.IsSequence());  // the validator says "keys must be strings"
  EXPECT_EQ(Where(r.entries[1].key), "3:3+16");
  EXPECT_EQ(r.entries[2].key.text, "block\n");
}

TEST(ParseYamlAsWritten, AnAliasUsedAsAKeyIsWhereItIsUsed) {
  YamlNode r = Parse("&k a: 1\nx: [&v b]\n*k : 2\n*v : 3\n");
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(Where(r.entries[0].key), "1:1+3");  // the anchor starts the node
  EXPECT_EQ(r.entries[2].key.text, "a");
  EXPECT_EQ(Where(r.entries[2].key), "3:1+18");
  EXPECT_EQ(r.entries[3].key.text, "b");
  EXPECT_EQ(Where(r.entries[3].key), "4:1+25");
}

TEST(ParseYamlAsWritten, VeryLongLines) {
  std::string src =
      "a: " + std::string(300'000, 'x') + " ${{ y }}\nb: [" + std::string(100'000, 'z') + ", w]\n";
  YamlNode r = Parse(src);
  EXPECT_EQ(r.entries[0].value.text.size(), 300'009u);
  EXPECT_EQ(At(LocateInScalar(r.entries[0].value, 300'001, src)), "1:300005");
  EXPECT_EQ(Where(r.entries[1].value.items[1]), "2:100007+400019");
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
