// The top level of a pipeline file: name, description, inputs, env, secrets,
// defaults, and the tasks mapping (each task is read in validate_tasks.cc).
#include "spec/validate.h"

#include <algorithm>

namespace relay::spec::internal {
namespace {

const std::vector<std::string> kTopKeys = {"name",  "description", "inputs",
                                           "env",   "defaults",    "secrets",
                                           "tasks", "outputs",     "concurrency"};
const std::vector<std::string> kInputKeys = {"type", "default", "required", "enum", "description"};
const std::vector<std::string> kInputTypes = {"string", "number", "boolean", "choice"};
const std::vector<std::string> kDefaultsKeys = {"timeout", "shell", "retry", "cwd"};

std::string Options(const std::vector<std::string>& options) {
  std::string out;
  for (const auto& o : options) out += (out.empty() ? "" : ", ") + o;
  return out;
}

// `default:` must have the input's type and be one of its options.
void ReadInputDefault(const YamlNode& n, const std::string& path, InputSpec& in, Checker& c) {
  nlohmann::json j = ToJson(n);
  if (n.IsNull()) return;
  if (!n.IsScalar()) {
    c.Error(n, path, "expected a single value, got " + Describe(n));
    return;
  }
  switch (in.type) {
    case InputType::kNumber:
      if (!j.is_number()) {
        c.Error(n, path,
                "expected a number for a number input, got " + Describe(n) + " '" + n.text + "'");
        return;
      }
      break;
    case InputType::kBoolean:
      if (!j.is_boolean()) {
        c.Error(
            n, path,
            "expected true or false for a boolean input, got " + Describe(n) + " '" + n.text + "'");
        return;
      }
      break;
    case InputType::kString:
    case InputType::kChoice:
      j = n.text;
      break;
  }
  if (!in.options.empty()) {
    bool found = false;
    for (const auto& o : in.options) found = found || o == n.text;
    if (!found) {
      std::string hint = SuggestHint(n.text, in.options);
      c.Error(n, path, "'" + n.text + "' is not one of the options: " + Options(in.options),
              hint.empty() ? "use one of: " + Options(in.options) : hint);
      return;
    }
  }
  in.default_value = std::move(j);
}

void ReadInput(const YamlNode& key, const YamlNode& value, const std::string& path, Build& b) {
  Checker& c = b.checker;
  InputSpec in;
  in.name = key.text;
  in.mark = key.mark;
  if (!IsIdentifier(key.text, true))
    c.Error(key, "inputs", "invalid input name '" + key.text + "'",
            "use letters, digits, '_' and '-', starting with a letter or '_'");
  if (value.IsScalar() || value.IsNull()) {  // shorthand: `name: default`
    nlohmann::json j = ToJson(value);
    if (j.is_boolean())
      in.type = InputType::kBoolean;
    else if (j.is_number())
      in.type = InputType::kNumber;
    if (!value.IsNull()) in.default_value = value.IsPlain() ? j : nlohmann::json(value.text);
    b.pipeline.inputs.push_back(std::move(in));
    return;
  }
  if (!CheckMapping(value, path, kInputKeys, "a mapping or a default value", c)) return;
  if (const YamlNode* t = Find(value, "type")) {
    if (auto s = ReadString(*t, Child(path, "type"), c)) {
      if (*s == "string")
        in.type = InputType::kString;
      else if (*s == "number")
        in.type = InputType::kNumber;
      else if (*s == "boolean")
        in.type = InputType::kBoolean;
      else if (*s == "choice")
        in.type = InputType::kChoice;
      else {
        std::string hint = SuggestHint(*s, kInputTypes);
        c.Error(*t, Child(path, "type"), "unknown type '" + *s + "'",
                hint.empty() ? "use one of: string, number, boolean, choice" : hint);
      }
    }
  }
  if (const YamlNode* e = Find(value, "enum")) {
    std::string epath = Child(path, "enum");
    if (in.type == InputType::kNumber || in.type == InputType::kBoolean) {
      c.Error(*e, epath, "enum is only allowed on string and choice inputs");
    } else if (!e->IsSequence() || e->items.empty()) {
      c.Error(*e, epath,
              "expected a non-empty list of options, got " +
                  (e->IsSequence() ? std::string("an empty list") : Describe(*e)));
    } else {
      for (size_t i = 0; i < e->items.size(); ++i) {
        if (auto s = ReadString(e->items[i], epath + "[" + std::to_string(i) + "]", c))
          in.options.push_back(*s);
      }
    }
  } else if (in.type == InputType::kChoice) {
    c.Error(key, path, "a choice input needs 'enum', the list of options");
  }
  if (const YamlNode* r = Find(value, "required")) {
    if (auto v = ReadBool(*r, Child(path, "required"), c)) in.required = *v;
  }
  if (const YamlNode* d = Find(value, "description")) {
    if (auto v = ReadString(*d, Child(path, "description"), c)) in.description = *v;
  }
  if (const YamlNode* d = Find(value, "default"))
    ReadInputDefault(*d, Child(path, "default"), in, c);
  b.pipeline.inputs.push_back(std::move(in));
}

void ReadInputs(const YamlNode& n, Build& b) {
  if (!ExpectMapping(n, "inputs", "a mapping of input names", b.checker)) return;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar() || e.duplicate) continue;
    ReadInput(e.key, e.value, Child("inputs", e.key.text), b);
  }
}

void ReadSecrets(const YamlNode& n, Build& b) {
  if (!n.IsSequence()) {
    b.checker.Error(n, "secrets",
                    "expected a list of environment variable names, got " + Describe(n));
    return;
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    std::string path = "secrets[" + std::to_string(i) + "]";
    auto s = ReadString(n.items[i], path, b.checker);
    if (!s) continue;
    if (!IsIdentifier(*s, false)) {
      b.checker.Error(n.items[i], path, "invalid environment variable name '" + *s + "'",
                      "use letters, digits and '_', starting with a letter or '_'");
      continue;
    }
    b.pipeline.secrets.push_back(*s);
  }
}

void ReadDefaults(const YamlNode& n, Build& b) {
  Checker& c = b.checker;
  if (!CheckMapping(n, "defaults", kDefaultsKeys, "a mapping", c)) return;
  Defaults& d = b.pipeline.defaults;
  if (const YamlNode* t = Find(n, "timeout")) {
    d.timeout = ReadDuration(*t, "defaults.timeout", c);
    if (d.timeout && *d.timeout <= 0) c.Error(*t, "defaults.timeout", "must be more than 0");
  }
  if (const YamlNode* s = Find(n, "shell")) {
    if (auto v = ReadString(*s, "defaults.shell", c)) {
      if (v->empty()) c.Error(*s, "defaults.shell", "must not be empty");
      d.shell = *v;
      CheckNotTemplate(*s, "defaults.shell", "shell", kShellHint, c);
    }
  }
  if (const YamlNode* r = Find(n, "retry")) d.retry = ReadRetry(*r, "defaults.retry", c);
  if (const YamlNode* w = Find(n, "cwd")) {
    if (auto v = ReadString(*w, "defaults.cwd", c)) {
      d.cwd = *v;
      b.sites.push_back({w, "defaults.cwd", -1, SiteKind::kDefaultsCwd});
    }
  }
}

const std::vector<std::string> kOutputKeys = {"value", "description"};
constexpr const char* kOutputsHint =
    "map each name to a value: outputs: { version: ${{ tasks.build.outputs.version }} }";

// One pipeline output: a template, or Actions' {value, description}.
void ReadPipelineOutput(const YamlNode& key, const YamlNode& value, Build& b) {
  Checker& c = b.checker;
  const std::string path = Child("outputs", key.text);
  if (!IsIdentifier(key.text, true)) {
    c.Error(key, "outputs", "invalid output name '" + key.text + "'",
            "use letters, digits, '_' and '-', starting with a letter or '_'");
    return;
  }
  OutputSpec out;
  out.name = key.text;
  const YamlNode* v = &value;
  std::string vpath = path;
  if (value.IsMapping()) {
    if (!CheckMapping(value, path, kOutputKeys, "a mapping", c)) return;
    if (const YamlNode* d = Find(value, "description")) {
      if (auto s = ReadString(*d, Child(path, "description"), c)) out.description = *s;
    }
    v = Find(value, "value");
    vpath = Child(path, "value");
    if (!v) {
      c.Error(value, path, "missing 'value'", "e.g. value: ${{ tasks.build.outputs.version }}");
      return;
    }
  }
  if (!v->IsScalar()) {
    c.Error(*v, vpath,
            "expected a value such as ${{ tasks.build.outputs.version }}, got " + Describe(*v),
            v == &value ? "or a mapping with 'value' and 'description'" : "");
    return;
  }
  out.value = {v->text, v->mark};
  b.pipeline.outputs.push_back(std::move(out));
  b.sites.push_back({v, vpath, -1, SiteKind::kPipelineOutput});
}

void ReadPipelineOutputs(const YamlNode& n, Build& b) {
  if (n.IsSequence()) {  // a task's form: names only
    b.checker.Error(n, "outputs", "expected a mapping of output names to values, got a list",
                    kOutputsHint);
    return;
  }
  if (!ExpectMapping(n, "outputs", "a mapping of output names to values", b.checker)) return;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar() || e.duplicate) continue;
    ReadPipelineOutput(e.key, e.value, b);
  }
}

}  // namespace

void ReadEnv(const YamlNode& n, const std::string& path, int task,
             std::vector<std::pair<std::string, std::string>>* out, Build& b) {
  if (!ExpectMapping(n, path, "a mapping of variable names to values", b.checker)) return;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar() || e.duplicate) continue;
    std::string p = Child(path, e.key.text);
    if (!IsIdentifier(e.key.text, false)) {
      b.checker.Error(e.key, path, "invalid environment variable name '" + e.key.text + "'",
                      "use letters, digits and '_', starting with a letter or '_'");
      continue;
    }
    if (e.value.IsNull()) {
      out->emplace_back(e.key.text, "");
      continue;
    }
    if (!e.value.IsScalar()) {
      b.checker.Error(e.value, p, "expected a string, got " + Describe(e.value));
      continue;
    }
    out->emplace_back(e.key.text, e.value.text);
    b.sites.push_back({&e.value, p, task, task < 0 ? SiteKind::kPipelineEnv : SiteKind::kTaskEnv});
  }
}

void BuildPipeline(const YamlNode& root, Build& b) {
  Checker& c = b.checker;
  // Keys starting with x- are ignored: a place for YAML anchors to reuse.
  for (const auto& e : root.entries) {
    if (!e.key.IsScalar()) {
      c.Error(e.key, "", "keys must be strings, got " + Describe(e.key));
    } else if (e.key.text.rfind("x-", 0) != 0 &&
               std::find(kTopKeys.begin(), kTopKeys.end(), e.key.text) == kTopKeys.end()) {
      c.Error(e.key, "", "unknown key '" + e.key.text + "'",
              UnknownKeyHint(KeySection::kTop, e, kTopKeys));
    }
  }
  if (const YamlNode* n = Find(root, "name")) {
    if (auto v = ReadString(*n, "name", c)) {
      if (v->empty()) c.Error(*n, "name", "must not be empty");
      b.pipeline.name = *v;
    }
  }
  if (const YamlNode* n = Find(root, "description")) (void)ReadString(*n, "description", c);
  if (const YamlNode* n = Find(root, "inputs")) ReadInputs(*n, b);
  if (const YamlNode* n = Find(root, "env")) ReadEnv(*n, "env", -1, &b.pipeline.env, b);
  if (const YamlNode* n = Find(root, "secrets")) ReadSecrets(*n, b);
  if (const YamlNode* n = Find(root, "defaults")) ReadDefaults(*n, b);
  if (const YamlNode* n = Find(root, "outputs")) ReadPipelineOutputs(*n, b);
  for (const auto& e : root.entries) {
    if (e.key.IsScalar() && e.key.text == "concurrency") {
      b.pipeline.concurrency = ReadConcurrency(e.key, e.value, "concurrency", -1, b);
      break;
    }
  }

  const YamlNode* tasks = nullptr;
  for (const auto& e : root.entries) {
    if (e.key.IsScalar() && e.key.text == "tasks") {
      tasks = &e.value;
      b.tasks_mark = e.key.mark;
      break;
    }
  }
  if (!tasks) {
    c.Error(root.mark, "missing 'tasks': a pipeline needs at least one task",
            "add a 'tasks:' mapping, e.g. tasks: { build: { run: make } }");
    return;
  }
  if (!tasks->IsMapping()) {
    c.Error(*tasks, "tasks", "expected a mapping of task names to tasks, got " + Describe(*tasks));
    return;
  }
  if (tasks->entries.empty()) {
    c.Error(*tasks, "tasks", "expected at least one task");
    return;
  }
  b.pipeline.tasks.reserve(tasks->entries.size());
  b.sites.reserve(b.sites.size() + tasks->entries.size());  // a command each, at least
  for (const auto& e : tasks->entries) {
    if (!e.key.IsScalar()) {
      c.Error(e.key, "tasks", "task names must be strings, got " + Describe(e.key));
      continue;
    }
    if (e.duplicate) continue;  // reported as a duplicate key
    BuildTask(e.key, e.value, b);
  }
  CheckNeeds(b);
  CheckInstanceCount(b);
  CheckUses(b);
  CheckExpressions(b);
}

}  // namespace relay::spec::internal
