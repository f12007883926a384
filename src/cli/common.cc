#include "cli/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/clock.h"
#include "base/file_util.h"
#include "events/sha256.h"
#include "exec/owner.h"
#include "state/run.h"

namespace relay::cli {

std::string StorePath(const GlobalOptions& g) {
  if (!g.store.empty()) return g.store;
  if (const char* env = std::getenv("RELAY_STORE"); env && *env) return env;
  return ".relay/relay.db";
}

namespace {

// Before SQLite creates a new store file, whose own error would only be
// "unable to open database file": the nearest existing ancestor of its
// directory must be a directory this user may write. Then creates the
// missing directories. Errors name the store and say what is wrong.
Status PrepareNewStore(const std::string& file) {
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  std::filesystem::path existing = dir.empty() ? "." : dir;
  struct stat st;
  while (::stat(existing.c_str(), &st) != 0) {
    int err = errno;
    if ((err != ENOENT && err != ENOTDIR) || existing == ".")  // "." gone: cwd was removed
      return Status::FromErrno("cannot create store " + file + ": " + existing.string(), err);
    existing = existing.has_parent_path() ? existing.parent_path() : ".";
  }
  if (!S_ISDIR(st.st_mode))
    return Status::Io("cannot create store " + file + ": " + existing.string() +
                      " is not a directory");
  // access() answers for this user; root may write anywhere.
  if (::access(existing.c_str(), W_OK) != 0)
    return Status::Io("cannot create store " + file + ": directory " + existing.string() +
                      " is not writable");
  if (!dir.empty()) {
    Status made = MakeDirs(dir.string());
    if (!made.ok())
      return Status(made.code(), "cannot create store " + file + ": " + made.message());
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<store::Store>> OpenStoreFor(const GlobalOptions& g, bool create) {
  store::OpenOptions options;
  options.create = create;
  options.owner_alive = [](const std::string& owner) {
    return exec::CheckOwner(owner) == exec::OwnerLiveness::kAlive;
  };
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
  std::string file = store::StoreFilePath(path);
  if (!file.empty()) {
    struct stat st;
    if (::stat(file.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode))
        return Status::Io("store " + file + " is a directory, not a store file (pass e.g. " +
                          (std::filesystem::path(file) / "relay.db").string() + ")");
    } else if (!create) {
      return Status::NotFound("no store at " + file +
                              " (run a pipeline first, or pass --store PATH)");
    } else {
      RELAY_RETURN_IF_ERROR(PrepareNewStore(file));
    }
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
  RELAY_ASSIGN_OR_RETURN(std::string id, store.ResolveRunId(ref));
  if (ref != "last") return id;
  // `last` is the run a user started last, not the newest sub-pipeline run
  // it made: from that child, its callers lead to the run that was started.
  for (int depth = 0; depth < 64; ++depth) {
    auto run = store.GetRun(id);
    if (!run.ok() || run->caller_run.empty()) break;
    id = run->caller_run;
  }
  return id;
}

namespace {

bool OwnerGone(const store::RunRow& run) {
  if (state::IsFinal(run.state)) return false;
  // A run that was just created has no owner until its relay takes it.
  if (run.state == state::RunState::kPending &&
      SystemClock::Get()->Now() - run.created_at < 10 * kSecond)
    return false;
  return run.owner.empty() || exec::CheckOwner(run.owner) == exec::OwnerLiveness::kDead;
}

}  // namespace

Result<FollowedRun> CheckFollowedRun(store::Store& store, store::RunRow* run) {
  if (state::IsFinal(run->state)) return FollowedRun::kEnded;
  if (!OwnerGone(*run)) return FollowedRun::kGoingOn;
  // Its owner was found gone after this read: read it again, so that the
  // end its relay committed before exiting is seen.
  RELAY_ASSIGN_OR_RETURN(*run, store.GetRun(run->id));
  if (state::IsFinal(run->state)) return FollowedRun::kEnded;
  return OwnerGone(*run) ? FollowedRun::kStopped : FollowedRun::kGoingOn;
}

void SayRunStopped(const store::RunRow& run) {
  std::fprintf(stderr,
               "relay: run %s is not running (its relay stopped); `relay resume %s` finishes it\n",
               run.id.c_str(), run.id.c_str());
}

std::string DefinitionDrift(const store::RunRow& run) {
  std::string file = run.file;
  if (!file.empty() && file[0] != '/') file = run.workdir + "/" + file;
  auto on_disk = ReadFile(file);
  if (!on_disk.ok())
    return "the pipeline file " + run.file + " is gone; the run uses its stored definition";
  if (events::Sha256Hex(*on_disk) != run.definition_hash)
    return "the pipeline file " + run.file +
           " changed since this run started; the run uses its stored definition";
  return "";
}

}  // namespace relay::cli
