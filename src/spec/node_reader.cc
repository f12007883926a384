// Typed reads of YamlNodes with diagnostics that name the key path.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/duration.h"
#include "base/edit_distance.h"
#include "base/strings.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

bool IsBoolWord(std::string_view s, bool* value) {
  if (s == "true" || s == "True" || s == "TRUE") return *value = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *value = false, true;
  return false;
}

bool IsIntWord(std::string_view s, int64_t* value) {
  std::string t(s);
  if (t.empty()) return false;
  int base = 10;
  size_t start = (t[0] == '-' || t[0] == '+') ? 1 : 0;
  if (t.size() > start + 2 && t[start] == '0' && (t[start + 1] == 'x' || t[start + 1] == 'o')) {
    if (start != 0) return false;
    base = t[start + 1] == 'x' ? 16 : 8;
    t = t.substr(2);
  } else if (start == t.size()) {
    return false;
  }
  for (size_t i = base == 10 ? start : 0; i < t.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(t[i])) ||
        (base == 10 && !std::isdigit(static_cast<unsigned char>(t[i]))) ||
        (base == 8 && t[i] > '7'))
      return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, base);
  if (errno == ERANGE || *end != '\0') return false;
  *value = v;
  return true;
}

bool IsFloatWord(std::string_view s, double* value) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return *value = INFINITY, true;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return *value = -INFINITY, true;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return *value = NAN, true;
  bool digit = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digit = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digit = true;
  }
  if (!digit) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == exp) return false;
  }
  if (i != s.size()) return false;
  *value = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

// Keys of GitHub Actions workflows that relay spells differently or does
// not have, and what to write instead ("{}": the key's value).
struct ForeignKey {
  KeySection section;
  std::string_view key;
  std::string_view hint;
};
constexpr std::string_view kNoActions = "relay has no actions; write the command in 'run'";
constexpr ForeignKey kForeignKeys[] = {
    {KeySection::kTop, "jobs", "relay calls them 'tasks'"},
    {KeySection::kTop, "on",
     "triggers are not supported by 'relay run' yet: it runs the pipeline when you start it; "
     "remove 'on'"},
    {KeySection::kTask, "runs-on", "relay runs every task on this machine; remove it"},
    {KeySection::kTask, "timeout-minutes", "use 'timeout: {}m'"},
    {KeySection::kTask, "strategy", "put 'matrix' (and 'max_parallel') directly under the task"},
    {KeySection::kTask, "continue-on-error", "did you mean 'continue_on_error'?"},
    {KeySection::kTask, "max-parallel", "did you mean 'max_parallel'?"},
    {KeySection::kTask, "working-directory", "relay calls it 'cwd'"},
    {KeySection::kStep, "uses", kNoActions},
    {KeySection::kStep, "with", kNoActions},
    {KeySection::kStep, "working-directory", "steps run in the task's 'cwd'; set it on the task"},
};

}  // namespace

void Checker::Error(Mark mark, std::string message, std::string hint) {
  if (full()) {
    ++dropped_;
    return;
  }
  diagnostics_.push_back({file_, mark, std::move(message), std::move(hint)});
}

void Checker::ErrorWithDetails(Mark mark, std::string message, std::vector<Diagnostic> details) {
  if (full()) {
    ++dropped_;
    return;
  }
  diagnostics_.push_back({file_, mark, std::move(message), ""});
  details_.resize(diagnostics_.size());
  details_.back() = std::move(details);
}

std::vector<Diagnostic> Checker::Finish() {
  details_.resize(diagnostics_.size());
  std::vector<size_t> order(diagnostics_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Mark &x = diagnostics_[a].mark, &y = diagnostics_[b].mark;
    if (x.line != y.line) return x.line < y.line;
    return x.col < y.col;
  });
  std::vector<Diagnostic> out;
  out.reserve(diagnostics_.size());
  for (size_t i : order) {
    out.push_back(std::move(diagnostics_[i]));
    for (auto& d : details_[i]) out.push_back(std::move(d));
  }
  if (dropped_ > 0) {
    out.push_back({file_,
                   {},
                   "too many errors: " + std::to_string(dropped_) + " more not shown",
                   "fix the errors above first"});
  }
  diagnostics_.clear();
  details_.clear();
  dropped_ = 0;
  return out;
}

void Checker::Error(const YamlNode& node, std::string_view path, std::string_view message,
                    std::string hint) {
  std::string m =
      path.empty() ? std::string(message) : std::string(path) + ": " + std::string(message);
  Error(node.mark, std::move(m), std::move(hint));
}

std::string Child(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out;
  out.reserve(path.size() + 1 + key.size());
  out.append(path).append(1, '.').append(key);
  return out;
}

std::string Describe(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "an empty value";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMapping:
      return "a mapping";
    case YamlNode::Kind::kScalar:
      break;
  }
  nlohmann::json j = ToJson(node);
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  return "a string";
}

// True when b is a with two adjacent characters swapped ("biuld" → "build"),
// a typo plain edit distance counts as two edits.
bool IsTransposition(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a == b) return false;
  size_t i = 0;
  while (a[i] == b[i]) ++i;
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] &&
         a.substr(i + 2) == b.substr(i + 2);
}

std::string SuggestHint(std::string_view word, const std::vector<std::string>& candidates) {
  std::string s = SuggestClosest(word, candidates);
  // A one-letter word is "close" to every other one-letter word.
  if (!s.empty() && EditDistance(word, s) >= static_cast<int>(std::max(word.size(), s.size())))
    s.clear();
  if (s.empty()) {
    for (const auto& c : candidates) {
      if (IsTransposition(word, c)) {
        s = c;
        break;
      }
    }
  }
  return s.empty() ? "" : "did you mean '" + s + "'?";
}

nlohmann::json ToJson(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kSequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : node.items) a.push_back(ToJson(item));
      return a;
    }
    case YamlNode::Kind::kMapping: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& e : node.entries)
        if (!o.contains(e.key.text)) o[e.key.text] = ToJson(e.value);
      return o;
    }
    case YamlNode::Kind::kScalar:
      break;
  }
  if (node.style != YamlNode::Style::kPlain) return node.text;
  bool b;
  int64_t i;
  double d;
  if (IsBoolWord(node.text, &b)) return b;
  if (IsIntWord(node.text, &i)) return i;
  if (IsFloatWord(node.text, &d) && std::isfinite(d)) return d;
  return node.text;
}

bool IsIdentifier(std::string_view s, bool with_dash) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    // ASCII only, whatever the locale says.
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(i > 0 && (digit || (with_dash && c == '-')))) return false;
  }
  return true;
}

std::optional<std::string> ReadString(const YamlNode& n, std::string_view path, Checker& c) {
  if (n.IsScalar()) return n.text;
  c.Error(n, path, "expected a string, got " + Describe(n));
  return std::nullopt;
}

std::optional<bool> ReadBool(const YamlNode& n, std::string_view path, Checker& c) {
  bool b;
  if (n.IsPlain() && IsBoolWord(n.text, &b)) return b;
  c.Error(n, path,
          "expected true or false, got " + Describe(n) + (n.IsScalar() ? " '" + n.text + "'" : ""));
  return std::nullopt;
}

std::optional<int64_t> ReadInt(const YamlNode& n, std::string_view path, int64_t min, int64_t max,
                               Checker& c) {
  int64_t v;
  if (!n.IsPlain() || !IsIntWord(n.text, &v)) {
    c.Error(n, path,
            "expected an integer, got " + Describe(n) + (n.IsScalar() ? " '" + n.text + "'" : ""));
    return std::nullopt;
  }
  if (v < min) {
    c.Error(n, path, "must be at least " + std::to_string(min) + ", got " + std::to_string(v));
    return std::nullopt;
  }
  if (v > max) {
    c.Error(n, path, "must be at most " + std::to_string(max) + ", got " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<Micros> ReadDuration(const YamlNode& n, std::string_view path, Checker& c) {
  if (!n.IsScalar()) {
    c.Error(n, path, "expected a duration such as 30s or 10m, got " + Describe(n));
    return std::nullopt;
  }
  Result<Micros> d = ParseDuration(n.text);
  if (!d.ok()) {
    c.Error(n, path, d.status().message());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<Located<std::string>>> ReadNameList(const YamlNode& n,
                                                              std::string_view path, Checker& c) {
  std::vector<Located<std::string>> out;
  if (n.IsScalar()) {
    out.push_back({n.text, n.mark});
    return out;
  }
  if (!n.IsSequence()) {
    c.Error(n, path, "expected a name or a list of names, got " + Describe(n));
    return std::nullopt;
  }
  bool ok = true;
  out.reserve(n.items.size());
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    if (!item.IsScalar()) {
      c.Error(item, std::string(path) + "[" + std::to_string(i) + "]",
              "expected a name, got " + Describe(item));
      ok = false;
      continue;
    }
    out.push_back({item.text, item.mark});
  }
  if (!ok) return std::nullopt;
  return out;
}

bool ExpectMapping(const YamlNode& n, std::string_view path, std::string_view expected,
                   Checker& c) {
  if (!n.IsMapping()) {
    c.Error(n, path, "expected " + std::string(expected) + ", got " + Describe(n));
    return false;
  }
  for (const auto& e : n.entries)
    if (!e.key.IsScalar()) c.Error(e.key, path, "keys must be strings, got " + Describe(e.key));
  return true;
}

std::string UnknownKeyHint(KeySection section, const YamlNode::Entry& entry,
                           const std::vector<std::string>& allowed) {
  for (const auto& f : kForeignKeys) {
    if (f.section != section || f.key != entry.key.text) continue;
    // "{}" stands for the value, when it is a plain number (timeout-minutes: 30).
    const std::string& v = entry.value.text;
    bool number = entry.value.IsPlain() && !v.empty() &&
                  v.find_first_not_of("0123456789.") == std::string::npos;
    return ReplaceAll(std::string(f.hint), "{}", number ? v : "N");
  }
  return SuggestHint(entry.key.text, allowed);
}

bool CheckMapping(const YamlNode& n, std::string_view path, const std::vector<std::string>& allowed,
                  std::string_view expected, Checker& c, KeySection section,
                  std::span<const YamlNode::Entry*> found) {
  if (!ExpectMapping(n, path, expected, c)) return false;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar()) continue;
    size_t i = std::find(allowed.begin(), allowed.end(), e.key.text) - allowed.begin();
    // In a task, as at the top level, x- keys are the user's (notes, anchors).
    if (i == allowed.size() && section == KeySection::kTask && e.key.text.rfind("x-", 0) == 0)
      continue;
    if (i == allowed.size()) {
      c.Error(e.key, path, "unknown key '" + e.key.text + "'", UnknownKeyHint(section, e, allowed));
    } else if (i < found.size() && found[i] == nullptr) {
      found[i] = &e;
    }
  }
  return true;
}

const YamlNode* Find(const YamlNode& map, std::string_view key) {
  for (const auto& e : map.entries)
    if (e.key.IsScalar() && e.key.text == key) return &e.value;
  return nullptr;
}

void CheckNotTemplate(const YamlNode& n, std::string_view path, std::string_view what,
                      std::string hint, Checker& c) {
  if (!n.IsScalar()) return;
  size_t at = n.text.find("${{");
  if (at == std::string::npos) return;
  Mark m = c.full() ? n.mark : LocateInScalar(n, at, c.source());
  c.Error(m,
          std::string(path) + ": ${{ }} is not evaluated in " + std::string(what) +
              ": the text is used as written",
          std::move(hint));
}

namespace {

// A node's key path as a chain through the caller's stack frames; its text
// is built only for a report.
struct KeyPath {
  const KeyPath* parent = nullptr;
  std::string_view key;  // in a mapping ("?" under a key that is not a string)
  size_t index = 0;      // in a sequence, when is_item
  bool is_item = false;

  std::string Text() const {
    std::string up = parent ? parent->Text() : "";
    if (is_item) return up + "[" + std::to_string(index) + "]";
    return Child(up, key);
  }
};

void CheckDuplicateKeysAt(const YamlNode& node, const KeyPath* path, Checker& c) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.items.size(); ++i) {
      KeyPath item{path, {}, i, true};
      CheckDuplicateKeysAt(node.items[i], &item, c);
    }
    return;
  }
  if (!node.IsMapping()) return;
  for (const auto& e : node.entries) {
    if (e.duplicate) {
      // Finding the first entry with this key is a scan: skipped once errors
      // are only counted, or many repeats of one key would be quadratic.
      std::string hint;
      if (!c.full()) {
        const auto& first = *std::find_if(
            node.entries.begin(), node.entries.end(),
            [&](const YamlNode::Entry& f) { return f.key.IsScalar() && f.key.text == e.key.text; });
        hint = "first defined at line " + std::to_string(first.key.mark.line);
      }
      c.Error(e.key, path ? path->Text() : "", "duplicate key '" + e.key.text + "'",
              std::move(hint));
      continue;
    }
    KeyPath child{path, e.key.IsScalar() ? std::string_view(e.key.text) : "?"};
    CheckDuplicateKeysAt(e.value, &child, c);
  }
}

}  // namespace

void CheckDuplicateKeys(const YamlNode& root, Checker& c) {
  CheckDuplicateKeysAt(root, nullptr, c);
}

}  // namespace relay::spec::internal
