// The keeper process: runs attempts for the relay that forked it, and keeps
// them running, logged, timed and recorded after that relay is gone. One
// ppoll loop over its connections, the rendezvous socket and the steps'
// pipes, woken by SIGCHLD (it is a child subreaper, so it also reaps what
// the steps orphan).

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

#include "exec/attempt_set_posix.h"
#include "exec/owner.h"
#include "exec/signals_posix.h"
#include "keeper/channel_posix.h"
#include "keeper/exit_record.h"
#include "keeper/keeper_process.h"
#include "keeper/rendezvous_posix.h"

namespace relay::keeper {
namespace {

using exec::AttemptResult;
using exec::kNever;

// How long a kStarted frame may wait for a kFinished to travel with: most
// steps end sooner, and relay then wakes once per attempt instead of twice.
constexpr Micros kHoldStarted = 50 * kMillisecond;
// Specs and entries kept for reuse: enough for relay's slots, no more.
constexpr size_t kSpares = 64;

struct Conn;

// An attempt from its start until its relay acknowledges its result. It
// lives in its owner's map under the owner's token; its address is its
// token in the attempt set, and stays put when it changes hands (the map's
// node moves, not the entry).
struct Entry {
  Conn* owner = nullptr;  // whose map holds it: a relay's, or the orphans'
  uint64_t token = 0;     // its key there
  exec::AttemptKey key;
  std::string log_path;
  bool finished = false;
  bool recorded = false;  // its exit record holds `result`
  AttemptResult result;
};

uint64_t IdOf(Entry* e) { return reinterpret_cast<uintptr_t>(e); }
Entry* EntryOf(uint64_t id) { return reinterpret_cast<Entry*>(static_cast<uintptr_t>(id)); }

using Entries = std::unordered_map<uint64_t, Entry>;

// A relay connected to this keeper: the one that forked it (primary) or
// one that adopts attempts of it. Orphans (attempts whose relay is gone)
// are kept by a Conn without a connection.
struct Conn {
  Conn(int fd, bool is_primary) : ch(fd), primary(is_primary) {}
  Channel ch;
  bool primary;
  Entries entries;  // by the relay's token
  std::unordered_map<uint32_t, std::shared_ptr<const exec::Masker>> maskers;
  std::string held;            // kStarted frames not sent yet
  Micros held_since = kNever;  // monotonic time the oldest of them was held
};

class Keeper {
 public:
  Keeper(int relay_fd, int listen_fd);
  [[noreturn]] void Run();

 private:
  void PollOnce();
  void Accept();
  void Serve(Conn* conn);
  void Handle(Conn* conn, Frame type, std::string_view payload);
  void StartAttempt(Conn* conn, std::string_view payload);
  void Acknowledge(Conn* conn, std::string_view payload);
  void Adopt(Conn* conn, std::string_view payload);
  Entry* Find(const exec::AttemptKey& key);
  void Move(Entry* e, Conn* to, uint64_t token);
  void Detach(Conn* conn, uint64_t token);
  void Forget(Conn* conn, Entries::iterator it);
  exec::AttemptSpec TakeSpareSpec() {
    exec::AttemptSpec spec = std::move(events_.done_specs.back());
    events_.done_specs.pop_back();
    return spec;
  }
  void Route();
  void SendStarted(Conn* conn, const exec::Started& s);
  void Record(Entry* e);
  void Closed(Conn* conn);
  void Flush();
  Micros NextWake() const;
  bool Done() const;

  exec::SignalWatch signals_;
  exec::AttemptSet attempts_;
  exec::AttemptEvents events_;
  int listen_fd_;
  std::vector<std::unique_ptr<Conn>> conns_;  // open connections
  bool primary_open_ = true;
  Conn orphans_{-1, false};
  uint64_t next_orphan_ = 1;  // keys in orphans_.entries
  Micros now_ = 0;            // monotonic, as of the last poll
  // Shared by the attempts without secrets (a log makes its own when given none).
  const std::shared_ptr<const exec::Masker> no_secrets_ = std::make_shared<const exec::Masker>();
  // Entries of attempts that are over, kept (a few, as the specs in
  // events_.done_specs are) so that the next ones reuse memory already
  // allocated: most of what a start would cost in malloc and free.
  std::vector<Entries::node_type> spare_entries_;
  std::vector<pollfd> fds_;
};

Keeper::Keeper(int relay_fd, int listen_fd)
    : signals_(exec::SignalOptions{.child = true}),
      attempts_(exec::AttemptSet::Options{.reap_strangers = true, .return_specs = true}),
      listen_fd_(listen_fd) {
  conns_.push_back(std::make_unique<Conn>(relay_fd, true));
  ::fcntl(listen_fd_, F_SETFL, O_NONBLOCK);  // Accept takes all that wait, then returns
  if (!Listen(listen_fd_).ok()) {
    ::close(listen_fd_);
    listen_fd_ = -1;  // no adopters: still serves its relay
  }
  // Only now does StartKeeper return: an adopter that looks for this keeper
  // from then on finds it listening.
  FrameWriter w(conns_[0]->ch.out());
  w.Begin(Frame::kWelcome);
  w.U32(kProtocolVersion);
  w.U32(static_cast<uint32_t>(::getpid()));
  w.End();
  conns_[0]->ch.Send();
}

void Keeper::Run() {
  while (true) {
    PollOnce();
    if (signals_.TakeChildExited()) attempts_.ReapExited(&events_);
    attempts_.FireDeadlines(now_);
    Route();
    Flush();
    std::erase_if(conns_, [](const std::unique_ptr<Conn>& c) { return !c->ch.open(); });
    if (Done()) ::_exit(0);
  }
}

// Sleeps until a frame, a connection, a step's output, a child's exit or
// the next deadline, then takes in what is ready.
void Keeper::PollOnce() {
  fds_.resize(1);
  fds_.push_back(pollfd{listen_fd_, POLLIN, 0});
  for (const auto& c : conns_)
    fds_.push_back(
        pollfd{c->ch.fd(), static_cast<short>(POLLIN | (c->ch.wants_send() ? POLLOUT : 0)), 0});
  attempts_.AddPollFds(&fds_);
  Micros wake = NextWake();
  int ready = signals_.Poll(&fds_, wake == kNever ? -1 : std::max<Micros>(0, wake - now_));
  now_ = MonotonicNow();
  if (ready <= 0) return;
  attempts_.ReadReady(fds_);
  // Connections first seen in this round are polled from the next one.
  const size_t polled = conns_.size();
  if (fds_[1].revents != 0) Accept();
  for (size_t i = 0; i < polled; ++i) {
    Conn* c = conns_[i].get();
    short revents = fds_[2 + i].revents;
    if ((revents & POLLOUT) != 0) c->ch.Send();
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) Serve(c);
  }
}

void Keeper::Accept() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    if (!PeerIsSameUser(fd)) {
      ::close(fd);
      continue;
    }
    conns_.push_back(std::make_unique<Conn>(fd, false));
  }
}

// Reads what the connection sent and acts on each whole frame; a closed
// connection is let go after its last frames.
void Keeper::Serve(Conn* conn) {
  bool open = conn->ch.Receive();
  Frame type;
  std::string_view payload;
  while (conn->ch.Next(&type, &payload)) Handle(conn, type, payload);
  if (!open || !conn->ch.open()) Closed(conn);
}

void Keeper::Handle(Conn* conn, Frame type, std::string_view payload) {
  FrameReader r(payload);
  switch (type) {
    case Frame::kHello:
      if (r.U32() != kProtocolVersion) {
        // Says which version it speaks, then hangs up: the adopter falls
        // back to exit records.
        FrameWriter w(conn->ch.out());
        w.Begin(Frame::kWelcome);
        w.U32(kProtocolVersion);
        w.U32(static_cast<uint32_t>(::getpid()));
        w.End();
        conn->ch.Send();
        conn->ch.Close();
      }
      break;
    case Frame::kMasker: {
      uint32_t id = r.U32();
      uint32_t n = r.U32();
      std::vector<std::string> secrets;
      for (uint32_t i = 0; i < n && r.ok(false); ++i) secrets.emplace_back(r.Str());
      if (r.ok()) conn->maskers[id] = std::make_shared<const exec::Masker>(secrets);
      break;
    }
    case Frame::kDropMasker:
      conn->maskers.erase(r.U32());
      break;
    case Frame::kStart:
      if (conn->primary) StartAttempt(conn, payload);
      break;
    case Frame::kCancel:
    case Frame::kKillAll: {
      const bool all = type == Frame::kKillAll;
      uint64_t token = all ? 0 : r.U64();
      for (auto& [t, e] : conn->entries) {
        if ((all || t == token) && !e.finished) attempts_.Cancel(IdOf(&e), /*now=*/all);
      }
      break;
    }
    case Frame::kAck:
      Acknowledge(conn, payload);
      break;
    case Frame::kAdopt:
      Adopt(conn, payload);
      break;
    default:
      break;  // a newer relay's frame: not for this keeper
  }
}

void Keeper::StartAttempt(Conn* conn, std::string_view payload) {
  // (A spec made afresh would allocate its default shell only to drop it.)
  exec::AttemptSpec spec = events_.done_specs.empty() ? exec::AttemptSpec() : TakeSpareSpec();
  uint32_t masker_id = 0;
  if (!ReadStart(payload, &spec, &masker_id)) return;
  spec.masker = no_secrets_;
  if (masker_id != 0) {
    auto it = conn->maskers.find(masker_id);
    if (it != conn->maskers.end()) spec.masker = it->second;
  }
  // A token is used again only once its last result was reported; a
  // relay that starts it again is done with that result.
  Detach(conn, spec.token);
  Entry* reused = nullptr;
  if (!spare_entries_.empty()) {
    Entries::node_type node = std::move(spare_entries_.back());
    spare_entries_.pop_back();
    node.key() = spec.token;
    reused = &conn->entries.insert(std::move(node)).position->second;
  }
  Entry& e = reused != nullptr ? *reused : conn->entries[spec.token];
  e.owner = conn;
  e.token = spec.token;
  e.finished = e.recorded = false;
  e.result = AttemptResult();
  std::swap(e.key, spec.key);  // the attempt set has no use for it
  e.log_path.assign(spec.log_path);
  spec.token = IdOf(&e);
  exec::Started s = attempts_.Start(std::move(spec), &events_);
  if (s.pid > 0) {
    s.token = e.token;
    SendStarted(conn, s);
  }
}

// Hands an entry to another owner under another token. REQUIRES: `to` has
// no entry under `token`.
void Keeper::Move(Entry* e, Conn* to, uint64_t token) {
  auto node = e->owner->entries.extract(e->token);
  node.key() = token;
  e->owner = to;
  e->token = token;
  to->entries.insert(std::move(node));
}

// Forgets what `conn` knew as `token`: a finished result is dropped (with
// its record), a running attempt goes on without an owner.
void Keeper::Detach(Conn* conn, uint64_t token) {
  auto it = conn->entries.find(token);
  if (it == conn->entries.end()) return;
  Entry& e = it->second;
  if (!e.finished) {
    Move(&e, &orphans_, next_orphan_++);
    return;
  }
  Forget(conn, it);
}

// The entry's result is acknowledged (or superseded): its record goes, and
// its memory is kept for a later start.
void Keeper::Forget(Conn* conn, Entries::iterator it) {
  if (it->second.recorded) (void)RemoveExitRecord(it->second.log_path);
  auto node = conn->entries.extract(it);
  if (spare_entries_.size() < kSpares) spare_entries_.push_back(std::move(node));
}

void Keeper::Acknowledge(Conn* conn, std::string_view payload) {
  FrameReader r(payload);
  uint32_t n = r.U32();
  for (uint32_t i = 0; i < n && r.ok(false); ++i) {
    auto it = conn->entries.find(r.U64());
    if (it == conn->entries.end() || !it->second.finished) continue;  // nothing to forget yet
    Forget(conn, it);
  }
}

// Rare (adoption only), so a scan rather than an index kept on every start.
Entry* Keeper::Find(const exec::AttemptKey& key) {
  auto in = [&](Conn* c) -> Entry* {
    for (auto& [token, e] : c->entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  };
  if (Entry* e = in(&orphans_)) return e;
  for (auto& c : conns_) {
    if (Entry* e = in(c.get())) return e;
  }
  return nullptr;
}

void Keeper::Adopt(Conn* conn, std::string_view payload) {
  FrameReader r(payload);
  uint64_t token = r.U64();
  exec::AttemptKey key = ReadKey(&r);
  Entry* e = r.ok() ? Find(key) : nullptr;
  FrameWriter w(conn->ch.out());
  w.Begin(Frame::kAdopted);
  w.U64(token);
  if (e == nullptr) {
    w.U8(static_cast<uint8_t>(exec::AdoptResult::Outcome::kGone));
    w.End();
    return;
  }
  // A previous owner still connected is presumed gone (a live relay's
  // attempts are not adopted); if it is not, it hears no more of this one.
  if (e->owner != conn || e->token != token) {
    Detach(conn, token);
    Move(e, conn, token);
  }
  const int pid = attempts_.StepPid(IdOf(e));
  w.U8(static_cast<uint8_t>(e->finished ? exec::AdoptResult::Outcome::kFinished
                                        : exec::AdoptResult::Outcome::kRunning));
  w.I32(pid);
  w.I32(pid);
  AttemptResult res = e->result;
  res.token = token;
  WriteResult(&w, res);
  w.End();
}

void Keeper::SendStarted(Conn* conn, const exec::Started& s) {
  if (conn->held.empty()) conn->held_since = now_;
  FrameWriter w(&conn->held);
  w.Begin(Frame::kStarted);
  w.U64(s.token);
  w.I32(s.pid);
  w.I32(s.pgid);
  w.End();
}

// Hands what the attempts did to their owners, or to exit records.
void Keeper::Route() {
  for (exec::Started& s : events_.started) {
    Entry* e = EntryOf(s.token);
    if (e->owner == &orphans_) continue;
    s.token = e->token;
    SendStarted(e->owner, s);
  }
  events_.started.clear();
  for (AttemptResult& res : events_.finished) {
    Entry* e = EntryOf(res.token);
    e->finished = true;
    e->result = std::move(res);
    e->result.token = e->token;
    if (e->owner == &orphans_) {
      Record(e);
      continue;
    }
    Conn* c = e->owner;
    // Held kStarted frames go first: relay hears of a step before its end.
    c->ch.out()->append(c->held);
    c->held.clear();
    c->held_since = kNever;
    FrameWriter w(c->ch.out());
    w.Begin(Frame::kFinished);
    WriteResult(&w, e->result);
    w.End();
  }
  events_.finished.clear();
  // events_.done_specs is the pool StartAttempt takes specs from.
  if (events_.done_specs.size() > kSpares) events_.done_specs.resize(kSpares);
}

void Keeper::Record(Entry* e) {
  if (e->recorded) return;
  AttemptResult res = e->result;
  res.token = 0;
  e->recorded = WriteExitRecord(e->log_path, ExitRecord{e->key, std::move(res)}).ok();
}

// A relay hung up (it exited, or died): its attempts run on as orphans, and
// its results not acknowledged go to exit records.
void Keeper::Closed(Conn* conn) {
  conn->ch.Close();
  if (conn->primary) primary_open_ = false;
  while (!conn->entries.empty()) {
    Entry* e = &conn->entries.begin()->second;
    if (e->finished) Record(e);
    Move(e, &orphans_, next_orphan_++);
  }
}

void Keeper::Flush() {
  for (const auto& c : conns_) {
    if (!c->held.empty() && now_ >= c->held_since + kHoldStarted) {
      c->ch.out()->append(c->held);
      c->held.clear();
      c->held_since = kNever;
    }
    if (c->ch.wants_send() && !c->ch.Send()) Closed(c.get());
  }
}

Micros Keeper::NextWake() const {
  Micros wake = attempts_.NextDeadline();
  for (const auto& c : conns_) {
    if (c->held_since != kNever) wake = std::min(wake, c->held_since + kHoldStarted);
  }
  return wake;
}

// Nobody can need this keeper any more: its relay hung up, no adopter is
// connected, nothing runs, and every result not acknowledged is in its exit
// record (written when its relay hung up, or when it ended after that).
bool Keeper::Done() const { return !primary_open_ && conns_.empty() && attempts_.size() == 0; }

// Descriptors: 0, 1 and 2 on /dev/null, the two sockets kept (close on
// exec, so steps do not inherit them), everything else relay had open
// closed, so that the keeper holds no file, pipe or lock of relay's.
void SetUpDescriptors(int* relay_fd, int* listen_fd) {
  for (int* fd : {relay_fd, listen_fd}) {
    if (*fd < 3) *fd = ::fcntl(*fd, F_DUPFD_CLOEXEC, 3);
  }
  int null_fd = ::open("/dev/null", O_RDWR);
  for (int target = 0; target < 3; ++target) {
    if (null_fd != target) ::dup2(null_fd, target);
  }
  int keep[2] = {std::min(*relay_fd, *listen_fd), std::max(*relay_fd, *listen_fd)};
  unsigned int from = 3;
  for (int fd : keep) {
    if (static_cast<unsigned int>(fd) > from) ::syscall(SYS_close_range, from, fd - 1, 0);
    from = static_cast<unsigned int>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
}

// Whatever relay installed is not the keeper's: the terminal's signals do
// not reach it (own session); SIGTERM or SIGINT sent to it on purpose end
// it; SIGPIPE is ignored (a relay that died must not kill it).
void SetUpSignals() {
  exec::SignalWatch::ForgetAfterFork();
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, exec::kPokeSignal})
    ::sigaction(sig, &dfl, nullptr);
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

void RunKeeper(int relay_fd, int listen_fd) {
  ::setsid();
  ::prctl(PR_SET_NAME, "relay-keeper", 0, 0, 0);
  // Steps' orphans (double-forked daemons) are reparented here, not to
  // init, so the keeper reaps them; and relay's death does not stop it
  // (no PR_SET_PDEATHSIG, on purpose).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  SetUpDescriptors(&relay_fd, &listen_fd);
  SetUpSignals();
  // Never returns: the keeper ends with _exit, so none of relay's atexit
  // handlers or static destructors run in it.
  Keeper* keeper = new Keeper(relay_fd, listen_fd);
  keeper->Run();
}

}  // namespace relay::keeper
