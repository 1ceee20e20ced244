#include "auth/jwt.hpp"

#include <jwt.h>

#include <cstdlib>
#include <memory>

#include "util/crypto.hpp"

namespace atelier::auth {

namespace {

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct StrDeleter {
  void operator()(char* s) const { std::free(s); }  // libjwt 1.10 strings are malloc'ed
};

Error invalid(std::string why) {
  return Error::make(Errc::unauthorized, std::move(why));
}

}  // namespace

JwtCodec::JwtCodec(std::string secret, std::chrono::seconds ttl)
    : secret_(std::move(secret)), ttl_(ttl) {}

Result<std::string> JwtCodec::issue(std::string_view userId, TimePoint now) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Error::make(Errc::internal, "cannot create a token");
  JwtPtr jwt(raw);
  const long iat = static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  const std::string sub(userId);
  const std::string iss(kIssuer);
  if (jwt_add_grant(jwt.get(), "sub", sub.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "iss", iss.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", iat) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", iat + static_cast<long>(ttl_.count())) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) != 0) {
    return Error::make(Errc::internal, "cannot create a token");
  }
  std::unique_ptr<char, StrDeleter> out(jwt_encode_str(jwt.get()));
  if (!out) return Error::make(Errc::internal, "cannot create a token");
  return std::string(out.get());
}

Result<AccessClaims> JwtCodec::verify(std::string_view token, TimePoint now) const {
  {
    std::lock_guard lock(verifiedMu_);
    if (auto it = verified_.find(token); it != verified_.end()) {
      return current(it->second, now);
    }
  }
  auto claims = decode(token);
  if (!claims) return claims;
  auto checked = current(*claims, now);
  if (!checked) return checked;
  std::lock_guard lock(verifiedMu_);
  if (verified_.size() >= kRememberedTokens) {
    std::erase_if(verified_, [&](const auto& entry) { return !current(entry.second, now); });
    if (verified_.size() >= kRememberedTokens) verified_.clear();
  }
  verified_.emplace(std::string(token), *claims);
  return checked;
}

// The time checks, with the leeway: not expired, not issued in the future.
Result<AccessClaims> JwtCodec::current(const AccessClaims& claims, TimePoint now) {
  const auto nowSec = std::chrono::floor<std::chrono::seconds>(now);  // as the claims are
  if (nowSec > claims.expiresAt + kLeeway) return invalid("expired");
  if (claims.issuedAt > nowSec + kLeeway) return invalid("issued in the future");
  return claims;
}

// Everything but the time: the shape, the signature, the algorithm, the issuer and claims.
Result<AccessClaims> JwtCodec::decode(std::string_view token) const {
  if (token.empty() || token.size() > 4096) return invalid("empty or oversized token");
  // Three base64url segments, nothing else: libjwt gets no chance to be lenient.
  int dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_')) {
      return invalid("malformed token");
    }
  }
  if (dots != 2 || token.back() == '.') return invalid("malformed token");
  const std::string text(token);
  jwt_t* raw = nullptr;
  // With the key given, libjwt verifies the signature and refuses alg "none".
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0 ||
      raw == nullptr) {
    return invalid("bad signature or encoding");
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return invalid("algorithm is not HS256");
  const char* iss = jwt_get_grant(jwt.get(), "iss");
  if (iss == nullptr || kIssuer != iss) return invalid("wrong issuer");
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr || !isUuid(sub)) return invalid("missing or malformed sub");
  errno = 0;
  const long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) return invalid("missing exp");
  const long iat = jwt_get_grant_int(jwt.get(), "iat");
  if (errno != 0) return invalid("missing iat");
  if (exp <= iat) return invalid("expires before it was issued");
  AccessClaims claims;
  claims.userId = sub;
  claims.issuedAt = TimePoint(std::chrono::seconds(iat));
  claims.expiresAt = TimePoint(std::chrono::seconds(exp));
  return claims;
}

}  // namespace atelier::auth
