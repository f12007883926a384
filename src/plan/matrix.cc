#include "plan/matrix.h"

#include "expr/expr.h"

namespace relay::plan {
namespace {

// Loose, as Actions compares matrix values: 1 and '1' match.
bool SameValue(const nlohmann::json& a, const nlohmann::json& b) {
  if (a == b) return true;
  return expr::ToDisplayString(a) == expr::ToDisplayString(b);
}

bool Matches(const nlohmann::json& combo, const nlohmann::json& pattern,
             const std::vector<std::string>* only_keys) {
  for (auto it = pattern.begin(); it != pattern.end(); ++it) {
    if (only_keys) {
      bool original = false;
      for (const auto& k : *only_keys) original = original || k == it.key();
      if (!original) continue;
    }
    auto found = combo.find(it.key());
    if (found == combo.end() || !SameValue(*found, it.value())) return false;
  }
  return true;
}

// Control characters in a value are written as escapes: the label is part
// of the instance's name, which tables, the live view and events print on
// one line (and a raw escape sequence would reach the terminal).
void AppendPrintable(std::string_view text, std::string* out) {
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b != 0x7f) {
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\r') {
      *out += "\\r";
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      *out += "\\x";
      *out += kHex[b >> 4];
      *out += kHex[b & 0xf];
    }
  }
}

std::string Label(const nlohmann::json& values, const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) {
    auto it = values.find(k);
    if (it == values.end()) continue;
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    AppendPrintable(expr::ToDisplayString(*it), &out);
  }
  return out;
}

}  // namespace

std::vector<Combination> ExpandMatrix(const spec::Matrix& matrix) {
  std::vector<std::string> axes;
  for (const auto& [name, values] : matrix.axes) axes.push_back(name);

  std::vector<nlohmann::json> combos;
  bool any_axis = !matrix.axes.empty();
  for (const auto& [name, values] : matrix.axes)
    if (values.empty()) any_axis = false;
  if (any_axis) {
    // Odometer over the axes: the last axis varies fastest, as in Actions.
    std::vector<size_t> pos(matrix.axes.size(), 0);
    size_t total = 1;
    for (const auto& [name, values] : matrix.axes) total *= values.size();
    combos.reserve(total);
    while (true) {
      nlohmann::json c = nlohmann::json::object();
      for (size_t a = 0; a < axes.size(); ++a) c[axes[a]] = matrix.axes[a].second[pos[a]];
      bool excluded = false;
      for (const auto& ex : matrix.exclude)
        if (Matches(c, ex, nullptr)) excluded = true;
      if (!excluded) combos.push_back(std::move(c));
      size_t a = axes.size();
      while (a > 0) {
        --a;
        if (++pos[a] < matrix.axes[a].second.size()) break;
        pos[a] = 0;
        if (a == 0) goto done;
      }
      if (axes.empty()) break;
    }
  }
done:
  std::vector<Combination> out;
  out.reserve(combos.size() + matrix.include.size());
  size_t originals = combos.size();
  for (auto& c : combos) out.push_back({std::move(c), ""});
  for (const auto& inc : matrix.include) {
    bool extended = false;
    for (size_t i = 0; i < originals; ++i) {
      if (!Matches(out[i].values, inc, &axes)) continue;
      for (auto it = inc.begin(); it != inc.end(); ++it) {
        bool original = false;
        for (const auto& k : axes) original = original || k == it.key();
        if (!original) out[i].values[it.key()] = it.value();
      }
      extended = true;
    }
    if (!extended) out.push_back({inc, ""});
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (i < originals) {
      out[i].label = Label(out[i].values, axes);
    } else {
      std::vector<std::string> keys;
      for (auto it = out[i].values.begin(); it != out[i].values.end(); ++it)
        keys.push_back(it.key());
      out[i].label = Label(out[i].values, keys);
    }
  }
  return out;
}

}  // namespace relay::plan
