#include "events/event.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "events/canonical_json.h"
#include "events/sha256.h"

namespace relay::events {
namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

std::string_view DataOrEmpty(const std::string& data) {
  return data.empty() ? std::string_view("{}") : std::string_view(data);
}

// Format 1 (read only): an object of the ten fields, keys in byte order.
void AppendFormat1(std::string& out, const Event& e) {
  auto field = [&out](std::string_view key, std::string_view value) {
    out += '"';
    out += key;
    out += "\":";
    AppendJsonString(out, value);
    out += ',';
  };
  out += '{';
  field("cause", e.cause);
  out += "\"data\":";
  out += DataOrEmpty(e.data);
  out += ',';
  field("from", e.from);
  field("kind", e.kind);
  field("reason", e.reason);
  field("run", e.run_id);
  out += "\"seq\":";
  AppendInt(out, e.seq);
  out += ',';
  field("subject", e.subject);
  field("to", e.to);
  out += "\"ts\":";
  AppendInt(out, e.ts);
  out += '}';
}

// Writes into memory reserved up front: format 2 is encoded for every
// transition on the store's hot path, where growing a string piece by piece
// cost more than the SHA-256 of the result.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  char* end() const { return p_; }
  void Put(char c) { *p_++ = c; }
  void Put(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());  // an empty view may hold no pointer
    p_ += s.size();
  }
  void PutInt(int64_t v) { p_ = std::to_chars(p_, p_ + 20, v).ptr; }
  // At most 6 bytes per byte of `s`, plus the quotes.
  void PutString(std::string_view s);

 private:
  char* p_;
};

void Writer::PutString(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  Put('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!canonical::kNeedsEscape[c]) continue;
    Put(s.substr(run, i - run));
    run = i + 1;
    Put('\\');
    switch (c) {
      case '"':
      case '\\':
        Put(static_cast<char>(c));
        break;
      case '\b':
        Put('b');
        break;
      case '\f':
        Put('f');
        break;
      case '\n':
        Put('n');
        break;
      case '\r':
        Put('r');
        break;
      case '\t':
        Put('t');
        break;
      default:
        Put("u00");
        Put(kHex[c >> 4]);
        Put(kHex[c & 0xf]);
    }
  }
  Put(s.substr(run));
  Put('"');
}

// Format 2: [seq,ts,kind,subject,from,to,cause,reason,data]. The run is not
// repeated in every event: the chain's genesis is derived from it.
void AppendFormat2(std::string& out, const EventFields& e) {
  const std::string_view texts[] = {e.kind, e.subject, e.from, e.to, e.cause, e.reason};
  const std::string_view data = e.data.empty() ? std::string_view("{}") : e.data;
  size_t bound = 2 + 2 * 21 + data.size() + 1;
  for (std::string_view t : texts) bound += 6 * t.size() + 3;
  const size_t start = out.size();
  out.resize(start + bound);
  Writer w(out.data() + start);
  w.Put('[');
  w.PutInt(e.seq);
  w.Put(',');
  w.PutInt(e.ts);
  for (std::string_view t : texts) {
    w.Put(',');
    w.PutString(t);
  }
  w.Put(',');
  w.Put(data);
  w.Put(']');
  out.resize(static_cast<size_t>(w.end() - out.data()));
}

void AppendFormat2(std::string& out, const Event& e) {
  AppendFormat2(
      out, EventFields{e.seq, e.ts, e.kind, e.subject, e.from, e.to, e.cause, e.reason, e.data});
}

}  // namespace

Sha256Digest GenesisDigest(int format, std::string_view run_id) {
  if (format == 1) return Sha256Digest{};
  return Sha256("relay-ledger-2 ", run_id);
}

std::string GenesisHash(int format, std::string_view run_id) {
  return DigestToHex(GenesisDigest(format, run_id));
}

void AppendCanonicalBytes(std::string& out, const Event& e) {
  // A file format, not an implementation detail: changing either function
  // changes every hash. docs/ledger-format.md specifies both.
  if (e.format == 1) {
    AppendFormat1(out, e);
  } else {
    AppendFormat2(out, e);
  }
}

void AppendCanonicalBytes(std::string& out, const EventFields& e) { AppendFormat2(out, e); }

std::string CanonicalBytes(const Event& e) {
  std::string out;
  out.reserve(128 + e.reason.size() + e.data.size() + e.subject.size());
  AppendCanonicalBytes(out, e);
  return out;
}

std::string ComputeHash(const std::string& prev_hash, const Event& e) {
  Sha256Digest prev;
  if (!HexToDigest(prev_hash, &prev)) return "";
  return DigestToHex(ComputeDigest(prev, e));
}

Sha256Digest ComputeDigest(const Sha256Digest& prev, const Event& e) {
  thread_local std::string canonical;
  canonical.clear();
  AppendCanonicalBytes(canonical, e);
  std::string_view prev_bytes(reinterpret_cast<const char*>(prev.data()), prev.size());
  return Sha256(prev_bytes, canonical);
}

bool DecodeCanonical(std::string_view bytes, Event* e) {
  std::vector<std::string_view> items;
  int64_t seq = 0, ts = 0;
  std::string* texts[] = {&e->kind, &e->subject, &e->from, &e->to, &e->cause, &e->reason};
  bool ok = canonical::SplitArray(bytes, &items) && items.size() == 9 &&
            canonical::ReadInt(items[0], &seq) && canonical::ReadInt(items[1], &ts);
  for (size_t i = 0; ok && i < 6; ++i) ok = canonical::ReadString(items[2 + i], texts[i]);
  ok = ok && canonical::IsObject(items[8]);
  if (!ok) {
    e->malformed = "its stored bytes are not an event of ledger format 2";
    return false;
  }
  e->seq = seq;
  e->ts = ts;
  e->data.assign(items[8]);
  // Only one way to write an event verifies: what was hashed is what is
  // stored (an outside verifier hashes the stored bytes).
  thread_local std::string again;
  again.clear();
  AppendFormat2(again, *e);
  if (again != bytes || !canonical::IsCanonical(e->data)) {
    e->malformed = "its stored bytes are not an event in canonical form";
    return false;
  }
  e->malformed.clear();
  return true;
}

DataBuilder& DataBuilder::Add(std::string_view key, std::string_view value) {
  std::string encoded;
  AppendJsonString(encoded, value);
  return AddJson(key, encoded);
}

DataBuilder& DataBuilder::Add(std::string_view key, int64_t value) {
  std::string encoded;
  AppendInt(encoded, value);
  return AddJson(key, encoded);
}

DataBuilder& DataBuilder::Add(std::string_view key, bool value) {
  return AddJson(key, value ? "true" : "false");
}

DataBuilder& DataBuilder::AddJson(std::string_view key, std::string_view json) {
  // Few fields per event: an insertion into a sorted vector beats sorting at
  // every Build and needs no de-duplication pass.
  auto it = std::lower_bound(fields_.begin(), fields_.end(), key,
                             [](const auto& f, std::string_view k) { return f.first < k; });
  if (it != fields_.end() && it->first == key) {
    it->second.assign(json);
  } else {
    fields_.emplace(it, std::string(key), std::string(json));
  }
  return *this;
}

DataBuilder& DataBuilder::Merge(const DataBuilder& other) {
  for (const auto& [key, value] : other.fields_) AddJson(key, value);
  return *this;
}

void DataBuilder::AppendTo(std::string& out) const {
  out += '{';
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, fields_[i].first);
    out += ':';
    out += fields_[i].second;
  }
  out += '}';
}

std::string DataBuilder::Build() const {
  std::string out;
  AppendTo(out);
  return out;
}

}  // namespace relay::events
