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
  // A sub-pipeline's run: the run, and the index of its task instance, that
  // started it ("" and -1 for a run started by a person or a trigger).
  std::string caller_run;
  int32_t caller_index = -1;
  std::string created_by;    // who started it (the OS user; later the API token's name)
  std::string outputs_json;  // the pipeline's `outputs:` once the run is final ("{}" before)
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
  // The owner id of the relay that started the current attempt: its keeper
  // holds the attempt's processes (folded from the run's started/resumed
  // events, so it costs no task event anything).
  std::string started_by;
  std::string child_run;    // waiting_child and after: the sub-pipeline's run
  std::string approved_by;  // who approved it so far, comma-separated, in order
};

// What a task transition records besides its states, cause and reason: the
// fields of the task's row that it sets. ApplyTaskEffects
// (store/task_record.h) is the one definition of what each transition does
// to a row, used by the scheduler as it decides and by the ledger's replay.
struct TaskEffects {
  std::optional<int32_t> attempt;       // → running | waiting_child: its number (default: +1)
  std::optional<std::string> log;       // → running: the attempt's log; a reused result's log
  std::optional<Micros> ended_at;       // from running | waiting_child: when it ended (default: ts)
  std::optional<int> exit_code;         // from running (and a reused result)
  int signal = 0;                       // from running: the signal that killed it
  std::optional<Micros> due_at;         // → retry_wait; → waiting_approval with a timeout
  std::optional<std::string> owner;     // → claimed by a worker that is not the run's relay
  std::optional<Micros> lease_until;    // → claimed: the worker's lease
  std::optional<std::string> outputs;   // → succeeded: canonical JSON object
  std::optional<std::string> child;     // → waiting_child: the sub-pipeline's run id
  std::optional<std::string> approver;  // an approval (recorded or final): who
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
  TaskEffects effects;  // what it set in `row`, as recorded in the event
  events::DataBuilder data;
  Micros ts = 0;
};

// A run created by a commit, with its task instances (as CreateRun takes
// them): a sub-pipeline's run is created in the same transaction as the
// transition of the task that starts it, so neither exists without the
// other.
struct NewRun {
  RunRow run;
  std::vector<TaskRow> tasks;
};

// A request to the engine that owns a run, written by whoever asks (the
// CLI, the API, another relay): the requests inbox.
struct Request {
  int64_t id = 0;  // assigned by AddRequest: ascending in commit order
  std::string run_id;
  std::string kind;   // "cancel", "approve", "reject", "start"
  std::string task;   // approve/reject, or cancel of one task instance ("" = the run)
  std::string actor;  // who asks: the OS user, later the API token's name
  std::string comment;
  Micros created_at = 0;
  Micros done_at = 0;   // when the owning engine acted on it; 0 = not yet
  std::string outcome;  // what that did: "approved", "approved (1 of 2)", "refused: …"
};

struct RequestOutcome {
  int64_t id = 0;
  std::string outcome;
};

// A place in a concurrency group, held by a run (index -1) or one of its
// task instances.
struct GroupHolder {
  std::string run_id;
  int32_t index = -1;
  Micros since = 0;
};

// What AcquireGroup found.
struct GroupState {
  bool acquired = false;             // the holder has its place (now or already)
  std::vector<GroupHolder> holders;  // who holds the group (including this one, if acquired)
  int ahead = 0;                     // waiters queued before this one
};

// A place given back in the same transaction as the transition that ends it.
struct GroupRelease {
  std::string group;
  std::string run_id;
  int32_t index = -1;
};

// One event of the change feed: every committed event, of every run, at a
// global position that has no gaps and grows in commit order.
struct FeedEvent {
  int64_t pos = 0;
  events::Event event;
};

// Where a run's ledger head is anchored outside the database (the head file
// beside the store): the last seq and hash committed, as that file says.
struct HeadAnchor {
  int64_t seq = 0;   // 0: the file knows nothing of the run
  std::string hash;  // 64 hex digits
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

// Everything one engine loop wants to make durable, committed atomically.
struct Batch {
  Micros now = 0;                // event timestamp
  std::vector<NewRun> new_runs;  // created first, each with its `created` event
  // In order; each becomes one event. Several transitions of the same task
  // are allowed (queued → claimed → running) if each starts where the
  // previous one ended. Transitions of several runs may be mixed.
  std::vector<std::variant<RunTransition, TaskTransition>> transitions;
  std::vector<AttemptProcess> processes;
  std::vector<RequestOutcome> outcomes;  // requests acted on
  std::vector<GroupRelease> releases;    // a run that becomes final releases all its places
  bool empty() const {
    return new_runs.empty() && transitions.empty() && processes.empty() && outcomes.empty() &&
           releases.empty();
  }
  void clear() {
    new_runs.clear();
    transitions.clear();
    processes.clear();
    outcomes.clear();
    releases.clear();
  }
};

// Which run a failed Commit stumbled on, so that a caller driving many runs
// can take that one out and commit the others.
struct CommitError {
  std::string run_id;  // "" when the failure is not one run's (disk full, busy)
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
  // error nothing of the batch is written, and *error (if given) names the
  // run at fault when it is one run's. Another writer holding the store
  // longer than a short wait is kBusy: the caller retries (with back-off).
  virtual Status Commit(const Batch& batch, CommitError* error = nullptr) = 0;

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

  // The text of a definition stored with a run (a sub-pipeline's, by the
  // hash its parent's options record). kNotFound when there is none.
  virtual Result<std::string> GetDefinition(const std::string& hash) = 0;
  // Stores a definition by its hash (CreateRun stores the run's own).
  virtual Status PutDefinition(const std::string& text) = 0;
  // The runs a run started as sub-pipelines, oldest first.
  virtual Result<std::vector<RunRow>> ChildRuns(const std::string& run_id) = 0;

  // The change feed: events with pos > after, in order, at most `limit`.
  virtual Result<std::vector<FeedEvent>> ReadFeed(int64_t after, int limit) = 0;
  // The position of the last committed event (0: none).
  virtual Result<int64_t> FeedHead() = 0;

  // The requests inbox. AddRequest assigns Request::id and created_at (if
  // 0); a cancel also sets the run's cancel_requested. kNotFound when the
  // run does not exist.
  virtual Result<int64_t> AddRequest(Request request) = 0;
  // Requests with id > after, in order, at most `limit`.
  virtual Result<std::vector<Request>> ReadRequests(int64_t after, int limit) = 0;
  virtual Result<Request> GetRequest(int64_t id) = 0;

  // Asks the owner of a run to cancel it (a request, not a transition).
  virtual Status RequestCancel(const std::string& run_id) = 0;
  virtual Result<bool> CancelRequested(const std::string& run_id) = 0;

  // True when another connection committed something, or a request was
  // added through this one, since the last call (cheap: no table is read
  // when nothing changed). The first call is true.
  virtual Result<bool> ChangedElsewhere() = 0;

  // Sets the run's owner to new_owner if it is currently expected_owner
  // (compare-and-set); kConflict otherwise. Also sets heartbeat_at = now.
  virtual Status TakeOwnership(const std::string& run_id, const std::string& expected_owner,
                               const std::string& new_owner, Micros now) = 0;
  // Records that `owner` is alive: the run's heartbeat (if it owns the run)
  // and the leases of the tasks it claimed with a lease are extended to
  // lease_until. kConflict if it owns neither.
  virtual Status Heartbeat(const std::string& run_id, const std::string& owner, Micros now,
                           Micros lease_until) = 0;
  // The same for every run `owner` owns, in one transaction (an engine's
  // heartbeat, whatever the number of its runs). Returns how many it owns.
  virtual Result<int> HeartbeatOwner(const std::string& owner, Micros now) = 0;

  // Takes a place in concurrency group `group` for `holder` if fewer than
  // `limit` hold it and no earlier waiter is queued; otherwise queues the
  // holder (once; in order of first asking) and says who holds the group.
  // Idempotent: a holder that already holds its place gets it again. Places
  // are given back by Batch::releases and when their run becomes final.
  virtual Result<GroupState> AcquireGroup(const std::string& group, int limit,
                                          const GroupHolder& holder) = 0;

  // The head of a run's chain as the head file beside the store recorded it
  // (the anchor `relay ledger verify` compares the ledger with).
  virtual Result<HeadAnchor> GetHeadAnchor(const std::string& run_id) = 0;

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
