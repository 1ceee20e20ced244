#include "app/web_routes.hpp"

namespace atelier::app {

namespace asio = boost::asio;

namespace {

// Shown until the web client (web/) is built and served in its place.
constexpr std::string_view kLandingPage = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Atelier</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; }
  code { background: rgba(127,127,127,.15); padding: .1rem .3rem; border-radius: .2rem; }
</style>
</head>
<body>
<h1>Atelier</h1>
<p>The Atelier chat server is running. The API lives under <code>/api</code>;
health at <code>/healthz</code>, readiness at <code>/readyz</code>, metrics at <code>/metrics</code>.</p>
</body>
</html>
)";

}  // namespace

void registerWebRoutes(http::Router& router) {
  router.add("GET", "/", [](http::Request&) -> asio::awaitable<Result<http::Response>> {
    auto r = http::Response::text(200, std::string(kLandingPage), "text/html; charset=utf-8");
    r.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    r.headers.emplace_back("Cache-Control", "no-cache");
    co_return r;
  });
}

}  // namespace atelier::app
