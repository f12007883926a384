// The POSIX runner: a set of running attempts, each with one live step
// process, driven by one ppoll loop. Modelled on ninja's SubprocessSet
// (src/subprocess-posix.cc): signals stay blocked except inside ppoll, where
// the handlers only set flags. Unlike ninja, a step's end is its process
// exiting (SIGCHLD, reaped with wait4), not its pipes closing, because a
// background job may hold the pipes open for ever.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "exec/command_line.h"
#include "exec/output_log.h"
#include "exec/owner.h"
#include "exec/process_posix.h"
#include "exec/runner.h"

extern char** environ;

namespace relay::exec {
namespace {

constexpr Micros kNever = INT64_MAX;
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// Signal state is process-wide, hence one runner at a time.
volatile sig_atomic_t g_child_exited = 0;
volatile sig_atomic_t g_interrupt = 0;
volatile sig_atomic_t g_poked = 0;
int g_wake_fd = -1;  // write end of the self-pipe
// Set only around ppoll in the waiting thread. A handler running elsewhere
// (another thread that did not block the signals) cannot interrupt that
// ppoll, so it wakes it through the self-pipe instead.
thread_local volatile sig_atomic_t t_in_ppoll = 0;
std::atomic<bool> g_runner_exists{false};

void OnSignal(int sig) {
  if (sig == SIGCHLD) {
    g_child_exited = 1;
  } else if (sig == kPokeSignal) {
    g_poked = 1;
  } else {
    g_interrupt = sig;
  }
  if (!t_in_ppoll && g_wake_fd >= 0) {
    int saved = errno;
    ssize_t n = ::write(g_wake_fd, "", 1);
    (void)n;
    errno = saved;
  }
}

Micros WallNow() { return SystemClock::Get()->Now(); }

Micros ToMicros(const timeval& tv) { return Micros(tv.tv_sec) * kSecond + tv.tv_usec; }

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

struct Attempt {
  // The log path moves from the spec to the log, its one user.
  explicit Attempt(AttemptSpec s)
      : spec(std::move(s)), log(std::move(spec.log_path), spec.masker) {}

  AttemptSpec spec;
  OutputLog log;
  size_t step = 0;
  StepProcess proc;
  Micros deadline = kNever;  // monotonic: SIGTERM to the group
  Micros kill_at = kNever;   // monotonic: SIGKILL to the group
  bool timed_out = false;
  bool cancelled = false;
  AttemptResult result;
};

class PosixRunner final : public Runner {
 public:
  PosixRunner();
  ~PosixRunner() override;

  Started Start(AttemptSpec spec) override;
  WaitResult Wait(Micros timeout) override;
  void Cancel(uint64_t token) override;
  void KillAll() override;
  size_t running() const override { return attempts_.size() + pending_.size(); }

 private:
  void InstallSignals();
  void RestoreSignals();
  void CaptureEnvironment();
  std::string_view BuildEnv(const AttemptSpec& spec);

  bool StartStep(Attempt* a);
  bool SpawnDirect(Attempt* a, const std::string& line, std::string_view path_env,
                   SpawnError* error);
  void SpawnShell(Attempt* a, const std::string& line, std::string_view path_env,
                  SpawnError* error);
  std::string DescribeSpawnError(const Attempt& a, const std::string& path, SpawnError e) const;

  void Poll(Micros wait);
  void ReadOnce(Attempt* a, Stream stream);
  void DrainAndClose(Attempt* a);
  void ReapExited(WaitResult* r);
  bool ReapStep(Attempt* a, int options, WaitResult* r);
  void StepEnded(Attempt* a, int status, const rusage& ru, WaitResult* r);
  void Finish(Attempt* a, WaitResult* r);
  void FireDeadlines(Micros now);
  Micros NextDeadline() const;
  void BeginStop(Attempt* a, Micros now);
  Attempt* FindByPid(int pid);

  Spawner spawner_;
  ProgramResolver resolver_{&IsExecutableFile};
  std::vector<std::unique_ptr<Attempt>> attempts_;  // each with a live step process
  std::vector<AttemptResult> pending_;              // finished without a process (spawn errors)

  // The environment at creation: owned copies, a pointer array copied per
  // attempt, and name → index so overrides are one lookup each.
  std::vector<std::string> base_env_;
  std::vector<char*> base_envp_;
  std::unordered_map<std::string_view, size_t> base_index_;
  std::string base_path_;

  // Reused per spawn and per poll, so the hot path does not allocate.
  std::vector<char> env_chars_;  // "NAME=value" of spec.env, end to end
  std::vector<char*> envp_;      // base_envp_ with env_chars_ applied
  std::vector<std::string_view> words_;
  std::vector<char> arg_chars_;
  std::vector<char*> argv_;
  std::vector<pollfd> fds_;
  std::vector<std::pair<Attempt*, Stream>> fd_owner_;
  char buf_[64 * 1024];

  int wake_read_ = -1;
  int wake_write_ = -1;
  sigset_t old_mask_;
  sigset_t wait_mask_;  // old_mask_ minus the signals we handle
  struct sigaction old_chld_, old_int_, old_term_, old_hup_, old_poke_;
  bool handle_hup_ = false;
};

PosixRunner::PosixRunner() {
  CaptureEnvironment();
  InstallSignals();
}

PosixRunner::~PosixRunner() {
  KillAll();
  for (auto& a : attempts_) {
    int status;
    while (::waitpid(a->proc.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (a->proc.out_fd >= 0) ::close(a->proc.out_fd);
    if (a->proc.err_fd >= 0) ::close(a->proc.err_fd);
  }
  RestoreSignals();
  g_runner_exists = false;
}

void PosixRunner::InstallSignals() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_ = fds[0];
    wake_write_ = fds[1];
    g_wake_fd = wake_write_;
  }
  g_child_exited = 0;
  g_interrupt = 0;
  g_poked = 0;
  // A closed terminal (SIGHUP) cancels the run as SIGTERM does, rather than
  // kill relay and leave its steps running unwatched; unless relay was
  // started under nohup, which asks for the opposite.
  sigaction(SIGHUP, nullptr, &old_hup_);
  handle_hup_ = old_hup_.sa_handler != SIG_IGN;
  sigset_t ours;
  sigemptyset(&ours);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, kPokeSignal}) sigaddset(&ours, sig);
  if (handle_hup_) sigaddset(&ours, SIGHUP);
  sigprocmask(SIG_BLOCK, &ours, &old_mask_);
  wait_mask_ = old_mask_;
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, kPokeSignal}) sigdelset(&wait_mask_, sig);
  if (handle_hup_) sigdelset(&wait_mask_, SIGHUP);

  struct sigaction act;
  std::memset(&act, 0, sizeof act);
  act.sa_handler = OnSignal;
  sigemptyset(&act.sa_mask);
  // SA_RESTART spares other threads' blocking calls; ppoll is never restarted.
  act.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &act, &old_chld_);
  sigaction(SIGINT, &act, &old_int_);
  sigaction(SIGTERM, &act, &old_term_);
  if (handle_hup_) sigaction(SIGHUP, &act, nullptr);
  sigaction(kPokeSignal, &act, &old_poke_);
}

void PosixRunner::RestoreSignals() {
  sigaction(SIGCHLD, &old_chld_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  if (handle_hup_) sigaction(SIGHUP, &old_hup_, nullptr);
  sigaction(kPokeSignal, &old_poke_, nullptr);
  sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  g_wake_fd = -1;
  if (wake_read_ >= 0) ::close(wake_read_);
  if (wake_write_ >= 0) ::close(wake_write_);
}

void PosixRunner::CaptureEnvironment() {
  size_t n = 0;
  while (environ != nullptr && environ[n] != nullptr) ++n;
  base_env_.reserve(n);  // no reallocation: base_index_ points into these strings
  for (size_t i = 0; i < n; ++i) base_env_.emplace_back(environ[i]);
  base_envp_.reserve(n);
  for (std::string& entry : base_env_) {
    size_t eq = entry.find('=');
    if (eq != std::string::npos) {
      base_index_.emplace(std::string_view(entry).substr(0, eq), base_envp_.size());
      if (entry.compare(0, eq, "PATH") == 0 && eq == 4 && base_path_.empty()) {
        base_path_ = entry.substr(eq + 1);
      }
    }
    base_envp_.push_back(entry.data());
  }
  if (base_index_.find("PATH") == base_index_.end()) base_path_ = kDefaultPath;
}

// Sets envp_ for the step about to start: the base environment with
// spec.env applied. Returns the PATH that step sees. Rebuilt for each step
// in buffers that are reused, rather than kept per attempt: that would cost
// allocations for every attempt.
std::string_view PosixRunner::BuildEnv(const AttemptSpec& spec) {
  envp_ = base_envp_;
  std::string_view path_env = base_path_;
  size_t total = 0;
  for (const auto& [name, value] : spec.env) total += name.size() + 1 + value.size() + 1;
  env_chars_.resize(total);  // envp_ points into it: no growing after this
  char* out = env_chars_.data();
  const size_t base_size = envp_.size();
  for (const auto& [name, value] : spec.env) {
    char* entry = out;
    out = std::copy(name.begin(), name.end(), out);
    *out++ = '=';
    out = std::copy(value.begin(), value.end(), out);
    *out++ = '\0';
    if (name == "PATH") path_env = value;
    auto it = base_index_.find(name);
    if (it != base_index_.end()) {
      envp_[it->second] = entry;
      continue;
    }
    // A name given twice in spec.env: the later value wins.
    auto added = std::find_if(envp_.begin() + base_size, envp_.end(), [&](char* e) {
      return std::strncmp(e, name.c_str(), name.size()) == 0 && e[name.size()] == '=';
    });
    if (added != envp_.end()) {
      *added = entry;
    } else {
      envp_.push_back(entry);
    }
  }
  envp_.push_back(nullptr);
  return path_env;
}

Started PosixRunner::Start(AttemptSpec spec) {
  const uint64_t token = spec.token;
  auto a = std::make_unique<Attempt>(std::move(spec));
  a->result.token = token;
  a->result.started_at = WallNow();
  if (a->spec.timeout > 0) a->deadline = MonotonicNow() + a->spec.timeout;
  if (a->spec.steps.empty() || !StartStep(a.get())) {
    a->result.ended_at = WallNow();
    a->result.log_error = a->log.error();
    pending_.push_back(std::move(a->result));
    return Started{token, 0, 0};
  }
  Started started{token, a->proc.pid, a->proc.pid};
  attempts_.push_back(std::move(a));
  return started;
}

// Starts a->spec.steps[a->step]. On failure fills a->result (spawn_error,
// exit_code -1, failed_step) and returns false.
bool PosixRunner::StartStep(Attempt* a) {
  const std::string& line = a->spec.steps[a->step];
  if (a->spec.steps.size() > 1) {
    a->log.WriteSys("step " + std::to_string(a->step + 1) + ": " + line, WallNow());
  }
  std::string_view path_env = BuildEnv(a->spec);
  SpawnError error;
  bool started = false;
  if (!a->spec.force_shell && IsPlainCommand(line))
    started = SpawnDirect(a, line, path_env, &error);
  // A program that vanished or is not a binary (ENOEXEC: a script without
  // #!) is left to the shell, which runs it or says why not in the log.
  bool retry = error.stage == SpawnStage::kExec &&
               (error.err == ENOENT || error.err == EACCES || error.err == ENOEXEC);
  if (!started && (error.err == 0 || retry)) {
    error = SpawnError();
    SpawnShell(a, line, path_env, &error);
  }
  if (error.err == 0) return true;
  std::string path = argv_.empty() || argv_[0] == nullptr ? std::string() : argv_[0];
  a->result.spawn_error = DescribeSpawnError(*a, path, error);
  a->result.exit_code = -1;
  a->result.failed_step = static_cast<int>(a->step);
  return false;
}

// Returns false without trying when the program is not on PATH.
bool PosixRunner::SpawnDirect(Attempt* a, const std::string& line, std::string_view path_env,
                              SpawnError* error) {
  words_.clear();
  SplitWords(line, &words_);
  // A program with a '/' is used as written (relative to the step's cwd).
  const char* path = nullptr;
  if (words_[0].find('/') == std::string_view::npos) {
    const std::string* found = resolver_.Resolve(path_env, words_[0]);
    if (found == nullptr) return false;
    path = found->c_str();
  }
  // argv strings laid end to end in one reused buffer.
  size_t total = 0;
  for (std::string_view w : words_) total += w.size() + 1;
  arg_chars_.resize(total);
  argv_.clear();
  char* out = arg_chars_.data();
  for (std::string_view w : words_) {
    std::memcpy(out, w.data(), w.size());
    out[w.size()] = '\0';
    argv_.push_back(out);
    out += w.size() + 1;
  }
  argv_.push_back(nullptr);
  if (path == nullptr) path = argv_[0];
  const char* cwd = a->spec.cwd.empty() ? nullptr : a->spec.cwd.c_str();
  *error = spawner_.Spawn(path, argv_.data(), envp_.data(), cwd, &a->proc);
  return error->err == 0;
}

void PosixRunner::SpawnShell(Attempt* a, const std::string& line, std::string_view path_env,
                             SpawnError* error) {
  static const std::vector<std::string> kDefaultShell = {"/bin/sh", "-c"};
  const std::vector<std::string>& shell = a->spec.shell.empty() ? kDefaultShell : a->spec.shell;
  argv_.clear();
  for (const std::string& word : shell) argv_.push_back(const_cast<char*>(word.c_str()));
  argv_.push_back(const_cast<char*>(line.c_str()));
  argv_.push_back(nullptr);
  const char* path = shell[0].c_str();
  if (shell[0].find('/') == std::string::npos) {
    const std::string* found = resolver_.Resolve(path_env, shell[0]);
    if (found == nullptr) {
      *error = SpawnError{ENOENT, SpawnStage::kExec};
      return;
    }
    path = found->c_str();
  }
  const char* cwd = a->spec.cwd.empty() ? nullptr : a->spec.cwd.c_str();
  *error = spawner_.Spawn(path, argv_.data(), envp_.data(), cwd, &a->proc);
}

std::string PosixRunner::DescribeSpawnError(const Attempt& a, const std::string& path,
                                            SpawnError e) const {
  std::string what;
  switch (e.stage) {
    case SpawnStage::kPipe:
      what = "pipe";
      break;
    case SpawnStage::kCwd:
      what = "cwd " + a.spec.cwd;
      break;
    default:
      what = path;
      break;
  }
  return "cannot start '" + a.spec.steps[a.step] + "': " + what + ": " + std::strerror(e.err);
}

WaitResult PosixRunner::Wait(Micros timeout) {
  WaitResult r;
  r.finished = std::move(pending_);
  pending_.clear();
  const Micros start = MonotonicNow();
  const Micros until = timeout < 0 ? kNever : start + timeout;
  bool polled = false;
  while (true) {
    if (g_interrupt != 0) {
      r.interrupt_signal = g_interrupt;
      g_interrupt = 0;
    }
    if (g_poked != 0) {
      r.poked = true;
      g_poked = 0;
    }
    if (g_child_exited != 0) ReapExited(&r);
    Micros now = MonotonicNow();
    FireDeadlines(now);
    if (r.interrupt_signal != 0 || r.poked || !r.started.empty() || !r.finished.empty()) return r;
    if (polled && now >= until) return r;
    if (attempts_.empty() && until == kNever) return r;
    Micros wake = std::min(until, NextDeadline());
    Poll(wake == kNever ? -1 : std::max<Micros>(0, wake - now));
    polled = true;
  }
}

void PosixRunner::Poll(Micros wait) {
  fds_.clear();
  fd_owner_.clear();
  fds_.push_back(pollfd{wake_read_, POLLIN, 0});
  fd_owner_.emplace_back(nullptr, Stream::kOut);
  for (auto& a : attempts_) {
    if (a->proc.out_fd >= 0) {
      fds_.push_back(pollfd{a->proc.out_fd, POLLIN, 0});
      fd_owner_.emplace_back(a.get(), Stream::kOut);
    }
    if (a->proc.err_fd >= 0) {
      fds_.push_back(pollfd{a->proc.err_fd, POLLIN, 0});
      fd_owner_.emplace_back(a.get(), Stream::kErr);
    }
  }
  timespec ts;
  ts.tv_sec = wait / kSecond;
  ts.tv_nsec = (wait % kSecond) * 1000;
  t_in_ppoll = 1;
  int ready = ::ppoll(fds_.data(), fds_.size(), wait < 0 ? nullptr : &ts, &wait_mask_);
  t_in_ppoll = 0;
  if (ready <= 0) return;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i].revents == 0) continue;
    if (i == 0) {
      char drain[64];
      while (::read(wake_read_, drain, sizeof drain) > 0) {
      }
    } else {
      ReadOnce(fd_owner_[i].first, fd_owner_[i].second);
    }
  }
}

// One read per readiness report, as ninja does: a chatty step cannot starve
// the others.
void PosixRunner::ReadOnce(Attempt* a, Stream stream) {
  int& fd = stream == Stream::kOut ? a->proc.out_fd : a->proc.err_fd;
  ssize_t n = ::read(fd, buf_, sizeof buf_);
  if (n > 0) {
    a->log.Append(stream, std::string_view(buf_, static_cast<size_t>(n)), WallNow());
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    ::close(fd);
    fd = -1;
    a->log.EndStream(stream, WallNow());
  }
}

// The step's process is gone: take what its pipes hold now and stop
// listening. A background job still writing loses the rest; it is about to
// be killed anyway.
void PosixRunner::DrainAndClose(Attempt* a) {
  for (Stream stream : {Stream::kOut, Stream::kErr}) {
    int& fd = stream == Stream::kOut ? a->proc.out_fd : a->proc.err_fd;
    if (fd < 0) continue;
    for (int i = 0; i < 64; ++i) {  // bounded: a writer may never stop
      ssize_t n = ::read(fd, buf_, sizeof buf_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      a->log.Append(stream, std::string_view(buf_, static_cast<size_t>(n)), WallNow());
    }
    ::close(fd);
    fd = -1;
    a->log.EndStream(stream, WallNow());
  }
}

// Peeks at which child exited (WNOWAIT) so each exit costs one lookup, not a
// wait4 per running attempt. A child that is not ours (someone else in this
// process spawned it) is left for its owner; then each of ours is asked.
void PosixRunner::ReapExited(WaitResult* r) {
  g_child_exited = 0;
  while (!attempts_.empty()) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    Attempt* a = FindByPid(info.si_pid);
    if (a == nullptr) {
      std::vector<Attempt*> all;
      for (auto& each : attempts_) all.push_back(each.get());
      for (Attempt* each : all) ReapStep(each, WNOHANG, r);
      return;
    }
    ReapStep(a, 0, r);
  }
}

bool PosixRunner::ReapStep(Attempt* a, int options, WaitResult* r) {
  int status = 0;
  rusage ru;
  std::memset(&ru, 0, sizeof ru);
  pid_t got;
  do {
    got = ::wait4(a->proc.pid, &status, options, &ru);
  } while (got < 0 && errno == EINTR);
  if (got != a->proc.pid) return false;
  StepEnded(a, status, ru, r);
  return true;
}

void PosixRunner::StepEnded(Attempt* a, int status, const rusage& ru, WaitResult* r) {
  AttemptResult& res = a->result;
  res.user_cpu += ToMicros(ru.ru_utime);
  res.system_cpu += ToMicros(ru.ru_stime);
  res.max_rss_kb = std::max<int64_t>(res.max_rss_kb, ru.ru_maxrss);
  DrainAndClose(a);
  ::kill(-a->proc.pid, SIGKILL);  // background jobs the step left in its group
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
    res.signal = 0;
  } else {
    res.exit_code = -1;
    res.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  bool ok = res.exit_code == 0 && res.signal == 0 && !a->timed_out && !a->cancelled;
  if (ok && a->step + 1 < a->spec.steps.size()) {
    ++a->step;
    if (StartStep(a)) {
      r->started.push_back(Started{a->spec.token, a->proc.pid, a->proc.pid});
      return;
    }
  } else if (!ok) {
    res.failed_step = static_cast<int>(a->step);
  }
  Finish(a, r);
}

void PosixRunner::Finish(Attempt* a, WaitResult* r) {
  a->result.timed_out = a->timed_out;
  a->result.cancelled = a->cancelled;
  if (!a->result.Succeeded() && a->result.failed_step < 0) {
    a->result.failed_step = static_cast<int>(a->step);
  }
  a->result.ended_at = WallNow();
  a->result.log_error = a->log.error();
  r->finished.push_back(std::move(a->result));
  auto it = std::find_if(attempts_.begin(), attempts_.end(),
                         [a](const std::unique_ptr<Attempt>& p) { return p.get() == a; });
  std::swap(*it, attempts_.back());
  attempts_.pop_back();
}

void PosixRunner::FireDeadlines(Micros now) {
  for (auto& a : attempts_) {
    if (now >= a->deadline) {
      a->timed_out = true;
      BeginStop(a.get(), now);
    }
    if (now >= a->kill_at) {
      ::kill(-a->proc.pid, SIGKILL);
      a->kill_at = kNever;
    }
  }
}

Micros PosixRunner::NextDeadline() const {
  Micros next = kNever;
  for (const auto& a : attempts_) next = std::min({next, a->deadline, a->kill_at});
  return next;
}

// First rung of the ladder: SIGTERM now, SIGKILL after the grace period.
void PosixRunner::BeginStop(Attempt* a, Micros now) {
  a->deadline = kNever;
  if (a->kill_at != kNever) return;  // already stopping
  ::kill(-a->proc.pid, SIGTERM);
  a->kill_at = now + std::max<Micros>(0, a->spec.kill_grace);
}

void PosixRunner::Cancel(uint64_t token) {
  for (auto& a : attempts_) {
    if (a->spec.token != token || a->cancelled) continue;
    a->cancelled = true;
    BeginStop(a.get(), MonotonicNow());
  }
}

void PosixRunner::KillAll() {
  for (auto& a : attempts_) {
    ::kill(-a->proc.pid, SIGKILL);
    a->cancelled = true;
    a->deadline = kNever;
    a->kill_at = kNever;
  }
}

Attempt* PosixRunner::FindByPid(int pid) {
  for (auto& a : attempts_) {
    if (a->proc.pid == pid) return a.get();
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<Runner> NewPosixRunner() {
  if (g_runner_exists.exchange(true)) {
    std::fprintf(stderr, "relay: bug: a second process runner was created\n");
    std::abort();
  }
  return std::make_unique<PosixRunner>();
}

}  // namespace relay::exec
