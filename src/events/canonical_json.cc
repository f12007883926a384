#include "events/canonical_json.h"

#include <charconv>

namespace relay::events::canonical {
namespace {

// Nesting deeper than this is not something relay writes; refusing it keeps
// a hostile edit from exhausting the stack.
constexpr int kMaxDepth = 64;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  // Skips one value; its exact text in *token.
  bool Value(std::string_view* token, int depth = 0) {
    if (depth > kMaxDepth) return false;
    SkipSpace();
    size_t start = pos_;
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    bool ok;
    if (c == '"') {
      ok = String();
    } else if (c == '{' || c == '[') {
      ok = Container(depth);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      ok = Number();
    } else {
      ok = Literal("true") || Literal("false") || Literal("null");
    }
    if (ok) *token = s_.substr(start, pos_ - start);
    return ok;
  }

 private:
  bool String() {
    ++pos_;  // the opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= s_.size()) return false;
        ++pos_;
      }
    }
    return false;
  }

  bool Number() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() &&
           ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '.' || s_[pos_] == 'e' ||
            s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
      ++pos_;
    return pos_ > start + (s_[start] == '-' ? 1 : 0);
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Container(int depth) {
    const char close = s_[pos_] == '{' ? '}' : ']';
    const bool object = close == '}';
    ++pos_;
    if (Eat(close)) return true;
    while (true) {
      std::string_view ignored;
      if (object) {
        if (Peek() != '"' || !Value(&ignored, depth + 1) || !Eat(':')) return false;
      }
      if (!Value(&ignored, depth + 1)) return false;
      if (Eat(close)) return true;
      if (!Eat(',')) return false;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Hex4(std::string_view s, size_t at, uint32_t* out) {
  if (at + 4 > s.size()) return false;
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    int d = HexDigit(s[i]);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | cp >> 6);
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | cp >> 12);
    *out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | cp >> 18);
    *out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    *out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

bool SplitArray(std::string_view text, std::vector<std::string_view>* elements) {
  elements->clear();
  Scanner sc(text);
  if (!sc.Eat('[')) return false;
  if (!sc.Eat(']')) {
    while (true) {
      std::string_view v;
      if (!sc.Value(&v, 1)) return false;
      elements->push_back(v);
      if (sc.Eat(']')) break;
      if (!sc.Eat(',')) return false;
    }
  }
  sc.SkipSpace();
  return sc.AtEnd();
}

bool SplitObject(std::string_view text,
                 std::vector<std::pair<std::string_view, std::string_view>>* members) {
  members->clear();
  Scanner sc(text);
  if (!sc.Eat('{')) return false;
  if (!sc.Eat('}')) {
    while (true) {
      std::string_view key, value;
      if (sc.Peek() != '"' || !sc.Value(&key, 1) || !sc.Eat(':') || !sc.Value(&value, 1))
        return false;
      members->emplace_back(key, value);
      if (sc.Eat('}')) break;
      if (!sc.Eat(',')) return false;
    }
  }
  sc.SkipSpace();
  return sc.AtEnd();
}

bool ReadString(std::string_view token, std::string* out) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  out->clear();
  std::string_view s = token.substr(1, token.size() - 2);
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') continue;
    out->append(s, run, i - run);
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"':
      case '\\':
      case '/':
        *out += s[i];
        break;
      case 'b':
        *out += '\b';
        break;
      case 'f':
        *out += '\f';
        break;
      case 'n':
        *out += '\n';
        break;
      case 'r':
        *out += '\r';
        break;
      case 't':
        *out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!Hex4(s, i + 1, &cp)) return false;
        i += 4;
        uint32_t low;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 2 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u' && Hex4(s, i + 3, &low) && low >= 0xdc00 && low < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
        AppendUtf8(out, cp);
        break;
      }
      default:
        return false;
    }
    run = i + 1;
  }
  out->append(s, run, s.size() - run);
  return true;
}

bool ReadInt(std::string_view token, int64_t* out) {
  if (token.empty()) return false;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), *out);
  return ec == std::errc() && end == token.data() + token.size();
}

bool IsObject(std::string_view token) { return !token.empty() && token.front() == '{'; }

bool IsCanonical(std::string_view value) {
  if (value.empty()) return false;
  switch (value.front()) {
    case '"': {
      std::string text, again;
      if (!ReadString(value, &text)) return false;
      AppendJsonString(again, text);
      return again == value;
    }
    case '{': {
      std::vector<std::pair<std::string_view, std::string_view>> members;
      if (!SplitObject(value, &members)) return false;
      // Whitespace between members would leave the text longer than them.
      size_t length = 2 + (members.empty() ? 0 : members.size() - 1);
      std::string previous, key;
      for (size_t i = 0; i < members.size(); ++i) {
        const auto& [raw_key, member] = members[i];
        if (!IsCanonical(raw_key) || !IsCanonical(member) || !ReadString(raw_key, &key))
          return false;
        if (i > 0 && !(previous < key)) return false;
        previous = std::move(key);
        length += raw_key.size() + 1 + member.size();
      }
      return length == value.size();
    }
    case '[': {
      std::vector<std::string_view> items;
      if (!SplitArray(value, &items)) return false;
      size_t length = 2 + (items.empty() ? 0 : items.size() - 1);
      for (std::string_view item : items) {
        if (!IsCanonical(item)) return false;
        length += item.size();
      }
      return length == value.size();
    }
    case 't':
      return value == "true";
    case 'f':
      return value == "false";
    default: {
      int64_t n;
      if (!ReadInt(value, &n)) return false;
      char buf[24];
      return std::string_view(buf, std::to_chars(buf, buf + sizeof buf, n).ptr - buf) == value;
    }
  }
}

}  // namespace relay::events::canonical

namespace relay::events {

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size() && !canonical::kNeedsEscape[static_cast<unsigned char>(s[i])]) ++i;
  out += '"';
  if (i == s.size()) {  // the common case: nothing to escape
    out += s;
    out += '"';
    return;
  }
  // Copy runs that need no escaping in one append, not a byte at a time.
  out.append(s, 0, i);
  size_t run = i;
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!canonical::kNeedsEscape[c]) continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s, run, s.size() - run);
  out += '"';
}

}  // namespace relay::events
