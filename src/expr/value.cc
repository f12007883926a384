#include "expr/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace relay::expr {
namespace {

enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

Kind KindOf(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return Kind::kNull;
    case Value::value_t::boolean:
      return Kind::kBool;
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
    case Value::value_t::number_float:
      return Kind::kNumber;
    case Value::value_t::string:
      return Kind::kString;
    case Value::value_t::array:
      return Kind::kArray;
    default:
      return Kind::kObject;  // object, binary, discarded
  }
}

char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Ordinal comparison after upper-casing, like .NET's OrdinalIgnoreCase.
int CompareIgnoreCase(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(Upper(a[i]));
    auto y = static_cast<unsigned char>(Upper(b[i]));
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

double StringToNumber(std::string_view s) {
  if (s.empty()) return 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    uint64_t u = 0;
    auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), u, 16);
    if (ec != std::errc() || p != s.data() + s.size()) return NAN;
    return negative ? -static_cast<double>(u) : static_cast<double>(u);
  }
  // from_chars also accepts "inf" and "nan", which are not JSON numbers.
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return NAN;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc::result_out_of_range) return NAN;
  if (ec != std::errc() || p != s.data() + s.size()) return NAN;
  return negative ? -d : d;
}

bool BothIntegers(const Value& a, const Value& b) {
  return a.is_number_integer() && b.is_number_integer();
}

// Three-way comparison of two integers of either signedness, exactly.
int CompareIntegers(const Value& a, const Value& b) {
  bool au = a.is_number_unsigned(), bu = b.is_number_unsigned();
  if (au && bu) {
    auto x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x == y ? 0 : (x < y ? -1 : 1);
  }
  if (!au && !bu) {
    auto x = a.get<int64_t>(), y = b.get<int64_t>();
    return x == y ? 0 : (x < y ? -1 : 1);
  }
  // One unsigned (never negative) and one signed.
  if (au) {
    auto y = b.get<int64_t>();
    if (y < 0) return 1;
    auto x = a.get<uint64_t>();
    return x == static_cast<uint64_t>(y) ? 0 : (x < static_cast<uint64_t>(y) ? -1 : 1);
  }
  return -CompareIntegers(b, a);
}

bool Ordered(CompareOp op, int cmp) {
  switch (op) {
    case CompareOp::kEq:
      return cmp == 0;
    case CompareOp::kNe:
      return cmp != 0;
    case CompareOp::kLt:
      return cmp < 0;
    case CompareOp::kLe:
      return cmp <= 0;
    case CompareOp::kGt:
      return cmp > 0;
    case CompareOp::kGe:
      return cmp >= 0;
  }
  return false;
}

bool CompareNumbers(CompareOp op, double x, double y) {
  // Every comparison with NaN is false, except that NaN != anything.
  if (std::isnan(x) || std::isnan(y)) return op == CompareOp::kNe;
  return Ordered(op, x == y ? 0 : (x < y ? -1 : 1));
}

}  // namespace

double ToNumber(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return 0;
    case Value::value_t::boolean:
      return v.get<bool>() ? 1 : 0;
    case Value::value_t::number_integer:
      return static_cast<double>(v.get<int64_t>());
    case Value::value_t::number_unsigned:
      return static_cast<double>(v.get<uint64_t>());
    case Value::value_t::number_float:
      return v.get<double>();
    case Value::value_t::string:
      return StringToNumber(v.get_ref<const std::string&>());
    default:
      return NAN;
  }
}

bool Compare(CompareOp op, const Value& a, const Value& b) {
  Kind ka = KindOf(a), kb = KindOf(b);
  bool composite =
      ka == Kind::kArray || ka == Kind::kObject || kb == Kind::kArray || kb == Kind::kObject;
  if (composite) {
    // Only equality is defined: a composite never equals a primitive.
    bool equal = ka == kb && a == b;
    if (op == CompareOp::kEq) return equal;
    if (op == CompareOp::kNe) return !equal;
    return false;
  }
  if (ka == kb && ka == Kind::kString) {
    return Ordered(
        op, CompareIgnoreCase(a.get_ref<const std::string&>(), b.get_ref<const std::string&>()));
  }
  if (ka == kb && ka == Kind::kBool) {
    return Ordered(op, static_cast<int>(a.get<bool>()) - static_cast<int>(b.get<bool>()));
  }
  if (BothIntegers(a, b)) return Ordered(op, CompareIntegers(a, b));
  return CompareNumbers(op, ToNumber(a), ToNumber(b));
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CompareIgnoreCase(a, b) == 0;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

Value::const_iterator FindMember(const Value& object, std::string_view name) {
  if (!object.is_object()) return object.end();
  auto exact = object.find(name);
  if (exact != object.end()) return exact;
  auto found = object.end();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!EqualsIgnoreCase(it.key(), name)) continue;
    if (found != object.end()) return object.end();  // ambiguous: `Ab` vs {AB, ab}
    found = it;
  }
  return found;
}

std::optional<size_t> FindName(std::string_view name, const std::vector<std::string>& names) {
  std::optional<size_t> found;
  bool tie = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
    // Keep scanning after a case-insensitive hit: a later exact one wins.
    if (EqualsIgnoreCase(names[i], name)) {
      tie = tie || found.has_value();
      found = i;
    }
  }
  if (tie) return std::nullopt;
  return found;
}

bool IsTruthy(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return false;
    case Value::value_t::boolean:
      return v.get<bool>();
    case Value::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case Value::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case Value::value_t::number_float: {
      double d = v.get<double>();
      return d != 0 && !std::isnan(d);
    }
    case Value::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    default:
      return true;
  }
}

std::string SafeDump(const Value& v, int indent) {
  return v.dump(indent, ' ', false, Value::error_handler_t::replace);
}

void AppendDisplayString(const Value& v, std::string* out) {
  char buf[32];
  switch (v.type()) {
    case Value::value_t::null:
      return;
    case Value::value_t::boolean:
      *out += v.get<bool>() ? "true" : "false";
      return;
    case Value::value_t::number_integer: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<int64_t>());
      out->append(buf, r.ptr);
      return;
    }
    case Value::value_t::number_unsigned: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<uint64_t>());
      out->append(buf, r.ptr);
      return;
    }
    case Value::value_t::number_float: {
      double d = v.get<double>();
      if (std::isnan(d)) {
        *out += "NaN";
      } else if (std::isinf(d)) {
        *out += d > 0 ? "Infinity" : "-Infinity";
      } else if (d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) {
        // Whole numbers print without ".0" or an exponent up to 2^53,
        // where every integer is still exact.
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
        out->append(buf, r.ptr);
      } else {
        // Shortest text that reads back as the same double; locale-free.
        auto r = std::to_chars(buf, buf + sizeof buf, d);
        out->append(buf, r.ptr);
      }
      return;
    }
    case Value::value_t::string:
      *out += v.get_ref<const std::string&>();
      return;
    default:
      *out += SafeDump(v, -1);
      return;
  }
}

std::string ToDisplayString(const Value& v) {
  std::string out;
  AppendDisplayString(v, &out);
  return out;
}

}  // namespace relay::expr
