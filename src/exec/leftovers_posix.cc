// KillLeftovers: after relay itself died, its steps' processes live on. The
// process group catches most; the environment marker catches those that left
// the group (setsid, daemons), since children inherit the environment.
//
// A stored group id may be stale: once every member of the group has exited,
// the kernel may give the number to an unrelated process, which may lead a
// group of its own by that number. Such a leader carries no marker and
// started after the dead relay stopped; it and its group are left alone.

#include "exec/leftovers_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "exec/runner.h"

namespace relay::exec {
namespace {

// Reads a small /proc file whole; "" when the process is gone or not ours.
std::string ReadProcFile(const char* path) {
  std::string out;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

struct ProcStat {
  char state = 0;  // 'Z' for a zombie: dead already, nothing to kill
  int pgrp = -1;
  unsigned long long start_ticks = 0;  // since boot, in clock ticks
};

// Fields 3, 5 and 22 of /proc/PID/stat; the command name (field 2) may hold
// spaces and parentheses, so parsing starts after its last ')'.
ProcStat ReadStat(const std::string& pid) {
  ProcStat st;
  std::string text = ReadProcFile(("/proc/" + pid + "/stat").c_str());
  size_t close = text.rfind(')');
  int ppid = 0;
  if (close == std::string::npos ||
      std::sscanf(text.c_str() + close + 1,
                  " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                  &st.state, &ppid, &st.pgrp, &st.start_ticks) != 4) {
    return ProcStat();
  }
  return st;
}

// When a process started, as wall-clock micros (boot time has 1 s
// resolution; callers allow for it). 0 when unknown.
Micros StartedAt(const ProcStat& st) {
  std::string text = ReadProcFile("/proc/stat");
  size_t at = text.find("\nbtime ");
  long hz = ::sysconf(_SC_CLK_TCK);
  if (at == std::string::npos || hz <= 0 || st.start_ticks == 0) return 0;
  long long boot = std::atoll(text.c_str() + at + 7);
  return boot * kSecond + static_cast<Micros>(st.start_ticks) * kSecond / hz;
}

// Calls f with each "NAME=value" of a process's environment until it
// returns false.
template <typename F>
void ForEachVar(const std::string& pid, F f) {
  std::string env = ReadProcFile(("/proc/" + pid + "/environ").c_str());
  std::string_view rest = env;
  while (!rest.empty()) {
    size_t end = rest.find('\0');
    if (!f(rest.substr(0, end)) || end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
}

bool EnvironHas(const std::string& pid, std::string_view marker) {
  bool found = false;
  ForEachVar(pid, [&](std::string_view var) { return !(found = var == marker); });
  return found;
}

// Whether the process's environment holds `marker` and, when `tasks` is not
// empty, names one of them as RELAY_TASK.
bool EnvironMatches(const std::string& pid, std::string_view marker,
                    const std::vector<std::string>& tasks) {
  bool marked = false, task_ok = tasks.empty();
  constexpr std::string_view kTask = "RELAY_TASK=";
  ForEachVar(pid, [&](std::string_view var) {
    if (var == marker) marked = true;
    if (!task_ok && var.substr(0, kTask.size()) == kTask) {
      std::string_view name = var.substr(kTask.size());
      task_ok = std::find(tasks.begin(), tasks.end(), name) != tasks.end();
    }
    return true;
  });
  return marked && task_ok;
}

// Whether the environment holds every entry of one of `markers`.
bool EnvironHasAll(const std::string& pid, const std::vector<std::vector<std::string>>& markers) {
  std::vector<std::string> present;  // the variables that some marker names
  ForEachVar(pid, [&](std::string_view var) {
    for (const std::vector<std::string>& marker : markers) {
      if (std::find(marker.begin(), marker.end(), var) != marker.end()) {
        present.emplace_back(var);
        break;
      }
    }
    return true;
  });
  for (const std::vector<std::string>& marker : markers) {
    bool all = !marker.empty();
    for (const std::string& entry : marker)
      all = all && std::find(present.begin(), present.end(), entry) != present.end();
    if (all) return true;
  }
  return false;
}

bool IsPid(const char* name) {
  if (*name == '\0') return false;
  for (const char* p = name; *p; ++p) {
    if (*p < '0' || *p > '9') return false;
  }
  return true;
}

// Whether process group `pgid`, if it exists, is the one a step of ours led.
bool GroupIsOurs(int pgid, const std::string& marker, Micros started_by) {
  const std::string leader = std::to_string(pgid);
  ProcStat st = ReadStat(leader);
  // The leader is gone: while any member lives the number cannot be reused,
  // so members are the step's. A live process with that number in another
  // group means no group by that number exists.
  if (st.state == 0 || st.state == 'Z') return true;
  if (st.pgrp != pgid) return false;
  if (EnvironHas(leader, marker)) return true;
  constexpr Micros kSlack = 2 * kSecond;  // boot time's resolution, and then some
  Micros started = StartedAt(st);
  return started_by == 0 || started == 0 || started <= started_by + kSlack;
}

// SIGKILLs each live process but this one for which ours(pid, stat) holds.
// Returns how many were signalled.
template <typename Pred>
int KillEach(Pred ours) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  const std::string self = std::to_string(::getpid());
  int killed = 0;
  while (dirent* entry = ::readdir(proc)) {
    if (!IsPid(entry->d_name) || entry->d_name == self) continue;
    const std::string pid = entry->d_name;
    ProcStat st = ReadStat(pid);
    if (st.state == 0 || st.state == 'Z') continue;
    if (ours(pid, st) && ::kill(std::atoi(pid.c_str()), SIGKILL) == 0) ++killed;
  }
  ::closedir(proc);
  return killed;
}

}  // namespace

int KillLeftovers(const Leftovers& l) {
  int pgid = l.pgid > 0 && GroupIsOurs(l.pgid, l.marker, l.started_by) ? l.pgid : 0;
  int killed = KillEach([&](const std::string& pid, const ProcStat& st) {
    return (pgid > 0 && st.pgrp == pgid) ||
           (l.scan_environ && EnvironMatches(pid, l.marker, l.tasks));
  });
  // Again for the group as a whole: a member may have forked during the scan.
  if (pgid > 0) ::kill(-pgid, SIGKILL);
  return killed;
}

int KillByEnvironment(const std::vector<std::vector<std::string>>& markers) {
  return KillEach(
      [&](const std::string& pid, const ProcStat&) { return EnvironHasAll(pid, markers); });
}

}  // namespace relay::exec
