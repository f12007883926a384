// Making a run: validate the pipeline, resolve and type its inputs, plan it,
// record what it is made of (its definition and its sub-pipelines'), and —
// for a rerun — decide which results of the earlier run are reused. One
// library function for every caller: the CLI, the API and the triggers.
// A pipeline that fails here writes nothing.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "plan/dag.h"
#include "sched/run_host.h"
#include "spec/diagnostic.h"
#include "store/store.h"

namespace relay::engine {

struct RunRequest {
  std::string file;                 // the pipeline file, as the user named it
  std::vector<std::string> inputs;  // "key=value", typed as the pipeline's inputs say
  plan::Selection selection;        // --only / --from / --until
  std::string workdir;              // absolute; "" = the current directory
  std::string actor;                // who starts it; "" = the OS user
  std::string owner;                // the engine that will drive it ("" = none yet)
};

// Validates and plans the file (sub-pipelines included); nothing is
// written. kInvalid when it does not validate: *diagnostics then holds every
// error, each naming its own file, for the caller to print (empty when the
// problem is in the request itself, e.g. an unknown input: see the message).
Result<sched::CreatedRun> PrepareRun(const RunRequest& request,
                                     std::vector<spec::Diagnostic>* diagnostics);

struct RerunRequest {
  std::string run_id;   // a final run
  bool failed = false;  // rerun what did not succeed, and what depends on it
  std::string from;     // or this task and what depends on it
  std::string actor;
  std::string owner;
};

// A new run of a final run's stored definition and inputs, in which the
// instances that need no new work reuse the earlier results (the driver
// marks them succeeded, "reused", in its first commit). *reused counts them.
Result<sched::CreatedRun> PrepareRerun(store::Store* store, const RerunRequest& request,
                                       size_t* reused);

// Stores what a prepared run needs besides its own row: the definitions of
// its sub-pipelines (the run's row carries its own).
Status StoreDefinitions(store::Store* store, const sched::CreatedRun& run);

// PrepareRun, StoreDefinitions and Store::CreateRun, for a caller that does
// not drive the run itself (the API, a trigger): the run waits, pending, for
// an engine to start it. Returns its id.
Result<std::string> CreateRun(store::Store* store, const RunRequest& request,
                              std::vector<spec::Diagnostic>* diagnostics);

// The plan a final or stored run was made from, checked against its rows
// (a task list changed outside relay is not acted on).
Status CheckRowsMatchPlan(const std::string& run_id, const std::vector<store::TaskRow>& rows,
                          const plan::Plan& plan);

}  // namespace relay::engine
