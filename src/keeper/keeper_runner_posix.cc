// The runner relay uses when a keeper runs its attempts: it sends Start,
// Cancel and Acknowledge as frames (batched until Wait), and Wait turns the
// keeper's frames back into WaitResults while watching relay's own signals
// as the in-process runner does. Adopt connects to a dead relay's keeper by
// its rendezvous name and asks for one attempt; attempts adopted that way
// report through that connection.

#include <poll.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "exec/attempt_set_posix.h"
#include "exec/signals_posix.h"
#include "keeper/channel_posix.h"
#include "keeper/exit_record.h"
#include "keeper/keeper_process.h"
#include "keeper/rendezvous_posix.h"

namespace relay::keeper {
namespace {

using exec::AdoptRequest;
using exec::AdoptResult;
using exec::AttemptResult;
using exec::AttemptSpec;
using exec::kNever;
using exec::Started;
using exec::WaitResult;

// A keeper that does not answer an Adopt this long is treated as gone.
constexpr Micros kAdoptPatience = 5 * kSecond;
// A batch of Start frames this large is sent without waiting for Wait.
constexpr size_t kSendEarly = 1 << 20;

// A connection to one keeper: our own (primary) or a dead relay's.
struct Link {
  explicit Link(int fd, std::string owner) : ch(fd), owner_id(std::move(owner)) {}
  Channel ch;
  std::string owner_id;  // whose keeper ("" for our own)
  // Results acknowledged, told with the next frames sent: they only let the
  // keeper forget, nothing waits for them.
  std::vector<uint64_t> acks;
  // Tokens started or adopted here whose result has not arrived: as many
  // as relay's slots, so a vector searched from the end beats a hash set.
  std::vector<uint64_t> running;
  bool Has(uint64_t token) const {
    return std::find(running.rbegin(), running.rend(), token) != running.rend();
  }
  bool Remove(uint64_t token) {
    auto it = std::find(running.rbegin(), running.rend(), token);
    if (it == running.rend()) return false;
    *it = running.back();
    running.pop_back();
    return true;
  }
};

class KeeperRunner final : public exec::Runner {
 public:
  explicit KeeperRunner(int fd);
  ~KeeperRunner() override;

  Started Start(AttemptSpec spec) override { return StartFrom(spec); }
  Started StartFrom(AttemptSpec& spec) override;  // only reads it
  WaitResult Wait(Micros timeout) override;
  void Recycle(WaitResult&& used) override;
  void Cancel(uint64_t token) override;
  void KillAll() override;
  size_t running() const override;
  bool CanStart() const override;
  void Acknowledge(const std::vector<uint64_t>& tokens) override;
  AdoptResult Adopt(const AdoptRequest& request) override;

 private:
  struct MaskerSent {
    std::weak_ptr<const exec::Masker> masker;  // to tell a new one at the same address
    const exec::Masker* raw;
    uint32_t id;
  };

  uint32_t MaskerId(const std::shared_ptr<const exec::Masker>& masker);
  void SendAll();
  void Take(Link* link);
  void Drain(Link* link);
  void Handle(Link* link, Frame type, std::string_view payload);
  void Lost(Link* link);
  Link* LinkTo(const std::string& owner_id);
  bool AskToAdopt(Link* link, const AdoptRequest& request, AdoptResult* out);
  template <typename F>
  void ForEachLink(F f) {
    f(&primary_);
    for (auto& l : adopted_) f(l.get());
  }

  exec::SignalWatch signals_;
  Link primary_;
  std::vector<std::unique_ptr<Link>> adopted_;           // dead relays' keepers (closed ones stay)
  std::unordered_map<uint64_t, Link*> ack_via_;          // adopted results: ack to that keeper
  std::unordered_map<uint64_t, std::string> ack_files_;  // results from exit records: their logs
  std::vector<MaskerSent> maskers_;
  uint32_t next_masker_ = 1;
  std::vector<Started> started_;  // not yet returned by Wait
  std::vector<AttemptResult> finished_;
  // The answer to the Adopt in flight, once it arrives.
  uint64_t adopt_token_ = 0;
  std::optional<AdoptResult> adopt_answer_;
  bool keeper_said_unknown_ = false;  // the last Adopt's keeper answered: not mine
  std::vector<pollfd> fds_;           // reused per poll, with the links they stand for
  std::vector<Link*> polled_;
};

KeeperRunner::KeeperRunner(int fd)
    : signals_(exec::SignalOptions{.interrupts = true}), primary_(fd, "") {}

// Relay may exit with attempts in flight on purpose (a later relay adopts
// them): only the connection ends; the keeper carries on.
KeeperRunner::~KeeperRunner() { SendAll(); }

uint32_t KeeperRunner::MaskerId(const std::shared_ptr<const exec::Masker>& masker) {
  if (masker == nullptr || masker->empty()) return 0;
  for (const MaskerSent& m : maskers_) {
    if (m.raw == masker.get() && !m.masker.expired()) return m.id;
  }
  // A new masker: forget those whose runs are over first.
  std::string* out = primary_.ch.out();
  std::erase_if(maskers_, [&](const MaskerSent& m) {
    if (!m.masker.expired()) return false;
    FrameWriter w(out);
    w.Begin(Frame::kDropMasker);
    w.U32(m.id);
    w.End();
    return true;
  });
  const uint32_t id = next_masker_++;
  FrameWriter w(out);
  w.Begin(Frame::kMasker);
  w.U32(id);
  w.U32(static_cast<uint32_t>(masker->secrets().size()));
  for (const std::string& s : masker->secrets()) w.Str(s);
  w.End();
  maskers_.push_back(MaskerSent{masker, masker.get(), id});
  return id;
}

AttemptResult LostResult(uint64_t token) {
  AttemptResult r;
  r.token = token;
  r.exit_code = -1;
  r.keeper_lost = true;
  r.ended_at = SystemClock::Get()->Now();
  return r;
}

Started KeeperRunner::StartFrom(AttemptSpec& spec) {
  const uint64_t token = spec.token;
  if (!primary_.ch.open()) {
    finished_.push_back(LostResult(token));
    return Started{token, 0, 0};
  }
  uint32_t masker_id = MaskerId(spec.masker);
  WriteStart(spec, masker_id, primary_.ch.out());
  primary_.running.push_back(token);
  if (primary_.ch.out()->size() >= kSendEarly && !primary_.ch.Send()) Lost(&primary_);
  return Started{token, 0, 0};
}

void KeeperRunner::SendAll() {
  ForEachLink([&](Link* link) {
    if (!link->acks.empty() && link->ch.open()) {
      FrameWriter w(link->ch.out());
      w.Begin(Frame::kAck);
      w.U32(static_cast<uint32_t>(link->acks.size()));
      for (uint64_t token : link->acks) w.U64(token);
      w.End();
    }
    link->acks.clear();
    if (link->ch.wants_send() && !link->ch.SendAll()) Lost(link);
  });
}

WaitResult KeeperRunner::Wait(Micros timeout) {
  SendAll();
  WaitResult r;
  const Micros until = timeout < 0 ? kNever : MonotonicNow() + timeout;
  bool polled = false;
  while (true) {
    if (int sig = signals_.TakeInterrupt()) r.interrupt_signal = sig;
    if (signals_.TakePoked()) r.poked = true;
    ForEachLink([&](Link* link) { Drain(link); });
    Micros now = MonotonicNow();
    // A step's start alone does not end the wait: its pid is only stored
    // after a second (kPidPersistDelay), and waking relay for each would cost
    // a loop per attempt. It comes with the next end, signal or timeout.
    if (r.interrupt_signal != 0 || r.poked || !finished_.empty() || (polled && now >= until) ||
        (running() == 0 && until == kNever)) {
      r.started = std::move(started_);
      r.finished = std::move(finished_);
      started_.clear();
      finished_.clear();
      return r;
    }
    fds_.resize(1);
    polled_.clear();
    ForEachLink([&](Link* link) {
      if (!link->ch.open()) return;
      fds_.push_back(pollfd{link->ch.fd(), POLLIN, 0});
      polled_.push_back(link);
    });
    if (signals_.Poll(&fds_, until == kNever ? -1 : std::max<Micros>(0, until - now)) > 0) {
      for (size_t i = 0; i < polled_.size(); ++i) {
        if (fds_[1 + i].revents != 0) Take(polled_[i]);
      }
    }
    polled = true;
  }
}

// The next Wait's results go where the last one's were.
void KeeperRunner::Recycle(WaitResult&& used) {
  used.started.clear();
  used.finished.clear();
  if (started_.empty() && started_.capacity() < used.started.capacity())
    started_.swap(used.started);
  if (finished_.empty() && finished_.capacity() < used.finished.capacity())
    finished_.swap(used.finished);
}

// Reads what the keeper sent and acts on each frame; a keeper that hung up
// has its attempts reported lost once its last frames are read.
void KeeperRunner::Take(Link* link) {
  bool open = link->ch.Receive();
  Drain(link);
  if (!open || !link->ch.open()) Lost(link);
}

// Acts on the frames already read (SendAll reads while it writes).
void KeeperRunner::Drain(Link* link) {
  Frame type;
  std::string_view payload;
  while (link->ch.Next(&type, &payload)) Handle(link, type, payload);
}

void KeeperRunner::Handle(Link* link, Frame type, std::string_view payload) {
  FrameReader r(payload);
  switch (type) {
    case Frame::kWelcome:
      if (r.U32() != kProtocolVersion) link->ch.Close();
      break;
    case Frame::kStarted: {
      Started s;
      s.token = r.U64();
      s.pid = r.I32();
      s.pgid = r.I32();
      if (r.ok() && link->Has(s.token)) started_.push_back(s);
      break;
    }
    case Frame::kFinished: {
      AttemptResult res = ReadResult(&r);
      if (!r.ok() || !link->Remove(res.token)) break;
      if (link != &primary_) ack_via_[res.token] = link;
      finished_.push_back(std::move(res));
      break;
    }
    case Frame::kAdopted: {
      AdoptResult a;
      uint64_t token = r.U64();
      a.outcome = static_cast<AdoptResult::Outcome>(r.U8());
      if (a.outcome != AdoptResult::Outcome::kGone) {
        a.pid = r.I32();
        a.pgid = r.I32();
        a.result = ReadResult(&r);
      }
      if (r.ok() && token == adopt_token_) {
        // The attempt's later frames (a step, its end) may follow in the same
        // read, and are taken only for tokens this link runs.
        if (a.outcome == AdoptResult::Outcome::kRunning) link->running.push_back(token);
        adopt_answer_ = std::move(a);
      }
      break;
    }
    default:
      break;
  }
}

// The keeper at the other end is gone (killed, or it crashed): whether its
// attempts still run is unknown, so each ends as keeper_lost; never a hang.
void KeeperRunner::Lost(Link* link) {
  Drain(link);  // what it reported before it went still counts
  link->ch.Close();
  for (uint64_t token : link->running) finished_.push_back(LostResult(token));
  link->running.clear();
}

void KeeperRunner::Cancel(uint64_t token) {
  ForEachLink([&](Link* link) {
    if (!link->Has(token) || !link->ch.open()) return;
    FrameWriter w(link->ch.out());
    w.Begin(Frame::kCancel);
    w.U64(token);
    w.End();
  });
  SendAll();
}

void KeeperRunner::KillAll() {
  ForEachLink([&](Link* link) {
    if (link->running.empty() || !link->ch.open()) return;
    FrameWriter w(link->ch.out());
    w.Begin(Frame::kKillAll);
    w.End();
  });
  SendAll();
}

bool KeeperRunner::CanStart() const { return primary_.ch.open(); }

size_t KeeperRunner::running() const {
  size_t n = primary_.running.size() + finished_.size();
  for (const auto& l : adopted_) n += l->running.size();
  return n;
}

void KeeperRunner::Acknowledge(const std::vector<uint64_t>& tokens) {
  if (ack_files_.empty() && ack_via_.empty()) {  // nothing adopted: all are our keeper's
    primary_.acks.insert(primary_.acks.end(), tokens.begin(), tokens.end());
    return;
  }
  for (uint64_t token : tokens) {
    if (auto f = ack_files_.find(token); f != ack_files_.end()) {
      (void)RemoveExitRecord(f->second);  // the keeper is gone: ours to remove
      ack_files_.erase(f);
    } else if (auto v = ack_via_.find(token); v != ack_via_.end()) {
      v->second->acks.push_back(token);
      ack_via_.erase(v);
    } else {
      primary_.acks.push_back(token);
    }
  }
}

// One connection per dead relay's keeper, kept for later Adopt calls and
// for the attempts adopted through it; null when no keeper answers.
Link* KeeperRunner::LinkTo(const std::string& owner_id) {
  for (auto& l : adopted_) {
    if (l->owner_id == owner_id && l->ch.open()) return l.get();
  }
  Result<int> fd = ConnectToKeeper(owner_id);
  if (!fd.ok()) return nullptr;
  adopted_.push_back(std::make_unique<Link>(*fd, owner_id));
  Link* link = adopted_.back().get();
  FrameWriter w(link->ch.out());
  w.Begin(Frame::kHello);
  w.U32(kProtocolVersion);
  w.End();
  return link;
}

// Asks the keeper at `link` for the attempt; false when it does not know
// it or does not answer (then the exit record is the only witness).
bool KeeperRunner::AskToAdopt(Link* link, const AdoptRequest& request, AdoptResult* out) {
  FrameWriter w(link->ch.out());
  w.Begin(Frame::kAdopt);
  w.U64(request.token);
  WriteKey(&w, request.key);
  w.End();
  adopt_token_ = request.token;
  adopt_answer_.reset();
  if (!link->ch.SendAll()) {
    Lost(link);
    return false;
  }
  const Micros give_up = MonotonicNow() + kAdoptPatience;
  while (!adopt_answer_ && link->ch.open()) {
    Micros now = MonotonicNow();
    if (now >= give_up) {
      Lost(link);
      break;
    }
    pollfd p{link->ch.fd(), POLLIN, 0};
    int wait_ms = static_cast<int>((give_up - now + kMillisecond - 1) / kMillisecond);
    if (::poll(&p, 1, wait_ms) > 0) Take(link);
  }
  if (adopt_answer_ && adopt_answer_->outcome == AdoptResult::Outcome::kGone)
    keeper_said_unknown_ = true;
  if (!adopt_answer_ || adopt_answer_->outcome == AdoptResult::Outcome::kGone) return false;
  *out = std::move(*adopt_answer_);
  adopt_answer_.reset();
  out->result.token = request.token;
  if (out->outcome == AdoptResult::Outcome::kFinished) ack_via_[request.token] = link;
  return true;
}

AdoptResult KeeperRunner::Adopt(const AdoptRequest& request) {
  AdoptResult out;
  keeper_said_unknown_ = false;
  if (Link* link = LinkTo(request.started_by); link != nullptr && AskToAdopt(link, request, &out))
    return out;
  Result<ExitRecord> record = ReadExitRecord(request.log_path);
  if (!record.ok() || !(record->key == request.key)) {
    // A live keeper keeps every attempt it started until its result is
    // acknowledged, which follows its commit: one it does not know, with
    // no record either, it never started.
    if (keeper_said_unknown_) out.outcome = AdoptResult::Outcome::kNotStarted;
    return out;  // else kGone
  }
  out.outcome = AdoptResult::Outcome::kFinished;
  out.result = std::move(record->result);
  out.result.token = request.token;
  ack_files_[request.token] = request.log_path;
  return out;
}

}  // namespace

std::unique_ptr<exec::Runner> NewKeeperRunner(int fd) { return std::make_unique<KeeperRunner>(fd); }

}  // namespace relay::keeper
