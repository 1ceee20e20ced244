#include "app/ops_routes.hpp"

#include <spdlog/spdlog.h>

namespace atelier::app {

namespace asio = boost::asio;
using http::Request;
using http::Response;

void registerOpsRoutes(http::Router& router, OpsDependencies deps) {
  http::RouteOptions ops;
  ops.rateLimited = false;
  ops.maxBodyBytes = 0;

  router.add(
      "GET", "/healthz",
      [](Request&) -> asio::awaitable<Result<Response>> {
        co_return Response::json(200, R"({"status":"ok"})");
      },
      ops);

  router.add(
      "GET", "/readyz",
      [deps](Request&) -> asio::awaitable<Result<Response>> {
        if (!deps.accepting()) {
          co_return Error::make(Errc::unavailable, "shutting down");
        }
        auto ping = co_await deps.pingDatabase();
        if (!ping) {
          co_return Error::make(Errc::unavailable, "the database is unavailable");
        }
        co_return Response::json(200, R"({"status":"ready"})");
      },
      ops);

  router.add(
      "GET", "/metrics",
      [deps](Request&) -> asio::awaitable<Result<Response>> {
        co_return Response::text(200, deps.metrics->render(),
                                 "text/plain; version=0.0.4; charset=utf-8");
      },
      ops);
}

}  // namespace atelier::app
