// Private to keeper: how a relay finds the keeper of another (dead) relay.
// Each keeper listens on the abstract unix socket "\0relay-keeper/<owner
// id>" (an owner id too long for a socket address is replaced by a hash of
// it). Abstract names need no file beside the store and vanish with the
// keeper; they are per network namespace, as owner ids are per host.
// Both ends check SO_PEERCRED: only a process of the same user is served.
#pragma once

#include <string>

#include "base/status.h"

namespace relay::keeper {

// The socket address's name, starting with its NUL byte.
std::string RendezvousName(const std::string& owner_id);

// A socket bound to the owner's name, not yet listening (the keeper calls
// Listen itself, so that SO_PEERCRED names it rather than relay). kIo when
// the name is taken: a keeper of that owner runs already.
Result<int> BindRendezvous(const std::string& owner_id);
Status Listen(int fd);

// Connects to the keeper of `owner_id`. kNotFound when none listens;
// kIo when it answers but runs as another user (it is not ours to ask).
// *keeper_pid (optional) is the keeper's process id.
Result<int> ConnectToKeeper(const std::string& owner_id, int* keeper_pid = nullptr);

// Whether the process at the other end of a connected socket runs as this
// process's user.
bool PeerIsSameUser(int fd, int* peer_pid = nullptr);

}  // namespace relay::keeper
