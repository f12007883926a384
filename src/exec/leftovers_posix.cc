// KillLeftovers: after relay itself died, its steps' processes live on. The
// process group catches most; the environment marker catches those that left
// the group (setsid, daemons), since children inherit the environment.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

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
};

// Fields 3 and 5 of /proc/PID/stat; the command name (field 2) may hold
// spaces and parentheses, so parsing starts after its last ')'.
ProcStat ReadStat(const std::string& pid) {
  ProcStat st;
  std::string text = ReadProcFile(("/proc/" + pid + "/stat").c_str());
  size_t close = text.rfind(')');
  int ppid = 0;
  if (close == std::string::npos ||
      std::sscanf(text.c_str() + close + 1, " %c %d %d", &st.state, &ppid, &st.pgrp) != 3) {
    return ProcStat();
  }
  return st;
}

bool EnvironHas(const std::string& pid, std::string_view marker) {
  std::string env = ReadProcFile(("/proc/" + pid + "/environ").c_str());
  std::string_view rest = env;
  while (!rest.empty()) {
    size_t end = rest.find('\0');
    if (rest.substr(0, end) == marker) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
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

}  // namespace

int KillLeftovers(int pgid, const std::string& marker) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  const std::string self = std::to_string(::getpid());
  int killed = 0;
  while (dirent* entry = ::readdir(proc)) {
    if (!IsPid(entry->d_name) || entry->d_name == self) continue;
    const std::string pid = entry->d_name;
    ProcStat st = ReadStat(pid);
    if (st.state == 0 || st.state == 'Z') continue;
    bool ours = pgid > 0 && st.pgrp == pgid;
    if (!ours && !marker.empty()) ours = EnvironHas(pid, marker);
    if (ours && ::kill(std::atoi(pid.c_str()), SIGKILL) == 0) ++killed;
  }
  ::closedir(proc);
  // Again for the group as a whole: a member may have forked during the scan.
  if (pgid > 0) ::kill(-pgid, SIGKILL);
  return killed;
}

}  // namespace relay::exec
