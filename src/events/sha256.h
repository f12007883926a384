// SHA-256 for the ledger and for definition hashes. The only user of
// OpenSSL in relay; everything else calls these functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay::events {

using Sha256Digest = std::array<uint8_t, 32>;

// sha256(a ‖ b): the two parts are hashed as one message, without copying.
Sha256Digest Sha256(std::string_view a, std::string_view b = {});

// sha256(data) as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

// 64 lowercase hex digits.
std::string DigestToHex(const Sha256Digest& digest);
// Appends those 64 digits to `out` (the head file's hot path: no temporary).
void AppendDigestHex(std::string& out, const Sha256Digest& digest);

// Parses 64 hex digits (either case). False, leaving *out unspecified, on any
// other length or a non-hex character.
bool HexToDigest(std::string_view hex, Sha256Digest* out);

}  // namespace relay::events
