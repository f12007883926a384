#include "cli/cmd_inspect.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/duration.h"
#include "base/file_util.h"
#include "cli/pipeline_input.h"
#include "events/sha256.h"
#include "exec/owner.h"
#include "store/task_record.h"
#include "ui/table.h"

namespace relay::cli {
namespace {

std::string Time(Micros t) { return t ? FormatTimestamp(t) : "-"; }

std::string Took(Micros start, Micros end) {
  if (!start) return "-";
  if (!end) return FormatDuration(SystemClock::Get()->Now() - start) + "…";
  return FormatDuration(end - start);
}

nlohmann::json TaskJson(const store::TaskRow& t) {
  nlohmann::json j = {
      {"index", t.index},
      {"name", t.name},
      {"task", t.task},
      {"state", std::string(state::Name(t.state))},
      {"attempts", t.attempts},
      {"cause", t.cause},
      {"reason", t.reason},
      {"exit_code", t.exit_code ? nlohmann::json(*t.exit_code) : nlohmann::json(nullptr)},
      {"signal", t.signal},
      {"started_at",
       t.started_at ? nlohmann::json(FormatTimestamp(t.started_at)) : nlohmann::json(nullptr)},
      {"ended_at",
       t.ended_at ? nlohmann::json(FormatTimestamp(t.ended_at)) : nlohmann::json(nullptr)},
      {"duration_ms", t.started_at && t.ended_at ? (t.ended_at - t.started_at) / 1000 : 0},
      // Logs are created on first output: a task that printed nothing has none.
      {"log", t.log_path.empty() || !FileExists(t.log_path) ? nlohmann::json(nullptr)
                                                            : nlohmann::json(t.log_path)},
      {"outputs",
       nlohmann::json::parse(t.outputs_json.empty() ? "{}" : t.outputs_json, nullptr, false)},
      {"matrix",
       nlohmann::json::parse(t.matrix_json.empty() ? "{}" : t.matrix_json, nullptr, false)}};
  return j;
}

nlohmann::json RunJson(const store::RunRow& r) {
  return {
      {"id", r.id},
      {"pipeline", r.pipeline},
      {"file", r.file},
      {"status", std::string(state::Name(r.state))},
      {"reason", r.reason},
      {"created_at", Time(r.created_at)},
      {"started_at",
       r.started_at ? nlohmann::json(FormatTimestamp(r.started_at)) : nlohmann::json(nullptr)},
      {"ended_at",
       r.ended_at ? nlohmann::json(FormatTimestamp(r.ended_at)) : nlohmann::json(nullptr)},
      {"parent_run", r.parent_run.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.parent_run)},
      {"definition_hash", r.definition_hash}};
}

// For people and tools alike: whatever bytes a stored field holds (a
// reason quoting a step's output), the output is JSON, with U+FFFD for
// bytes that are not UTF-8, rather than an exception.
std::string PrettyJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A run that is not final but whose relay is gone will not change any more
// until someone resumes it: followers should stop instead of waiting forever.
bool Abandoned(const store::RunRow& run) {
  if (state::IsFinal(run.state)) return false;
  // A run that was just created has no owner until its relay takes it.
  if (run.state == state::RunState::kPending &&
      SystemClock::Get()->Now() - run.created_at < 10 * kSecond)
    return false;
  return run.owner.empty() || exec::CheckOwner(run.owner) == exec::OwnerLiveness::kDead;
}

int SayAbandoned(const store::RunRow& run) {
  std::fprintf(stderr,
               "relay: run %s is not running (its relay stopped); `relay resume %s` finishes it\n",
               run.id.c_str(), run.id.c_str());
  return kExitOk;
}

template <typename F>
int WithStore(const GlobalOptions& g, F&& f) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  return f(**store);
}

}  // namespace

int CmdRuns(const GlobalOptions& g, int limit) {
  auto store = OpenStoreFor(g, /*create=*/false);
  const char* env_store = std::getenv("RELAY_STORE");
  const bool default_store = g.store.empty() && !(env_store && *env_store);
  if (!store.ok() && store.status().code() == Code::kNotFound && default_store) {
    // No store yet is no runs yet: `relay runs -o json | jq` works in a
    // fresh checkout, as `docker ps` does with no containers. A store named
    // by --store or RELAY_STORE that is not there is more likely a typo.
    std::printf(g.output == "json" ? "[]\n" : "no runs yet\n");
    return kExitOk;
  }
  if (!store.ok()) return Fail(store.status());
  {
    store::Store& s = **store;
    auto runs = s.ListRuns(limit);
    if (!runs.ok()) return Fail(runs.status());
    if (g.output == "json") {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *runs) arr.push_back(RunJson(r));
      std::printf("%s\n", PrettyJson(arr).c_str());
      return kExitOk;
    }
    if (runs->empty()) {
      std::printf("no runs yet\n");
      return kExitOk;
    }
    ui::Table table({"RUN", "PIPELINE", "STATUS", "STARTED", "DURATION", "REASON"});
    for (const auto& r : *runs)
      table.Add({r.id, r.pipeline, std::string(state::Name(r.state)), Time(r.started_at),
                 Took(r.started_at, r.ended_at), r.reason});
    std::fputs(table.Render().c_str(), stdout);
    return kExitOk;
  }
}

int CmdShow(const GlobalOptions& g, const std::string& ref) {
  return WithStore(g, [&](store::Store& s) {
    auto id = ResolveRun(s, ref);
    if (!id.ok()) return Fail(id.status());
    auto run = s.GetRun(*id);
    if (!run.ok()) return Fail(run.status());
    auto tasks = s.GetTasks(*id);
    if (!tasks.ok()) return Fail(tasks.status());
    // A run keeps the definition it started with; say when the file moved on.
    std::string drift = DefinitionDrift(*run);
    if (g.output == "json") {
      nlohmann::json j = RunJson(*run);
      j["definition_changed"] = !drift.empty();
      j["tasks"] = nlohmann::json::array();
      for (const auto& t : *tasks) j["tasks"].push_back(TaskJson(t));
      std::printf("%s\n", PrettyJson(j).c_str());
      return kExitOk;
    }
    std::printf(
        "run       %s\npipeline  %s (%s)\nstatus    %s%s\nstarted   %s\nended     %s\nduration  "
        "%s\n",
        run->id.c_str(), run->pipeline.c_str(), run->file.c_str(),
        std::string(state::Name(run->state)).c_str(),
        run->reason.empty() ? "" : (" — " + run->reason).c_str(), Time(run->started_at).c_str(),
        Time(run->ended_at).c_str(), Took(run->started_at, run->ended_at).c_str());
    if (!run->parent_run.empty()) std::printf("rerun of  %s\n", run->parent_run.c_str());
    if (!drift.empty()) std::printf("note      %s\n", drift.c_str());
    std::printf("\n");
    ui::Table table({"TASK", "STATE", "ATTEMPTS", "DURATION", "EXIT", "REASON", "LOG"});
    for (const auto& t : *tasks) {
      std::string exit = t.signal      ? "signal " + std::to_string(t.signal)
                         : t.exit_code ? std::to_string(*t.exit_code)
                                       : "-";
      table.Add({t.name, std::string(state::Name(t.state)), std::to_string(t.attempts),
                 Took(t.started_at, t.ended_at), exit, t.reason,
                 t.log_path.empty() || !FileExists(t.log_path) ? "-" : t.log_path});
    }
    std::fputs(table.Render().c_str(), stdout);
    return kExitOk;
  });
}

int CmdEvents(const GlobalOptions& g, const std::string& ref, bool jsonl, bool follow) {
  return WithStore(g, [&](store::Store& s) {
    auto id = ResolveRun(s, ref);
    if (!id.ok()) return Fail(id.status());
    int64_t after = 0;
    bool damaged = false;
    // Printed as stored, but never passed off as verified: a broken chain
    // is said on stderr, once, and the exit code is 1.
    events::ChainChecker chain(*id);
    bool told = false;
    auto tell = [&] {
      if (told || chain.result().ok) return;
      told = true;
      std::fflush(stdout);
      std::fprintf(stderr, "relay: the ledger of run %s does not verify: %s\n", id->c_str(),
                   chain.result().message.c_str());
    };
    while (true) {
      auto events = s.GetEvents(*id, after);
      if (!events.ok()) return Fail(events.status());
      for (const auto& e : *events) {
        after = e.seq;
        chain.Next(e);
        damaged = damaged || !e.malformed.empty() || !chain.result().ok;
        if (jsonl || g.output == "json") {
          std::printf("%s\n", events::ToJsonLine(e).c_str());
        } else if (!e.malformed.empty()) {
          std::printf("%5lld  (cannot be read: %s; run `relay ledger verify %s`)\n",
                      static_cast<long long>(e.seq), e.malformed.c_str(), id->c_str());
        } else {
          std::string subject = e.kind == "run" ? "run" : e.subject;
          std::printf("%5lld  %s  %-24s %s → %s  (%s)%s\n", static_cast<long long>(e.seq),
                      FormatTimestamp(e.ts).c_str(), subject.c_str(),
                      e.from.empty() ? "·" : e.from.c_str(), e.to.c_str(), e.cause.c_str(),
                      e.reason.empty() ? "" : ("  " + e.reason).c_str());
        }
      }
      std::fflush(stdout);
      tell();
      // Like `relay ledger verify`: a ledger that cannot be read is a failure.
      if (!follow) return damaged ? kExitFailed : kExitOk;
      auto run = s.GetRun(*id);
      if (!run.ok()) return Fail(run.status());
      if (state::IsFinal(run->state) && events->empty()) return damaged ? kExitFailed : kExitOk;
      if (Abandoned(*run) && events->empty()) return SayAbandoned(*run);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

namespace {

// What is wrong with one run's ledger, or with what its rows say beside it;
// "" when nothing is. The chain first; then what the chain vouches for.
std::string VerifyRun(store::Store& s, const std::string& id,
                      const std::vector<events::Event>& events) {
  events::VerifyResult v = events::VerifyChain(events, id);
  if (!v.ok) return v.message;
  // The store's own reads check the definition, inputs and options against
  // the hashes the created event records, and fold every task event onto an
  // instance of the run, from the state it is in.
  auto run = s.GetRun(id);
  if (!run.ok()) return run.status().message();
  auto tasks = s.GetTasks(id);
  if (!tasks.ok()) return tasks.status().message();
  plan::Selection selection;
  auto planned = PlanOfRun(*run, &selection);
  if (!planned.ok()) return "run " + id + ": " + planned.status().message();
  if (Status same = CheckRowsMatchPlan(id, *tasks, (*planned)->plan); !same.ok())
    return same.message();
  // Also here, whatever the store's reads start from.
  if (!events.empty()) {
    std::string wrong = store::CreatedEventMismatch(events[0], run->definition_hash,
                                                    run->inputs_json, run->options_json);
    if (!wrong.empty()) return "run " + id + ": " + wrong;
  }
  const events::Event* last_run = nullptr;
  for (const auto& e : events)
    if (e.kind == "run") last_run = &e;
  if (last_run && last_run->to != state::Name(run->state)) {
    return "run " + id + ": its status is " + std::string(state::Name(run->state)) +
           " but its last run event (" + std::to_string(last_run->seq) + ") says " + last_run->to +
           " \u2014 the run's row was changed outside relay";
  }
  return "";
}

}  // namespace

int CmdLedgerVerify(const GlobalOptions& g, const std::string& ref) {
  return WithStore(g, [&](store::Store& s) {
    std::vector<std::string> ids;
    if (!ref.empty()) {
      auto id = ResolveRun(s, ref);
      if (!id.ok()) return Fail(id.status());
      ids.push_back(*id);
    } else {
      auto runs = s.ListRuns(0);
      if (!runs.ok()) return Fail(runs.status());
      for (const auto& r : *runs) ids.push_back(r.id);
    }
    int64_t total = 0;
    size_t broken = 0;
    for (const auto& id : ids) {
      auto events = s.GetEvents(id, 0);
      if (!events.ok() && events.status().code() != Code::kCorrupt) return Fail(events.status());
      std::string problem = events.ok() ? VerifyRun(s, id, *events) : events.status().message();
      if (!problem.empty()) {
        std::printf("ledger BROKEN: %s\n", problem.c_str());
        ++broken;
        continue;
      }
      total += static_cast<int64_t>(events->size());
    }
    if (broken > 0) {
      std::printf("%zu of %zu run%s broken\n", broken, ids.size(), ids.size() == 1 ? "" : "s");
      return kExitFailed;
    }
    std::printf("ledger ok: %lld events in %zu run%s verified\n", static_cast<long long>(total),
                ids.size(), ids.size() == 1 ? "" : "s");
    return kExitOk;
  });
}

int CmdConfigSet(const GlobalOptions& g, const std::string& key, const std::string& value) {
  if (key != "durability")
    return Fail(Status::Invalid("unknown setting '" + key + "': the settings are: durability"));
  if (value != "normal" && value != "power")
    return Fail(Status::Invalid("durability must be normal or power, not '" + value + "'"));
  auto store = OpenStoreFor(g, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  Status st = (*store)->SetSetting(key, value);
  if (!st.ok()) return Fail(st);
  std::printf("%s = %s (store %s)\n", key.c_str(), value.c_str(), (*store)->Describe().c_str());
  return kExitOk;
}

}  // namespace relay::cli
