// Approvals: an instance waits in `waiting_approval` until enough reviewers
// approve it (or one rejects it, or its timeout decides); who decided, when
// and their comment are in the ledger.
#include "base/duration.h"
#include "base/edit_distance.h"
#include "base/strings.h"
#include "sched/run_driver.h"

namespace relay::sched {

using state::TaskState;
namespace tc = state::cause;

namespace {

bool Contains(const std::string& list, const std::string& name) {
  for (const std::string& n : Split(list, ','))
    if (n == name) return true;
  return false;
}

size_t CountNames(const std::string& list) { return list.empty() ? 0 : Split(list, ',').size(); }

}  // namespace

std::string RunDriver::Approve(const store::Request& request, bool reject) {
  std::vector<int32_t> matching, waiting;
  std::vector<std::string> names;
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    const store::TaskRow& row = model_.inst[i].row;
    names.push_back(row.name);
    if (row.name != request.task && row.task != request.task) continue;
    matching.push_back(static_cast<int32_t>(i));
    if (row.state == TaskState::kWaitingApproval) waiting.push_back(static_cast<int32_t>(i));
  }
  if (matching.empty())
    return "refused: run " + run_.id + " has no task '" + request.task + "'" +
           DidYouMean(request.task, names);
  if (waiting.empty()) {
    const store::TaskRow& row = model_.inst[matching[0]].row;
    return "refused: task '" + row.name + "' is " + std::string(state::Name(row.state)) +
           ", not waiting for approval";
  }
  const spec::ApprovalSpec& spec = *model_.SpecOf(waiting[0]).approval;
  const std::string& who = request.actor;
  if (!spec.reviewers.empty() &&
      std::find(spec.reviewers.begin(), spec.reviewers.end(), who) == spec.reviewers.end())
    return "refused: '" + who + "' is not one of the reviewers (" + Join(spec.reviewers, ", ") +
           ")";
  if (!spec.allow_self && !run_.created_by.empty() && who == run_.created_by)
    return "refused: '" + who + "' started this run, and its approval says allow_self: false";
  const std::string said = request.comment.empty() ? "" : ": " + request.comment;
  events::DataBuilder facts;
  if (!request.comment.empty()) facts.Add("comment", request.comment);
  std::string outcome;
  for (int32_t index : waiting) {
    InstanceModel& m = model_.inst[index];
    const bool approval_only = model_.SpecOf(index).steps.empty() && !model_.SpecOf(index).uses;
    if (reject) {
      events::DataBuilder f = facts;
      f.Add("by", who);
      Transition(index, TaskState::kFailed, tc::kRejected, "rejected by " + who + said, {},
                 std::move(f));
      MarkFinal(index);
      outcome = "rejected";
      continue;
    }
    if (Contains(m.row.approved_by, who)) {
      outcome = "refused: '" + who + "' already approved '" + m.row.name + "' (" +
                std::to_string(CountNames(m.row.approved_by)) + " of " +
                std::to_string(spec.required) + ")";
      continue;
    }
    store::TaskEffects fx;
    fx.approver = who;
    const int count = static_cast<int>(CountNames(m.row.approved_by)) + 1;
    if (count < spec.required) {
      std::string of = " (" + std::to_string(count) + " of " + std::to_string(spec.required) + ")";
      Transition(index, TaskState::kWaitingApproval, tc::kApprovalRecorded,
                 "approved by " + who + of + said, std::move(fx), facts);
      outcome = "approved" + of;
      continue;
    }
    m.approved = true;
    Transition(index, approval_only ? TaskState::kSucceeded : TaskState::kQueued, tc::kApproved,
               "approved by " + who + said, std::move(fx), facts);
    if (approval_only)
      MarkFinal(index);
    else
      model_.PushReady(index);
    outcome = "approved";
  }
  return outcome;
}

void RunDriver::ApprovalTimedOut(int32_t index) {
  InstanceModel& m = model_.inst[index];
  const spec::TaskSpec& task = model_.SpecOf(index);
  const spec::ApprovalSpec& spec = *task.approval;
  const std::string after = "nobody decided within " + FormatDuration(spec.timeout.value_or(0));
  if (spec.on_timeout == spec::ApprovalSpec::OnTimeout::kApprove) {
    const bool approval_only = task.steps.empty() && !task.uses;
    m.approved = true;
    Transition(index, approval_only ? TaskState::kSucceeded : TaskState::kQueued,
               tc::kApprovalTimeout, after + "; on_timeout: approve");
    if (approval_only)
      MarkFinal(index);
    else
      model_.PushReady(index);
    return;
  }
  Transition(index, TaskState::kFailed, tc::kApprovalTimeout, after + " (on_timeout: reject)");
  MarkFinal(index);
}

}  // namespace relay::sched
