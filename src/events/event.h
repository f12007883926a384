// An event is the record of one state transition, chained per run:
//
//   hash = sha256( prev_hash (32 raw bytes) ‖ CanonicalBytes(event) )
//
// docs/ledger-format.md specifies CanonicalBytes precisely enough to verify
// a ledger without relay. Field names and state/cause texts are stable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "events/sha256.h"

namespace relay::events {

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
  std::string prev_hash;  // 64 lowercase hex digits; all zeros for seq 1
  std::string hash;       // 64 lowercase hex digits
};

// 64 zeros: the prev_hash of a run's first event.
const std::string& GenesisHash();

// The exact bytes that are hashed (see docs/ledger-format.md).
std::string CanonicalBytes(const Event& e);

// sha256(prev ‖ CanonicalBytes(e)) as lowercase hex, where prev is the 32
// bytes `prev_hash` (64 hex digits) stands for. "" if prev_hash is not hex.
std::string ComputeHash(const std::string& prev_hash, const Event& e);

// The same from the previous digest itself, for a writer that keeps it.
Sha256Digest ComputeDigest(const Sha256Digest& prev, const Event& e);

struct VerifyResult {
  bool ok = true;
  int64_t broken_seq = 0;  // first event whose hash or link does not match
  std::string message;     // what is wrong, naming run and seq
};

// Recomputes the chain of one run's events (ordered by seq).
VerifyResult VerifyChain(const std::vector<Event>& events);

// One event as a JSON object on one line (for `relay events --jsonl`).
std::string ToJsonLine(const Event& e);

// Builds the canonical JSON object for Event::data: keys sorted, no spaces,
// integers only (no floats), strings escaped per docs/ledger-format.md.
class DataBuilder {
 public:
  DataBuilder& Add(std::string key, const std::string& value);
  DataBuilder& Add(std::string key, const char* value) {
    return Add(std::move(key), std::string(value));
  }
  DataBuilder& Add(std::string key, int64_t value);
  DataBuilder& Add(std::string key, int value) {
    return Add(std::move(key), static_cast<int64_t>(value));
  }
  DataBuilder& Add(std::string key, bool value);
  std::string Build() const;  // "{}" when empty

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  // key, encoded value
};

// Appends s to out as a JSON string literal in the canonical escaping.
void AppendJsonString(std::string& out, const std::string& s);

}  // namespace relay::events
