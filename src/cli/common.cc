#include "cli/common.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace relay::cli {

std::string StorePath(const GlobalOptions& g) {
  if (!g.store.empty()) return g.store;
  if (const char* env = std::getenv("RELAY_STORE"); env && *env) return env;
  return ".relay/relay.db";
}

std::string LogDir(const GlobalOptions& g) {
  std::string path = StorePath(g);
  if (path.rfind("sqlite:", 0) == 0) path = path.substr(7);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return (std::filesystem::absolute(dir) / "logs").lexically_normal().string();
}

Result<std::unique_ptr<store::Store>> OpenStoreFor(const GlobalOptions& g, bool create) {
  store::OpenOptions options;
  options.create = create;
  std::string durability = g.durability;
  if (durability.empty()) {
    if (const char* env = std::getenv("RELAY_DURABILITY"); env && *env) durability = env;
  }
  if (durability == "power")
    options.durability = store::Durability::kPower;
  else if (durability == "normal")
    options.durability = store::Durability::kNormal;
  else if (!durability.empty())
    return Status::Invalid("unknown durability '" + durability + "': use normal or power");
  if (const char* kill = std::getenv("RELAY_TEST_KILL_AFTER_COMMIT"); kill && *kill)
    options.test_kill_after_commit = std::atoi(kill);
  std::string path = StorePath(g);
  if (!create && path.find("://") == std::string::npos) {
    std::string file = path.rfind("sqlite:", 0) == 0 ? path.substr(7) : path;
    if (!std::filesystem::exists(file))
      return Status::NotFound("no store at " + file +
                              " (run a pipeline first, or pass --store PATH)");
  }
  return store::OpenStore(path, options);
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (status.IsInfrastructure()) return kExitInfra;
  return kExitUsage;
}

int Fail(const Status& status) {
  // An empty message means the details (diagnostics) were printed already.
  if (!status.message().empty()) std::fprintf(stderr, "relay: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

Result<std::string> ResolveRun(store::Store& store, const std::string& ref) {
  return store.ResolveRunId(ref);
}

}  // namespace relay::cli
