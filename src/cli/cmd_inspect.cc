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
#include "base/strings.h"
#include "cli/pipeline_input.h"
#include "engine/create_run.h"
#include "events/sha256.h"
#include "exec/owner.h"
#include "sched/stored_run.h"
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
  if (!t.child_run.empty()) j["child_run"] = t.child_run;
  if (!t.approved_by.empty()) j["approved_by"] = Split(t.approved_by, ',');
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
      {"caller_run", r.caller_run.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.caller_run)},
      {"created_by", r.created_by},
      {"outputs",
       nlohmann::json::parse(r.outputs_json.empty() ? "{}" : r.outputs_json, nullptr, false)},
      {"definition_hash", r.definition_hash}};
}

// Who decided each approval of a run, when, and what they said: from its
// ledger, the record of it.
struct Decision {
  std::string task, what, by, comment;
  Micros at = 0;
};
std::vector<Decision> Decisions(const std::vector<events::Event>& events) {
  std::vector<Decision> out;
  for (const auto& e : events) {
    if (e.kind != "task" || e.from != "waiting_approval") continue;
    Decision d;
    d.task = e.subject;
    d.at = e.ts;
    d.what = e.cause == "rejected"           ? "rejected"
             : e.cause == "approval_timeout" ? "timed out"
                                             : "approved";
    auto data = nlohmann::json::parse(e.data.empty() ? "{}" : e.data, nullptr, false);
    if (data.is_object()) {
      d.by = data.value("approver", data.value("by", ""));
      d.comment = data.value("comment", "");
    }
    out.push_back(std::move(d));
  }
  return out;
}

// For people and tools alike: whatever bytes a stored field holds (a
// reason quoting a step's output), the output is JSON, with U+FFFD for
// bytes that are not UTF-8, rather than an exception.
std::string PrettyJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
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
    auto read_events = s.GetEvents(*id, 0);
    std::vector<events::Event> events =
        read_events.ok() ? std::move(*read_events) : std::vector<events::Event>{};
    std::vector<Decision> decisions = Decisions(events);
    auto got_anchor = s.GetHeadAnchor(*id);
    const store::HeadAnchor anchor = got_anchor.ok() ? *got_anchor : store::HeadAnchor{};
    if (g.output == "json") {
      nlohmann::json j = RunJson(*run);
      j["definition_changed"] = !drift.empty();
      if (!events.empty()) {
        j["ledger"] = {
            {"events", events.back().seq},
            {"head", events.back().hash},
            {"anchored", anchor.seq == events.back().seq && anchor.hash == events.back().hash}};
      }
      j["approvals"] = nlohmann::json::array();
      for (const Decision& d : decisions)
        j["approvals"].push_back({{"task", d.task},
                                  {"decision", d.what},
                                  {"by", d.by},
                                  {"at", FormatTimestamp(d.at)},
                                  {"comment", d.comment}});
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
    if (!run->caller_run.empty()) {
      // The caller's instance by name: what its `relay show` lists.
      std::string task = "#" + std::to_string(run->caller_index);
      if (auto callers = s.GetTasks(run->caller_run);
          callers.ok() && run->caller_index >= 0 &&
          static_cast<size_t>(run->caller_index) < callers->size())
        task = (*callers)[run->caller_index].name;
      std::printf("called by run %s, task %s (a sub-pipeline)\n", run->caller_run.c_str(),
                  task.c_str());
    }
    if (!run->created_by.empty()) std::printf("by        %s\n", run->created_by.c_str());
    if (!drift.empty()) std::printf("note      %s\n", drift.c_str());
    if (!run->outputs_json.empty() && run->outputs_json != "{}")
      std::printf("outputs   %s\n", run->outputs_json.c_str());
    if (!events.empty()) {
      const events::Event& head = events.back();
      std::printf("ledger    %lld events, head %s%s\n", static_cast<long long>(head.seq),
                  head.hash.substr(0, 16).c_str(),
                  anchor.seq == head.seq && anchor.hash == head.hash
                      ? " (anchored in the head file)"
                  : anchor.seq == 0 ? " (not in the head file)"
                                    : " (the head file says otherwise: relay ledger verify)");
    }
    for (const Decision& d : decisions)
      std::printf("approval  %s %s%s at %s%s\n", d.task.c_str(), d.what.c_str(),
                  d.by.empty() ? "" : (" by " + d.by).c_str(), FormatTimestamp(d.at).c_str(),
                  d.comment.empty() ? "" : (": " + d.comment).c_str());
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
      // The run first, then its events: a run final when read has nothing
      // after the events read next (CheckFollowedRun).
      auto run = s.GetRun(*id);
      if (!run.ok()) return Fail(run.status());
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
      auto followed = CheckFollowedRun(s, &*run);
      if (!followed.ok()) return Fail(followed.status());
      if (*followed == FollowedRun::kStopped) {
        // Its last events, committed before its relay stopped, are shown.
        auto rest = s.GetEvents(*id, after);
        if (rest.ok() && !rest->empty()) continue;
        SayRunStopped(*run);
        return damaged ? kExitFailed : kExitOk;
      }
      if (*followed == FollowedRun::kEnded) {
        auto rest = s.GetEvents(*id, after);
        if (rest.ok() && !rest->empty()) continue;
        return damaged ? kExitFailed : kExitOk;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

// The change feed: every run's events in commit order, each with its
// position, from `after` on; with follow, waits for more until interrupted.
int CmdFeed(const GlobalOptions& g, int64_t after, bool jsonl, bool follow) {
  return WithStore(g, [&](store::Store& s) {
    while (true) {
      auto page = s.ReadFeed(after, 1000);
      if (!page.ok()) return Fail(page.status());
      for (const store::FeedEvent& fe : *page) {
        after = fe.pos;
        const events::Event& e = fe.event;
        if (jsonl || g.output == "json") {
          std::string line = events::ToJsonLine(e);
          // {"pos":N, …the event's fields}
          std::printf("{\"pos\":%lld,%s\n", static_cast<long long>(fe.pos), line.c_str() + 1);
        } else {
          std::string subject = e.kind == "run" ? "run" : e.subject;
          std::printf("%7lld  %s  %s %5lld  %-24s %s → %s  (%s)%s\n",
                      static_cast<long long>(fe.pos), FormatTimestamp(e.ts).c_str(),
                      e.run_id.c_str(), static_cast<long long>(e.seq), subject.c_str(),
                      e.from.empty() ? "·" : e.from.c_str(), e.to.c_str(), e.cause.c_str(),
                      e.reason.empty() ? "" : ("  " + e.reason).c_str());
        }
      }
      std::fflush(stdout);
      if (page->size() == 1000) continue;
      if (!follow) return kExitOk;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

namespace {

// What is wrong with one run's ledger, or with what its rows say beside it;
// "" when nothing is. The chain first; then what the chain vouches for.
std::string VerifyRun(store::Store& s, const std::string& id,
                      const std::vector<events::Event>& events) {
  // Hashes, links, and each transition against its table, every task's
  // from where it was.
  events::ChainChecker chain(id, 1, /*task_continuity=*/true);
  for (const auto& e : events)
    if (!chain.Next(e).ok) return chain.result().message;
  if (events.empty()) return "run " + id + ": it has no events \u2014 its ledger was deleted";
  // The head file beside the store anchors the chain's end: events removed
  // from the end, or commits a damaged WAL lost, leave a shorter chain that
  // verifies on its own.
  auto anchor = s.GetHeadAnchor(id);
  if (!anchor.ok()) return "run " + id + ": " + anchor.status().message();
  const int64_t last = events.back().seq;
  if (anchor->seq > last) {
    return "run " + id + ": the ledger ends at event " + std::to_string(last) +
           ", but the head file beside the store recorded event " + std::to_string(anchor->seq) +
           " as committed \u2014 events " + std::to_string(last + 1) + " to " +
           std::to_string(anchor->seq) + " are missing (removed, or lost with a damaged WAL)";
  }
  if (anchor->seq > 0 && events[anchor->seq - 1].hash != anchor->hash) {
    return "run " + id + ": event " + std::to_string(anchor->seq) +
           " does not have the hash the head file recorded for it \u2014 the ledger was "
           "rewritten from there";
  }
  // The store's own reads check the definition, inputs and options against
  // the hashes the created event records, and fold every task event onto an
  // instance of the run, from the state it is in.
  auto run = s.GetRun(id);
  if (!run.ok()) return run.status().message();
  auto tasks = s.GetTasks(id);
  if (!tasks.ok()) return tasks.status().message();
  auto planned = sched::PlanOfStoredRun(&s, *run);
  if (!planned.ok()) return "run " + id + ": " + planned.status().message();
  if (Status same = engine::CheckRowsMatchPlan(id, *tasks, planned->plan); !same.ok())
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
