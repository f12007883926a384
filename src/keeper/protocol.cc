#include "keeper/protocol.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "keeper/result_fields.h"

namespace relay::keeper {
namespace {

const std::vector<std::string>& DefaultShell() {
  static const std::vector<std::string> kDefault = exec::AttemptSpec().shell;
  return kDefault;
}

}  // namespace

void FrameWriter::Grow(size_t n) {
  size_t used = static_cast<size_t>(cur_ - buf_);
  size_t cap = std::max(cap_ * 2, used + n);
  std::unique_ptr<char[]> bigger(new char[cap]);
  std::memcpy(bigger.get(), buf_, used);
  heap_ = std::move(bigger);
  buf_ = heap_.get();
  cap_ = cap;
  cur_ = buf_ + used;
}

void FrameWriter::End() {
  size_t used = static_cast<size_t>(cur_ - buf_);
  Store(static_cast<uint32_t>(used - 4), buf_);
  out_->append(buf_, used);
}

bool NextFrame(std::string_view buffer, size_t* pos, Frame* type, std::string_view* payload,
               bool* broken) {
  *broken = false;
  std::string_view rest = buffer.substr(*pos);
  if (rest.size() < 4) return false;
  uint32_t n = FrameReader::Load<uint32_t>(rest.data());
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
  spec->key.run_id.assign(r.Str());
  spec->key.index = r.I32();
  spec->key.attempt = r.I32();
  *masker_id = r.U32();
  // Strings are assigned into what *spec holds, so a recycled spec needs no
  // new memory. Counts are checked against the bytes there are first: a
  // broken count must not allocate gigabytes.
  uint32_t n = r.U32();
  if (n > payload.size()) return false;
  spec->steps.resize(n);
  for (std::string& step : spec->steps) step.assign(r.Str());
  n = r.U32();
  if (n > payload.size()) return false;
  spec->shell.resize(n);  // none: the default shell
  for (std::string& word : spec->shell) word.assign(r.Str());
  spec->force_shell = r.U8() != 0;
  n = r.U32();
  if (n > payload.size()) return false;
  spec->env.resize(n);
  for (auto& [name, value] : spec->env) {
    name.assign(r.Str());
    value.assign(r.Str());
  }
  spec->cwd.assign(r.Str());
  spec->log_path.assign(r.Str());
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
      std::string_view s = r->Str();
      if (!s.empty()) *field = s;
    } else if constexpr (sizeof(T) == 8) {
      *field = static_cast<T>(r->U64());
    } else {
      *field = static_cast<T>(r->U32());
    }
  });
  return res;
}

}  // namespace relay::keeper
