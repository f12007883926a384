// Private to keeper: the two halves StartKeeper joins with a socket pair.
#pragma once

#include <memory>
#include <string>

#include "exec/runner.h"

namespace relay::keeper {

// The keeper's life, in the process StartKeeper forked: serves `relay_fd`
// (its end of the socket pair) and adopters on `listen_fd` (bound to the
// rendezvous name), and _exits when no relay needs it any more. Sets up the
// process first (session, name, subreaper, descriptors, signals).
[[noreturn]] void RunKeeper(int relay_fd, int listen_fd);

// The runner relay uses: a client of the keeper at the other end of `fd`.
// Installs relay's signal handling (exec/signals_posix.h).
std::unique_ptr<exec::Runner> NewKeeperRunner(int fd);

}  // namespace relay::keeper
