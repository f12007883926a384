// What every subcommand shares: where the store is, how to open it, how an
// error becomes a message and an exit status.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "store/store.h"

namespace relay::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInfra = 3;

struct GlobalOptions {
  std::string store;            // --store, else $RELAY_STORE, else .relay/relay.db
  std::string durability;       // "", "normal" or "power"
  std::string output = "text";  // --output text|json
};

// The store path after applying the defaults. An empty RELAY_STORE counts as
// unset; an empty --store is refused in dispatch.cc before any command runs.
std::string StorePath(const GlobalOptions& g);

Result<std::unique_ptr<store::Store>> OpenStoreFor(const GlobalOptions& g, bool create);

// Prints "relay: <message>" to stderr and returns the exit status for it.
int Fail(const Status& status);
int ExitCodeFor(const Status& status);

// Resolves RUN ("last", a prefix or an id) or fails with a message. "last"
// is the newest run that is not a sub-pipeline's (its top run).
Result<std::string> ResolveRun(store::Store& store, const std::string& ref);

// What a follower (`logs -f`, `events -f`) makes of a run once it has shown
// what the run had so far. `run` must have been read before that was read:
// a run final there has nothing more to show (kEnded). A run whose relay
// seems gone is read again before it is called stopped, because a relay
// commits its run's end before it exits: a run that ended in between is
// kEnded too. Only a run still not final with no live owner is kStopped
// (`relay resume` finishes it); a run created moments ago is not, since
// its relay has yet to take it. *run is left as it was read last.
enum class FollowedRun { kGoingOn, kEnded, kStopped };
Result<FollowedRun> CheckFollowedRun(store::Store& store, store::RunRow* run);

// Tells the user that `run` is kStopped and how to finish it.
void SayRunStopped(const store::RunRow& run);

// The note `show` and `rerun` give when the pipeline file on disk is not
// the definition the run keeps; "" when it is.
std::string DefinitionDrift(const store::RunRow& run);

}  // namespace relay::cli
