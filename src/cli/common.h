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

// Resolves RUN ("last", a prefix or an id) or fails with a message.
Result<std::string> ResolveRun(store::Store& store, const std::string& ref);

// The note `show` and `rerun` give when the pipeline file on disk is not
// the definition the run keeps; "" when it is.
std::string DefinitionDrift(const store::RunRow& run);

}  // namespace relay::cli
