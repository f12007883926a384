// Unlike ninja, a step's end is its process exiting (SIGCHLD, reaped with
// wait4), not its pipes closing, because a background job may hold the
// pipes open for ever.

#include "exec/attempt_set_posix.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "exec/leftovers_posix.h"

extern char** environ;

namespace relay::exec {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr size_t kReadSize = 64 * 1024;

Micros WallNow() { return SystemClock::Get()->Now(); }

Micros ToMicros(const timeval& tv) { return Micros(tv.tv_sec) * kSecond + tv.tv_usec; }

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// What identifies the processes of one attempt by their environment: its
// run, task and try (the later of a name given twice, as the step sees it).
// Empty when the spec names no run: then nothing is swept.
std::vector<std::string> EnvironmentMarker(const AttemptSpec& spec) {
  std::vector<std::string> marker;
  for (std::string_view name : {"RELAY_RUN_ID", "RELAY_TASK", "RELAY_ATTEMPT"}) {
    const std::string* value = nullptr;
    for (const auto& [n, v] : spec.env) {
      if (n == name) value = &v;
    }
    if (value == nullptr && name == "RELAY_RUN_ID") return {};
    if (value != nullptr) marker.push_back(std::string(name) + "=" + *value);
  }
  return marker;
}

}  // namespace

struct AttemptSet::Attempt {
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

AttemptSet::AttemptSet(Options options)
    : options_(options), resolver_(&IsExecutableFile), buf_(new char[kReadSize]) {
  CaptureEnvironment();
}

AttemptSet::~AttemptSet() {
  for (auto& a : attempts_) {
    if (a->proc.out_fd >= 0) ::close(a->proc.out_fd);
    if (a->proc.err_fd >= 0) ::close(a->proc.err_fd);
  }
}

void AttemptSet::CaptureEnvironment() {
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
// allocations for every attempt. Where each of spec.env's entries goes in
// envp_ is worked out once for a list of names and kept: consecutive specs
// name the same variables (RELAY_RUN_ID, RELAY_TASK, …, the pipeline's env).
std::string_view AttemptSet::BuildEnv(const AttemptSpec& spec) {
  bool same = env_names_.size() == spec.env.size();
  for (size_t i = 0; same && i < spec.env.size(); ++i) same = env_names_[i] == spec.env[i].first;
  if (!same) LayOutEnv(spec);
  envp_.assign(base_envp_.begin(), base_envp_.end());
  envp_.resize(base_envp_.size() + env_added_);
  size_t total = 0;
  for (const auto& [name, value] : spec.env) total += name.size() + 1 + value.size() + 1;
  env_chars_.resize(total);  // envp_ points into it: no growing after this
  char* out = env_chars_.data();
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const auto& [name, value] = spec.env[i];
    char* entry = out;
    out = std::copy(name.begin(), name.end(), out);
    *out++ = '=';
    out = std::copy(value.begin(), value.end(), out);
    *out++ = '\0';
    envp_[env_slots_[i]] = entry;  // a name given twice: the later value wins
  }
  envp_.push_back(nullptr);
  return env_path_ >= 0 ? std::string_view(spec.env[env_path_].second)
                        : std::string_view(base_path_);
}

// Where each of spec.env's entries goes: over the inherited entry of that
// name, else after the inherited ones (once per name).
void AttemptSet::LayOutEnv(const AttemptSpec& spec) {
  const size_t base_size = base_envp_.size();
  env_names_.clear();
  env_slots_.clear();
  env_added_ = 0;
  env_path_ = -1;
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const std::string& name = spec.env[i].first;
    if (name == "PATH") env_path_ = static_cast<ptrdiff_t>(i);
    size_t slot;
    if (auto it = base_index_.find(name); it != base_index_.end()) {
      slot = it->second;
    } else {
      auto earlier = std::find(env_names_.begin(), env_names_.end(), name);
      slot = earlier != env_names_.end() ? env_slots_[earlier - env_names_.begin()]
                                         : base_size + env_added_++;
    }
    env_names_.push_back(name);
    env_slots_.push_back(slot);
  }
}

Started AttemptSet::Start(AttemptSpec spec, AttemptEvents* events) {
  const uint64_t token = spec.token;
  auto a = std::make_unique<Attempt>(std::move(spec));
  a->result.token = token;
  a->result.started_at = WallNow();
  if (a->spec.timeout > 0) a->deadline = MonotonicNow() + a->spec.timeout;
  if (a->spec.steps.empty() || !StartStep(a.get())) {
    a->result.ended_at = WallNow();
    a->result.log_error = a->log.error();
    events->finished.push_back(std::move(a->result));
    if (options_.return_specs) events->done_specs.push_back(std::move(a->spec));
    return Started{token, 0, 0};
  }
  Started started{token, a->proc.pid, a->proc.pid};
  attempts_.push_back(std::move(a));
  return started;
}

// Starts a->spec.steps[a->step]. On failure fills a->result (spawn_error,
// exit_code -1, failed_step) and returns false.
bool AttemptSet::StartStep(Attempt* a) {
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
bool AttemptSet::SpawnDirect(Attempt* a, const std::string& line, std::string_view path_env,
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
    if (!w.empty()) std::memcpy(out, w.data(), w.size());  // an empty view may hold no pointer
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

void AttemptSet::SpawnShell(Attempt* a, const std::string& line, std::string_view path_env,
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

std::string AttemptSet::DescribeSpawnError(const Attempt& a, const std::string& path,
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

void AttemptSet::AddPollFds(std::vector<pollfd>* fds) {
  first_fd_ = fds->size();
  fd_owner_.clear();
  for (auto& a : attempts_) {
    if (a->proc.out_fd >= 0) {
      fds->push_back(pollfd{a->proc.out_fd, POLLIN, 0});
      fd_owner_.emplace_back(a.get(), Stream::kOut);
    }
    if (a->proc.err_fd >= 0) {
      fds->push_back(pollfd{a->proc.err_fd, POLLIN, 0});
      fd_owner_.emplace_back(a.get(), Stream::kErr);
    }
  }
}

void AttemptSet::ReadReady(const std::vector<pollfd>& fds) {
  for (size_t i = 0; i < fd_owner_.size(); ++i) {
    if (fds[first_fd_ + i].revents != 0) ReadOnce(fd_owner_[i].first, fd_owner_[i].second);
  }
  fd_owner_.clear();
}

// One read per readiness report, as ninja does: a chatty step cannot starve
// the others.
void AttemptSet::ReadOnce(Attempt* a, Stream stream) {
  int& fd = stream == Stream::kOut ? a->proc.out_fd : a->proc.err_fd;
  ssize_t n = ::read(fd, buf_.get(), kReadSize);
  if (n > 0) {
    a->log.Append(stream, std::string_view(buf_.get(), static_cast<size_t>(n)), WallNow());
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    ::close(fd);
    fd = -1;
    a->log.EndStream(stream, WallNow());
  }
}

// The step's process is gone: take what its pipes hold now and stop
// listening. A background job still writing loses the rest; it is about to
// be killed anyway.
void AttemptSet::DrainAndClose(Attempt* a) {
  for (Stream stream : {Stream::kOut, Stream::kErr}) {
    int& fd = stream == Stream::kOut ? a->proc.out_fd : a->proc.err_fd;
    if (fd < 0) continue;
    for (int i = 0; i < 64; ++i) {  // bounded: a writer may never stop
      ssize_t n = ::read(fd, buf_.get(), kReadSize);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      a->log.Append(stream, std::string_view(buf_.get(), static_cast<size_t>(n)), WallNow());
    }
    ::close(fd);
    fd = -1;
    a->log.EndStream(stream, WallNow());
  }
}

// Peeks at which child exited (WNOWAIT) so each exit costs one lookup, not a
// wait4 per running attempt. A child that is not ours is reaped when the
// options say so (a subreaper's orphans); else it is left for its owner and
// each of ours is asked instead.
void AttemptSet::ReapExited(AttemptEvents* events) {
  while (!attempts_.empty() || options_.reap_strangers) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    Attempt* a = FindByPid(info.si_pid);
    if (a != nullptr) {
      ReapStep(a, 0, events);
    } else if (options_.reap_strangers) {
      while (::waitpid(info.si_pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    } else {
      std::vector<Attempt*> all;
      for (auto& each : attempts_) all.push_back(each.get());
      for (Attempt* each : all) ReapStep(each, WNOHANG, events);
      break;
    }
  }
  if (!to_sweep_.empty()) SweepEscapees();
}

bool AttemptSet::ReapStep(Attempt* a, int options, AttemptEvents* events) {
  int status = 0;
  rusage ru;
  std::memset(&ru, 0, sizeof ru);
  pid_t got;
  do {
    got = ::wait4(a->proc.pid, &status, options, &ru);
  } while (got < 0 && errno == EINTR);
  if (got != a->proc.pid) return false;
  StepEnded(a, status, ru, events);
  return true;
}

void AttemptSet::StepEnded(Attempt* a, int status, const rusage& ru, AttemptEvents* events) {
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
      events->started.push_back(Started{a->spec.token, a->proc.pid, a->proc.pid});
      return;
    }
  } else if (!ok) {
    res.failed_step = static_cast<int>(a->step);
  }
  Finish(a, events);
}

void AttemptSet::Finish(Attempt* a, AttemptEvents* events) {
  a->result.timed_out = a->timed_out;
  a->result.cancelled = a->cancelled;
  if (!a->result.Succeeded() && a->result.failed_step < 0) {
    a->result.failed_step = static_cast<int>(a->step);
  }
  // Processes of a stopped attempt that left its group (setsid) are stopped
  // too, as a resume would kill them. One that succeeded or failed by itself
  // may have left a daemon on purpose: that one is spared.
  if (a->timed_out || a->cancelled) {
    std::vector<std::string> marker = EnvironmentMarker(a->spec);
    if (!marker.empty()) to_sweep_.push_back(std::move(marker));
  }
  a->result.ended_at = WallNow();
  a->result.log_error = a->log.error();
  events->finished.push_back(std::move(a->result));
  if (options_.return_specs) events->done_specs.push_back(std::move(a->spec));
  auto it = std::find_if(attempts_.begin(), attempts_.end(),
                         [a](const std::unique_ptr<Attempt>& p) { return p.get() == a; });
  std::swap(*it, attempts_.back());
  attempts_.pop_back();
}

// One scan of /proc for all the attempts stopped since the last one.
void AttemptSet::SweepEscapees() {
  KillByEnvironment(to_sweep_);
  to_sweep_.clear();
}

void AttemptSet::FireDeadlines(Micros now) {
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

Micros AttemptSet::NextDeadline() const {
  Micros next = kNever;
  for (const auto& a : attempts_) next = std::min({next, a->deadline, a->kill_at});
  return next;
}

// First rung of the ladder: SIGTERM now, SIGKILL after the grace period.
void AttemptSet::BeginStop(Attempt* a, Micros now) {
  a->deadline = kNever;
  if (a->kill_at != kNever) return;  // already stopping
  ::kill(-a->proc.pid, SIGTERM);
  a->kill_at = now + std::max<Micros>(0, a->spec.kill_grace);
}

void AttemptSet::Cancel(uint64_t token, bool now) {
  for (auto& a : attempts_) {
    if (a->spec.token != token) continue;
    if (now) {
      ::kill(-a->proc.pid, SIGKILL);
      a->cancelled = true;
      a->deadline = kNever;
      a->kill_at = kNever;
    } else if (!a->cancelled) {
      a->cancelled = true;
      BeginStop(a.get(), MonotonicNow());
    }
  }
}

void AttemptSet::KillAll() {
  for (auto& a : attempts_) {
    ::kill(-a->proc.pid, SIGKILL);
    a->cancelled = true;
    a->deadline = kNever;
    a->kill_at = kNever;
  }
}

void AttemptSet::KillAndReapAll() {
  KillAll();
  for (auto& a : attempts_) {
    while (::waitpid(a->proc.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (a->proc.out_fd >= 0) ::close(a->proc.out_fd);
    if (a->proc.err_fd >= 0) ::close(a->proc.err_fd);
    a->proc.out_fd = a->proc.err_fd = -1;
  }
  attempts_.clear();
}

int AttemptSet::StepPid(uint64_t token) const {
  for (const auto& a : attempts_) {
    if (a->spec.token == token) return a->proc.pid;
  }
  return 0;
}

AttemptSet::Attempt* AttemptSet::FindByPid(int pid) {
  for (auto& a : attempts_) {
    if (a->proc.pid == pid) return a.get();
  }
  return nullptr;
}

}  // namespace relay::exec
