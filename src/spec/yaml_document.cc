// The only file that includes libyaml: it builds a YamlNode tree from
// libyaml's event stream and turns its errors into a YamlError. libyaml
// resolves nothing, so scalars stay text with the style they were written in,
// which is what YamlNode keeps; untagged plain nulls become null nodes.
#include "spec/yaml_document.h"

#include <yaml.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "spec/diagnostic.h"

namespace relay::spec {
namespace {

constexpr size_t kMaxDepth = 256;

bool HasByteOrderMark(std::string_view text) { return text.starts_with("\xEF\xBB\xBF"); }

// libyaml marks count characters from 0 and lines by any line break; ours
// count bytes from 1 and lines by '\n' only, as the diagnostics printer
// does. Marks arrive almost in order, so cursors that walk from the last
// answer keep the conversion linear in the input.
class Positions {
 public:
  explicit Positions(std::string_view text) : text_(text), next_newline_(text.find('\n')) {
    if (HasByteOrderMark(text)) bytes_ = 3;  // libyaml's character 0 follows the mark
    // In ASCII text (which has no byte order mark either) characters are
    // bytes, and the cursor below is not needed.
    unsigned char bits = 0;
    for (char c : text) bits |= static_cast<unsigned char>(c);
    ascii_ = bits < 0x80;
  }

  // The byte offset of character `index` (the input is UTF-8).
  size_t Offset(size_t index) {
    if (ascii_) return std::min(index, text_.size());
    while (chars_ < index && bytes_ < text_.size()) {
      ++bytes_;
      while (bytes_ < text_.size() && IsContinuation(text_[bytes_])) ++bytes_;
      ++chars_;
    }
    while (chars_ > index) {
      --bytes_;
      while (bytes_ > 0 && IsContinuation(text_[bytes_])) --bytes_;
      --chars_;
    }
    return bytes_;
  }

  Mark At(size_t offset) {
    offset = std::min(offset, text_.size());
    if (offset < line_start_) {
      // Rare (error contexts): count back to the line.
      size_t lines = std::count(text_.begin() + offset, text_.begin() + line_start_, '\n');
      line_ -= static_cast<int>(lines);
      size_t nl = offset == 0 ? std::string_view::npos : text_.rfind('\n', offset - 1);
      line_start_ = nl == std::string_view::npos ? 0 : nl + 1;
      next_newline_ = text_.find('\n', line_start_);
    }
    while (next_newline_ < offset) {
      ++line_;
      line_start_ = next_newline_ + 1;
      next_newline_ = text_.find('\n', line_start_);
    }
    return {line_, static_cast<int>(offset - line_start_) + 1};
  }

 private:
  static bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

  std::string_view text_;
  bool ascii_;
  size_t chars_ = 0, bytes_ = 0;  // Offset()'s cursor
  int line_ = 1;                  // At()'s cursor: the line that
  size_t line_start_ = 0;         // starts at this byte
  size_t next_newline_;           // and ends at this one
};

// Owns libyaml's parser and its current event.
class EventStream {
 public:
  explicit EventStream(std::string_view text) {
    ok_ = yaml_parser_initialize(&parser_) != 0;
    if (ok_) {
      yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
      // Left to guess, libyaml would read a leading FF FE as UTF-16. With a
      // UTF-8 byte order mark it guesses right and skips the mark (uncounted
      // in its marks, see Positions); told UTF-8, it would refuse the mark.
      if (!HasByteOrderMark(text)) yaml_parser_set_encoding(&parser_, YAML_UTF8_ENCODING);
    }
  }
  ~EventStream() {
    if (has_event_) yaml_event_delete(&event_);
    if (ok_) yaml_parser_delete(&parser_);
  }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // False on malformed input; parser() then says why and where.
  bool Next() {
    if (has_event_) yaml_event_delete(&event_);
    has_event_ = ok_ && yaml_parser_parse(&parser_, &event_) != 0;
    return has_event_;
  }
  const yaml_event_t& event() const { return event_; }
  const yaml_parser_t& parser() const { return parser_; }
  bool initialized() const { return ok_; }

 private:
  yaml_parser_t parser_;
  yaml_event_t event_;
  bool ok_ = false;
  bool has_event_ = false;
};

std::string_view Str(const yaml_char_t* s) {
  return s == nullptr ? std::string_view() : reinterpret_cast<const char*>(s);
}

// The UTF-8 character that starts at byte `i` (empty past the end).
std::string CharAt(std::string_view text, size_t i) {
  size_t end = i + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return i < text.size() ? std::string(text.substr(i, end - i)) : std::string();
}

// libyaml's messages name the parser's state; the common ones get the usual
// cause instead.
YamlError ParserError(const yaml_parser_t& p, Positions& pos, std::string_view text) {
  if (p.error == YAML_MEMORY_ERROR) return {{}, "invalid YAML: out of memory"};
  std::string_view problem = p.problem == nullptr ? "malformed input" : p.problem;
  std::string_view context = p.context == nullptr ? "" : p.context;
  size_t offset =
      p.error == YAML_READER_ERROR ? p.problem_offset : pos.Offset(p.problem_mark.index);
  Mark mark = pos.At(offset);
  // A tab in a line's indentation is the usual culprit whatever the message.
  for (size_t i = offset - (mark.col - 1); i < text.size() && (text[i] == ' ' || text[i] == '\t');
       ++i)
    if (text[i] == '\t') return {mark, "invalid YAML: tabs are not allowed in indentation"};

  auto at_end = [&] { return text.find_first_not_of(" \t\r\n", offset) == std::string_view::npos; };
  auto context_line = [&] { return std::to_string(pos.At(pos.Offset(p.context_mark.index)).line); };
  std::string message;
  if (problem == "mapping values are not allowed in this context") {
    message = "unexpected ':' (quote a value that contains ': ')";
  } else if (problem == "did not find expected ',' or '}'" ||
             problem == "did not find expected ',' or ']'") {
    char close = problem[problem.size() - 2];  // the quoted '}' or ']'
    char open = close == '}' ? '{' : '[';
    if (at_end()) {
      // The end of the file says nothing; the bracket that never closes does.
      mark = pos.At(pos.Offset(p.context_mark.index));
      message = std::string("'") + open + "' is never closed";
    } else {
      message = std::string("expected ',' or '") + close + "' after an entry of the '" + open +
                "' at line " + context_line();
    }
  } else if (problem == "did not find expected node content") {
    message = at_end() ? "unexpected end of file (a '[' or '{' is never closed)"
                       : "expected a value, found '" + CharAt(text, offset) + "'";
  } else if (problem == "found unexpected end of stream" &&
             context == "while scanning a quoted scalar") {
    mark = pos.At(pos.Offset(p.context_mark.index));
    message = "quoted string is never closed";
  } else if (problem == "did not find expected key" && context == "while parsing a block mapping") {
    message = "bad indentation of a mapping entry";
  } else if (problem == "did not find expected '-' indicator") {
    message = "bad indentation of a list item";
  } else if (problem == "found unknown escape character") {
    message = "unknown escape character: " + CharAt(text, offset + 1);
  } else if (problem == "could not find expected ':'") {
    // libyaml reports where it gave up; the line without ':' is the context.
    mark = pos.At(pos.Offset(p.context_mark.index));
    message = "expected 'key: value' (no ':' after this key)";
  } else if (problem == "did not find expected <document start>") {
    message = "expected '---' before this (a %YAML directive or a '...' ends what precedes it)";
  } else if (problem == "found incompatible YAML document") {
    message = "unsupported %YAML version (use 1.2, or leave the directive out)";
  } else if (problem == "did not find expected comment or line break" &&
             context == "while scanning a block scalar") {
    message = "after '|' or '>' only '-', '+', an indentation digit and a comment may follow";
  } else if (p.error == YAML_READER_ERROR && p.problem_value >= 0) {
    char value[16];
    std::snprintf(value, sizeof value, " (0x%02x)", p.problem_value);
    message = std::string(problem) + value;
  } else {
    message = std::string(problem);
    if (!context.empty()) message += " (" + std::string(context) + ")";
  }
  return {mark, "invalid YAML: " + message};
}

// Sets Entry::duplicate. Nearly every mapping is small enough to compare its
// keys pairwise; a set keeps a large one (the tasks) linear.
void MarkDuplicates(std::vector<YamlNode::Entry>& entries) {
  constexpr size_t kPairwiseMax = 16;
  if (entries.size() <= kPairwiseMax) {
    for (size_t i = 0; i < entries.size(); ++i) {
      YamlNode::Entry& e = entries[i];
      e.duplicate = false;
      if (!e.key.IsScalar()) continue;
      for (size_t j = 0; j < i && !e.duplicate; ++j)
        e.duplicate = entries[j].key.IsScalar() && entries[j].key.text == e.key.text;
    }
    return;
  }
  // A hash set of entry indexes, open addressing in one array: a tasks
  // mapping has hundreds of keys, and a std::unordered_set node per key cost
  // more than all the comparisons.
  constexpr uint32_t kFree = UINT32_MAX;
  std::vector<uint32_t> slots(std::bit_ceil(2 * entries.size()), kFree);
  const size_t mask = slots.size() - 1;
  for (size_t i = 0; i < entries.size(); ++i) {
    YamlNode::Entry& e = entries[i];
    e.duplicate = false;
    if (!e.key.IsScalar()) continue;
    size_t h = std::hash<std::string_view>()(e.key.text) & mask;
    for (; slots[h] != kFree && !e.duplicate; h = (h + 1) & mask)
      e.duplicate = entries[slots[h]].key.text == e.key.text;
    if (!e.duplicate) slots[h] = static_cast<uint32_t>(i);
  }
}

// Builds the tree from node events. Aliases are expanded by copying the
// anchored subtree, counted so that a few lines cannot expand to millions.
class Builder {
 public:
  Builder(std::string_view text, Positions& pos, YamlNode* root)
      : text_(text), pos_(pos), root_(root) {}

  // Returns false when the document is too large, too deep, or an alias is
  // undefined or refers to a node that contains it; error() says which.
  bool Add(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_SCALAR_EVENT:
        return AddScalar(e);
      case YAML_SEQUENCE_START_EVENT:
        return Open(e, YamlNode::Kind::kSequence, Str(e.data.sequence_start.anchor));
      case YAML_MAPPING_START_EVENT:
        return Open(e, YamlNode::Kind::kMapping, Str(e.data.mapping_start.anchor));
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        return Close();
      case YAML_ALIAS_EVENT:
        return AddAlias(e);
      default:
        return true;
    }
  }

  const YamlError& error() const { return error_; }
  // Offsets of the keys that are YAML merge keys: plain `<<` or `!!merge`.
  // In increasing order.
  const std::vector<size_t>& merge_keys() const { return merge_keys_; }

 private:
  struct Frame {
    YamlNode* node;
    std::string anchor;  // empty when none
    size_t nodes_before;
    size_t bytes_before;
    size_t height = 1;       // of the subtree so far
    bool expect_key = true;  // mappings alternate key, value
  };
  struct Anchor {
    std::vector<uint32_t> path;  // from the root: item index, or 2 * entry (+1 for the value)
    size_t nodes = 0;            // in the subtree, aliases expanded
    size_t bytes = 0;            // of scalar text in the subtree
    size_t height = 0;
    bool complete = false;
  };

  bool Fail(const yaml_mark_t& at, std::string message) {
    error_ = {pos_.At(pos_.Offset(at.index)), "invalid YAML: " + std::move(message)};
    return false;
  }

  bool TooLarge(const yaml_mark_t& at, std::string what) {
    error_ = {pos_.At(pos_.Offset(at.index)), "document too large: " + std::move(what)};
    return false;
  }

  // Counts a node at the current depth and returns where it goes.
  YamlNode* Start(const yaml_event_t& e, YamlNode::Kind kind) {
    if (++nodes_ > kMaxYamlNodes) {
      TooLarge(e.start_mark, "more than " + std::to_string(kMaxYamlNodes) + " nodes");
      return nullptr;
    }
    if (stack_.size() + 1 > kMaxDepth) {
      Fail(e.start_mark, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return nullptr;
    }
    YamlNode* node = Place();
    node->kind = kind;
    node->offset = pos_.Offset(e.start_mark.index);
    node->mark = pos_.At(node->offset);
    return node;
  }

  YamlNode* Place() {
    if (stack_.empty()) return root_;
    Frame& f = stack_.back();
    // Most collections in a pipeline have a few children: room for that many
    // from the first saves growing one at a time.
    constexpr size_t kFirstCapacity = 4;
    if (f.node->IsSequence()) {
      if (f.node->items.empty()) f.node->items.reserve(kFirstCapacity);
      return &f.node->items.emplace_back();
    }
    if (!f.expect_key) return &f.node->entries.back().value;
    if (f.node->entries.empty()) f.node->entries.reserve(kFirstCapacity);
    return &f.node->entries.emplace_back().key;
  }

  // After a node is complete: the parent's height, and a mapping's turn.
  void Finish(size_t height) {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    f.height = std::max(f.height, height + 1);
    if (!f.node->IsMapping()) return;
    if (!f.expect_key) {
      // A missing value has the position of whatever follows; the key is
      // where a reader looks for it.
      YamlNode::Entry& entry = f.node->entries.back();
      if (entry.value.IsNull()) {
        entry.value.mark = entry.key.mark;
        entry.value.offset = entry.key.offset;
      }
    }
    f.expect_key = !f.expect_key;
  }

  bool AddScalar(const yaml_event_t& e) {
    const auto& s = e.data.scalar;
    std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
    bool null =
        s.tag == nullptr && s.style == YAML_PLAIN_SCALAR_STYLE &&
        (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL");
    size_t nodes_before = nodes_;
    YamlNode* node = Start(e, null ? YamlNode::Kind::kNull : YamlNode::Kind::kScalar);
    if (node == nullptr) return false;
    if (!null) {
      node->text.assign(value);
      node->style = ToStyle(s.style);
      node->offset = SkipProperties(node->offset);
      bytes_ += value.size();
      bool merge_tag = s.tag != nullptr && Str(s.tag) == "tag:yaml.org,2002:merge";
      if (value == "<<" && InKeyPosition() &&
          (merge_tag || (s.tag == nullptr && s.style == YAML_PLAIN_SCALAR_STYLE)))
        merge_keys_.push_back(node->offset);
    }
    if (s.anchor != nullptr) Define(Str(s.anchor), nodes_before, bytes_ - node->text.size(), 1);
    Finish(1);
    return true;
  }

  bool Open(const yaml_event_t& e, YamlNode::Kind kind, std::string_view anchor) {
    size_t nodes_before = nodes_;
    YamlNode* node = Start(e, kind);
    if (node == nullptr) return false;
    if (!anchor.empty()) anchors_[std::string(anchor)] = Anchor();  // in progress
    stack_.push_back({node, std::string(anchor), nodes_before, bytes_});
    return true;
  }

  bool Close() {
    Frame f = std::move(stack_.back());
    if (!f.anchor.empty()) {
      // The path is taken while the node is still the open child of its parent.
      Define(f.anchor, f.nodes_before, f.bytes_before, f.height, /*open=*/true);
    }
    if (f.node->IsMapping()) MarkDuplicates(f.node->entries);
    stack_.pop_back();
    Finish(f.height);
    return true;
  }

  bool AddAlias(const yaml_event_t& e) {
    auto it = anchors_.find(std::string(Str(e.data.alias.anchor)));
    if (it == anchors_.end()) return Fail(e.start_mark, "alias to an undefined anchor");
    const Anchor& a = it->second;
    if (!a.complete)
      return Fail(e.start_mark, "an alias refers to a node that contains it (a recursive anchor)");
    if (stack_.size() + a.height > kMaxDepth)
      return Fail(e.start_mark, "nested more than " + std::to_string(kMaxDepth) +
                                    " levels deep (through an alias)");
    expanded_ += a.nodes;
    nodes_ += a.nodes;
    if (expanded_ > kMaxAliasExpansion) {
      return TooLarge(e.start_mark, "aliases expand to more than " +
                                        std::to_string(kMaxAliasExpansion) + " nodes");
    }
    if (nodes_ > kMaxYamlNodes)
      return TooLarge(e.start_mark, "more than " + std::to_string(kMaxYamlNodes) + " nodes");
    expanded_bytes_ += a.bytes;
    if (expanded_bytes_ > kMaxAliasExpansionBytes) {
      return TooLarge(e.start_mark, "aliases expand to more than " +
                                        std::to_string(kMaxAliasExpansionBytes >> 20) +
                                        " MB of text");
    }
    bytes_ += a.bytes;
    bool key = InKeyPosition();
    YamlNode* node = Place();
    *node = *Resolve(a.path);  // after Place(): it may move earlier siblings
    if (key) {
      // A key is reported (duplicate, unknown) where it is used, not where
      // its anchor is; the copy is never a merge key either.
      node->offset = pos_.Offset(e.start_mark.index);
      node->mark = pos_.At(node->offset);
    }
    Finish(a.height);
    return true;
  }

  bool InKeyPosition() const {
    return !stack_.empty() && stack_.back().node->IsMapping() && stack_.back().expect_key;
  }

  // Records a complete anchored node: the current child of the top frame, or
  // (open) the top frame's node itself.
  void Define(std::string_view name, size_t nodes_before, size_t bytes_before, size_t height,
              bool open = false) {
    Anchor a;
    size_t frames = open ? stack_.size() - 1 : stack_.size();
    for (size_t i = 0; i < frames; ++i) {
      const Frame& f = stack_[i];
      a.path.push_back(
          f.node->IsSequence()
              ? static_cast<uint32_t>(f.node->items.size() - 1)
              : static_cast<uint32_t>(2 * (f.node->entries.size() - 1) + (f.expect_key ? 0 : 1)));
    }
    a.nodes = nodes_ - nodes_before;
    a.bytes = bytes_ - bytes_before;
    a.height = height;
    a.complete = true;
    anchors_[std::string(name)] = std::move(a);
  }

  const YamlNode* Resolve(const std::vector<uint32_t>& path) const {
    const YamlNode* n = root_;
    for (uint32_t i : path) {
      if (n->IsSequence()) {
        n = &n->items[i];
      } else {
        const YamlNode::Entry& e = n->entries[i / 2];
        n = i % 2 ? &e.value : &e.key;
      }
    }
    return n;
  }

  static YamlNode::Style ToStyle(yaml_scalar_style_t style) {
    switch (style) {
      case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        return YamlNode::Style::kSingleQuoted;
      case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        return YamlNode::Style::kDoubleQuoted;
      case YAML_LITERAL_SCALAR_STYLE:
        return YamlNode::Style::kLiteral;
      case YAML_FOLDED_SCALAR_STYLE:
        return YamlNode::Style::kFolded;
      default:
        return YamlNode::Style::kPlain;
    }
  }

  // A scalar's event starts at its anchor or tag; its offset is the value's.
  size_t SkipProperties(size_t i) const {
    while (i < text_.size() && (text_[i] == '&' || text_[i] == '!')) {
      while (i < text_.size() && text_[i] != ' ' && text_[i] != '\t' && text_[i] != '\n') ++i;
      while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n')) ++i;
    }
    return i;
  }

  std::string_view text_;
  Positions& pos_;
  YamlNode* root_;
  std::vector<Frame> stack_;  // open collections; each is the last child of the one below
  std::unordered_map<std::string, Anchor> anchors_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;           // scalar text in the tree
  size_t expanded_ = 0;        // nodes copied because of aliases
  size_t expanded_bytes_ = 0;  // scalar text copied because of aliases
  std::vector<size_t> merge_keys_;
  YamlError error_;
};

// Applies YAML merge keys (https://yaml.org/type/merge.html) once the tree
// is complete, so that anchors still find their nodes by path while parsing.
// Merging moves entries out of the `<<` value, which aliases have already
// copied and counted against the expansion limits, so it adds no nodes.
class Merger {
 public:
  explicit Merger(const std::vector<size_t>& merge_keys) : merge_keys_(merge_keys) {}

  // Returns false with error() on a `<<` that is not mappings, or a second
  // `<<` in one mapping.
  bool Apply(YamlNode& node) {
    if (merge_keys_.empty()) return true;
    for (YamlNode& item : node.items)
      if (!Apply(item)) return false;
    for (YamlNode::Entry& e : node.entries)
      if (!Apply(e.key) || !Apply(e.value)) return false;
    return node.IsMapping() ? Merge(node) : true;
  }

  const YamlError& error() const { return error_; }

 private:
  bool IsMergeKey(const YamlNode& key) const {
    return key.IsScalar() && key.text == "<<" &&
           std::binary_search(merge_keys_.begin(), merge_keys_.end(), key.offset);
  }

  bool Fail(const YamlNode& at, std::string message) {
    error_ = {at.mark, "invalid YAML: " + std::move(message)};
    return false;
  }

  // Children are merged already, so a source's own `<<` is resolved.
  bool Merge(YamlNode& map) {
    auto& entries = map.entries;
    size_t merge = entries.size();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!IsMergeKey(entries[i].key)) continue;
      if (merge != entries.size())
        return Fail(entries[i].key,
                    "duplicate merge key '<<' (merge several mappings with '<<: [*a, *b]')");
      merge = i;
    }
    if (merge == entries.size()) return true;

    YamlNode& value = entries[merge].value;
    std::vector<YamlNode*> sources;
    if (value.IsMapping()) {
      sources.push_back(&value);
    } else if (value.IsSequence()) {
      for (YamlNode& item : value.items) {
        if (!item.IsMapping()) return Fail(item, kNeedsMapping);
        sources.push_back(&item);
      }
    } else {
      return Fail(value, kNeedsMapping);
    }
    // Keys written in the mapping win, then earlier sources over later ones.
    std::unordered_set<std::string> taken;
    for (const YamlNode::Entry& e : entries)
      if (e.key.IsScalar() && !IsMergeKey(e.key)) taken.insert(e.key.text);
    std::vector<YamlNode::Entry> merged;
    for (size_t i = 0; i < merge; ++i) merged.push_back(std::move(entries[i]));
    for (YamlNode* source : sources) {
      for (YamlNode::Entry& e : source->entries) {
        if (e.key.IsScalar() && !taken.insert(e.key.text).second) continue;
        merged.push_back(std::move(e));
      }
    }
    for (size_t i = merge + 1; i < entries.size(); ++i) merged.push_back(std::move(entries[i]));
    entries = std::move(merged);
    MarkDuplicates(entries);  // without the `<<` entry, a quoted '<<' repeats nothing
    return true;
  }

  static constexpr const char* kNeedsMapping = "merge key '<<' needs a mapping or an alias of one";

  const std::vector<size_t>& merge_keys_;
  YamlError error_;
};

}  // namespace

bool ParseYaml(std::string_view text, YamlNode* root, YamlError* error) {
  *root = YamlNode();
  Positions pos(text);
  EventStream events(text);
  if (!events.initialized()) {
    *error = {{}, "invalid YAML: out of memory"};
    return false;
  }
  Builder builder(text, pos, root);
  int documents = 0;
  Mark second;  // the second document's '---', where the error points
  while (true) {
    if (!events.Next()) {
      *root = YamlNode();
      *error = ParserError(events.parser(), pos, text);
      return false;
    }
    const yaml_event_t& e = events.event();
    if (e.type == YAML_STREAM_END_EVENT) break;
    if (e.type == YAML_DOCUMENT_START_EVENT) {
      // Later documents are only parsed, to count them and report their errors.
      if (++documents == 2) second = pos.At(pos.Offset(e.start_mark.index));
    } else if (documents == 1) {
      if (!builder.Add(e)) {
        *root = YamlNode();
        *error = builder.error();
        return false;
      }
    }
  }
  if (documents > 1) {
    *root = YamlNode();
    *error = {second, "expected one YAML document, found " + std::to_string(documents) +
                          " (remove the '---' separator)"};
    return false;
  }
  Merger merger(builder.merge_keys());
  if (!merger.Apply(*root)) {
    *root = YamlNode();
    *error = merger.error();
    return false;
  }
  return true;
}

namespace {

// In a double-quoted scalar, the offset just past an escaped line break at
// `i` (`\` then a line break, then the next line's indentation: none of it
// is in the value), or `i` when there is none.
size_t SkipEscapedLineBreak(std::string_view src, size_t i) {
  if (i + 1 >= src.size() || src[i] != '\\') return i;
  size_t j = i + 1;
  if (src[j] == '\r' && j + 1 < src.size() && src[j + 1] == '\n') ++j;
  if (src[j] != '\n' && src[j] != '\r') return i;
  ++j;
  while (j < src.size() && (src[j] == ' ' || src[j] == '\t')) ++j;
  return j;
}

// Maps a value offset to a source offset by walking a quoted scalar; returns
// npos when the scalar spans lines other than by escaped line breaks (a
// folded line break is not followed).
size_t WalkQuoted(const YamlNode& node, size_t value_offset, std::string_view src) {
  size_t i = node.offset + 1, v = 0;
  bool single = node.style == YamlNode::Style::kSingleQuoted;
  while (true) {
    // An escaped line break adds nothing to the value: the byte at
    // value_offset is what follows it.
    for (size_t next; !single && (next = SkipEscapedLineBreak(src, i)) != i;) i = next;
    if (v >= value_offset) break;
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
  return AdvanceMark(node.mark, src, node.offset, found);
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
      if (at != std::string_view::npos) return AdvanceMark(node.mark, source, node.offset, at);
      break;
    }
    case YamlNode::Style::kLiteral:
    case YamlNode::Style::kFolded:
      break;
  }
  return Search(node, value_offset, source);
}

}  // namespace relay::spec
