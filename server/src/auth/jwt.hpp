// Access tokens: JWT signed with HS256 (libjwt). Verification accepts exactly HS256 with
// our secret and issuer; everything else (alg "none", HS512, RS256, another secret, a bad
// signature, expiry beyond the leeway, a future iat, a missing or malformed sub) fails.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

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

  Result<std::string> issue(std::string_view userId, TimePoint now) const;
  // Errc::unauthorized (with a reason for the log, never for the client) when invalid.
  Result<AccessClaims> verify(std::string_view token, TimePoint now) const;
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  std::string secret_;
  std::chrono::seconds ttl_;
};

}  // namespace atelier::auth
