#include "auth/password_hasher.hpp"

#include <sodium.h>

#include <stdexcept>

namespace atelier::auth {

HashLimits HashLimits::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

HashLimits HashLimits::minimum() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

PasswordHasher::PasswordHasher(HashLimits limits) : limits_(limits) {
  auto dummy = hash("dummy password for accounts that do not exist");
  if (!dummy) throw std::runtime_error("cannot compute the dummy password hash");
  dummy_ = std::move(dummy).value();
}

Result<std::string> PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), limits_.opsLimit,
                        limits_.memLimit) != 0) {
    return Error::make(Errc::internal, "password hashing failed");
  }
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view encodedHash, std::string_view password) const {
  const std::string h(encodedHash);  // NUL-terminated for libsodium
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::verifyAgainstDummy(std::string_view password) const {
  (void)verify(dummy_, password);
}

}  // namespace atelier::auth
