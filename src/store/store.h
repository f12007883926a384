// store: where all state lives. One interface, several backends (SQLite now,
// PostgreSQL later); nothing here names a database library.
//
// Contract: every state change is a transition committed in one transaction
// with its event (hash-chained per run). Commit() folds a whole Batch — for
// example the success of one task and the start of its dependant — into a
// single transaction, so the scheduler pays one commit per loop, not one per
// transition. A task's row is what its events record (store/task_record.h):
// the ledger is the state, not a log beside it. Claims carry owner ids and
// leases so remote workers can claim queued work and a dead owner's work can
// be detected.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event.h"
#include "state/run.h"
#include "state/task.h"

namespace relay::store {

struct RunRow {
  std::string id;
  std::string pipeline;         // the pipeline's name
  std::string file;             // the pipeline file as given on the command line
  std::string workdir;          // absolute working directory of the run
  std::string definition;       // the file's text when the run was created (empty in ListRuns)
  std::string definition_hash;  // sha256 hex of definition ("" in CreateRun: computed)
  std::string inputs_json;      // resolved inputs, a JSON object
  std::string options_json;     // selection and flags the run was created with
  std::string parent_run;       // for `relay rerun`: the run it was made from
  state::RunState state = state::RunState::kPending;
  std::string reason;  // why it is in its state ("task 'deploy' failed")
  Micros created_at = 0;
  Micros started_at = 0;
  Micros ended_at = 0;
  std::string owner;        // id of the relay process running it ("" = none)
  Micros heartbeat_at = 0;  // last sign of life from the owner
  bool cancel_requested = false;
};

struct TaskRow {
  std::string run_id;
  int32_t index = 0;        // position in the plan (stable for the run)
  std::string name;         // instance name, e.g. "test[shard=2]"
  std::string task;         // the task's name in the pipeline
  std::string matrix_json;  // the instance's matrix values ("{}" if none)
  state::TaskState state = state::TaskState::kPending;
  int32_t attempts = 0;          // attempts started so far
  std::string cause;             // cause of the last transition
  std::string reason;            // human explanation of the last transition
  std::optional<int> exit_code;  // of the last finished attempt
  int signal = 0;                // that killed the last attempt, or 0
  Micros due_at = 0;             // retry_wait: when it becomes queued again
  std::string owner;             // worker holding the claim
  Micros lease_until = 0;
  Micros started_at = 0;  // of the current or last attempt
  Micros ended_at = 0;
  std::string log_path;      // of the current or last attempt
  std::string outputs_json;  // "{}" until the task writes outputs
  int pid = 0;               // of the current attempt's process, if known
  int pgid = 0;
};

// A transition's event is written at `ts` (0: the batch's `now`). `data`
// holds facts beyond the row ("error", "from_run"); the store adds the row
// fields that the transition records (store/task_record.h).
struct RunTransition {
  RunRow row;  // the row after the transition (row.state is the new state)
  state::RunState from;
  std::string cause;
  events::DataBuilder data;
  Micros ts = 0;
};

// For a task, the store keeps what the ledger records and nothing else:
// GetTasks returns the rows as rebuilt from the recorded events (plus the
// processes below), so a field a transition does not record keeps its
// earlier value whatever `row` says. store/task_record.h lists, per
// transition, the fields that are recorded.
struct TaskTransition {
  TaskRow row;  // the row after the transition (row.state is the new state)
  state::TaskState from;
  std::string cause;
  events::DataBuilder data;
  Micros ts = 0;
};

// The process group of a running attempt: not a state change, so not an
// event, but what `relay resume` kills if the relay that started it died.
// GetTasks shows it on the task's row while `attempt` is the row's attempt.
struct AttemptProcess {
  std::string run_id;
  int32_t index = 0;
  int32_t attempt = 0;
  int pid = 0;
  int pgid = 0;
};

// Everything one scheduler loop wants to make durable, committed atomically.
struct Batch {
  Micros now = 0;  // event timestamp
  // In order; each becomes one event. Several transitions of the same task
  // are allowed (queued → claimed → running) if each starts where the
  // previous one ended.
  std::vector<std::variant<RunTransition, TaskTransition>> transitions;
  std::vector<AttemptProcess> processes;
  bool empty() const { return transitions.empty() && processes.empty(); }
};

enum class Durability {
  kDefault,  // the store's own setting (normal unless set to power)
  kNormal,   // a commit survives kill -9 of relay (SQLite WAL, synchronous=NORMAL)
  kPower,    // a commit also survives power loss (synchronous=FULL)
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts the run (state pending), its task instances (pending; only
  // their run_id, index, name, task and matrix_json are read) and the run's
  // first event ("created"), in one transaction.
  virtual Status CreateRun(const RunRow& run, const std::vector<TaskRow>& tasks, Micros now) = 0;

  // Applies a batch in one transaction. Each transition must be in its state
  // table (else kInternal) and its `from` must be the stored state (else
  // kConflict); a task or run that does not exist is kNotFound. On any
  // error nothing of the batch is written.
  virtual Status Commit(const Batch& batch) = 0;

  virtual Result<RunRow> GetRun(const std::string& id) = 0;
  // Newest first, without definitions. limit <= 0: all.
  virtual Result<std::vector<RunRow>> ListRuns(int limit) = 0;
  // "last", a full id or an unambiguous prefix → the id. kNotFound or
  // kInvalid (ambiguous, naming the candidates).
  virtual Result<std::string> ResolveRunId(const std::string& ref) = 0;
  virtual Result<std::vector<TaskRow>> GetTasks(const std::string& run_id) = 0;
  // Events of a run with seq > after_seq, in order.
  virtual Result<std::vector<events::Event>> GetEvents(const std::string& run_id,
                                                       int64_t after_seq) = 0;

  // Asks the owner of a run to cancel it (a request, not a transition).
  virtual Status RequestCancel(const std::string& run_id) = 0;
  virtual Result<bool> CancelRequested(const std::string& run_id) = 0;

  // Sets the run's owner to new_owner if it is currently expected_owner
  // (compare-and-set); kConflict otherwise. Also sets heartbeat_at = now.
  virtual Status TakeOwnership(const std::string& run_id, const std::string& expected_owner,
                               const std::string& new_owner, Micros now) = 0;
  // Records that `owner` is alive: the run's heartbeat (if it owns the run)
  // and the leases of the tasks it claimed with a lease are extended to
  // lease_until. kConflict if it owns neither.
  virtual Status Heartbeat(const std::string& run_id, const std::string& owner, Micros now,
                           Micros lease_until) = 0;

  // For remote workers: claims up to `limit` queued instances of any running
  // run (queued → claimed, with events), oldest run first, then by index.
  virtual Result<std::vector<TaskRow>> ClaimQueued(const std::string& owner, Micros now,
                                                   Micros lease_until, int limit) = 0;

  // Small per-store settings (e.g. "durability" = "power"); "" when unset.
  // SetSetting refuses a durability other than "normal"/"power" (kInvalid).
  virtual Result<std::string> GetSetting(const std::string& key) = 0;
  virtual Status SetSetting(const std::string& key, const std::string& value) = 0;

  // The location, for messages ("sqlite:.relay/relay.db").
  virtual std::string Describe() const = 0;
  // The absolute directory under which attempt logs of this store's runs go
  // (RUN/…, named by AttemptLogPath in store/task_record.h). For SQLite: a
  // `logs` directory next to the file.
  virtual std::string LogDir() const = 0;
};

struct OpenOptions {
  Durability durability = Durability::kDefault;
  bool create = true;  // create the file (and its directory) if missing
  // Open for reading only. Also chosen by itself for a store this user may
  // not write (file or directory): inspecting it then works, writing fails
  // with a message saying why.
  bool read_only = false;
  // Whether the relay an owner id names is still alive (exec::CheckOwner).
  // When set, a store made by an older relay is not upgraded while one of
  // its runs is owned by a live relay: that relay would lose the tables it
  // writes (kBusy, nothing changed).
  std::function<bool(const std::string& owner)> owner_alive;
  // Test-only: kill the process with SIGKILL right after the Nth successful
  // commit (CreateRun counts). 0 disables. Set by RELAY_TEST_KILL_AFTER_COMMIT.
  int test_kill_after_commit = 0;
};

// Opens "sqlite:PATH" or a plain PATH. Errors name the file: locked (kBusy),
// corrupt or not a database (kCorrupt), made by a newer relay (kTooNew),
// unreadable (kIo), disk full (kFull).
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const OpenOptions& options);

// The file a store URL names ("sqlite:PATH", "sqlite://PATH" or a plain
// PATH); "" for a server URL (postgres://…), which names no file.
std::string StoreFilePath(const std::string& url);

}  // namespace relay::store
