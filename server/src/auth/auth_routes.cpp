#include "auth/auth_routes.hpp"

#include <boost/json/serialize.hpp>

#include "auth/bearer.hpp"
#include "auth/bodies.hpp"
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

// The bearer token of the request, or empty.
std::string_view bearerToken(const Request& req) {
  auto h = req.header("Authorization");
  return h ? auth::bearerToken(*h) : std::string_view();
}

}  // namespace

http::Middleware requireUser(AuthService& service) {
  return [&service](Request& req, http::Next next) -> asio::awaitable<Response> {
    const auto token = bearerToken(req);
    if (token.empty()) {
      co_return http::errorResponse(accessTokenRequired(), req.requestId);
    }
    auto user = co_await service.authenticate(token);
    if (!user) co_return http::errorResponse(user.error(), req.requestId);
    req.userId = user->userId;
    co_return co_await next(req);
  };
}

http::Middleware requireToken(AuthService& service) {
  return [&service](Request& req, http::Next next) -> asio::awaitable<Response> {
    auto userId = service.tokenUser(bearerToken(req));
    if (!userId) co_return http::errorResponse(userId.error(), req.requestId);
    req.userId = std::move(userId).value();
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
        auto b = decodeRegister(req.body);
        if (!b) co_return std::move(b).error();
        auto user = co_await service.registerUser(std::move(b->email), std::move(b->password),
                                                  std::move(b->displayName));
        if (!user) co_return std::move(user).error();
        co_return jsonResponse(201, {{"user", userJson(*user)}});
      },
      open);

  router.add(
      "POST", "/api/auth/verify",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto b = decodeVerify(req.body);
        if (!b) co_return std::move(b).error();
        auto pair = co_await service.verifyEmail(std::move(b->email), std::move(b->code));
        if (!pair) co_return std::move(pair).error();
        co_return jsonResponse(200, tokenPairJson(*pair));
      },
      open);

  router.add(
      "POST", "/api/auth/otp",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto b = decodeOtp(req.body);
        if (!b) co_return std::move(b).error();
        auto done = co_await service.requestCode(std::move(b->email), b->purpose);
        if (!done) co_return std::move(done).error();
        co_return Response::json(202, "{}");
      },
      open);

  router.add(
      "POST", "/api/auth/login",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto b = decodeLogin(req.body);
        if (!b) co_return std::move(b).error();
        auto pair =
            co_await service.login(std::move(b->email), std::move(b->password), req.clientAddress);
        if (!pair) co_return std::move(pair).error();
        req.userId = pair->user.userId;
        co_return jsonResponse(200, tokenPairJson(*pair));
      },
      open);

  router.add(
      "POST", "/api/auth/refresh",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto token = decodeRefreshToken(req.body);
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
        auto token = decodeRefreshToken(req.body);
        if (!token) co_return std::move(token).error();
        auto done = co_await service.logout(std::move(token).value());
        if (!done) co_return std::move(done).error();
        co_return Response::empty(204);
      },
      open);

  router.add(
      "POST", "/api/auth/password/reset",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto b = decodeReset(req.body);
        if (!b) co_return std::move(b).error();
        auto done = co_await service.resetPassword(std::move(b->email), std::move(b->code),
                                                   std::move(b->newPassword));
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
