// keeper: the process that runs relay's attempts and outlives relay.
//
// relay forks one keeper at start-up. The keeper spawns each attempt's
// steps, writes their logs, applies timeouts, reaps them and keeps each
// result until relay acknowledges it (after committing it). When relay
// dies, the keeper goes on: it finishes the attempts, writes an exit record
// beside each log for results nobody took, and answers a relay that starts
// later and adopts them (exec::Runner::Adopt). It exits once no relay needs
// it. Mechanism, protocol and failure cases: docs/architecture.md, "The
// keeper".
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "exec/runner.h"

namespace relay::keeper {

struct KeeperOptions {
  std::string owner_id;  // relay's exec::SelfOwnerId(): names the keeper's rendezvous socket
};

// Forks the keeper and returns the exec::Runner that talks to it.
// REQUIRES: the calling process has exactly one thread. kIo when it cannot start.
//
// The runner behaves as exec::NewPosixRunner()'s (same signals reported by
// Wait, same process-wide signal handling, one runner per process), except:
// Start returns pid 0 (the keeper reports each step's process through
// Wait's `started`, possibly together with the attempt's end); destroying
// the runner kills nothing (attempts still running are adopted later, or
// end with an exit record); a keeper that dies makes every attempt it held
// finish with keeper_lost.
Result<std::unique_ptr<exec::Runner>> StartKeeper(const KeeperOptions& options);

}  // namespace relay::keeper
