#include "events/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace relay::events {
namespace {

// OpenSSL only fails here when out of memory; there is nothing sensible to
// return, and a wrong hash would silently break the ledger.
[[noreturn]] void DieOnOpenSslFailure(const char* what) {
  std::fprintf(stderr, "relay: internal error: OpenSSL %s failed\n", what);
  std::abort();
}

// Fetching the algorithm and allocating a context cost more than hashing a
// short event, and the store hashes one event per transition: keep one of
// each per thread.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) DieOnOpenSslFailure("EVP_MD_fetch(SHA256)");
  return md;
}

struct CtxHolder {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~CtxHolder() { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* ThreadCtx() {
  thread_local CtxHolder holder;
  if (holder.ctx == nullptr) DieOnOpenSslFailure("EVP_MD_CTX_new");
  return holder.ctx;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sha256Digest Sha256(std::string_view a, std::string_view b) {
  EVP_MD_CTX* ctx = ThreadCtx();
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) {
    DieOnOpenSslFailure("SHA-256 digest");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return DigestToHex(Sha256(data)); }

std::string DigestToHex(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
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
