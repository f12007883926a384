// An event is the record of one state transition, chained per run:
//
//   hash = sha256( previous hash (32 raw bytes) ‖ CanonicalBytes(event) )
//
// docs/ledger-format.md specifies CanonicalBytes precisely enough to verify
// a ledger without relay. Field names and state/cause texts are stable.
//
// Two formats exist. Format 2 (every event written today) hashes a compact
// JSON array and starts each run's chain from a genesis hash derived from
// the run id. Format 1 (stores written before schema 5) hashed a JSON
// object naming every field, from a genesis of 32 zero bytes; such events
// are still read and verified, never written. A run's chain may switch
// from 1 to 2 once (a run created by an older relay, resumed by this one).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "events/canonical_json.h"  // AppendJsonString
#include "events/sha256.h"

namespace relay::events {

inline constexpr int kCurrentFormat = 2;

struct Event {
  std::string run_id;
  int64_t seq = 0;        // 1, 2, … within the run
  Micros ts = 0;          // wall clock, microseconds since the epoch
  std::string kind;       // "run" or "task"
  std::string subject;    // "" for the run; the task instance name for a task
  std::string from;       // state name before ("" for the run's creation)
  std::string to;         // state name after
  std::string cause;      // stable cause text from the state table
  std::string reason;     // human explanation ("exit code 2", "needs 'build' failed")
  std::string data;       // canonical JSON object text with extra facts; "{}" when none
  std::string prev_hash;  // 64 lowercase hex digits: the previous event's hash, or the genesis
  std::string hash;       // 64 lowercase hex digits
  int format = kCurrentFormat;
  // Set by a reader when the stored bytes of this event could not be decoded
  // (someone edited them): what is wrong. The other fields are then unreliable.
  std::string malformed;
};

// An event's hashed fields as views: the store's commit path writes the
// canonical bytes (format 2) of an event straight from the transition it
// records, without copying each field into an Event first.
struct EventFields {
  int64_t seq = 0;
  Micros ts = 0;
  std::string_view kind, subject, from, to, cause, reason;
  std::string_view data;  // "" is written as {}
};

// The prev_hash of a run's first event. Format 1: 64 zeros. Format 2:
// sha256("relay-ledger-2 " ‖ run id), so no event can verify in another run.
std::string GenesisHash(int format, std::string_view run_id);
Sha256Digest GenesisDigest(int format, std::string_view run_id);

// The exact bytes that are hashed, in the event's format (see
// docs/ledger-format.md).
std::string CanonicalBytes(const Event& e);
// Appends them to `out` (the store's hot path reuses one buffer).
void AppendCanonicalBytes(std::string& out, const Event& e);
// The same in format 2, from the fields alone.
void AppendCanonicalBytes(std::string& out, const EventFields& e);

// sha256(prev ‖ CanonicalBytes(e)) as lowercase hex, where prev is the 32
// bytes `prev_hash` (64 hex digits) stands for. "" if prev_hash is not hex.
std::string ComputeHash(const std::string& prev_hash, const Event& e);

// The same from the previous digest itself, for a writer that keeps it.
Sha256Digest ComputeDigest(const Sha256Digest& prev, const Event& e);

// Decodes one format-2 canonical event (the JSON array) into the fields of
// *e (run_id, hashes and format are left alone). On bytes that are not such
// an array, sets e->malformed and returns false.
bool DecodeCanonical(std::string_view bytes, Event* e);

struct VerifyResult {
  bool ok = true;
  int64_t broken_seq = 0;  // first event whose hash or link does not match
  std::string message;     // what is wrong, naming run and seq
};

// Checks one run's events as they are read, in order: each must decode,
// belong to the run, follow the previous one (seq, format, prev_hash) and
// hash to its stored hash, and record a transition its state table allows
// (src/state/): a re-hashed ledger holding an impossible transition does not
// verify. A run event must also start where the previous one ended; with
// `task_continuity`, so must each task's (the store's fold checks that
// itself). Reading can start in the middle of a chain (first_seq > 1): its
// first event's prev_hash, and the states before it, are then taken as given.
class ChainChecker {
 public:
  // run_id: the run the events must belong to ("": the first event's).
  explicit ChainChecker(std::string run_id, int64_t first_seq = 1, bool task_continuity = false);
  // Checks the next event; after a failure, keeps returning that failure.
  const VerifyResult& Next(const Event& e);
  const VerifyResult& result() const { return result_; }

 private:
  const VerifyResult& Fail(const Event& e, int64_t seq, std::string what);

  // "" when the transition is in its table and follows the states before it.
  std::string CheckTransition(const Event& e);

  std::string run_id_;
  int64_t next_seq_;
  bool started_mid_;       // the first event checked is not the run's first
  std::string prev_hash_;  // of the last event checked; "" before the first
  int format_ = 0;
  std::string run_state_;  // after the last run event; "" before one
  bool task_continuity_;
  std::vector<std::pair<std::string, std::string>> task_states_;  // subject, state (sorted)
  VerifyResult result_;
};

// Recomputes the chain of one run's events (ordered by seq). With a run id,
// every event must be that run's, and a run without events is broken (it
// had at least its `created` event).
VerifyResult VerifyChain(const std::vector<Event>& events, const std::string& run_id = "");

// One event as a JSON object on one line (for `relay events --jsonl`).
std::string ToJsonLine(const Event& e);

// Builds the canonical JSON object for Event::data: keys sorted, no spaces,
// integers only (no floats), strings escaped per docs/ledger-format.md.
// Values may also be canonical JSON objects (AddJson), e.g. a task's outputs.
class DataBuilder {
 public:
  DataBuilder& Add(std::string_view key, std::string_view value);
  DataBuilder& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  DataBuilder& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  DataBuilder& Add(std::string_view key, int64_t value);
  DataBuilder& Add(std::string_view key, int value) {
    return Add(key, static_cast<int64_t>(value));
  }
  DataBuilder& Add(std::string_view key, bool value);
  // `json` must already be canonical JSON text (an object or array).
  DataBuilder& AddJson(std::string_view key, std::string_view json);
  // Adds every field of `other`; its values win over equal keys here.
  DataBuilder& Merge(const DataBuilder& other);

  bool empty() const { return fields_.empty(); }
  // Sorted by key: each key and its encoded (canonical JSON) value.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  void clear() { fields_.clear(); }
  std::string Build() const;  // "{}" when empty
  // Appends the object to `out`.
  void AppendTo(std::string& out) const;

 private:
  // Kept sorted by key; a later Add of the same key replaces the value.
  std::vector<std::pair<std::string, std::string>> fields_;  // key, encoded value
};

}  // namespace relay::events
