#include "state/machine.h"

#include <cstdio>
#include <cstdlib>

namespace relay::state {

void DieOnBadTransition(std::string_view entity, std::string_view from, std::string_view to,
                        std::string_view cause) {
  std::fprintf(
      stderr,
      "relay: internal error: %.*s transition %.*s -> %.*s (cause %.*s) is not in the table\n",
      static_cast<int>(entity.size()), entity.data(), static_cast<int>(from.size()), from.data(),
      static_cast<int>(to.size()), to.data(), static_cast<int>(cause.size()), cause.data());
  std::abort();
}

}  // namespace relay::state
