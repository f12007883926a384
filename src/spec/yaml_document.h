// A YAML document as a tree of our own that keeps every node's position, so
// that nothing but yaml_document.cc includes libyaml. Mapping entries stay in
// file order and duplicate keys are kept, marked (the validator reports them).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "spec/pipeline.h"

namespace relay::spec {

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMapping };
  // How a scalar was written; decides whether `42` is a number or a string
  // and how a byte offset in the value maps back to the source.
  enum class Style { kPlain, kSingleQuoted, kDoubleQuoted, kLiteral, kFolded };
  struct Entry;

  Kind kind = Kind::kNull;
  Style style = Style::kPlain;
  Mark mark;                    // 1-based; a null mapping value carries its key's mark
  size_t offset = 0;            // byte offset of the node in the source (after anchor and tag)
  std::string text;             // the value of a scalar
  std::vector<YamlNode> items;  // kSequence
  std::vector<Entry> entries;   // kMapping, in file order, duplicates kept

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMapping() const { return kind == Kind::kMapping; }
  bool IsPlain() const { return kind == Kind::kScalar && style == Style::kPlain; }
};

struct YamlNode::Entry {
  YamlNode key;
  YamlNode value;
  // The key is a scalar with the text of an earlier entry's scalar key in
  // the same mapping (after merge keys are applied).
  bool duplicate = false;
};

struct YamlError {
  Mark mark;  // 0 when the parser gave no position
  std::string message;
};

// Nodes allowed in one document, and nodes and bytes of scalar text that
// aliases may add by repeating anchored content (a "billion laughs" document
// is refused instead of exhausting memory).
constexpr size_t kMaxYamlNodes = 500'000;
constexpr size_t kMaxAliasExpansion = 100'000;
constexpr size_t kMaxAliasExpansionBytes = size_t{16} << 20;

// Parses `text` as exactly one YAML document (JSON is accepted). Returns
// false and fills *error on malformed input; an empty document yields a null
// root. Never throws. Merge keys (a plain `<<`) are applied: their entries
// join the mapping where the `<<` stood, with their anchor's positions, unless
// the mapping writes the key itself; only written duplicates are kept. An
// alias is a copy with the anchor's positions, except as a key, where it has
// its own. A leading UTF-8 byte order mark counts in offsets and columns.
bool ParseYaml(std::string_view text, YamlNode* root, YamlError* error);

// The source position of byte `value_offset` of scalar `node`'s value. Exact
// for single-line plain and quoted scalars; for block and multi-line scalars
// it finds the same text in the source, falling back to the node's mark.
Mark LocateInScalar(const YamlNode& node, size_t value_offset, std::string_view source);

}  // namespace relay::spec
