#include "events/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// EVP's first use loads the provider machinery (≈5 M instructions, as much
// as hashing 500 events) and every digest then dispatches through it. The low-level functions are
// the same implementation, still shipped and maintained, without either cost: the store hashes one
// event per transition.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>

namespace relay::events {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sha256Digest Sha256(std::string_view a, std::string_view b) {
  // Cannot fail: the context lives on the stack and nothing is allocated.
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  Sha256Digest out{};
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string Sha256Hex(std::string_view data) { return DigestToHex(Sha256(data)); }

std::string DigestToHex(const Sha256Digest& digest) {
  std::string out;
  AppendDigestHex(out, digest);
  return out;
}

namespace {

// The two hex digits of every byte value: one load per byte.
struct HexPairs {
  char pairs[256][2];
  constexpr HexPairs() : pairs() {
    constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      pairs[i][0] = kHex[i >> 4];
      pairs[i][1] = kHex[i & 0xf];
    }
  }
};
constexpr HexPairs kHexPairs;

}  // namespace

void AppendDigestHex(std::string& out, const Sha256Digest& digest) {
  char buf[2 * std::tuple_size_v<Sha256Digest>];
  for (size_t i = 0; i < digest.size(); ++i)
    std::memcpy(buf + 2 * i, kHexPairs.pairs[digest[i]], 2);
  out.append(buf, sizeof buf);
}

bool HexToDigest(std::string_view hex, Sha256Digest* out) {
  if (hex.size() != out->size() * 2) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace relay::events
