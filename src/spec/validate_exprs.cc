// ${{ }} in template strings: each is parsed once at load time, and every
// name it reads must exist where it is used, so a typo fails `relay validate`
// instead of rendering as an empty string in the middle of a run.
#include <unordered_map>
#include <unordered_set>

#include "base/strings.h"
#include "expr/expr.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

const std::vector<std::string> kRoots = {"inputs", "env", "matrix", "needs", "run", "tasks"};
// What a task's roots are called in hints; the pipeline's outputs read
// tasks.* instead of matrix and needs.
const std::vector<std::string> kTaskRoots = {"inputs", "env", "matrix", "needs", "run"};
const std::vector<std::string> kOutputRoots = {"inputs", "env", "tasks", "run"};

struct Names {
  std::vector<std::string> list;
  std::unordered_set<std::string> set;
  void Add(const std::string& s) {
    if (set.insert(s).second) list.push_back(s);
  }
  // As the evaluator matches names: exactly, else ignoring ASCII case.
  bool Has(const std::string& s) const {
    return set.count(s) > 0 || expr::FindName(s, list).has_value();
  }
};

// Which `env` a template reads, as the scheduler renders it: the pipeline's
// env values are rendered before any env exists; a task's env values and its
// `if` see the pipeline's env; commands and cwd see the task's env as well.
enum class EnvScope { kNone, kPipeline, kTask };

struct FieldRules {
  EnvScope env;
  const char* field;  // names the field in "not available in …"
  const char* hint;   // how to get the value there instead; $NAME is replaced
};

FieldRules RulesFor(SiteKind kind) {
  switch (kind) {
    case SiteKind::kPipelineEnv:
      return {EnvScope::kNone, "the pipeline's env values",
              "use the value directly, or read it in run as $NAME"};
    case SiteKind::kDefaultsCwd:
      return {EnvScope::kPipeline, "defaults.cwd", ""};
    case SiteKind::kPipelineConcurrency:
      return {EnvScope::kPipeline, "concurrency", ""};
    case SiteKind::kPipelineOutput:
      return {EnvScope::kPipeline, "the pipeline's outputs", ""};
    case SiteKind::kTaskEnv:
      return {EnvScope::kPipeline, "a task's env values, which read only the pipeline's env",
              "use the value directly, or read it in run as $NAME"};
    case SiteKind::kWith:
      return {EnvScope::kPipeline, "with, which reads only the pipeline's env",
              "move NAME to the pipeline's env"};
    case SiteKind::kCondition:
      return {EnvScope::kPipeline, "if, which reads only the pipeline's env",
              "move NAME to the pipeline's env, or test $NAME in run"};
    case SiteKind::kTaskConcurrency:
      return {EnvScope::kPipeline, "a task's concurrency, which reads only the pipeline's env",
              "move NAME to the pipeline's env"};
    case SiteKind::kCommand:
      break;
  }
  return {EnvScope::kTask, "", ""};
}

std::string HintOr(std::string_view word, const std::vector<std::string>& candidates,
                   std::string fallback) {
  std::string h = SuggestHint(word, candidates);
  return h.empty() ? fallback : h;
}

class ExprChecker {
 public:
  explicit ExprChecker(Build& b) : b_(b) {
    for (const auto& in : b.pipeline.inputs) inputs_.Add(in.name);
    for (const auto& [name, value] : b.pipeline.env) env_.Add(name);
  }

  void Check(const TemplateSite& site) {
    const YamlNode& node = *site.node;
    const bool templated = node.text.find("${{") != std::string::npos;
    if (!templated && !site.condition()) return;  // plain text, as most commands are
    std::vector<expr::Reference> refs;
    if (!templated) {
      expr::Expression e;
      if (auto err = expr::Expression::Parse(node.text, &e)) return ParseError(site, *err);
      refs = e.references();
      SetCondition(site, std::string(Trim(node.text)));
    } else {
      expr::Template t;
      std::vector<expr::ParseError> errors = expr::Template::ParseEach(node.text, &t);
      refs = t.References();
      if (!errors.empty()) {
        // Each ${{ }} is checked on its own, and errors come in text order.
        size_t r = 0;
        for (const auto& err : errors) {
          for (; r < refs.size() && refs[r].offset < err.offset; ++r) CheckReference(site, refs[r]);
          ParseError(site, err);
        }
        for (; r < refs.size(); ++r) CheckReference(site, refs[r]);
        return;
      }
      if (site.condition()) {
        const expr::Expression* sole = t.SoleExpression();
        if (!sole) {
          b_.checker.Error(node, site.path, "text outside ${{ }} makes the condition always true",
                           "put the whole condition inside one ${{ }}, or leave ${{ }} out");
          return;
        }
        SetCondition(site, std::string(Trim(sole->source())));
      }
    }
    for (const auto& ref : refs) CheckReference(site, ref);
  }

 private:
  void SetCondition(const TemplateSite& site, std::string text) {
    if (site.task >= 0 && b_.pipeline.tasks[site.task].if_expr)
      b_.pipeline.tasks[site.task].if_expr->value = std::move(text);
  }

  // Locating costs a walk of the scalar; once errors are only counted, the
  // node's own position will do.
  Mark Locate(const TemplateSite& site, size_t offset) {
    if (b_.checker.full()) return site.node->mark;
    return LocateInScalar(*site.node, offset, b_.checker.source());
  }

  void ParseError(const TemplateSite& site, const expr::ParseError& err) {
    Mark m = Locate(site, err.offset);
    b_.checker.Error(m, site.path + ": " + err.message, err.hint);
  }

  void Report(const TemplateSite& site, const expr::Reference& ref, std::string message,
              std::string hint) {
    Mark m = Locate(site, ref.offset);
    b_.checker.Error(m, site.path + ": " + message, std::move(hint));
  }

  // Every task's name, for matching as the evaluator does and for hints:
  // listed at the first needs.* reference that asks.
  const std::vector<std::string>& TaskNames() {
    if (task_names_.empty())
      for (const auto& t : b_.pipeline.tasks) task_names_.push_back(t.name);
    return task_names_;
  }

  const Names& TaskEnv(int task) {
    auto it = task_env_.find(task);
    if (it != task_env_.end()) return it->second;
    Names names = env_;
    for (const auto& [name, value] : b_.pipeline.tasks[task].env) names.Add(name);
    return task_env_.emplace(task, std::move(names)).first->second;
  }

  const Names& MatrixKeys(int task) {
    auto it = matrix_keys_.find(task);
    if (it != matrix_keys_.end()) return it->second;
    Names names;
    const Matrix& m = *b_.pipeline.tasks[task].matrix;
    for (const auto& [axis, values] : m.axes) names.Add(axis);
    for (const auto& inc : m.include)
      for (const auto& [key, value] : inc.items()) names.Add(key);
    return matrix_keys_.emplace(task, std::move(names)).first->second;
  }

  void CheckReference(const TemplateSite& site, const expr::Reference& ref) {
    if (ref.path.empty()) return;
    const std::string& root = ref.path[0];
    const std::string second = ref.path.size() > 1 ? ref.path[1] : "";
    auto root_index = expr::FindName(root, kRoots);
    const std::string_view known = root_index ? std::string_view(kRoots[*root_index]) : "";
    if (known == "inputs") {
      if (!second.empty() && !inputs_.Has(second))
        Report(site, ref, "unknown input '" + second + "'",
               HintOr(second, inputs_.list, "declare it under 'inputs:'"));
    } else if (known == "env") {
      CheckEnv(site, ref, root, second);
    } else if (known == "matrix") {
      CheckMatrix(site, ref, second);
    } else if (known == "needs") {
      if (site.kind == SiteKind::kPipelineOutput)
        Report(site, ref, "'needs' is not available in the pipeline's outputs",
               "read a task as tasks.<name>.outputs.<key> or tasks.<name>.result");
      else
        CheckNeeds(site, ref);
    } else if (known == "tasks") {
      if (site.kind == SiteKind::kPipelineOutput)
        CheckTasks(site, ref);
      else
        Report(site, ref, "'tasks' is only available in the pipeline's outputs",
               site.task >= 0 ? "in a task, read another task through needs.<name>" : "");
    } else if (known == "run") {
      if (!second.empty() && !expr::FindName(second, {"id"}))
        Report(site, ref, "unknown property '" + second + "' of run",
               HintOr(second, {"id"}, "run has only 'id'"));
    } else if (expr::FindName(root, {"secrets"})) {
      Report(site, ref, "unknown name '" + root + "'",
             "relay has no secrets context: list the variable under the pipeline's 'secrets:' "
             "and read it in the command as $NAME (its value is masked in logs)");
    } else if (site.kind == SiteKind::kPipelineOutput) {
      Report(
          site, ref, "unknown name '" + root + "'",
          HintOr(root, kOutputRoots, "the pipeline's outputs can read tasks, inputs, env and run"));
    } else {
      Report(site, ref, "unknown name '" + root + "'",
             HintOr(root, kTaskRoots, "expressions can read inputs, env, matrix, needs and run"));
    }
  }

  void CheckEnv(const TemplateSite& site, const expr::Reference& ref, const std::string& root,
                const std::string& name) {
    const FieldRules rules = RulesFor(site.kind);
    const std::string shown = name.empty() ? root : root + "." + name;
    const std::string hint = ReplaceAll(rules.hint, "NAME", name.empty() ? "NAME" : name);
    if (rules.env == EnvScope::kNone) {
      Report(site, ref, shown + " is not available in " + rules.field, hint);
      return;
    }
    if (name.empty()) return;
    const Names& all = site.task >= 0 ? TaskEnv(site.task) : env_;
    const Names& visible = rules.env == EnvScope::kTask ? all : env_;
    if (visible.Has(name)) return;
    if (all.Has(name)) {  // declared in this task's env, which this field does not see
      Report(site, ref, shown + " is not available in " + rules.field, hint);
      return;
    }
    Report(site, ref, "unknown env variable '" + name + "'",
           HintOr(name, visible.list,
                  rules.env == EnvScope::kTask
                      ? "declare it under 'env:' of the pipeline or of this task"
                      : "declare it under the pipeline's 'env:'"));
  }

  void CheckMatrix(const TemplateSite& site, const expr::Reference& ref, const std::string& key) {
    if (site.task < 0) {
      Report(site, ref, "'matrix' is only available in a task with a matrix",
             site.kind == SiteKind::kPipelineOutput
                 ? "read a task's outputs as tasks.<name>.outputs.<key>"
                 : "");
      return;
    }
    // The matrix's own error is the one to fix; its keys are unknown.
    if (b_.bad_matrix.count(site.task)) return;
    const TaskSpec& t = b_.pipeline.tasks[site.task];
    if (!t.matrix) {
      Report(site, ref, "task '" + t.name + "' has no matrix", "add a 'matrix:' to the task");
      return;
    }
    const Names& keys = MatrixKeys(site.task);
    if (!key.empty() && !keys.Has(key))
      Report(site, ref, "unknown matrix key '" + key + "'", SuggestHint(key, keys.list));
  }

  void CheckNeeds(const TemplateSite& site, const expr::Reference& ref) {
    if (site.task < 0) {
      Report(site, ref, "'needs' is only available in tasks", "");
      return;
    }
    if (ref.path.size() < 2) return;
    const TaskSpec& t = b_.pipeline.tasks[site.task];
    const std::string& written = ref.path[1];
    std::vector<std::string> needs;
    for (const auto& n : t.needs) needs.push_back(n.value);
    auto direct = expr::FindName(written, needs);
    std::optional<size_t> task;
    if (direct) {
      // A need that names no task is reported by the graph checks.
      int found = b_.pipeline.FindTask(needs[*direct]);
      if (found < 0) return;
      task = static_cast<size_t>(found);
    } else {
      task = expr::FindName(written, TaskNames());
    }
    const std::string& need = direct ? needs[*direct] : written;
    if (!task) {
      std::string hint = SuggestHint(need, needs);
      if (hint.empty()) hint = SuggestHint(need, TaskNames());
      Report(site, ref, "unknown task '" + need + "'", hint);
      return;
    }
    if (!direct) {
      Report(site, ref, "task '" + t.name + "' does not need '" + need + "'",
             "add '" + need + "' to needs");
      return;
    }
    if (ref.path.size() < 3) return;
    const std::string& prop = ref.path[2];
    auto which = expr::FindName(prop, {"outputs", "result"});
    if (which == 1u) return;
    if (!which) {
      Report(site, ref, "unknown property '" + prop + "' of needs." + need,
             HintOr(prop, {"outputs", "result"},
                    "use needs." + need + ".outputs.<name> or needs." + need + ".result"));
      return;
    }
    if (ref.path.size() < 4) return;
    CheckOutput(site, ref, static_cast<int>(*task), ref.path[3]);
  }

  // tasks.<task>(.outputs.<key> | .result) in the pipeline's outputs.
  void CheckTasks(const TemplateSite& site, const expr::Reference& ref) {
    if (ref.path.size() < 2) return;
    const std::string& written = ref.path[1];
    auto task = expr::FindName(written, TaskNames());
    if (!task) {
      Report(site, ref, "unknown task '" + written + "'", SuggestHint(written, TaskNames()));
      return;
    }
    const std::string& name = TaskNames()[*task];
    if (ref.path.size() < 3) return;
    const std::string& prop = ref.path[2];
    auto which = expr::FindName(prop, {"outputs", "result"});
    if (which == 1u) return;
    if (!which) {
      Report(site, ref, "unknown property '" + prop + "' of tasks." + name,
             HintOr(prop, {"outputs", "result"},
                    "use tasks." + name + ".outputs.<name> or tasks." + name + ".result"));
      return;
    }
    if (ref.path.size() < 4) return;
    CheckOutput(site, ref, static_cast<int>(*task), ref.path[3]);
  }

  // An output a task declares: its `outputs:`, or for a sub-pipeline task
  // the child pipeline's `outputs:` (not checked when the child failed to
  // load: that is the error to fix).
  void CheckOutput(const TemplateSite& site, const expr::Reference& ref, int task,
                   const std::string& out) {
    const TaskSpec& t = b_.pipeline.tasks[task];
    if (t.uses) {
      if (!t.uses->pipeline) return;
      const Names& outputs = ChildOutputs(task);
      if (outputs.Has(out)) return;
      Report(site, ref, "task '" + t.name + "' has no output '" + out + "'",
             HintOr(out, outputs.list,
                    "declare it under the outputs: of " + t.uses->path.value +
                        " (a sub-pipeline task's outputs are its pipeline's)"));
      return;
    }
    if (expr::FindName(out, t.outputs)) return;
    Report(site, ref, "task '" + t.name + "' has no output '" + out + "'",
           HintOr(out, t.outputs, "declare it in tasks." + t.name + ".outputs"));
  }

  const Names& ChildOutputs(int task) {
    auto it = child_outputs_.find(task);
    if (it != child_outputs_.end()) return it->second;
    Names names;
    for (const auto& o : b_.pipeline.tasks[task].uses->pipeline->outputs) names.Add(o.name);
    return child_outputs_.emplace(task, std::move(names)).first->second;
  }

  Build& b_;
  Names inputs_, env_;
  std::vector<std::string> task_names_;
  std::unordered_map<int, Names> task_env_, matrix_keys_, child_outputs_;
};

}  // namespace

void CheckExpressions(Build& b) {
  ExprChecker checker(b);
  for (const auto& site : b.sites) checker.Check(site);
}

}  // namespace relay::spec::internal
