#include "events/event.h"

#include <algorithm>
#include <charconv>

#include "events/sha256.h"

namespace relay::events {
namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendKey(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

void AppendStringField(std::string& out, std::string_view key, const std::string& value) {
  AppendKey(out, key);
  AppendJsonString(out, value);
  out += ',';
}

void AppendCanonical(std::string& out, const Event& e) {
  // Keys in byte order; docs/ledger-format.md lists them. Changing this
  // function changes every hash: it is a file format, not an implementation.
  out += '{';
  AppendStringField(out, "cause", e.cause);
  AppendKey(out, "data");
  out += e.data.empty() ? std::string_view("{}") : std::string_view(e.data);
  out += ',';
  AppendStringField(out, "from", e.from);
  AppendStringField(out, "kind", e.kind);
  AppendStringField(out, "reason", e.reason);
  AppendStringField(out, "run", e.run_id);
  AppendKey(out, "seq");
  AppendInt(out, e.seq);
  out += ',';
  AppendStringField(out, "subject", e.subject);
  AppendStringField(out, "to", e.to);
  AppendKey(out, "ts");
  AppendInt(out, e.ts);
  out += '}';
}

}  // namespace

const std::string& GenesisHash() {
  static const std::string kGenesis(64, '0');
  return kGenesis;
}

void AppendJsonString(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Events are mostly plain ASCII: copy runs that need no escaping in one
  // append instead of growing the string a byte at a time.
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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

std::string CanonicalBytes(const Event& e) {
  std::string out;
  out.reserve(192 + e.reason.size() + e.data.size() + e.subject.size());
  AppendCanonical(out, e);
  return out;
}

std::string ComputeHash(const std::string& prev_hash, const Event& e) {
  Sha256Digest prev;
  if (!HexToDigest(prev_hash, &prev)) return "";
  return DigestToHex(ComputeDigest(prev, e));
}

Sha256Digest ComputeDigest(const Sha256Digest& prev, const Event& e) {
  // The store hashes one event per transition; reusing the buffer keeps the
  // commit path free of a large allocation per event.
  thread_local std::string canonical;
  canonical.clear();
  AppendCanonical(canonical, e);
  std::string_view prev_bytes(reinterpret_cast<const char*>(prev.data()), prev.size());
  return Sha256(prev_bytes, canonical);
}

DataBuilder& DataBuilder::Add(std::string key, const std::string& value) {
  std::string encoded;
  AppendJsonString(encoded, value);
  fields_.emplace_back(std::move(key), std::move(encoded));
  return *this;
}

DataBuilder& DataBuilder::Add(std::string key, int64_t value) {
  std::string encoded;
  AppendInt(encoded, value);
  fields_.emplace_back(std::move(key), std::move(encoded));
  return *this;
}

DataBuilder& DataBuilder::Add(std::string key, bool value) {
  fields_.emplace_back(std::move(key), value ? "true" : "false");
  return *this;
}

std::string DataBuilder::Build() const {
  // Stable sort, then keep the last of equal keys: a later Add overrides.
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(fields_.size());
  for (const auto& f : fields_) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + 1 < sorted.size() && sorted[i + 1]->first == sorted[i]->first) continue;
    if (out.size() > 1) out += ',';
    AppendJsonString(out, sorted[i]->first);
    out += ':';
    out += sorted[i]->second;
  }
  out += '}';
  return out;
}

}  // namespace relay::events
