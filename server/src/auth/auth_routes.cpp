#include "auth/auth_routes.hpp"

#include <boost/json/serialize.hpp>

#include "auth/bearer.hpp"
#include "auth/views.hpp"
#include "http/errors.hpp"
#include "http/json_body.hpp"

namespace atelier::auth {

namespace asio = boost::asio;
namespace json = boost::json;
using http::jsonResponse;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kAuthBodyLimit = 16 * 1024;
constexpr std::size_t kMaxDisplayName = 100;

// The bearer token of the request, or empty.
std::string_view bearerToken(const Request& req) {
  auto h = req.header("Authorization");
  return h ? auth::bearerToken(*h) : std::string_view();
}

Result<store::CodePurpose> parsePurpose(std::string_view p) {
  if (p == "verify_email") return store::CodePurpose::verifyEmail;
  if (p == "reset_password") return store::CodePurpose::resetPassword;
  return Error::make(Errc::invalid_request, "purpose must be verify_email or reset_password",
                     "purpose");
}

// Reads {email} (normalized) and the other required string fields of a body.
struct Fields {
  json::object body;
  std::string email;
};
Result<Fields> emailBody(const Request& req) {
  auto body = http::parseJsonObject(req.body);
  if (!body) return std::move(body).error();
  auto raw = http::requireString(*body, "email");
  if (!raw) return Error::make(Errc::invalid_request, "email is required", "email");
  auto email = normalizeEmail(*raw);
  if (!email) return std::move(email).error();
  return Fields{std::move(body).value(), std::move(email).value()};
}

}  // namespace

http::Middleware requireUser(AuthService& service) {
  return [&service](Request& req, http::Next next) -> asio::awaitable<Response> {
    const auto token = bearerToken(req);
    if (token.empty()) {
      co_return http::errorResponse(
          Error::make(Errc::unauthorized, "a valid access token is required"), req.requestId);
    }
    auto user = co_await service.authenticate(token);
    if (!user) co_return http::errorResponse(user.error(), req.requestId);
    req.userId = user->userId;
    co_return co_await next(req);
  };
}

void registerAuthRoutes(http::Router& router, AuthService& service) {
  http::RouteOptions open;
  open.maxBodyBytes = kAuthBodyLimit;
  http::RouteOptions authed = open;
  authed.middleware.push_back(requireUser(service));

  router.add(
      "POST", "/api/auth/register",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto f = emailBody(req);
        if (!f) co_return std::move(f).error();
        auto password = http::requireString(f->body, "password");
        if (!password)
          co_return Error::make(Errc::invalid_request,
                                "password must be a string of 8 to 128 characters", "password");
        if (auto ok = checkPassword(*password, "password"); !ok) co_return std::move(ok).error();
        auto name = http::optionalString(f->body, "display_name");
        if (!name) co_return std::move(name).error();
        std::string displayName = name->value_or("");
        if (http::utf8Length(displayName) > kMaxDisplayName) {
          co_return Error::make(Errc::invalid_request, "display_name is at most 100 characters",
                                "display_name");
        }
        auto user = co_await service.registerUser(std::move(f->email), std::move(password).value(),
                                                  std::move(displayName));
        if (!user) co_return std::move(user).error();
        co_return jsonResponse(201, {{"user", userJson(*user)}});
      },
      open);

  router.add(
      "POST", "/api/auth/verify",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto f = emailBody(req);
        if (!f) co_return std::move(f).error();
        auto code = http::requireString(f->body, "code");
        if (!code) co_return std::move(code).error();
        auto pair = co_await service.verifyEmail(std::move(f->email), std::move(code).value());
        if (!pair) co_return std::move(pair).error();
        co_return jsonResponse(200, tokenPairJson(*pair));
      },
      open);

  router.add(
      "POST", "/api/auth/otp",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto f = emailBody(req);
        if (!f) co_return std::move(f).error();
        auto purposeText = http::requireString(f->body, "purpose");
        if (!purposeText) co_return std::move(purposeText).error();
        auto purpose = parsePurpose(*purposeText);
        if (!purpose) co_return std::move(purpose).error();
        auto done = co_await service.requestCode(std::move(f->email), *purpose);
        if (!done) co_return std::move(done).error();
        co_return Response::json(202, "{}");
      },
      open);

  router.add(
      "POST", "/api/auth/login",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto body = http::parseJsonObject(req.body);
        if (!body) co_return std::move(body).error();
        auto rawEmail = http::requireString(*body, "email");
        auto password = http::requireString(*body, "password");
        if (!rawEmail) co_return std::move(rawEmail).error();
        if (!password) co_return std::move(password).error();
        // A malformed e-mail cannot belong to an account: the same answer as a wrong password.
        auto email = normalizeEmail(*rawEmail);
        if (!email)
          co_return Error::make(Errc::invalid_credentials, "the e-mail or the password is wrong");
        auto pair = co_await service.login(std::move(email).value(), std::move(password).value(),
                                           req.clientAddress);
        if (!pair) co_return std::move(pair).error();
        req.userId = pair->user.userId;
        co_return jsonResponse(200, tokenPairJson(*pair));
      },
      open);

  router.add(
      "POST", "/api/auth/refresh",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto body = http::parseJsonObject(req.body);
        if (!body) co_return std::move(body).error();
        auto token = http::requireString(*body, "refresh_token");
        if (!token) co_return std::move(token).error();
        auto pair = co_await service.refresh(std::move(token).value());
        if (!pair) co_return std::move(pair).error();
        req.userId = pair->user.userId;
        co_return jsonResponse(200, tokenPairJson(*pair));
      },
      open);

  router.add(
      "POST", "/api/auth/logout",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto body = http::parseJsonObject(req.body);
        if (!body) co_return std::move(body).error();
        auto token = http::requireString(*body, "refresh_token");
        if (!token) co_return std::move(token).error();
        auto done = co_await service.logout(std::move(token).value());
        if (!done) co_return std::move(done).error();
        co_return Response::empty(204);
      },
      open);

  router.add(
      "POST", "/api/auth/password/reset",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto f = emailBody(req);
        if (!f) co_return std::move(f).error();
        auto code = http::requireString(f->body, "code");
        if (!code) co_return std::move(code).error();
        auto password = http::requireString(f->body, "new_password");
        if (!password) {
          co_return Error::make(Errc::invalid_request,
                                "new_password must be a string of 8 to 128 characters",
                                "new_password");
        }
        if (auto ok = checkPassword(*password, "new_password"); !ok)
          co_return std::move(ok).error();
        auto done = co_await service.resetPassword(std::move(f->email), std::move(code).value(),
                                                   std::move(password).value());
        if (!done) co_return std::move(done).error();
        co_return Response::empty(204);
      },
      open);

  router.add(
      "GET", "/api/auth/me",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto me = co_await service.profile(req.userId);
        if (!me) co_return std::move(me).error();
        co_return jsonResponse(
            200, {{"user", userJson(me->first)},
                  {"usage", usageJson(me->second, service.settings().tokenResetInterval)}});
      },
      authed);

  router.add(
      "GET", "/api/usage",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto usage = co_await service.usage(req.userId);
        if (!usage) co_return std::move(usage).error();
        co_return jsonResponse(200, usageJson(*usage, service.settings().tokenResetInterval));
      },
      authed);
}

}  // namespace atelier::auth
