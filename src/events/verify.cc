// VerifyChain: recomputes one run's hash chain (docs/ledger-format.md).
#include <string>

#include "events/event.h"

namespace relay::events {
namespace {

// "task build running→failed", "run pending→running", "run created as pending".
std::string Describe(const Event& e) {
  std::string out = e.kind;
  if (!e.subject.empty()) out += " " + e.subject;
  if (e.from.empty()) return out + " created as " + e.to;
  return out + " " + e.from + "\u2192" + e.to;
}

VerifyResult Broken(const Event& e, int64_t seq, std::string what) {
  VerifyResult r;
  r.ok = false;
  r.broken_seq = seq;
  r.message = "run " + e.run_id + ": event " + std::to_string(seq) + " (" + Describe(e) +
              "): " + std::move(what);
  return r;
}

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

VerifyResult VerifyChain(const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const int64_t want_seq = static_cast<int64_t>(i) + 1;
    if (!e.malformed.empty()) {
      return Broken(e, want_seq,
                    e.malformed + " \u2014 the event was changed after it was written");
    }
    if (e.run_id != events[0].run_id) {
      return Broken(e, e.seq, "belongs to run " + e.run_id + ", not " + events[0].run_id);
    }
    if (e.seq != want_seq) {
      std::string what = "expected event " + std::to_string(want_seq) + " here, found event " +
                         std::to_string(e.seq);
      what += e.seq > want_seq ? " \u2014 events were deleted" : " \u2014 events were reordered";
      return Broken(e, want_seq, std::move(what));
    }
    if (e.format != 1 && e.format != 2) {
      return Broken(e, e.seq, "unknown ledger format " + std::to_string(e.format));
    }
    if (i > 0 && e.format < events[i - 1].format) {
      return Broken(e, e.seq,
                    "format " + std::to_string(e.format) + " after format " +
                        std::to_string(events[i - 1].format) + " \u2014 events were inserted");
    }
    const std::string want_prev = i == 0 ? GenesisHash(e.format, e.run_id) : events[i - 1].hash;
    if (e.prev_hash != want_prev) {
      return Broken(e, e.seq,
                    i == 0 ? "prev_hash is not the genesis hash of the run \u2014 the start of "
                             "the ledger was changed"
                           : "prev_hash does not match the hash of event " +
                                 std::to_string(e.seq - 1) +
                                 " \u2014 an event was changed, inserted or removed before it");
    }
    if (!IsLowerHex64(e.hash)) {
      return Broken(e, e.seq, "hash '" + e.hash + "' is not 64 lowercase hex digits");
    }
    if (ComputeHash(e.prev_hash, e) != e.hash) {
      return Broken(e, e.seq,
                    "hash does not match its contents \u2014 the event was changed after it was "
                    "written");
    }
  }
  return VerifyResult{};
}

}  // namespace relay::events
