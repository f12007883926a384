// Private to exec: finding processes by what their environment holds.
#pragma once

#include <string>
#include <vector>

namespace relay::exec {

// SIGKILLs every process (but this one) whose environment holds all the
// "NAME=value" entries of any one of `markers`: the processes of stopped
// attempts, including those that left the attempt's process group. One scan
// of /proc for all. Returns how many processes were signalled.
int KillByEnvironment(const std::vector<std::vector<std::string>>& markers);

}  // namespace relay::exec
