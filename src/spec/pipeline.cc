#include "spec/pipeline.h"

namespace relay::spec {

int Pipeline::FindTask(std::string_view name) const {
  if (task_index_.size() != tasks.size()) {
    task_index_.clear();
    task_index_.reserve(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i)
      task_index_.emplace(tasks[i].name, static_cast<int>(i));
    if (task_index_.size() != tasks.size()) {
      // Duplicate names (only in a pipeline that failed validation): scan.
      for (size_t i = 0; i < tasks.size(); ++i)
        if (tasks[i].name == name) return static_cast<int>(i);
      return -1;
    }
  }
  auto it = task_index_.find(name);
  return it == task_index_.end() ? -1 : it->second;
}

}  // namespace relay::spec
