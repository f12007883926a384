// The only file that includes yaml-cpp: it turns yaml-cpp's node graph into a
// YamlNode tree and its exceptions into a YamlError.
#include "spec/yaml_document.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <exception>
#include <unordered_map>
#include <unordered_set>

namespace relay::spec {
namespace {

// yaml-cpp's messages are terse; the common ones get a hint at the usual cause.
std::string CleanMessage(const std::string& msg, std::string_view text, const Mark& mark) {
  if (mark.line > 0) {
    // Find the line's leading whitespace: a tab there is the usual culprit.
    size_t start = 0;
    for (int line = 1; line < mark.line && start != std::string_view::npos; ++line) {
      start = text.find('\n', start);
      if (start != std::string_view::npos) ++start;
    }
    if (start != std::string_view::npos) {
      for (size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
        if (text[i] == '\t') return "invalid YAML: tabs are not allowed in indentation";
    }
  }
  if (msg == YAML::ErrorMsg::MAP_VALUE)
    return "invalid YAML: unexpected ':' (quote a value that contains ': ')";
  if (msg == YAML::ErrorMsg::END_OF_MAP) return "invalid YAML: bad indentation of a mapping entry";
  if (msg == YAML::ErrorMsg::END_OF_SEQ) return "invalid YAML: bad indentation of a list item";
  if (msg == YAML::ErrorMsg::END_OF_MAP_FLOW) return "invalid YAML: '{' is never closed";
  if (msg == YAML::ErrorMsg::END_OF_SEQ_FLOW) return "invalid YAML: '[' is never closed";
  if (msg == YAML::ErrorMsg::UNKNOWN_ANCHOR) return "invalid YAML: alias to an undefined anchor";
  return "invalid YAML: " + msg;
}

Mark ToMark(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return {};
  return {m.line + 1, m.column + 1};
}

class Converter {
 public:
  explicit Converter(std::string_view text) : text_(text) {}

  // Returns false when the document is too large, too deep, or an alias
  // refers to a node that contains it; failure() then says which and where.
  bool Convert(const YAML::Node& in, YamlNode* out) {
    // An alias is the anchored node again (same position and type); its
    // copies are counted so that a few lines cannot expand to millions.
    int64_t key = int64_t{in.Mark().pos} * 8 + static_cast<int>(in.Type());
    if (!active_.insert(key).second) {
      // yaml-cpp builds `a: &x { b: *x }` as a cycle; following it would
      // never end.
      return Fail(in, "an alias refers to a node that contains it (a recursive anchor)");
    }
    if (active_.size() > kMaxDepth) {
      return Fail(in, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    }
    auto seen = subtree_sizes_.find(key);
    if (seen != subtree_sizes_.end()) {
      expanded_ += seen->second;
      if (expanded_ > kMaxAliasExpansion) return TooLarge();
    }
    size_t before = nodes_;
    bool ok = ConvertNode(in, out);
    active_.erase(key);
    if (!ok) return false;
    if (seen == subtree_sizes_.end()) subtree_sizes_.emplace(key, nodes_ - before);
    return true;
  }

  const std::string& failure() const { return failure_; }
  Mark failure_mark() const { return failure_mark_; }

 private:
  static constexpr size_t kMaxDepth = 256;

  bool Fail(const YAML::Node& at, std::string message) {
    failure_ = "invalid YAML: " + std::move(message);
    failure_mark_ = ToMark(at.Mark());
    return false;
  }

  bool TooLarge() {
    failure_ = "document too large: more than " + std::to_string(kMaxYamlNodes) +
               " nodes, or aliases that expand to more than " + std::to_string(kMaxAliasExpansion) +
               " nodes";
    return false;
  }

  bool ConvertNode(const YAML::Node& in, YamlNode* out) {
    if (++nodes_ > kMaxYamlNodes + kMaxAliasExpansion) return TooLarge();
    out->mark = ToMark(in.Mark());
    out->offset = in.Mark().pos >= 0 ? static_cast<size_t>(in.Mark().pos) : 0;
    switch (in.Type()) {
      case YAML::NodeType::Scalar:
        out->kind = YamlNode::Kind::kScalar;
        out->text = in.Scalar();
        DetectStyle(out);
        return true;
      case YAML::NodeType::Sequence:
        out->kind = YamlNode::Kind::kSequence;
        out->items.reserve(in.size());
        for (auto it = in.begin(); it != in.end(); ++it)
          if (!Convert(*it, &out->items.emplace_back())) return false;
        return true;
      case YAML::NodeType::Map:
        out->kind = YamlNode::Kind::kMapping;
        for (auto it = in.begin(); it != in.end(); ++it) {
          YamlNode::Entry& e = out->entries.emplace_back();
          if (!Convert(it->first, &e.key) || !Convert(it->second, &e.value)) return false;
          // A missing value has the position of whatever follows; the key is
          // where a reader looks for it.
          if (e.value.IsNull() && e.value.text.empty()) {
            e.value.mark = e.key.mark;
            e.value.offset = e.key.offset;
          }
        }
        return true;
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        out->kind = YamlNode::Kind::kNull;
        return true;
    }
    return true;
  }

  // yaml-cpp does not report scalar styles; the source does. Anchors and tags
  // come before the scalar itself.
  void DetectStyle(YamlNode* node) {
    size_t i = node->offset;
    while (i < text_.size() && (text_[i] == '&' || text_[i] == '!')) {
      while (i < text_.size() && text_[i] != ' ' && text_[i] != '\t' && text_[i] != '\n') ++i;
      while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n')) ++i;
    }
    node->offset = i;
    if (i >= text_.size()) return;
    switch (text_[i]) {
      case '\'':
        node->style = YamlNode::Style::kSingleQuoted;
        break;
      case '"':
        node->style = YamlNode::Style::kDoubleQuoted;
        break;
      case '|':
        node->style = YamlNode::Style::kLiteral;
        break;
      case '>':
        node->style = YamlNode::Style::kFolded;
        break;
      default:
        node->style = YamlNode::Style::kPlain;
        break;
    }
  }

  std::string_view text_;
  size_t nodes_ = 0;
  size_t expanded_ = 0;                                // nodes copied because of aliases
  std::unordered_map<int64_t, size_t> subtree_sizes_;  // by position and type
  std::unordered_set<int64_t> active_;                 // nodes being converted (the path)
  std::string failure_;
  Mark failure_mark_;
};

}  // namespace

bool ParseYaml(std::string_view text, YamlNode* root, YamlError* error) {
  *root = YamlNode();
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1) {
      error->mark = ToMark(docs[1].Mark());
      error->message = "expected one YAML document, found " + std::to_string(docs.size()) +
                       " (remove the '---' separator)";
      return false;
    }
    if (docs.empty()) return true;
    Converter converter(text);
    if (!converter.Convert(docs[0], root)) {
      *root = YamlNode();
      error->mark = converter.failure_mark();
      error->message = converter.failure();
      return false;
    }
    return true;
  } catch (const YAML::Exception& e) {
    error->mark = ToMark(e.mark);
    error->message = CleanMessage(e.msg, text, error->mark);
  } catch (const std::exception& e) {
    error->mark = {};
    error->message = std::string("invalid YAML: ") + e.what();
  }
  return false;
}

namespace {

// Maps a value offset to a source offset by walking a quoted scalar that sits
// on one line; returns npos when the scalar spans lines.
size_t WalkQuoted(const YamlNode& node, size_t value_offset, std::string_view src) {
  size_t i = node.offset + 1, v = 0;
  bool single = node.style == YamlNode::Style::kSingleQuoted;
  while (v < value_offset) {
    if (i >= src.size() || src[i] == '\n' || src[i] == '\r') return std::string_view::npos;
    if (single && src[i] == '\'' && i + 1 < src.size() && src[i + 1] == '\'') {
      i += 2;
      v += 1;
    } else if (!single && src[i] == '\\' && i + 1 < src.size()) {
      char e = src[i + 1];
      if (e == 'x') {
        i += 4, v += 1;
      } else if (e == 'u') {
        i += 6, v += 2;  // most \u escapes in commands are 2-byte letters
      } else if (e == 'U') {
        i += 10, v += 4;
      } else {
        i += 2, v += 1;
      }
    } else {
      ++i;
      ++v;
    }
  }
  return i;
}

// Finds the same text in the source: the k-th occurrence of the word at
// `value_offset` in the value is taken to be the k-th one after the node.
Mark Search(const YamlNode& node, size_t value_offset, std::string_view src) {
  std::string_view value = node.text;
  size_t end = value_offset;
  while (end < value.size() && value[end] != ' ' && value[end] != '\n' && value[end] != '\t') ++end;
  if (end == value_offset) return node.mark;
  std::string_view needle = value.substr(value_offset, end - value_offset);
  size_t k = 0;
  for (size_t p = value.find(needle); p < value_offset; p = value.find(needle, p + needle.size()))
    ++k;
  size_t found = src.find(needle, node.offset);
  for (; k > 0 && found != std::string_view::npos; --k)
    found = src.find(needle, found + needle.size());
  if (found == std::string_view::npos) return node.mark;
  Mark m = node.mark;
  for (size_t i = node.offset; i < found; ++i) {
    if (src[i] == '\n') {
      ++m.line;
      m.col = 1;
    } else {
      ++m.col;
    }
  }
  return m;
}

}  // namespace

Mark LocateInScalar(const YamlNode& node, size_t value_offset, std::string_view source) {
  if (!node.IsScalar() || node.mark.line == 0 || node.offset >= source.size()) return node.mark;
  if (value_offset > node.text.size()) value_offset = node.text.size();
  switch (node.style) {
    case YamlNode::Style::kPlain:
      if (node.text.find('\n') == std::string::npos &&
          source.substr(node.offset, node.text.size()) == node.text)
        return {node.mark.line, node.mark.col + static_cast<int>(value_offset)};
      break;
    case YamlNode::Style::kSingleQuoted:
    case YamlNode::Style::kDoubleQuoted: {
      size_t at = WalkQuoted(node, value_offset, source);
      if (at != std::string_view::npos)
        return {node.mark.line, node.mark.col + static_cast<int>(at - node.offset)};
      break;
    }
    case YamlNode::Style::kLiteral:
    case YamlNode::Style::kFolded:
      break;
  }
  return Search(node, value_offset, source);
}

}  // namespace relay::spec
