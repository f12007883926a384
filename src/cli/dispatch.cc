// The subcommand table: each subcommand declares its arguments and the one
// function that runs it.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/edit_distance.h"
#include "cli/cmd_inspect.h"
#include "cli/cmd_run.h"
#include "cli/commands.h"
#include "cli/pipeline_input.h"
#include "plan/export.h"

namespace relay::cli {
namespace {

// CLI11's own check would answer "-j 0" with a range up to 1.8e308.
const CLI::Validator kJobs(
    [](std::string& text) -> std::string {
      constexpr long kMax = 100000;
      char* end = nullptr;
      errno = 0;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno != 0 || n < 1 || n > kMax)
        return "must be a whole number from 1 to " + std::to_string(kMax) + ", not '" + text + "'";
      return "";
    },
    "N");

void AddSelection(CLI::App* cmd, plan::Selection* s) {
  cmd->add_option("--only", s->only, "Run only these tasks (repeatable)")->delimiter(',');
  cmd->add_option("--from", s->from, "Run these tasks and everything that depends on them")
      ->delimiter(',');
  cmd->add_option("--until", s->until, "Run these tasks and everything they depend on")
      ->delimiter(',');
}

int CmdPlan(const GlobalOptions& g, const RunArgs& a) {
  auto lp = LoadAndPlan(a.file, a.inputs, a.selection);
  if (!lp.ok()) return Fail(lp.status());
  std::string out =
      g.output == "json" ? plan::RenderPlanJson((*lp)->plan) : plan::RenderPlanText((*lp)->plan);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int CmdGraph(const std::string& file, const std::string& format) {
  auto lp = LoadAndPlan(file, {}, {});
  if (!lp.ok()) return Fail(lp.status());
  std::string out =
      format == "mermaid" ? plan::RenderMermaid((*lp)->plan) : plan::RenderDot((*lp)->plan);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

// `relay bogus` (or `relay ledger bogus`): CLI11 only says that a
// subcommand is required. When the command that needs a subcommand got a word
// it does not know instead, name the word, suggest the closest command and
// list them all. Returns the exit status, or -1 when this is another error.
int UnknownCommand(const CLI::App& app) {
  const CLI::App* parent = &app;
  std::string path = "relay";
  while (true) {
    auto chosen = parent->get_subcommands();
    if (chosen.empty()) break;
    parent = chosen.front();
    path += " " + parent->get_name();
  }
  if (parent->get_require_subcommand_min() == 0) return -1;
  std::string word;
  for (const auto& arg : app.remaining(/*recurse=*/true)) {
    if (!arg.empty() && arg[0] != '-') {
      word = arg;
      break;
    }
  }
  if (word.empty()) return -1;
  std::vector<std::string> names;
  for (const CLI::App* sub : parent->get_subcommands({})) names.push_back(sub->get_name());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "relay: unknown command '%s'%s\n", word.c_str(),
               DidYouMean(word, names).c_str());
  std::fprintf(stderr, "%s commands: %s (see %s --help)\n", path.c_str(), list.c_str(),
               path.c_str());
  return kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "relay: a durable pipeline orchestrator. Runs a YAML pipeline as a DAG of commands,\n"
      "recording every state change so a killed run can be resumed."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "relay 0.1.0");
  GlobalOptions g;
  auto* store_opt = app.add_option(
      "--store", g.store, "Store location (default .relay/relay.db, or $RELAY_STORE if not empty)");
  app.add_option("--output,-o", g.output, "Output format for listings")
      ->check(CLI::IsMember({"text", "json"}));
  app.fallthrough();

  std::vector<std::string> validate_files;
  auto* validate =
      app.add_subcommand("validate", "Check pipeline files; print every error as FILE:LINE:COL");
  validate->add_option("files", validate_files, "Pipeline files")->required();

  RunArgs plan_args;
  auto* plan_cmd = app.add_subcommand("plan", "Print the expanded DAG without running anything");
  plan_cmd->add_option("file", plan_args.file, "Pipeline file")->required();
  plan_cmd->add_option("-i,--input", plan_args.inputs, "Input as key=value (repeatable)");
  AddSelection(plan_cmd, &plan_args.selection);

  std::string graph_file, graph_format = "dot";
  auto* graph = app.add_subcommand("graph", "Print the task graph as Graphviz dot or Mermaid");
  graph->add_option("file", graph_file, "Pipeline file")->required();
  graph->add_option("--format", graph_format, "dot or mermaid")
      ->check(CLI::IsMember({"dot", "mermaid"}));

  RunArgs run_args;
  auto* run = app.add_subcommand(
      "run", "Run a pipeline (exit 0 succeeded, 1 failed, 2 invalid, 3 store error)");
  run->add_option("file", run_args.file, "Pipeline file")->required();
  run->add_option("-i,--input", run_args.inputs, "Input as key=value (repeatable)");
  run->add_option("-j,--jobs,--slots", run_args.jobs,
                  "Attempts running at once, across the run and its sub-pipelines (default: "
                  "number of cores)")
      ->check(kJobs);
  run->add_flag("--dry-run", run_args.dry_run, "Print the plan instead of running it");
  run->add_option("--durability", g.durability,
                  "normal (survives kill -9) or power (survives power loss)")
      ->check(CLI::IsMember({"normal", "power"}));
  AddSelection(run, &run_args.selection);

  std::string run_ref, task_name, from_task;
  int jobs = 0;
  bool failed = false, follow = false, jsonl = false;
  auto* resume = app.add_subcommand(
      "resume", "Finish a run whose relay stopped, without redoing finished work");
  resume->add_option("run", run_ref, "Run id, unique prefix, or 'last'")->required();
  resume->add_option("-j,--jobs,--slots", jobs, "Attempts running at once")->check(kJobs);

  auto* rerun =
      app.add_subcommand("rerun", "Start a new run reusing the results that need no new work");
  rerun->add_option("run", run_ref, "Run id, unique prefix, or 'last'")->required();
  rerun->add_flag("--failed", failed,
                  "Rerun the tasks that did not succeed and what depends on them");
  rerun->add_option("--from", from_task, "Rerun this task and what depends on it");
  rerun->add_option("-j,--jobs,--slots", jobs, "Attempts running at once")->check(kJobs);

  auto* cancel = app.add_subcommand("cancel", "Cancel a run (its relay stops the running tasks)");
  cancel->add_option("run", run_ref, "Run id, unique prefix, or 'last'")->required();

  ApproveArgs approve_args;
  auto* approve = app.add_subcommand(
      "approve", "Approve (or --reject) a task waiting for approval; its relay acts at once");
  approve->add_option("run", approve_args.run, "Run id, unique prefix, or 'last'")->required();
  approve->add_option("task", approve_args.task, "Task or instance name")->required();
  approve->add_flag("--reject", approve_args.reject, "Reject it: the task fails");
  approve->add_option("--comment,-m", approve_args.comment, "Why (recorded in the ledger)");

  int limit = 50;
  auto* runs = app.add_subcommand("runs", "List runs, newest first");
  runs->add_option("--limit,-n", limit, "How many (0: all)");

  auto* show =
      app.add_subcommand("show", "Show a run: its tasks, states, attempts, exit codes and logs");
  show->add_option("run", run_ref, "Run id, unique prefix, or 'last'")->required();

  auto* logs = app.add_subcommand("logs", "Print the logs of a run's tasks");
  logs->add_option("run", run_ref, "Run id, unique prefix, or 'last'")->required();
  logs->add_option("task", task_name, "Task or instance name (default: all)");
  logs->add_flag("-f,--follow", follow, "Keep printing until the run ends");

  bool all_runs = false;
  int64_t after = 0;
  auto* events = app.add_subcommand(
      "events", "Print a run's events (its ledger), or with --all every run's, in commit order");
  events->add_option("run", run_ref, "Run id, unique prefix, or 'last'");
  events->add_flag("--all", all_runs,
                   "Every run's events from the change feed, each with its position");
  events->add_option("--after", after, "With --all: start after this feed position");
  events->add_flag("--jsonl", jsonl, "One JSON object per line");
  events->add_flag("-f,--follow", follow,
                   "Keep printing: until the run ends, or with --all until interrupted");

  auto* ledger = app.add_subcommand("ledger", "Work with the hash-chained ledger");
  ledger->require_subcommand(1);
  auto* verify = ledger->add_subcommand(
      "verify", "Recompute the hash chains; exit 1 at the first broken link");
  verify->add_option("run", run_ref, "Run (default: every run)");

  std::string key, value;
  auto* config = app.add_subcommand("config", "Store settings");
  config->require_subcommand(1);
  auto* set = config->add_subcommand("set", "Set a store setting (durability normal|power)");
  set->add_option("key", key)->required();
  set->add_option("value", value)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (int code = UnknownCommand(app); code >= 0) return code;
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  // `--store ""` (an unset variable in a script) must not quietly mean the default.
  if (store_opt->count() > 0 && g.store.empty())
    return Fail(Status::Invalid("--store needs a path"));

  if (*validate) {
    int errors = 0;
    for (const auto& f : validate_files) errors += ValidateFile(f, false);
    return errors ? kExitUsage : kExitOk;
  }
  if (*plan_cmd) return CmdPlan(g, plan_args);
  if (*graph) return CmdGraph(graph_file, graph_format);
  if (*run) return CmdRun(g, run_args);
  if (*resume) return CmdResume(g, run_ref, jobs);
  if (*rerun) return CmdRerun(g, run_ref, failed, from_task, jobs);
  if (*cancel) return CmdCancel(g, run_ref);
  if (*approve) return CmdApprove(g, approve_args);
  if (*runs) return CmdRuns(g, limit);
  if (*show) return CmdShow(g, run_ref);
  if (*logs) return CmdLogs(g, run_ref, task_name, follow);
  if (*events) {
    if (all_runs) {
      if (!run_ref.empty()) return Fail(Status::Invalid("events: give a RUN or --all, not both"));
      return CmdFeed(g, after, jsonl, follow);
    }
    if (run_ref.empty()) return Fail(Status::Invalid("events: give a RUN (or --all)"));
    return CmdEvents(g, run_ref, jsonl, follow);
  }
  if (*verify) return CmdLedgerVerify(g, run_ref);
  if (*set) return CmdConfigSet(g, key, value);
  return kExitUsage;
}

}  // namespace relay::cli
