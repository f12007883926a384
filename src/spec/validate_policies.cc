// When a task (or a run) may start: `approval:` (a person decides) and
// `concurrency:` (a group shared by runs across every relay on one store).
#include <climits>
#include <unordered_set>

#include "base/strings.h"
#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

const std::vector<std::string> kApprovalKeys = {"reviewers", "required", "timeout", "on_timeout",
                                                "allow_self"};
const std::vector<std::string> kOnTimeout = {"reject", "approve"};
const std::vector<std::string> kConcurrencyKeys = {"group", "cancel-in-progress", "limit",
                                                   "on_conflict"};
const std::vector<std::string> kOnConflict = {"queue", "cancel-running", "skip"};

void ReadReviewers(const YamlNode& n, const std::string& path, ApprovalSpec& a, Checker& c) {
  auto names = ReadNameList(n, path, c);
  if (!names) return;
  if (names->empty()) {
    c.Error(n, path, "expected at least one reviewer", "leave reviewers out to let anyone approve");
    return;
  }
  std::unordered_set<std::string> seen;
  for (const auto& name : *names) {
    if (Trim(name.value).empty()) {
      c.Error(name.mark, path + ": empty reviewer name", "write the reviewer's user name");
    } else if (name.value.find("${{") != std::string::npos) {
      c.Error(name.mark, path + ": ${{ }} is not evaluated in reviewers: names are used as written",
              "write the reviewers' user names");
    } else if (!seen.insert(name.value).second) {
      c.Error(name.mark, path + ": reviewer '" + name.value + "' is listed twice");
    } else {
      a.reviewers.push_back(name.value);
    }
  }
}

void ReadApprovalFields(const YamlNode& n, const std::string& path, ApprovalSpec& a, Checker& c) {
  if (const YamlNode* r = Find(n, "reviewers")) ReadReviewers(*r, Child(path, "reviewers"), a, c);
  const YamlNode* required = Find(n, "required");
  if (required) {
    if (auto v = ReadInt(*required, Child(path, "required"), 1, INT_MAX, c)) {
      a.required = static_cast<int>(*v);
      size_t listed = a.reviewers.size();
      if (listed > 0 && static_cast<size_t>(a.required) > listed)
        c.Error(*required, Child(path, "required"),
                std::to_string(a.required) + " approvals required, but only " +
                    std::to_string(listed) + " reviewer" + (listed == 1 ? " is" : "s are") +
                    " listed",
                "lower required, or add reviewers");
    }
  }
  const YamlNode* timeout = Find(n, "timeout");
  if (timeout) {
    a.timeout = ReadDuration(*timeout, Child(path, "timeout"), c);
    if (a.timeout && *a.timeout <= 0)
      c.Error(*timeout, Child(path, "timeout"), "must be more than 0");
  }
  if (const YamlNode* o = Find(n, "on_timeout")) {
    std::string p = Child(path, "on_timeout");
    if (auto s = ReadString(*o, p, c)) {
      if (*s == "reject") {
        a.on_timeout = ApprovalSpec::OnTimeout::kReject;
      } else if (*s == "approve") {
        a.on_timeout = ApprovalSpec::OnTimeout::kApprove;
      } else {
        std::string hint = SuggestHint(*s, kOnTimeout);
        c.Error(*o, p, "unknown on_timeout '" + *s + "'",
                hint.empty() ? "use reject or approve" : hint);
      }
      if (!timeout)
        c.Error(*o, p, "on_timeout has no effect without a timeout",
                "add approval.timeout (e.g. timeout: 24h), or remove on_timeout");
    }
  }
  if (const YamlNode* s = Find(n, "allow_self")) {
    if (auto v = ReadBool(*s, Child(path, "allow_self"), c)) a.allow_self = *v;
  }
}

void ReadGroup(const YamlNode& n, const std::string& path, int task, ConcurrencySpec& spec,
               Build& b) {
  auto text = ReadString(n, path, b.checker);
  if (!text) return;
  spec.group = {*text, n.mark};
  if (text->find("${{") == std::string::npos) {
    if (Trim(*text).empty())
      b.checker.Error(n, path, "the group must not be empty",
                      "name the group, e.g. deploy-${{ inputs.target }}");
    return;
  }
  b.sites.push_back(
      {&n, path, task, task < 0 ? SiteKind::kPipelineConcurrency : SiteKind::kTaskConcurrency});
}

}  // namespace

std::optional<ApprovalSpec> ReadApproval(const YamlNode& key, const YamlNode& n,
                                         const std::string& path, Checker& c) {
  ApprovalSpec a;
  a.mark = key.mark;
  if (n.IsScalar()) {
    nlohmann::json v = ToJson(n);
    if (v.is_boolean()) return v.get<bool>() ? std::optional<ApprovalSpec>(a) : std::nullopt;
    c.Error(n, path, "expected true, false or a mapping, got " + Describe(n) + " '" + n.text + "'");
    return std::nullopt;
  }
  if (!CheckMapping(n, path, kApprovalKeys, "true, false or a mapping", c)) return std::nullopt;
  ReadApprovalFields(n, path, a, c);
  return a;
}

std::optional<ConcurrencySpec> ReadConcurrency(const YamlNode& key, const YamlNode& n,
                                               const std::string& path, int task, Build& b) {
  Checker& c = b.checker;
  ConcurrencySpec spec;
  spec.mark = key.mark;
  if (n.IsScalar()) {  // Actions' short form: the group
    ReadGroup(n, path, task, spec, b);
    return spec;
  }
  if (!CheckMapping(n, path, kConcurrencyKeys, "a group name or a mapping with 'group'", c))
    return std::nullopt;
  if (const YamlNode* g = Find(n, "group"))
    ReadGroup(*g, Child(path, "group"), task, spec, b);
  else
    c.Error(n, path, "missing 'group'", "name the group, e.g. group: deploy");
  if (const YamlNode* l = Find(n, "limit")) {
    if (auto v = ReadInt(*l, Child(path, "limit"), 1, INT_MAX, c))
      spec.limit = static_cast<int>(*v);
  }
  std::optional<bool> cancel;
  if (const YamlNode* cip = Find(n, "cancel-in-progress")) {
    cancel = ReadBool(*cip, Child(path, "cancel-in-progress"), c);
    if (cancel.value_or(false)) spec.on_conflict = ConcurrencySpec::OnConflict::kCancelRunning;
  }
  if (const YamlNode* o = Find(n, "on_conflict")) {
    std::string p = Child(path, "on_conflict");
    auto s = ReadString(*o, p, c);
    if (!s) return spec;
    if (*s == "queue") {
      spec.on_conflict = ConcurrencySpec::OnConflict::kQueue;
    } else if (*s == "cancel-running") {
      spec.on_conflict = ConcurrencySpec::OnConflict::kCancelRunning;
    } else if (*s == "skip") {
      spec.on_conflict = ConcurrencySpec::OnConflict::kSkip;
    } else {
      std::string hint = SuggestHint(*s, kOnConflict);
      c.Error(*o, p, "unknown on_conflict '" + *s + "'",
              hint.empty() ? "use queue, cancel-running or skip" : hint);
      return spec;
    }
    // Actions' cancel-in-progress says the same as on_conflict, less finely.
    bool cancels = spec.on_conflict == ConcurrencySpec::OnConflict::kCancelRunning;
    if (cancel.has_value() && *cancel != cancels)
      c.Error(*o, p,
              "on_conflict: " + *s + " contradicts cancel-in-progress: " +
                  (*cancel ? "true (which means on_conflict: cancel-running)" : "false"),
              "keep one of the two");
  }
  return spec;
}

}  // namespace relay::spec::internal
