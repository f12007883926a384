#include "spec/input_value.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

namespace relay::spec {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::optional<bool> ParseBool(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (lower == "true") return true;
  if (lower == "false") return false;
  return std::nullopt;
}

// YAML 1.2 core schema numbers, as the loader reads a plain scalar.
std::optional<nlohmann::json> ParseNumber(const std::string& t) {
  if (t.empty()) return std::nullopt;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) {
    int base = t[1] == 'x' ? 16 : 8;
    for (size_t i = 2; i < t.size(); ++i) {
      char c = t[i];
      bool ok =
          base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : c >= '0' && c <= '7';
      if (!ok) return std::nullopt;
    }
    errno = 0;
    long long v = std::strtoll(t.c_str() + 2, nullptr, base);
    if (errno == ERANGE) return std::nullopt;
    return nlohmann::json(static_cast<int64_t>(v));
  }
  size_t i = 0;
  if (t[i] == '-' || t[i] == '+') ++i;
  bool digit = false, integer = true;
  while (i < t.size() && IsDigit(t[i])) ++i, digit = true;
  if (i < t.size() && t[i] == '.') {
    ++i, integer = false;
    while (i < t.size() && IsDigit(t[i])) ++i, digit = true;
  }
  if (!digit) return std::nullopt;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i, integer = false;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == exp) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  if (integer) {
    errno = 0;
    long long v = std::strtoll(t.c_str(), nullptr, 10);
    if (errno != ERANGE) return nlohmann::json(static_cast<int64_t>(v));
  }
  errno = 0;
  double v = std::strtod(t.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  if (v == std::floor(v) && std::fabs(v) < 9e15) return nlohmann::json(static_cast<int64_t>(v));
  return nlohmann::json(v);
}

}  // namespace

const char* InputTypeName(InputType type) {
  switch (type) {
    case InputType::kString:
      return "string";
    case InputType::kNumber:
      return "number";
    case InputType::kBoolean:
      return "boolean";
    case InputType::kChoice:
      return "choice";
  }
  return "string";
}

Result<nlohmann::json> ParseInputValue(const InputSpec& in, std::string_view text) {
  const std::string t(text);
  switch (in.type) {
    case InputType::kNumber:
      if (!t.empty() && (IsSpace(t.front()) || IsSpace(t.back())))
        return Status::Invalid("'" + t + "' is not a number: it has spaces around it");
      if (auto v = ParseNumber(t)) return *v;
      return Status::Invalid("'" + t + "' is not a number");
    case InputType::kBoolean:
      if (auto b = ParseBool(t)) return nlohmann::json(*b);
      return Status::Invalid("'" + t + "' is not a boolean (use true or false)");
    case InputType::kString:
    case InputType::kChoice:
      break;
  }
  if (!in.options.empty()) {
    bool found = false;
    for (const auto& o : in.options) found = found || o == t;
    if (!found) {
      std::string list;
      for (const auto& o : in.options) list += (list.empty() ? "" : ", ") + o;
      return Status::Invalid("'" + t + "' is not one of: " + list);
    }
  }
  return nlohmann::json(t);
}

}  // namespace relay::spec
