// Accounts: registration, e-mail codes, login, access and refresh tokens, password reset.
//
// All methods are coroutines for I/O threads: database calls run on the db pool, argon2
// on the (small) hash pool, e-mail goes out through the Mailer's own queue.
// Codes and refresh tokens are stored only as hashes; no password, code, token or hash is
// ever logged.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "auth/bodies.hpp"  // normalizeEmail, checkPassword
#include "auth/jwt.hpp"
#include "auth/password_hasher.hpp"
#include "http/middleware.hpp"
#include "mail/mailer.hpp"
#include "store/store.hpp"
#include "util/result.hpp"
#include "util/time.hpp"
#include "util/worker_pool.hpp"

namespace atelier::auth {

struct AuthSettings {
  std::string secret;  // JWT_SECRET; also keys the code hashes
  std::chrono::seconds accessTokenTtl{15 * 60};
  std::chrono::seconds refreshTokenTtl{30 * 86400};
  std::int64_t defaultTokenLimit = 100000;
  std::chrono::seconds tokenResetInterval{30 * 86400};
  std::chrono::seconds codeTtl{10 * 60};
  std::chrono::seconds codeInterval{60};
  int codeMaxAttempts = 5;
  // Failed logins allowed per e-mail and per client address within loginWindow.
  std::uint32_t loginFailuresPerEmail = 10;
  std::uint32_t loginFailuresPerAddress = 50;
  std::chrono::seconds loginWindow{15 * 60};
};

struct TokenPair {
  std::string accessToken;
  std::string refreshToken;
  std::chrono::seconds expiresIn{0};
  store::User user;
};

struct Dependencies {
  store::Store* store = nullptr;
  WorkerPool* dbPool = nullptr;
  WorkerPool* hashPool = nullptr;
  const PasswordHasher* hasher = nullptr;
  mail::Mailer* mailer = nullptr;
  const Clock* clock = nullptr;
};

class AuthService {
 public:
  AuthService(AuthSettings settings, Dependencies deps);

  boost::asio::awaitable<Result<store::User>> registerUser(std::string email, std::string password,
                                                           std::string displayName);
  boost::asio::awaitable<Result<TokenPair>> verifyEmail(std::string email, std::string code);
  // Always succeeds for a well-formed request (no account enumeration).
  boost::asio::awaitable<Result<void>> requestCode(std::string email, store::CodePurpose purpose);
  boost::asio::awaitable<Result<TokenPair>> login(std::string email, std::string password,
                                                  std::string clientAddress);
  boost::asio::awaitable<Result<TokenPair>> refresh(std::string refreshToken);
  boost::asio::awaitable<Result<void>> logout(std::string refreshToken);
  boost::asio::awaitable<Result<void>> resetPassword(std::string email, std::string code,
                                                     std::string newPassword);
  // The user a bearer token belongs to; Errc::unauthorized when the token is invalid or the
  // user is gone or disabled.
  boost::asio::awaitable<Result<store::User>> authenticate(std::string_view bearerToken);
  // The user id a bearer token names when its signature and expiry are good, without the
  // database (Errc::unauthorized else): for routes that check the account themselves.
  Result<std::string> tokenUser(std::string_view bearerToken) const;
  boost::asio::awaitable<Result<store::Usage>> usage(std::string userId);
  // The user and their usage (GET /api/auth/me).
  boost::asio::awaitable<Result<std::pair<store::User, store::Usage>>> profile(std::string userId);

  const AuthSettings& settings() const { return settings_; }

 private:
  boost::asio::awaitable<Result<TokenPair>> issueTokens(store::User user, std::string familyId);
  boost::asio::awaitable<void> sendCode(const std::string& email, store::CodePurpose purpose);
  std::string codeHash(std::string_view email, store::CodePurpose purpose,
                       std::string_view code) const;

  AuthSettings settings_;
  Dependencies deps_;
  JwtCodec jwt_;
  std::string codeKey_;
  http::RateLimiter failuresByEmail_;
  http::RateLimiter failuresByAddress_;
};

}  // namespace atelier::auth
