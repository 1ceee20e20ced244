// Access tokens: JWT signed with HS256 (libjwt). Verification accepts exactly HS256 with
// our secret and issuer; everything else (alg "none", HS512, RS256, another secret, a bad
// signature, expiry beyond the leeway, a future iat, a missing or malformed sub) fails.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/result.hpp"
#include "util/time.hpp"

namespace atelier::auth {

struct AccessClaims {
  std::string userId;
  TimePoint issuedAt;
  TimePoint expiresAt;
};

class JwtCodec {
 public:
  static constexpr std::string_view kIssuer = "atelier";
  static constexpr std::chrono::seconds kLeeway{30};

  JwtCodec(std::string secret, std::chrono::seconds ttl);

  // Tokens this codec has verified, remembered (at most this many) so that the next request
  // with the same token skips the signature and the parse: a client sends the same access
  // token with every request until it expires.
  static constexpr std::size_t kRememberedTokens = 4096;

  Result<std::string> issue(std::string_view userId, TimePoint now) const;
  // Errc::unauthorized (with a reason for the log, never for the client) when invalid.
  // Thread-safe. A token verified before is checked against `now` again, not re-parsed: the
  // rest of the verification depends on its bytes and the secret only.
  Result<AccessClaims> verify(std::string_view token, TimePoint now) const;
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  Result<AccessClaims> decode(std::string_view token) const;
  static Result<AccessClaims> current(const AccessClaims& claims, TimePoint now);

  std::string secret_;
  std::chrono::seconds ttl_;
  // Looked up by string_view: no copy of the token per request.
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const noexcept {
      return std::hash<std::string_view>{}(t);
    }
  };
  mutable std::mutex verifiedMu_;
  mutable std::unordered_map<std::string, AccessClaims, TokenHash, std::equal_to<>>
      verified_;  // by the whole token
};

}  // namespace atelier::auth
