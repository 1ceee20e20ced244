#include "app/web_routes.hpp"

#include "http/errors.hpp"

namespace atelier::app {

namespace asio = boost::asio;

namespace {

// Shown when the web client has not been built (web/dist missing).
constexpr std::string_view kPlaceholderPage = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Atelier</title>
</head>
<body>
<h1>Atelier</h1>
<p>The Atelier chat server is running, but its web UI has not been built. Run
<code>./dev build</code> (or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>),
or point <code>WEB_DIR</code> at the built files.</p>
<p>The API lives under <code>/api</code>; health at <code>/healthz</code>, readiness at
<code>/readyz</code>, metrics at <code>/metrics</code>.</p>
</body>
</html>
)";

void pageHeaders(http::Response& r) {
  r.setHeader("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.setHeader("Referrer-Policy", "no-referrer");
  r.setHeader("Cross-Origin-Opener-Policy", "same-origin");
}

http::Response serveFile(const http::Request& req, const web::StaticFile& f) {
  http::Response r;
  if (req.notModifiedSince(f.etag)) {
    r = http::Response::empty(304);
  } else if (!f.gzip.empty() && req.acceptsEncoding("gzip")) {
    r = http::Response::text(200, f.gzip, f.contentType);
    r.setHeader("Content-Encoding", "gzip");
  } else {
    r = http::Response::text(200, f.body, f.contentType);
  }
  if (!f.gzip.empty()) r.setHeader("Vary", "Accept-Encoding");
  r.setHeader("ETag", f.etag);
  // Hashed names never change content; everything else is checked on every use.
  r.setHeader("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (f.contentType.starts_with("text/html")) pageHeaders(r);
  return r;
}

// A path whose last segment has a dot names a file; anything else is a client-side route.
bool namesFile(std::string_view path) {
  const auto slash = path.rfind('/');
  return path.substr(slash == std::string_view::npos ? 0 : slash).find('.') !=
         std::string_view::npos;
}

}  // namespace

void registerWebRoutes(http::Router& router, const std::shared_ptr<const web::StaticSite>& site) {
  http::RouteOptions options;
  options.maxBodyBytes = 0;
  if (!site) {
    router.add(
        "GET", "/",
        [](http::Request&) -> asio::awaitable<Result<http::Response>> {
          auto r =
              http::Response::text(200, std::string(kPlaceholderPage), "text/html; charset=utf-8");
          r.setHeader("Cache-Control", "no-cache");
          pageHeaders(r);
          co_return r;
        },
        options);
    return;
  }
  router.add(
      "GET", "/",
      [site](http::Request& req) -> asio::awaitable<Result<http::Response>> {
        co_return serveFile(req, site->index());
      },
      options);
  router.setFallback(
      [site](http::Request& req) -> asio::awaitable<Result<http::Response>> {
        const std::string_view path = req.path;
        if (path == "/api" || path.starts_with("/api/"))
          co_return Error::make(Errc::not_found, "no such route");
        if (const auto* f = site->find(path)) co_return serveFile(req, *f);
        if (namesFile(path)) co_return Error::make(Errc::not_found, "no such file");
        co_return serveFile(req, site->index());  // /c/<chat id>, /login, ...
      },
      options);
}

}  // namespace atelier::app
