// Owner ids name the relay process that runs a run: "HOST:PID:START", where
// START is the process's start time in clock ticks since boot (so a reused
// pid is not mistaken for the original owner).
#pragma once

#include <csignal>
#include <string>

namespace relay::exec {

std::string SelfOwnerId();

// The name of the user relay runs as (who started a run, who approved a
// task); "uid N" when the system has no name for it.
std::string CurrentUser();

enum class OwnerLiveness {
  kAlive,    // the process still exists on this host
  kDead,     // on this host and gone (or the pid now belongs to another process)
  kUnknown,  // another host: only heartbeats can tell
};

OwnerLiveness CheckOwner(const std::string& owner_id);

// "pid 1234 on host h" for messages.
std::string DescribeOwner(const std::string& owner_id);

// The signal by which one relay asks another to look at the store now (a
// cancel request was written). SIGURG because its default action is to be
// ignored: a process that is not a relay, or a relay that does not listen
// for it, is unharmed and is left to notice on its next poll.
inline constexpr int kPokeSignal = SIGURG;

// Pokes the relay `owner_id` names if it lives on this host. False when it
// does not, or is gone.
bool PokeOwner(const std::string& owner_id);

}  // namespace relay::exec
