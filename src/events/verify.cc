// ChainChecker and VerifyChain: recompute a run's hash chain
// (docs/ledger-format.md, "Verification").
#include <algorithm>
#include <optional>
#include <string>

#include "events/event.h"
#include "state/run.h"
#include "state/task.h"

namespace relay::events {
namespace {

// "task build running→failed", "run pending→running", "run created as pending".
std::string Describe(const Event& e) {
  if (!e.malformed.empty()) return "cannot be read";
  std::string out = e.kind;
  if (!e.subject.empty()) out += " " + e.subject;
  if (e.from.empty()) return out + " created as " + e.to;
  return out + " " + e.from + "\u2192" + e.to;
}

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

ChainChecker::ChainChecker(std::string run_id, int64_t first_seq, bool task_continuity)
    : run_id_(std::move(run_id)),
      next_seq_(first_seq),
      started_mid_(first_seq > 1),
      task_continuity_(task_continuity) {}

namespace {

template <typename S>
std::string CheckInTable(const state::Machine<S>& m, const Event& e) {
  std::optional<S> from = m.Parse(e.from), to = m.Parse(e.to);
  if (!from || !to)
    return "unknown " + std::string(m.entity) + " state '" + (from ? e.to : e.from) +
           "' \u2014 written by a newer relay, or changed";
  if (!m.Allows(*from, *to, e.cause))
    return std::string(m.entity) + " transition " + e.from + " \u2192 " + e.to + " (cause '" +
           e.cause + "') is not in the state table \u2014 the event was made up or changed";
  return "";
}

}  // namespace

std::string ChainChecker::CheckTransition(const Event& e) {
  // Before a run's first event the run was nothing: a whole chain must
  // start by creating it. (prev_hash_ is set once an event has passed.)
  if (!started_mid_ && prev_hash_.empty() && !(e.kind == "run" && e.from.empty()))
    return "a run's first event must create it (from '' to pending, cause 'created') "
           "\u2014 the events before this one were removed";
  if (e.kind == "run") {
    if (e.from.empty()) {
      if (e.seq != 1 || e.to != state::Name(state::RunState::kPending) ||
          e.cause != state::run_cause::kCreated)
        return "only a run's first event may create it (as pending, cause 'created')";
    } else {
      if (std::string bad = CheckInTable(state::RunMachine(), e); !bad.empty()) return bad;
      if (!run_state_.empty() && e.from != run_state_)
        return "the run moves from " + e.from + ", but it was " + run_state_;
    }
    run_state_ = e.to;
    return "";
  }
  if (e.kind != "task") return "unknown kind of event '" + e.kind + "'";
  if (std::string bad = CheckInTable(state::TaskMachine(), e); !bad.empty()) return bad;
  if (!task_continuity_) return "";
  auto it = std::lower_bound(task_states_.begin(), task_states_.end(), e.subject,
                             [](const auto& p, const std::string& s) { return p.first < s; });
  const bool known = it != task_states_.end() && it->first == e.subject;
  // A task's first event starts from pending (or, read from the middle of a
  // chain, from whatever it was).
  const std::string was = known ? it->second : started_mid_ ? e.from : "pending";
  if (e.from != was) return "task '" + e.subject + "' moves from " + e.from + ", but it was " + was;
  if (known)
    it->second = e.to;
  else
    task_states_.insert(it, {e.subject, e.to});
  return "";
}

const VerifyResult& ChainChecker::Fail(const Event& e, int64_t seq, std::string what) {
  result_.ok = false;
  result_.broken_seq = seq;
  result_.message = "run " + run_id_ + ": event " + std::to_string(seq) + " (" + Describe(e) +
                    "): " + std::move(what);
  return result_;
}

const VerifyResult& ChainChecker::Next(const Event& e) {
  if (!result_.ok) return result_;
  const int64_t want_seq = next_seq_++;
  if (run_id_.empty()) run_id_ = e.run_id;
  if (!e.malformed.empty()) {
    return Fail(e, want_seq, e.malformed + " \u2014 the event was changed after it was written");
  }
  if (e.run_id != run_id_) {
    return Fail(e, e.seq, "belongs to run " + e.run_id + ", not " + run_id_);
  }
  if (e.seq != want_seq) {
    std::string what =
        "expected here, found event " + std::to_string(e.seq) + " (" + Describe(e) + ")";
    what += e.seq > want_seq ? " \u2014 events were deleted" : " \u2014 events were reordered";
    result_.ok = false;
    result_.broken_seq = want_seq;
    result_.message =
        "run " + run_id_ + ": event " + std::to_string(want_seq) + ": " + std::move(what);
    return result_;
  }
  if (e.format != 1 && e.format != 2) {
    return Fail(e, e.seq, "unknown ledger format " + std::to_string(e.format));
  }
  if (e.format < format_) {
    return Fail(e, e.seq,
                "format " + std::to_string(e.format) + " after format " + std::to_string(format_) +
                    " \u2014 events were inserted");
  }
  // The first event of a run links to the genesis; the first one checked
  // from the middle of a chain links to what its reader says came before.
  const bool first = prev_hash_.empty();
  const std::string& want_prev = first && e.seq == 1 ? GenesisHash(e.format, run_id_)
                                 : first             ? e.prev_hash
                                                     : prev_hash_;
  if (e.prev_hash != want_prev) {
    return Fail(e, e.seq,
                e.seq == 1
                    ? "prev_hash is not the genesis hash of the run \u2014 the start of "
                      "the ledger was changed"
                    : "prev_hash does not match the hash of event " + std::to_string(e.seq - 1) +
                          " \u2014 an event was changed, inserted or removed before it");
  }
  if (!IsLowerHex64(e.hash)) {
    return Fail(e, e.seq, "hash '" + e.hash + "' is not 64 lowercase hex digits");
  }
  if (ComputeHash(e.prev_hash, e) != e.hash) {
    // Format 2 stores no prev_hash of its own: an event changed and
    // re-hashed shows up as a mismatch of the one after it.
    if (e.format == 2 && e.seq > 1) {
      return Fail(e, e.seq,
                  "hash does not match its contents \u2014 this event was changed after it was "
                  "written, or event " +
                      std::to_string(e.seq - 1) + " was changed and its hash recomputed");
    }
    return Fail(e, e.seq,
                "hash does not match its contents \u2014 the event was changed after it was "
                "written");
  }
  if (std::string bad = CheckTransition(e); !bad.empty()) return Fail(e, e.seq, std::move(bad));
  prev_hash_ = e.hash;
  format_ = e.format;
  return result_;
}

VerifyResult VerifyChain(const std::vector<Event>& events, const std::string& run_id) {
  ChainChecker checker(run_id);
  for (const Event& e : events) {
    if (!checker.Next(e).ok) return checker.result();
  }
  if (events.empty() && !run_id.empty()) {
    // Every run has at least its `created` event.
    return VerifyResult{false, 1,
                        "run " + run_id + ": it has no events \u2014 its ledger was deleted"};
  }
  return checker.result();
}

}  // namespace relay::events
