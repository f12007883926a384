#include "spec/pipeline.h"

namespace relay::spec {

int Pipeline::FindTask(std::string_view name) const {
  for (size_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace relay::spec
