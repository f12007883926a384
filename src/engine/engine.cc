// Engine: taking runs, and what the engine does for its runs' drivers (the
// RunHost side). The loop itself is in engine_loop.cc.
#include "engine/engine.h"

#include <thread>

#include "exec/owner.h"

namespace relay::engine {

using state::RunState;

Engine::Engine(store::Store* store, exec::Runner* runner, const Clock* clock, EngineOptions options)
    : store_(store), runner_(runner), clock_(clock), options_(std::move(options)) {
  if (options_.slots <= 0) {
    unsigned n = std::thread::hardware_concurrency();
    options_.slots = n ? static_cast<int>(n) : 2;
  }
  if (options_.log_dir.empty()) options_.log_dir = store_->LogDir();
}

Engine::~Engine() = default;

sched::DriverOptions Engine::DriverOptionsFor(uint32_t slot) const {
  sched::DriverOptions o;
  o.slot = slot;
  o.owner = options_.owner;
  o.log_dir = options_.log_dir;
  o.kill_grace = options_.kill_grace;
  o.lease = options_.lease;
  o.heartbeat_interval = options_.heartbeat_interval;
  o.seed = options_.seed ? options_.seed + slot : 0;
  return o;
}

// A slot is numbered before its driver is made (tokens carry the number),
// and before the driver takes its run: taking it may resume sub-pipelines,
// which take slots of their own.
uint32_t Engine::NewSlot() {
  slots_.emplace_back();
  slots_.back().active = false;
  return static_cast<uint32_t>(slots_.size() - 1);
}

Status Engine::Take(uint32_t slot, std::unique_ptr<sched::RunDriver> driver) {
  const std::string id = driver->run().id;
  const size_t before = batch_.transitions.size();
  Status taken = driver->Take();
  if (!taken.ok()) {
    // Nothing of a run that could not be taken is committed.
    batch_.transitions.erase(batch_.transitions.begin() + static_cast<ptrdiff_t>(before),
                             batch_.transitions.end());
    return taken;
  }
  slots_[slot].driver = std::move(driver);
  slots_[slot].active = true;
  by_id_[id] = slot;
  unannounced_.push_back(slot);
  ++active_;
  used_ += slots_[slot].driver->in_slots();
  MarkDirty(slot);
  return Status::Ok();
}

Status Engine::Add(sched::CreatedRun run, bool create) {
  const uint32_t slot = NewSlot();
  if (create) batch_.new_runs.push_back(store::NewRun{run.run, run.rows});
  auto driver = std::make_unique<sched::RunDriver>(AsHost(), DriverOptionsFor(slot));
  Status loaded = driver->LoadCreated(std::move(run));
  if (loaded.ok()) loaded = Take(slot, std::move(driver));
  if (!loaded.ok() && create) batch_.new_runs.pop_back();
  return loaded;
}

Status Engine::Resume(const std::string& run_id) {
  RELAY_ASSIGN_OR_RETURN(std::string top, TopRun(run_id));
  if (Find(top) != nullptr) return Status::Ok();
  RELAY_ASSIGN_OR_RETURN(store::RunRow row, store_->GetRun(top));
  const uint32_t slot = NewSlot();
  auto driver = std::make_unique<sched::RunDriver>(AsHost(), DriverOptionsFor(slot));
  RELAY_RETURN_IF_ERROR(driver->LoadStored(std::move(row)));
  return Take(slot, std::move(driver));
}

Result<std::string> Engine::TopRun(const std::string& id) {
  std::string at = id;
  for (int depth = 0; depth < 64; ++depth) {
    RELAY_ASSIGN_OR_RETURN(store::RunRow row, store_->GetRun(at));
    if (row.caller_run.empty()) return at;
    at = row.caller_run;
  }
  return Status::Corrupt("run " + id + ": its callers form a loop");
}

Result<RunState> Engine::Execute(sched::CreatedRun run, bool create) {
  const std::string id = run.run.id;
  RELAY_RETURN_IF_ERROR(Add(std::move(run), create));
  RELAY_RETURN_IF_ERROR(RunUntilIdle());
  return this->run(id)->state;
}

Result<RunState> Engine::Execute(const std::string& run_id) {
  RELAY_RETURN_IF_ERROR(Resume(run_id));
  RELAY_RETURN_IF_ERROR(RunUntilIdle());
  const store::RunRow* row = run(run_id);
  if (row == nullptr) {
    RELAY_ASSIGN_OR_RETURN(store::RunRow stored, store_->GetRun(run_id));
    return stored.state;
  }
  return row->state;
}

uint32_t Engine::SlotOf(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? UINT32_MAX : it->second;
}

sched::RunDriver* Engine::Find(const std::string& id) const {
  uint32_t slot = SlotOf(id);
  if (slot == UINT32_MAX || !slots_[slot].active) return nullptr;
  return slots_[slot].driver.get();
}

const store::RunRow* Engine::run(const std::string& id) const {
  uint32_t slot = SlotOf(id);
  return slot == UINT32_MAX ? nullptr : &slots_[slot].driver->run();
}

std::vector<const store::TaskRow*> Engine::rows(const std::string& id) const {
  uint32_t slot = SlotOf(id);
  if (slot == UINT32_MAX) return {};
  return slots_[slot].driver->rows();
}

sched::RunDriver* Engine::TEST_driver(const std::string& id) {
  uint32_t slot = SlotOf(id);
  return slot == UINT32_MAX ? nullptr : slots_[slot].driver.get();
}

void Engine::MarkDirty(uint32_t slot) {
  if (slots_[slot].dirty) return;
  slots_[slot].dirty = true;
  dirty_.push_back(slot);
}

// A run's place among those with ready work: fewest attempts running first,
// then the one served longest ago. A run of 10,000 ready tasks then takes
// its turn with a run of 3, not before it.
void Engine::UpdateReady(uint32_t slot) {
  Slot& s = slots_[slot];
  const bool ready = s.active && s.driver->HasReady();
  const ReadyKey key{ready ? s.driver->in_slots() : 0, s.served, slot};
  if (s.in_ready && ready && key == s.key) return;  // in its place already
  // The set's nodes are reused (a run's place moves at every start).
  if (s.in_ready) {
    spare_ready_ = ready_.extract(s.key);
    s.in_ready = false;
  }
  if (!ready) return;
  s.key = key;
  if (spare_ready_) {
    spare_ready_.value() = key;
    ready_.insert(std::move(spare_ready_));
  } else {
    ready_.insert(key);
  }
  s.in_ready = true;
}

exec::AttemptSpec Engine::SpareSpec() {
  if (spare_specs_.empty()) return {};
  exec::AttemptSpec spec = std::move(spare_specs_.back());
  spare_specs_.pop_back();
  return spec;
}

exec::AdoptResult Engine::Adopt(const exec::AdoptRequest& request) {
  exec::AdoptResult got = runner_->Adopt(request);
  // An adopted result is acknowledged once recorded, like any other.
  if (got.outcome == exec::AdoptResult::Outcome::kFinished) acks_.push_back(request.token);
  return got;
}

void Engine::StartChild(sched::CreatedRun child) {
  const std::string id = child.run.id;
  Status added = Add(std::move(child), /*create=*/true);
  if (!added.ok()) Notice("sub-pipeline run " + id + " could not start: " + added.message());
}

Status Engine::ResumeChild(const std::string& child_id) {
  if (Find(child_id) != nullptr) return Status::Ok();
  RELAY_ASSIGN_OR_RETURN(store::RunRow row, store_->GetRun(child_id));
  if (state::IsFinal(row.state)) {
    // It ended while nobody drove its caller (cancelled by `relay cancel`
    // on its own): the caller learns it in the next step, not from inside
    // its own recovery.
    child_ends_.push_back(ChildEnd{row.caller_run, row.caller_index, row});
    return Status::Ok();
  }
  const uint32_t slot = NewSlot();
  auto driver = std::make_unique<sched::RunDriver>(AsHost(), DriverOptionsFor(slot));
  RELAY_RETURN_IF_ERROR(driver->LoadStored(std::move(row)));
  return Take(slot, std::move(driver));
}

void Engine::CancelRun(const std::string& run_id, std::string_view cause,
                       const std::string& reason) {
  if (sched::RunDriver* d = Find(run_id)) {
    d->BeginCancel(cause, reason);
    MarkDirty(SlotOf(run_id));
    return;
  }
  // Another relay drives it: ask through the inbox, and poke it.
  store::Request r;
  r.run_id = run_id;
  // The kind says why, for that relay's ledger (cancel_requested: "cancel").
  r.kind = cause == state::run_cause::kCancelRequested ? "cancel" : std::string(cause);
  r.actor = "relay " + options_.owner;
  r.comment = reason;
  auto added = store_->AddRequest(r);
  if (!added.ok()) {
    Notice("cannot ask run " + run_id + " to cancel: " + added.status().message());
    return;
  }
  if (auto row = store_->GetRun(run_id); row.ok() && !row->owner.empty())
    exec::PokeOwner(row->owner);
}

void Engine::CancelTaskOf(const std::string& run_id, int32_t index, const std::string& reason) {
  std::string name;
  if (sched::RunDriver* d = Find(run_id)) {
    name = d->row(index).name;
  } else if (auto rows = store_->GetTasks(run_id);
             rows.ok() && index >= 0 && static_cast<size_t>(index) < rows->size()) {
    name = (*rows)[index].name;
  }
  if (name.empty()) return;
  store::Request r;
  r.run_id = run_id;
  r.kind = "cancel";
  r.task = name;
  r.actor = "relay " + options_.owner;
  r.comment = reason;
  if (sched::RunDriver* d = Find(run_id)) {
    d->OnRequest(r);
    MarkDirty(SlotOf(run_id));
    return;
  }
  if (store_->AddRequest(r).ok()) {
    if (auto row = store_->GetRun(run_id); row.ok() && !row->owner.empty())
      exec::PokeOwner(row->owner);
  }
}

void Engine::Notice(const std::string& text) {
  for (auto* o : observers_) o->OnNotice(text);
}

}  // namespace relay::engine
