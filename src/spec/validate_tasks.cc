// One task: its keys, retry policy and steps. Names a task refers to (needs,
// ${{ }}) are checked once every task is known (validate_graph.cc,
// validate_exprs.cc).
#include <array>
#include <climits>
#include <unordered_set>

#include "base/strings.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

// A task's keys; kTaskKeys names them in this order.
enum TaskKey {
  kRun,
  kSteps,
  kNeeds,
  kMatrix,
  kMaxParallel,
  kIf,
  kTimeout,
  kRetry,
  kOutputs,
  kEnv,
  kCwd,
  kContinueOnError,
  kShell,
  kDescription,
  kUses,
  kWith,
  kApproval,
  kConcurrency,
  kTaskKeyCount
};
const std::vector<std::string> kTaskKeys = {
    "run",     "steps",       "needs",   "matrix", "max_parallel", "if",
    "timeout", "retry",       "outputs", "env",    "cwd",          "continue_on_error",
    "shell",   "description", "uses",    "with",   "approval",     "concurrency"};

// Keys that only a task with a command has: what a sub-pipeline task or an
// approval-only task says instead of each.
struct CommandKey {
  TaskKey key;
  const char* uses;  // "… is not supported on a sub-pipeline task: " + this
  const char* uses_hint;
};
constexpr CommandKey kCommandKeys[] = {
    {kShell, "set shell in the child's defaults", ""},
    {kCwd, "set cwd in the child's defaults or tasks", ""},
    {kEnv, "a child inherits nothing but its with: inputs",
     "pass the value under with:, and set env in the child"},
    {kRetry, "put retry on the child's tasks", ""},
    {kTimeout, "put timeout on the child's tasks", ""},
    {kOutputs, "its outputs are the child pipeline's outputs",
     "declare them under the child's top-level outputs:"},
};
const std::vector<std::string> kRetryKeys = {"attempts", "backoff", "delay",     "max_delay",
                                             "jitter",   "on",      "exit_codes"};
const std::vector<std::string> kBackoffs = {"fixed", "exponential"};
const std::vector<std::string> kRetryOn = {"failure", "timeout", "lost"};
const std::vector<std::string> kStepKeys = {"name", "run"};
constexpr const char* kEmptyStepHint = "write the command to run, or remove the step";

// A command of only whitespace would run nothing and "succeed".
void CheckNotEmpty(const YamlNode& n, const std::string& path, std::string_view what,
                   std::string_view hint, Checker& c) {
  if (Trim(n.text).empty())
    c.Error(n, path, "empty command: the " + std::string(what) + " would run nothing",
            std::string(hint));
}

void ReadSteps(const YamlNode& n, const std::string& path, TaskSpec& t, int task, Build& b) {
  Checker& c = b.checker;
  if (!n.IsSequence()) {
    c.Error(n, path, "expected a list of commands, got " + Describe(n));
    return;
  }
  if (n.items.empty()) {
    c.Error(n, path, "expected at least one step");
    return;
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string p = path + "[" + std::to_string(i) + "]";
    if (item.IsScalar()) {
      CheckNotEmpty(item, p, "step", kEmptyStepHint, c);
      t.steps.push_back({"", item.text, item.mark});
      b.sites.push_back({&item, p, task, SiteKind::kCommand});
      continue;
    }
    if (!CheckMapping(item, p, kStepKeys, "a command or a mapping with 'run'", c,
                      KeySection::kStep))
      continue;
    Step step;
    step.mark = item.mark;
    if (const YamlNode* name = Find(item, "name")) {
      if (auto v = ReadString(*name, Child(p, "name"), c)) step.name = *v;
    }
    const YamlNode* run = Find(item, "run");
    if (!run) {
      // An Actions step (`uses:`) has had its hint: write the command in run.
      if (!Find(item, "uses")) c.Error(item, p, "missing 'run'");
      continue;
    }
    if (auto v = ReadString(*run, Child(p, "run"), c)) {
      CheckNotEmpty(*run, Child(p, "run"), "step", kEmptyStepHint, c);
      step.run = *v;
      step.mark = run->mark;
      b.sites.push_back({run, Child(p, "run"), task, SiteKind::kCommand});
    }
    t.steps.push_back(std::move(step));
  }
}

void ReadOutputs(const YamlNode& n, const std::string& path, TaskSpec& t, Checker& c) {
  if (!n.IsSequence()) {
    c.Error(n, path, "expected a list of output names, got " + Describe(n));
    return;
  }
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < n.items.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    auto s = ReadString(n.items[i], p, c);
    if (!s) continue;
    if (!IsIdentifier(*s, true)) {
      c.Error(n.items[i], p, "invalid output name '" + *s + "'",
              "use letters, digits, '_' and '-', starting with a letter or '_'");
    } else if (!seen.insert(*s).second) {
      c.Error(n.items[i], p, "output '" + *s + "' is listed twice");
    } else {
      t.outputs.push_back(*s);
    }
  }
}

void ReadIf(const YamlNode& n, const std::string& path, TaskSpec& t, int task, Build& b) {
  if (!n.IsScalar()) {
    b.checker.Error(n, path,
                    "expected a condition (an expression or true/false), got " + Describe(n));
    return;
  }
  // The stored form is filled in by CheckExpressions once parsed.
  t.if_expr = Located<std::string>{n.text, n.mark};
  b.sites.push_back({&n, path, task, SiteKind::kCondition});
}

using TaskKeys = std::array<const YamlNode::Entry*, kTaskKeyCount>;

// A task without a command (a sub-pipeline or approval-only task): the keys
// that shape one mean nothing there, so each is an error, rather than being
// silently ignored, and is not read further.
void RefuseCommandKeys(bool uses, const std::string& path, TaskKeys& keys, Checker& c) {
  for (const CommandKey& k : kCommandKeys) {
    const YamlNode::Entry* e = keys[k.key];
    if (!e) continue;
    if (uses) {
      c.Error(e->key, path, e->key.text + " is not supported on a sub-pipeline task: " + k.uses,
              k.uses_hint);
    } else {
      c.Error(e->key, path,
              e->key.text + " is not supported on an approval-only task: it runs no command",
              k.key == kTimeout ? "to limit the wait for a decision, set approval.timeout" : "");
    }
    keys[k.key] = nullptr;
  }
}

}  // namespace

std::optional<RetrySpec> ReadRetry(const YamlNode& n, std::string_view path, Checker& c) {
  RetrySpec r;
  if (n.IsScalar()) {
    auto attempts = ReadInt(n, path, 1, INT_MAX, c);
    if (!attempts) return std::nullopt;
    r.attempts = static_cast<int>(*attempts);
    return r;
  }
  if (!CheckMapping(n, path, kRetryKeys, "a number of attempts or a mapping", c))
    return std::nullopt;
  bool ok = true;
  const YamlNode* attempts = Find(n, "attempts");
  if (!attempts) {
    c.Error(n, path, "missing 'attempts' (total tries, including the first)");
    ok = false;
  } else if (auto v = ReadInt(*attempts, Child(path, "attempts"), 1, INT_MAX, c)) {
    r.attempts = static_cast<int>(*v);
  } else {
    ok = false;
  }
  if (const YamlNode* b = Find(n, "backoff")) {
    std::string p = Child(path, "backoff");
    if (auto s = ReadString(*b, p, c)) {
      if (*s == "fixed")
        r.backoff = RetrySpec::Backoff::kFixed;
      else if (*s == "exponential")
        r.backoff = RetrySpec::Backoff::kExponential;
      else {
        std::string hint = SuggestHint(*s, kBackoffs);
        c.Error(*b, p, "unknown backoff '" + *s + "'",
                hint.empty() ? "use fixed or exponential" : hint);
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (const YamlNode* d = Find(n, "delay")) {
    if (auto v = ReadDuration(*d, Child(path, "delay"), c))
      r.delay = *v;
    else
      ok = false;
  }
  if (const YamlNode* d = Find(n, "max_delay")) {
    if (auto v = ReadDuration(*d, Child(path, "max_delay"), c)) {
      r.max_delay = *v;
      if (r.max_delay < r.delay) {
        c.Error(*d, Child(path, "max_delay"), "is shorter than delay");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (const YamlNode* j = Find(n, "jitter")) {
    if (auto v = ReadBool(*j, Child(path, "jitter"), c))
      r.jitter = *v;
    else
      ok = false;
  }
  if (const YamlNode* on = Find(n, "on")) {
    std::string p = Child(path, "on");
    if (auto names = ReadNameList(*on, p, c)) {
      if (names->empty()) {
        c.Error(*on, p, "expected at least one of failure, timeout, lost");
        ok = false;
      }
      r.on_failure = r.on_timeout = r.on_lost = false;
      for (const auto& name : *names) {
        if (name.value == "failure")
          r.on_failure = true;
        else if (name.value == "timeout")
          r.on_timeout = true;
        else if (name.value == "lost")
          r.on_lost = true;
        else {
          std::string hint = SuggestHint(name.value, kRetryOn);
          c.Error(name.mark, p + ": unknown failure kind '" + name.value + "'",
                  hint.empty() ? "use failure, timeout or lost" : hint);
          ok = false;
        }
      }
    } else {
      ok = false;
    }
  }
  if (const YamlNode* codes = Find(n, "exit_codes")) {
    std::string p = Child(path, "exit_codes");
    if (!codes->IsSequence()) {
      c.Error(*codes, p, "expected a list of exit codes, got " + Describe(*codes));
      ok = false;
    } else {
      for (size_t i = 0; i < codes->items.size(); ++i) {
        if (auto v = ReadInt(codes->items[i], p + "[" + std::to_string(i) + "]", 1, 255, c))
          r.exit_codes.push_back(static_cast<int>(*v));
        else
          ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

void BuildTask(const YamlNode& key, const YamlNode& value, Build& b) {
  Checker& c = b.checker;
  const std::string path = Child("tasks", key.text);
  int index = static_cast<int>(b.pipeline.tasks.size());
  TaskSpec& t = b.pipeline.tasks.emplace_back();
  t.name = key.text;
  t.mark = key.mark;
  if (!IsIdentifier(key.text, true))
    c.Error(key, "tasks", "invalid task name '" + key.text + "'",
            "use letters, digits, '_' and '-', starting with a letter or '_'");
  TaskKeys keys{};
  if (!CheckMapping(value, path, kTaskKeys, "a mapping with 'run' or 'steps'", c, KeySection::kTask,
                    keys))
    return;
  auto field = [&](TaskKey k) { return keys[k] ? &keys[k]->value : nullptr; };

  const YamlNode* run = field(kRun);
  const YamlNode* steps = field(kSteps);
  const YamlNode::Entry* uses = keys[kUses];
  // An approval of the wrong kind is reported as such, not as a missing command.
  const bool approval = keys[kApproval] && !(keys[kApproval]->value.IsPlain() &&
                                             ToJson(keys[kApproval]->value) == false);
  if (uses) {
    for (const YamlNode::Entry* e : {keys[kRun], keys[kSteps]})
      if (e)
        c.Error(e->key, path,
                "use either 'uses' or '" + e->key.text +
                    "', not both: a sub-pipeline task runs the child's tasks",
                "put the command in a task of the child, or in a task of its own");
    run = steps = nullptr;
  } else if (run && steps) {
    c.Error(*steps, path, "use either 'run' or 'steps', not both");
  } else if (!run && !steps && !approval) {
    c.Error(key, path,
            "missing 'run', 'steps', 'uses' or 'approval': a task needs a command, a "
            "sub-pipeline or an approval");
  }
  if (uses || (!run && !steps && approval)) RefuseCommandKeys(uses != nullptr, path, keys, c);
  if (run) {
    std::string run_path = Child(path, "run");
    if (auto v = ReadString(*run, run_path, c)) {
      CheckNotEmpty(*run, run_path, "task", "write the command to run, e.g. run: make", c);
      t.steps.push_back({"", std::move(*v), run->mark});
      b.sites.push_back({run, std::move(run_path), index, SiteKind::kCommand});
    }
  } else if (steps) {
    ReadSteps(*steps, Child(path, "steps"), t, index, b);
  }
  if (uses) {
    const YamlNode::Entry* with = keys[kWith];
    ReadUses(uses->value, with ? &with->key : nullptr, with ? &with->value : nullptr, path, t,
             index, b);
  } else if (const YamlNode::Entry* with = keys[kWith]) {
    c.Error(with->key, path,
            "'with' gives the inputs of a sub-pipeline, but the task has no 'uses'",
            "add uses: ./PIPELINE.yaml, or remove with");
  }
  if (const YamlNode::Entry* e = keys[kApproval])
    t.approval = ReadApproval(e->key, e->value, Child(path, "approval"), c);
  if (const YamlNode::Entry* e = keys[kConcurrency])
    t.concurrency = ReadConcurrency(e->key, e->value, Child(path, "concurrency"), index, b);
  if (const YamlNode* n = field(kNeeds)) {
    if (auto v = ReadNameList(*n, Child(path, "needs"), c)) t.needs = std::move(*v);
  }
  if (const YamlNode::Entry* e = keys[kMatrix]) {
    t.matrix = ReadMatrix(e->value, Child(path, "matrix"), c);
    if (t.matrix)
      t.matrix->mark = e->key.mark;
    else
      b.bad_matrix.insert(index);
  }
  if (const YamlNode* n = field(kMaxParallel)) {
    if (auto v = ReadInt(*n, Child(path, "max_parallel"), 1, INT_MAX, c))
      t.max_parallel = static_cast<int>(*v);
  }
  if (const YamlNode* n = field(kIf)) ReadIf(*n, Child(path, "if"), t, index, b);
  if (const YamlNode* n = field(kTimeout)) {
    t.timeout = ReadDuration(*n, Child(path, "timeout"), c);
    if (t.timeout && *t.timeout <= 0) c.Error(*n, Child(path, "timeout"), "must be more than 0");
  }
  if (const YamlNode* n = field(kRetry)) t.retry = ReadRetry(*n, Child(path, "retry"), c);
  if (const YamlNode* n = field(kOutputs)) ReadOutputs(*n, Child(path, "outputs"), t, c);
  if (const YamlNode* n = field(kEnv)) ReadEnv(*n, Child(path, "env"), index, &t.env, b);
  if (const YamlNode* n = field(kCwd)) {
    if (auto v = ReadString(*n, Child(path, "cwd"), c)) {
      t.cwd = *v;
      b.sites.push_back({n, Child(path, "cwd"), index, SiteKind::kCommand});
    }
  }
  if (const YamlNode* n = field(kContinueOnError)) {
    if (auto v = ReadBool(*n, Child(path, "continue_on_error"), c)) t.continue_on_error = *v;
  }
  if (const YamlNode* n = field(kShell)) {
    if (auto v = ReadString(*n, Child(path, "shell"), c)) {
      if (v->empty()) c.Error(*n, Child(path, "shell"), "must not be empty");
      t.shell = *v;
      CheckNotTemplate(*n, Child(path, "shell"), "shell", kShellHint, c);
    }
  }
  if (const YamlNode* n = field(kDescription)) (void)ReadString(*n, Child(path, "description"), c);
}

}  // namespace relay::spec::internal
