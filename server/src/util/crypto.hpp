// Randomness, identifiers and hashing, all on libsodium.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace atelier {

// Must be called once before any function below (idempotent, thread-safe).
void initCrypto();

// A UUIDv7 (time-ordered), lower-case and hyphenated.
std::string newUuidV7();
// True for a lower- or upper-case hyphenated UUID of any version.
bool isUuid(std::string_view s) noexcept;

// `bytes` random bytes, base64url without padding (opaque tokens).
std::string randomToken(std::size_t bytes);
// A uniformly random number in [0, upperBound).
std::uint32_t randomUniform(std::uint32_t upperBound);

// Lower-case hex SHA-256 of the input.
std::string sha256Hex(std::string_view data);
// Constant-time equality for secrets of equal length; false on a length mismatch.
bool constantTimeEquals(std::string_view a, std::string_view b) noexcept;

std::string base64Encode(std::string_view data);
std::string hexEncode(std::string_view data);

}  // namespace atelier
