#include "base/ids.h"

#include <random>

namespace relay {

std::string NewRunId(Micros now) {
  static const char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t millis = static_cast<uint64_t>(now / kMillisecond);
  std::string id(26, '0');
  for (int i = 9; i >= 0; --i) {
    id[i] = kAlphabet[millis & 31];
    millis >>= 5;
  }
  uint64_t hi = rng(), lo = rng();
  for (int i = 10; i < 26; ++i) {
    uint64_t& src = i < 18 ? hi : lo;
    id[i] = kAlphabet[src & 31];
    src >>= 5;
  }
  return id;
}

}  // namespace relay
