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

const std::vector<std::string> kRoots = {"inputs", "env", "matrix", "needs", "run"};

struct Names {
  std::vector<std::string> list;
  std::unordered_set<std::string> set;
  void Add(const std::string& s) {
    if (set.insert(s).second) list.push_back(s);
  }
  bool Has(const std::string& s) const { return set.count(s) > 0; }
};

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
    for (size_t i = 0; i < b.pipeline.tasks.size(); ++i) {
      task_index_.emplace(b.pipeline.tasks[i].name, static_cast<int>(i));
      task_names_.push_back(b.pipeline.tasks[i].name);
    }
  }

  void Check(const TemplateSite& site) {
    const YamlNode& node = *site.node;
    std::vector<expr::Reference> refs;
    if (site.condition && node.text.find("${{") == std::string::npos) {
      expr::Expression e;
      if (auto err = expr::Expression::Parse(node.text, &e)) return ParseError(site, *err);
      refs = e.references();
      SetCondition(site, std::string(Trim(node.text)));
    } else {
      expr::Template t;
      if (auto err = expr::Template::Parse(node.text, &t)) return ParseError(site, *err);
      refs = t.References();
      if (site.condition) {
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

  void ParseError(const TemplateSite& site, const expr::ParseError& err) {
    Mark m = LocateInScalar(*site.node, err.offset, b_.checker.source());
    b_.checker.Error(m, site.path + ": " + err.message, err.hint);
  }

  void Report(const TemplateSite& site, const expr::Reference& ref, std::string message,
              std::string hint) {
    Mark m = LocateInScalar(*site.node, ref.offset, b_.checker.source());
    b_.checker.Error(m, site.path + ": " + message, std::move(hint));
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
    if (root == "inputs") {
      if (!second.empty() && !inputs_.Has(second))
        Report(site, ref, "unknown input '" + second + "'",
               HintOr(second, inputs_.list, "declare it under 'inputs:'"));
    } else if (root == "env") {
      const Names& env = site.task >= 0 ? TaskEnv(site.task) : env_;
      if (!second.empty() && !env.Has(second))
        Report(site, ref, "unknown env variable '" + second + "'",
               HintOr(second, env.list, "declare it under 'env:' of the pipeline or of this task"));
    } else if (root == "matrix") {
      CheckMatrix(site, ref, second);
    } else if (root == "needs") {
      CheckNeeds(site, ref);
    } else if (root == "run") {
      if (!second.empty() && second != "id")
        Report(site, ref, "unknown property '" + second + "' of run",
               HintOr(second, {"id"}, "run has only 'id'"));
    } else {
      Report(site, ref, "unknown name '" + root + "'",
             HintOr(root, kRoots, "expressions can read inputs, env, matrix, needs and run"));
    }
  }

  void CheckMatrix(const TemplateSite& site, const expr::Reference& ref, const std::string& key) {
    if (site.task < 0) {
      Report(site, ref, "'matrix' is only available in a task with a matrix", "");
      return;
    }
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
    const std::string& need = ref.path[1];
    bool direct = false;
    std::vector<std::string> needs;
    for (const auto& n : t.needs) {
      direct = direct || n.value == need;
      needs.push_back(n.value);
    }
    auto it = task_index_.find(need);
    if (it == task_index_.end()) {
      std::string hint = SuggestHint(need, needs);
      if (hint.empty()) hint = SuggestHint(need, task_names_);
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
    if (prop == "result") return;
    if (prop != "outputs") {
      Report(site, ref, "unknown property '" + prop + "' of needs." + need,
             HintOr(prop, {"outputs", "result"},
                    "use needs." + need + ".outputs.<name> or needs." + need + ".result"));
      return;
    }
    if (ref.path.size() < 4) return;
    const auto& outputs = b_.pipeline.tasks[it->second].outputs;
    const std::string& out = ref.path[3];
    for (const auto& o : outputs)
      if (o == out) return;
    Report(site, ref, "task '" + need + "' has no output '" + out + "'",
           HintOr(out, outputs, "declare it in tasks." + need + ".outputs"));
  }

  Build& b_;
  Names inputs_, env_;
  std::unordered_map<std::string, int> task_index_;
  std::vector<std::string> task_names_;
  std::unordered_map<int, Names> task_env_, matrix_keys_;
};

}  // namespace

void CheckExpressions(Build& b) {
  ExprChecker checker(b);
  for (const auto& site : b.sites) checker.Check(site);
}

}  // namespace relay::spec::internal
