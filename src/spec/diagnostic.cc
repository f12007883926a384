#include "spec/diagnostic.h"

#include <algorithm>
#include <string_view>

#include "base/strings.h"

namespace relay::spec {

Mark AdvanceMark(Mark from, std::string_view text, size_t begin, size_t end) {
  Mark m = from;
  for (size_t i = begin; i < end && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.col = 1;
    } else {
      ++m.col;
    }
  }
  return m;
}
namespace {

constexpr size_t kShownBefore = 100;  // bytes of a long line shown before the caret
constexpr size_t kShownAfter = 60;    // and after it

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Line `line` (1-based) of `source` without its line ending, or nullopt.
bool SourceLine(std::string_view source, int line, std::string_view* out) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    start = source.find('\n', start);
    if (start == std::string_view::npos) return false;
    ++start;
  }
  if (start > source.size()) return false;
  size_t end = source.find('\n', start);
  std::string_view l = source.substr(start, end == std::string_view::npos ? end : end - start);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  *out = l;
  return true;
}

}  // namespace

std::string FormatHeadline(const Diagnostic& d) {
  std::string out = d.file;
  if (d.mark.line > 0) {
    out += ":" + std::to_string(d.mark.line);
    if (d.mark.col > 0) out += ":" + std::to_string(d.mark.col);
  }
  return out + ": error: " + d.message;
}

std::string FormatDiagnostic(const Diagnostic& d, const std::string& source) {
  std::string out = FormatHeadline(d) + "\n";
  std::string_view line;
  if (d.mark.line > 0 && SourceLine(source, d.mark.line, &line)) {
    // A long line (minified JSON, a generated command) is shown as a window
    // around the caret, so that every diagnostic stays a few lines long.
    size_t col = std::min(line.size(), static_cast<size_t>(std::max(d.mark.col - 1, 0)));
    size_t from = col > kShownBefore ? col - kShownBefore : 0;
    while (from > 0 && IsContinuation(line[from])) --from;
    size_t to = std::min(line.size(), col + kShownAfter);
    while (to < line.size() && IsContinuation(line[to])) ++to;
    std::string prefix = from > 0 ? "..." : "";
    // Echo the line only as valid text: bytes that are not UTF-8 (or are
    // control characters) become '?'.
    std::string shown(line.substr(from, to - from));
    size_t bad = 0;
    while (!IsValidUtf8(shown, &bad)) shown[bad] = '?';
    for (char& c : shown)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
    out += prefix + shown + (to < line.size() ? "..." : "") + "\n";
    // A terminal shows a character, not a byte, per column: one space per
    // UTF-8 code point (of the line as shown, where bad bytes are one '?'
    // each), and tabs kept, put the caret under the reported byte.
    std::string caret(prefix.size(), ' ');
    for (size_t i = 0; i < col - from; ++i) {
      if (IsContinuation(shown[i])) continue;
      caret += shown[i] == '\t' ? '\t' : ' ';
    }
    out += caret + "^\n";
  }
  if (!d.hint.empty()) out += "  hint: " + d.hint + "\n";
  return out;
}

}  // namespace relay::spec
