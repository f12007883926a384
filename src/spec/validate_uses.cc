// Sub-pipelines: a task's `uses: ./child.yaml` and its `with:` inputs. The
// child is loaded (recursively, by load.cc) once every task of this file is
// read; `with:` is then checked against the child's `inputs:`.
#include <algorithm>

#include "base/strings.h"
#include "spec/input_value.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

constexpr const char* kPathHint =
    "write the path of a pipeline file relative to this one (e.g. uses: ./ci/build.yaml), or "
    "the command itself in 'run'";

void ReadWith(const YamlNode& n, const std::string& path, UsesSpec& uses, int task, Build& b) {
  if (!ExpectMapping(n, path, "a mapping of input names to values", b.checker)) return;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar() || e.duplicate) continue;
    std::string p = Child(path, e.key.text);
    if (e.value.IsNull()) {  // `name:` with nothing is the empty string, as in env
      uses.with.push_back({{e.key.text, e.key.mark}, {"", e.value.mark}});
      continue;
    }
    if (!e.value.IsScalar()) {
      b.checker.Error(e.value, p,
                      "expected a value (a string, number or boolean), got " + Describe(e.value),
                      "pass a list or mapping as JSON text, e.g. ${{ toJSON(...) }}");
      continue;
    }
    uses.with.push_back({{e.key.text, e.key.mark}, {e.value.text, e.value.mark}});
    b.sites.push_back({&e.value, p, task, SiteKind::kWith});
  }
}

std::string InputList(const Pipeline& child) {
  std::string out;
  for (const auto& in : child.inputs) out += (out.empty() ? "" : ", ") + in.name;
  return out;
}

// Names, literal types and required inputs of `with:` against the child.
void CheckWith(const UsesSite& site, const UsesSpec& uses, const Pipeline& child, Build& b) {
  Checker& c = b.checker;
  const TaskSpec& t = b.pipeline.tasks[site.task];
  const std::string path = Child("tasks." + t.name, "with");
  const std::string& shown = uses.path.value;
  std::vector<std::string> names;
  for (const auto& in : child.inputs) names.push_back(in.name);
  // Given: every name written, also those whose value was reported bad.
  std::vector<bool> given(child.inputs.size(), false);
  if (site.with && site.with->IsMapping()) {
    for (const auto& e : site.with->entries) {
      auto it = std::find(names.begin(), names.end(), e.key.text);
      if (e.key.IsScalar() && it != names.end()) given[it - names.begin()] = true;
    }
  }
  for (const auto& [name, value] : uses.with) {
    auto it = std::find(names.begin(), names.end(), name.value);
    if (it == names.end()) {
      std::string hint = SuggestHint(name.value, names);
      if (hint.empty())
        hint = names.empty() ? shown + " declares no inputs" : "its inputs: " + InputList(child);
      c.Error(name.mark, path + ": unknown input '" + name.value + "' of " + shown, hint);
      continue;
    }
    const InputSpec& in = child.inputs[it - names.begin()];
    if (value.value.find("${{") != std::string::npos) continue;  // typed when rendered
    Result<nlohmann::json> typed = ParseInputValue(in, value.value);
    if (typed.ok()) continue;
    std::string hint = in.options.empty() ? "" : SuggestHint(value.value, in.options);
    c.Error(value.mark,
            Child(path, name.value) + ": " + typed.status().message() + " (input '" + in.name +
                "' of " + shown + " is a " + InputTypeName(in.type) + ")",
            hint);
  }
  for (size_t i = 0; i < child.inputs.size(); ++i) {
    const InputSpec& in = child.inputs[i];
    if (given[i] || !in.required || in.default_value) continue;
    if (site.with_key) {
      c.Error(site.with_key->mark, path + ": missing required input '" + in.name + "' of " + shown,
              "add " + in.name + ": VALUE under with:");
    } else {
      c.Error(*site.uses, "tasks." + t.name + ".uses", shown + " requires input '" + in.name + "'",
              "give it under with:, e.g. with: { " + in.name + ": VALUE }");
    }
  }
}

}  // namespace

void ReadUses(const YamlNode& n, const YamlNode* with_key, const YamlNode* with,
              const std::string& path, TaskSpec& t, int task, Build& b) {
  Checker& c = b.checker;
  const std::string upath = Child(path, "uses");
  if (!n.IsScalar() || Trim(n.text).empty()) {
    c.Error(n, upath,
            "expected the path of a pipeline file, got " +
                (n.IsScalar() ? std::string("an empty string") : Describe(n)),
            kPathHint);
    return;
  }
  if (n.text.find('@') != std::string::npos || n.text.find("://") != std::string::npos) {
    c.Error(
        n, upath,
        "'" + n.text + "' is a remote reference: relay runs pipeline files, not remote workflows",
        kPathHint);
    return;
  }
  if (n.text.find("${{") != std::string::npos) {
    CheckNotTemplate(n, upath, "uses",
                     "write the path as it is; to choose between pipelines, "
                     "use two tasks with if:",
                     c);
    return;
  }
  UsesSpec& uses = t.uses.emplace();
  uses.path = {n.text, n.mark};
  if (with) ReadWith(*with, Child(path, "with"), uses, task, b);
  b.uses.push_back({task, &n, with_key, with});
}

void CheckUses(Build& b) {
  for (const UsesSite& site : b.uses) {
    TaskSpec& t = b.pipeline.tasks[site.task];
    UsesSpec& uses = *t.uses;
    if (!b.children) continue;
    ChildLoader::Child child =
        b.children->Load(uses.path.value, *site.uses, "tasks." + t.name + ".uses", b.checker);
    uses.resolved = std::move(child.resolved);
    uses.pipeline = std::move(child.pipeline);
    if (uses.pipeline) CheckWith(site, uses, *uses.pipeline, b);
  }
}

}  // namespace relay::spec::internal
