// `matrix:` — axes of scalar values plus GitHub Actions' include/exclude.
#include <algorithm>

#include "spec/matrix_size.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

// Actions' `matrix: ${{ fromJSON(needs.x.outputs.list) }}`: the plan, and
// so every instance, is fixed when a run is created.
constexpr const char* kNoDynamicMatrix =
    "relay has no dynamic matrix (values from an expression or an upstream output); "
    "list the values, or loop over them inside one task";

bool IsDynamic(const YamlNode& n) {
  return n.IsScalar() && n.text.find("${{") != std::string::npos;
}

constexpr const char* kMatrixValueHint = "list the values themselves";

// Matrix values are used as written (the planner evaluates nothing), so a
// ${{ }} in one, at any depth of an include value, is an error.
void CheckValuesNotTemplates(const YamlNode& n, const std::string& path, Checker& c) {
  if (n.IsScalar()) {
    CheckNotTemplate(n, path, "matrix values", kMatrixValueHint, c);
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.items.size(); ++i)
      CheckValuesNotTemplates(n.items[i], path + "[" + std::to_string(i) + "]", c);
  } else if (n.IsMapping()) {
    for (const auto& e : n.entries)
      if (e.key.IsScalar()) CheckValuesNotTemplates(e.value, Child(path, e.key.text), c);
  }
}

// Reads include/exclude: a list of mappings. Exclude entries may only name axes.
bool ReadEntries(const YamlNode& n, const std::string& path, const std::vector<std::string>* axes,
                 std::vector<nlohmann::json>* out, Checker& c) {
  if (!n.IsSequence()) {
    if (IsDynamic(n))
      c.Error(n, path, "a matrix's entries must be written in the file", kNoDynamicMatrix);
    else
      c.Error(n, path, "expected a list of mappings, got " + Describe(n));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!ExpectMapping(item, p, "a mapping of matrix keys to values", c)) {
      ok = false;
      continue;
    }
    if (item.entries.empty()) {
      c.Error(item, p, "expected at least one key");
      ok = false;
      continue;
    }
    for (const auto& e : item.entries) {
      if (!e.key.IsScalar()) continue;
      if (axes) {
        bool known = false;
        for (const auto& a : *axes) known = known || a == e.key.text;
        if (!known) {
          c.Error(e.key, p, "unknown axis '" + e.key.text + "'", SuggestHint(e.key.text, *axes));
          ok = false;
        }
        if (!e.value.IsScalar()) {
          c.Error(e.value, Child(p, e.key.text), "expected a value, got " + Describe(e.value));
          ok = false;
        }
        CheckValuesNotTemplates(e.value, Child(p, e.key.text), c);
      } else if (!IsIdentifier(e.key.text, true)) {
        c.Error(e.key, p, "invalid matrix key '" + e.key.text + "'",
                "use letters, digits, '_' and '-', starting with a letter or '_'");
        ok = false;
      } else {
        CheckValuesNotTemplates(e.value, Child(p, e.key.text), c);
      }
    }
    out->push_back(ToJson(item));
  }
  return ok;
}

}  // namespace

std::optional<Matrix> ReadMatrix(const YamlNode& n, std::string_view path_view, Checker& c) {
  const std::string path(path_view);
  if (IsDynamic(n)) {
    c.Error(n, path, "a matrix must be written in the file", kNoDynamicMatrix);
    return std::nullopt;
  }
  if (!ExpectMapping(n, path, "a mapping of axes to lists of values", c)) return std::nullopt;
  Matrix m;
  m.mark = n.mark;
  bool ok = true;
  std::vector<std::string> axis_names;
  const YamlNode* include = nullptr;
  const YamlNode* exclude = nullptr;
  Mark exclude_key;
  for (const auto& e : n.entries) {
    if (!e.key.IsScalar() || e.duplicate) continue;
    if (e.key.text == "include") {
      include = &e.value;
      continue;
    }
    if (e.key.text == "exclude") {
      exclude = &e.value;
      exclude_key = e.key.mark;
      continue;
    }
    std::string p = Child(path, e.key.text);
    if (!IsIdentifier(e.key.text, true)) {
      c.Error(e.key, path, "invalid axis name '" + e.key.text + "'",
              "use letters, digits, '_' and '-', starting with a letter or '_'");
      ok = false;
      continue;
    }
    if (IsDynamic(e.value)) {
      c.Error(e.value, p, "a matrix axis must be a list written in the file", kNoDynamicMatrix);
      ok = false;
      continue;
    }
    if (!e.value.IsSequence() || e.value.items.empty()) {
      c.Error(e.value, p,
              "expected a non-empty list of values, got " +
                  (e.value.IsSequence() ? std::string("an empty list") : Describe(e.value)));
      ok = false;
      continue;
    }
    std::vector<nlohmann::json> values;
    values.reserve(e.value.items.size());
    for (size_t i = 0; i < e.value.items.size(); ++i) {
      const YamlNode& v = e.value.items[i];
      if (!v.IsScalar()) {
        c.Error(v, p + "[" + std::to_string(i) + "]",
                "expected a value (string, number or boolean), got " + Describe(v));
        ok = false;
        continue;
      }
      CheckValuesNotTemplates(v, p + "[" + std::to_string(i) + "]", c);
      values.push_back(ToJson(v));
    }
    axis_names.push_back(e.key.text);
    m.axes.emplace_back(e.key.text, std::move(values));
  }
  if (include) ok = ReadEntries(*include, Child(path, "include"), nullptr, &m.include, c) && ok;
  if (exclude) {
    ok = ReadEntries(*exclude, Child(path, "exclude"), &axis_names, &m.exclude, c) && ok;
  }
  if (ok && m.axes.empty() && m.include.empty()) {
    c.Error(n, path, "expected at least one axis or 'include'");
    ok = false;
  }
  if (!ok) return std::nullopt;
  // Only excludes can leave no combination (an include always adds or
  // extends one). An upper bound that is not exact cannot tell.
  if (exclude && m.include.empty()) {
    MatrixSize size = CountMatrixInstances(m);
    if (size.exact && size.count == 0)
      c.Error(exclude_key,
              Child(path, "exclude") + ": the matrix has no instances: exclude removes every " +
                  "combination",
              "leave at least one combination, or remove the task");
  }
  return m;
}

}  // namespace relay::spec::internal

namespace relay::spec::internal {

void CheckInstanceCount(Build& b) {
  int64_t total = 0;
  bool any_over = false, total_exact = true;
  for (const auto& t : b.pipeline.tasks) {
    MatrixSize size{1, true};
    if (t.matrix) size = CountMatrixInstances(*t.matrix);
    total = std::min(kMatrixSizeCap, total + size.count);
    total_exact = total_exact && size.exact;
    if (size.count <= kMaxInstancesPerRun) continue;
    any_over = true;
    std::string count =
        size.count >= kMatrixSizeCap ? "more than 10^18" : std::to_string(size.count);
    b.checker.Error(t.matrix->mark,
                    "tasks." + t.name +
                        ".matrix: " + (size.exact ? "expands to " : "may expand to up to ") +
                        count + " instances, more than the limit of " +
                        std::to_string(kMaxInstancesPerRun) + " per run",
                    "split the matrix across tasks or pipelines, or exclude combinations");
  }
  if (!any_over && total > kMaxInstancesPerRun) {
    b.checker.Error(b.tasks_mark,
                    std::string("tasks: the pipeline ") +
                        (total_exact ? "expands to " : "may expand to up to ") +
                        std::to_string(total) + " task instances, more than the limit of " +
                        std::to_string(kMaxInstancesPerRun) + " per run",
                    "split the pipeline or reduce its matrices");
  }
}

}  // namespace relay::spec::internal
