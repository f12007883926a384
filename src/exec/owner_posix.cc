#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/strings.h"
#include "exec/owner.h"

namespace relay::exec {
namespace {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// Field 22 of /proc/PID/stat; the command name (field 2) may contain spaces
// and parentheses, so parse after the last ')'. A zombie (a killed relay
// nobody has reaped yet) yields "": it is as dead as a missing process.
std::string StartTime(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  if (close + 2 < stat.size() && (stat[close + 2] == 'Z' || stat[close + 2] == 'X')) return "";
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return field;
  }
  return "";
}

}  // namespace

std::string SelfOwnerId() {
  long pid = static_cast<long>(getpid());
  return HostName() + ":" + std::to_string(pid) + ":" + StartTime(pid);
}

std::string CurrentUser() {
  const uid_t uid = ::geteuid();
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr && pw.pw_name)
    return pw.pw_name;
  return "uid " + std::to_string(uid);
}

OwnerLiveness CheckOwner(const std::string& owner_id) {
  std::vector<std::string> parts = Split(owner_id, ':');
  if (parts.size() < 3) return OwnerLiveness::kDead;
  if (parts[0] != HostName()) return OwnerLiveness::kUnknown;
  long pid = std::strtol(parts[1].c_str(), nullptr, 10);
  if (pid <= 0) return OwnerLiveness::kDead;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return OwnerLiveness::kDead;
  std::string started = StartTime(pid);
  return !started.empty() && started == parts[2] ? OwnerLiveness::kAlive : OwnerLiveness::kDead;
}

bool PokeOwner(const std::string& owner_id) {
  if (CheckOwner(owner_id) != OwnerLiveness::kAlive) return false;
  long pid = std::strtol(Split(owner_id, ':')[1].c_str(), nullptr, 10);
  return ::kill(static_cast<pid_t>(pid), kPokeSignal) == 0;
}

std::string DescribeOwner(const std::string& owner_id) {
  std::vector<std::string> parts = Split(owner_id, ':');
  if (parts.size() < 3) return "'" + owner_id + "'";
  return "pid " + parts[1] + " on host " + parts[0];
}

}  // namespace relay::exec
