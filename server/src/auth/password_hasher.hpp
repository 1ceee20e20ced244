// argon2id password hashing (libsodium crypto_pwhash_str). Slow by design: call it from a
// WorkerPool of few threads, which also bounds the memory a login flood can take
// (threads × memlimit).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace atelier::auth {

struct HashLimits {
  unsigned long long opsLimit;
  std::size_t memLimit;
  static HashLimits interactive();  // libsodium's INTERACTIVE: 2 passes, 64 MiB
  static HashLimits minimum();      // for tests only: fast, not for production
};

class PasswordHasher {
 public:
  explicit PasswordHasher(HashLimits limits);

  // The encoded hash ("$argon2id$v=19$m=…"). Errc::internal if libsodium runs out of memory.
  Result<std::string> hash(std::string_view password) const;
  // Constant-time check against an encoded hash.
  bool verify(std::string_view encodedHash, std::string_view password) const;
  // Costs the same as verify() for an account that does not exist (no timing oracle).
  void verifyAgainstDummy(std::string_view password) const;

 private:
  HashLimits limits_;
  std::string dummy_;
};

}  // namespace atelier::auth
