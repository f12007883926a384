#include "keeper/protocol.h"

#include <cstring>
#include <type_traits>

#include "keeper/result_fields.h"

namespace relay::keeper {
namespace {

// Fields are copied byte by byte in little-endian order, which every host
// relay runs on shares; the loops compile to plain stores.
template <typename T>
void PutLittle(T v, char* out) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>(v >> (8 * i));
}

template <typename T>
T GetLittle(const char* in) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

const std::vector<std::string>& DefaultShell() {
  static const std::vector<std::string> kDefault = exec::AttemptSpec().shell;
  return kDefault;
}

}  // namespace

void FrameWriter::Begin(Frame type) {
  start_ = out_->size();
  out_->append(4, '\0');
  U8(static_cast<uint8_t>(type));
}

void FrameWriter::End() {
  PutLittle<uint32_t>(static_cast<uint32_t>(out_->size() - start_ - 4), out_->data() + start_);
}

void FrameWriter::U32(uint32_t v) {
  char b[4];
  PutLittle(v, b);
  out_->append(b, sizeof b);
}

void FrameWriter::U64(uint64_t v) {
  char b[8];
  PutLittle(v, b);
  out_->append(b, sizeof b);
}

void FrameWriter::Str(std::string_view s) {
  U32(static_cast<uint32_t>(s.size()));
  out_->append(s);
}

bool FrameReader::Take(size_t n, const char** at) {
  if (!ok_ || in_.size() < n) {
    ok_ = false;
    return false;
  }
  *at = in_.data();
  in_.remove_prefix(n);
  return true;
}

uint8_t FrameReader::U8() {
  const char* at;
  return Take(1, &at) ? static_cast<uint8_t>(*at) : 0;
}

uint32_t FrameReader::U32() {
  const char* at;
  return Take(4, &at) ? GetLittle<uint32_t>(at) : 0;
}

uint64_t FrameReader::U64() {
  const char* at;
  return Take(8, &at) ? GetLittle<uint64_t>(at) : 0;
}

std::string_view FrameReader::Str() {
  uint32_t n = U32();
  const char* at;
  return Take(n, &at) ? std::string_view(at, n) : std::string_view();
}

bool NextFrame(std::string_view buffer, size_t* pos, Frame* type, std::string_view* payload,
               bool* broken) {
  *broken = false;
  std::string_view rest = buffer.substr(*pos);
  if (rest.size() < 4) return false;
  uint32_t n = GetLittle<uint32_t>(rest.data());
  if (n == 0 || n > kMaxFrame) {
    *broken = true;
    return false;
  }
  if (rest.size() - 4 < n) return false;
  *type = static_cast<Frame>(rest[4]);
  *payload = rest.substr(5, n - 1);
  *pos += 4 + n;
  return true;
}

void WriteKey(FrameWriter* w, const exec::AttemptKey& key) {
  w->Str(key.run_id);
  w->I32(key.index);
  w->I32(key.attempt);
}

exec::AttemptKey ReadKey(FrameReader* r) {
  exec::AttemptKey key;
  key.run_id = r->Str();
  key.index = r->I32();
  key.attempt = r->I32();
  return key;
}

void WriteStart(const exec::AttemptSpec& spec, uint32_t masker_id, std::string* out) {
  FrameWriter w(out);
  w.Begin(Frame::kStart);
  w.U64(spec.token);
  WriteKey(&w, spec.key);
  w.U32(masker_id);
  w.U32(static_cast<uint32_t>(spec.steps.size()));
  for (const std::string& step : spec.steps) w.Str(step);
  // The default shell is the common case: sent as none, which the keeper's
  // default-constructed spec already holds.
  const bool default_shell = spec.shell == DefaultShell();
  w.U32(default_shell ? 0 : static_cast<uint32_t>(spec.shell.size()));
  if (!default_shell) {
    for (const std::string& word : spec.shell) w.Str(word);
  }
  w.U8(spec.force_shell ? 1 : 0);
  w.U32(static_cast<uint32_t>(spec.env.size()));
  for (const auto& [name, value] : spec.env) {
    w.Str(name);
    w.Str(value);
  }
  w.Str(spec.cwd);
  w.Str(spec.log_path);
  w.I64(spec.timeout);
  w.I64(spec.kill_grace);
  w.End();
}

bool ReadStart(std::string_view payload, exec::AttemptSpec* spec, uint32_t* masker_id) {
  FrameReader r(payload);
  spec->token = r.U64();
  spec->key = ReadKey(&r);
  *masker_id = r.U32();
  uint32_t n = r.U32();
  // Counts are checked against the bytes left before anything is reserved:
  // a broken count must not allocate gigabytes.
  if (n > payload.size()) return false;
  spec->steps.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(false); ++i) spec->steps.emplace_back(r.Str());
  n = r.U32();
  if (n > payload.size()) return false;
  if (n > 0) {
    spec->shell.clear();
    for (uint32_t i = 0; i < n && r.ok(false); ++i) spec->shell.emplace_back(r.Str());
  }
  spec->force_shell = r.U8() != 0;
  n = r.U32();
  if (n > payload.size()) return false;
  spec->env.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(false); ++i) {
    std::string_view name = r.Str();
    spec->env.emplace_back(name, r.Str());
  }
  spec->cwd = r.Str();
  spec->log_path = r.Str();
  spec->timeout = r.I64();
  spec->kill_grace = r.I64();
  return r.ok();
}

void WriteResult(FrameWriter* w, const exec::AttemptResult& res) {
  ForEachResultField(const_cast<exec::AttemptResult*>(&res), [w](const char*, auto* field) {
    using T = std::remove_pointer_t<decltype(field)>;
    if constexpr (std::is_same_v<T, bool>) {
      w->U8(*field ? 1 : 0);
    } else if constexpr (std::is_same_v<T, std::string>) {
      w->Str(*field);
    } else if constexpr (sizeof(T) == 8) {
      w->U64(static_cast<uint64_t>(*field));
    } else {
      w->U32(static_cast<uint32_t>(*field));
    }
  });
}

exec::AttemptResult ReadResult(FrameReader* r) {
  exec::AttemptResult res;
  ForEachResultField(&res, [r](const char*, auto* field) {
    using T = std::remove_pointer_t<decltype(field)>;
    if constexpr (std::is_same_v<T, bool>) {
      *field = r->U8() != 0;
    } else if constexpr (std::is_same_v<T, std::string>) {
      *field = r->Str();
    } else if constexpr (sizeof(T) == 8) {
      *field = static_cast<T>(r->U64());
    } else {
      *field = static_cast<T>(r->U32());
    }
  });
  return res;
}

}  // namespace relay::keeper
