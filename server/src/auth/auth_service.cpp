#include "auth/auth_service.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "http/json_body.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

namespace atelier::auth {

namespace asio = boost::asio;
using store::CodeCheck;
using store::CodePurpose;

namespace {

constexpr std::size_t kMaxRefreshToken = 200;

Error invalidCredentials() {
  return Error::make(Errc::invalid_credentials, "the e-mail or the password is wrong");
}
Error invalidRefresh() {
  return Error::make(Errc::invalid_refresh_token, "the refresh token is not valid");
}

const char* purposeText(CodePurpose p) {
  return p == CodePurpose::verifyEmail ? "verify_email" : "reset_password";
}

bool isDigits6(std::string_view code) {
  if (code.size() != 6) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Maps a code check to the contract's errors.
Result<void> codeResult(CodeCheck check) {
  switch (check) {
    case CodeCheck::ok:
      return {};
    case CodeCheck::wrong:
      return Error::make(Errc::invalid_code, "the code is not right", "code");
    case CodeCheck::expired:
      break;
  }
  return Error::make(Errc::code_expired,
                     "the code has expired or was already used; ask for a new one", "code");
}

}  // namespace

AuthService::AuthService(AuthSettings settings, Dependencies deps)
    : settings_(std::move(settings)),
      deps_(deps),
      jwt_(settings_.secret, settings_.accessTokenTtl),
      codeKey_(sha256Hex("atelier email codes\n" + settings_.secret)),
      failuresByEmail_(settings_.loginFailuresPerEmail, settings_.loginWindow),
      failuresByAddress_(settings_.loginFailuresPerAddress, settings_.loginWindow) {}

std::string AuthService::codeHash(std::string_view email, CodePurpose purpose,
                                  std::string_view code) const {
  // Keyed: six digits are a tiny space, so a plain hash of a code would be no secret at all.
  const std::string message =
      std::string(purposeText(purpose)) + "\n" + std::string(email) + "\n" + std::string(code);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(codeKey_.data()),
                              codeKey_.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

asio::awaitable<void> AuthService::sendCode(const std::string& email, CodePurpose purpose) {
  char code[8];
  std::snprintf(code, sizeof code, "%06u", randomUniform(1'000'000));
  const auto now = deps_.clock->now();
  const std::string hash = codeHash(email, purpose, code);
  auto issued = co_await deps_.dbPool->run([&] {
    return deps_.store->issueEmailCode(email, purpose, hash, now, now + settings_.codeTtl,
                                       settings_.codeInterval);
  });
  if (!issued) {
    spdlog::error("could not store an e-mail code: {}", issued.error().message);
    co_return;
  }
  if (!*issued) co_return;  // one was sent less than a minute ago
  mail::Email e;
  e.to = email;
  const bool verify = purpose == CodePurpose::verifyEmail;
  e.subject = verify ? "Your Atelier verification code" : "Your Atelier password reset code";
  e.body =
      std::string(
          verify ? "Welcome to Atelier! Confirm your e-mail address with this code:"
                 : "Someone (hopefully you) asked to reset your Atelier password. Use this code:") +
      "\n\n    " + code +
      "\n\nIt is valid for 10 minutes and can be used once. If you did not ask for it, " +
      "ignore this e-mail.\n";
  deps_.mailer->send(std::move(e));
}

asio::awaitable<Result<store::User>> AuthService::registerUser(std::string email,
                                                               std::string password,
                                                               std::string displayName) {
  auto hash = co_await deps_.hashPool->run([&] { return deps_.hasher->hash(password); });
  if (!hash) co_return std::move(hash).error();
  store::NewUser u;
  u.userId = newUuidV7();
  u.email = email;
  u.passwordHash = std::move(hash).value();
  u.displayName = std::move(displayName);
  u.tokenLimit = settings_.defaultTokenLimit;
  u.now = deps_.clock->now();
  auto created = co_await deps_.dbPool->run([&] { return deps_.store->createUser(u); });
  if (!created) co_return std::move(created).error();
  spdlog::info("registered user {}", created->userId);
  co_await sendCode(email, CodePurpose::verifyEmail);
  co_return created;
}

asio::awaitable<Result<TokenPair>> AuthService::verifyEmail(std::string email, std::string code) {
  if (!isDigits6(code)) co_return Error::make(Errc::invalid_code, "the code is 6 digits", "code");
  const auto now = deps_.clock->now();
  const std::string hash = codeHash(email, CodePurpose::verifyEmail, code);
  auto check = co_await deps_.dbPool->run([&] {
    return deps_.store->consumeEmailCode(email, CodePurpose::verifyEmail, hash, now,
                                         settings_.codeMaxAttempts);
  });
  if (!check) co_return std::move(check).error();
  if (auto r = codeResult(*check); !r) co_return std::move(r).error();
  auto user = co_await deps_.dbPool->run([&]() -> Result<std::optional<store::User>> {
    auto found = deps_.store->findUserByEmail(email);
    if (!found || !found->has_value()) return found;
    auto marked = deps_.store->markEmailVerified((*found)->userId, now);
    if (!marked) return std::move(marked).error();
    (*found)->emailVerified = true;
    return found;
  });
  if (!user) co_return std::move(user).error();
  if (!user->has_value()) co_return codeResult(CodeCheck::expired).error();
  std::string family =
      newUuidV7();  // named: see the note on co_await temporaries in chat_routes.cpp
  co_return co_await issueTokens(std::move(**user), std::move(family));
}

asio::awaitable<Result<void>> AuthService::requestCode(std::string email, CodePurpose purpose) {
  auto user = co_await deps_.dbPool->run([&] { return deps_.store->findUserByEmail(email); });
  if (!user) co_return std::move(user).error();
  const bool send = user->has_value() && !(*user)->disabled &&
                    (purpose == CodePurpose::resetPassword || !(*user)->emailVerified);
  if (send) co_await sendCode(email, purpose);
  co_return Result<void>{};
}

asio::awaitable<Result<TokenPair>> AuthService::login(std::string email, std::string password,
                                                      std::string clientAddress) {
  const auto t = std::chrono::steady_clock::now();
  const int waitEmail = failuresByEmail_.check(email, t);
  const int waitAddress = failuresByAddress_.check(clientAddress, t);
  if (waitEmail > 0 || waitAddress > 0) {
    Error e = Error::make(Errc::rate_limited, "too many failed sign-ins; try again later");
    e.retryAfterSeconds = std::max(waitEmail, waitAddress);
    co_return e;
  }
  auto user = co_await deps_.dbPool->run([&] { return deps_.store->findUserByEmail(email); });
  if (!user) co_return std::move(user).error();
  std::optional<store::User> found = std::move(user).value();
  // Same cost whether or not the account exists.
  auto ok = co_await deps_.hashPool->run([&]() -> Result<bool> {
    if (!found) {
      deps_.hasher->verifyAgainstDummy(password);
      return false;
    }
    return deps_.hasher->verify(found->passwordHash, password);
  });
  if (!ok) co_return std::move(ok).error();
  if (!*ok || found->disabled) {
    failuresByEmail_.acquire(email, t);
    failuresByAddress_.acquire(clientAddress, t);
    co_return invalidCredentials();
  }
  if (!found->emailVerified) {
    co_return Error::make(Errc::email_not_verified,
                          "confirm your e-mail address first (a code was sent to it)");
  }
  std::string family = newUuidV7();
  co_return co_await issueTokens(std::move(*found), std::move(family));
}

asio::awaitable<Result<TokenPair>> AuthService::issueTokens(store::User user,
                                                            std::string familyId) {
  const auto now = deps_.clock->now();
  auto access = jwt_.issue(user.userId, now);
  if (!access) co_return std::move(access).error();
  TokenPair pair;
  pair.accessToken = std::move(access).value();
  pair.refreshToken = randomToken(32);
  pair.expiresIn = settings_.accessTokenTtl;
  store::RefreshToken rt{sha256Hex(pair.refreshToken), user.userId, std::move(familyId),
                         now + settings_.refreshTokenTtl, now};
  auto stored = co_await deps_.dbPool->run([&] { return deps_.store->insertRefreshToken(rt); });
  if (!stored) co_return std::move(stored).error();
  pair.user = std::move(user);
  co_return pair;
}

asio::awaitable<Result<TokenPair>> AuthService::refresh(std::string refreshToken) {
  if (refreshToken.empty() || refreshToken.size() > kMaxRefreshToken) co_return invalidRefresh();
  const auto now = deps_.clock->now();
  TokenPair pair;
  pair.refreshToken = randomToken(32);
  store::RefreshToken next{sha256Hex(pair.refreshToken), "", "", now + settings_.refreshTokenTtl,
                           now};
  const std::string oldHash = sha256Hex(refreshToken);
  auto rotated = co_await deps_.dbPool->run(
      [&] { return deps_.store->rotateRefreshToken(oldHash, next, now); });
  if (!rotated) co_return std::move(rotated).error();
  if (rotated->outcome == store::RotateOutcome::reused) {
    spdlog::warn("a rotated refresh token of user {} was presented again: that login is revoked",
                 rotated->userId);
    co_return invalidRefresh();
  }
  if (rotated->outcome != store::RotateOutcome::rotated) co_return invalidRefresh();
  auto user =
      co_await deps_.dbPool->run([&] { return deps_.store->findUserById(rotated->userId); });
  if (!user) co_return std::move(user).error();
  if (!user->has_value() || (*user)->disabled) co_return invalidRefresh();
  auto access = jwt_.issue((*user)->userId, now);
  if (!access) co_return std::move(access).error();
  pair.accessToken = std::move(access).value();
  pair.expiresIn = settings_.accessTokenTtl;
  pair.user = std::move(**user);
  co_return pair;
}

asio::awaitable<Result<void>> AuthService::logout(std::string refreshToken) {
  if (refreshToken.empty() || refreshToken.size() > kMaxRefreshToken) co_return Result<void>{};
  const auto now = deps_.clock->now();
  const std::string hash = sha256Hex(refreshToken);
  auto revoked =
      co_await deps_.dbPool->run([&] { return deps_.store->revokeRefreshToken(hash, now); });
  if (!revoked) co_return std::move(revoked).error();
  co_return Result<void>{};
}

asio::awaitable<Result<void>> AuthService::resetPassword(std::string email, std::string code,
                                                         std::string newPassword) {
  if (!isDigits6(code)) co_return Error::make(Errc::invalid_code, "the code is 6 digits", "code");
  const auto now = deps_.clock->now();
  const std::string hash = codeHash(email, CodePurpose::resetPassword, code);
  auto check = co_await deps_.dbPool->run([&] {
    return deps_.store->consumeEmailCode(email, CodePurpose::resetPassword, hash, now,
                                         settings_.codeMaxAttempts);
  });
  if (!check) co_return std::move(check).error();
  if (auto r = codeResult(*check); !r) co_return std::move(r).error();
  auto newHash = co_await deps_.hashPool->run([&] { return deps_.hasher->hash(newPassword); });
  if (!newHash) co_return std::move(newHash).error();
  auto done = co_await deps_.dbPool->run([&]() -> Result<bool> {
    auto user = deps_.store->findUserByEmail(email);
    if (!user) return std::move(user).error();
    if (!user->has_value()) return false;
    auto set = deps_.store->setPasswordHash((*user)->userId, *newHash, now);
    if (!set) return std::move(set).error();
    // A new password ends every login: whoever knew the old one is out.
    auto revoked = deps_.store->revokeUserRefreshTokens((*user)->userId, now);
    if (!revoked) return std::move(revoked).error();
    spdlog::info("password reset for user {}; all refresh tokens revoked", (*user)->userId);
    return true;
  });
  if (!done) co_return std::move(done).error();
  if (!*done) co_return codeResult(CodeCheck::expired).error();
  co_return Result<void>{};
}

Result<std::string> AuthService::tokenUser(std::string_view bearerToken) const {
  auto claims = jwt_.verify(bearerToken, deps_.clock->now());
  if (!claims) {
    spdlog::debug("access token refused: {}", claims.error().message);
    return accessTokenRequired();
  }
  return std::move(claims->userId);
}

asio::awaitable<Result<store::User>> AuthService::authenticate(std::string_view bearerToken) {
  auto named = tokenUser(bearerToken);
  if (!named) co_return std::move(named).error();
  const std::string userId = std::move(named).value();
  auto user = co_await deps_.dbPool->run([&] { return deps_.store->findUserById(userId); });
  if (!user) co_return std::move(user).error();
  if (!user->has_value() || (*user)->disabled) co_return accessTokenRequired();
  co_return std::move(**user);
}

asio::awaitable<Result<store::Usage>> AuthService::usage(std::string userId) {
  const auto now = deps_.clock->now();
  auto u = co_await deps_.dbPool->run(
      [&] { return deps_.store->getUsage(userId, now, settings_.tokenResetInterval); });
  if (!u) co_return std::move(u).error();
  if (!u->has_value()) co_return Error::make(Errc::not_found, "no such user");
  co_return std::move(**u);
}

asio::awaitable<Result<std::pair<store::User, store::Usage>>> AuthService::profile(
    std::string userId) {
  const auto now = deps_.clock->now();
  co_return co_await deps_.dbPool->run([&]() -> Result<std::pair<store::User, store::Usage>> {
    auto user = deps_.store->findUserById(userId);
    if (!user) return std::move(user).error();
    auto usage = deps_.store->getUsage(userId, now, settings_.tokenResetInterval);
    if (!usage) return std::move(usage).error();
    if (!user->has_value() || !usage->has_value())
      return Error::make(Errc::not_found, "no such user");
    return std::make_pair(std::move(**user), std::move(**usage));
  });
}

}  // namespace atelier::auth
