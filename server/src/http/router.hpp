// Routes with path parameters ("/api/chat/:chatId/message") and a middleware chain.
//
// A middleware is an onion layer: it gets the request and `next`, and may answer itself or
// call `co_await next(req)` and adjust what comes back. The server runs the global chain,
// whose innermost layer dispatches to the matched route's own middleware and handler.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "http/response.hpp"
#include "util/result.hpp"

namespace atelier::http {

using Handler = std::function<boost::asio::awaitable<Result<Response>>(Request&)>;
using Terminal = std::function<boost::asio::awaitable<Response>(Request&)>;

class Next;
using Middleware = std::function<boost::asio::awaitable<Response>(Request&, Next)>;

// The rest of the chain after the current middleware. operator() is a coroutine bound to
// `this`: call it on an object that outlives the await (a parameter or a local), never on a
// temporary.
class Next {
 public:
  Next(std::span<const Middleware> rest, const Terminal* terminal)
      : rest_(rest), terminal_(terminal) {}
  boost::asio::awaitable<Response> operator()(Request& req) const;

 private:
  std::span<const Middleware> rest_;
  const Terminal* terminal_;
};

// Runs `chain` around `terminal`.
boost::asio::awaitable<Response> runChain(std::span<const Middleware> chain,
                                          const Terminal& terminal, Request& req);

struct RouteOptions {
  // Largest request body accepted (413 beyond it, refused before it is read).
  std::size_t maxBodyBytes = std::size_t{1024} * 1024;
  // Counted against RATE_LIMIT_REQUESTS_PER_MINUTE (false for /healthz, /readyz, /metrics).
  bool rateLimited = true;
  // Route-level middleware (e.g. authentication), outermost first.
  std::vector<Middleware> middleware;
};

struct Route {
  std::string method;
  std::string pattern;  // for logs and metrics: "/api/chat/:chatId"
  RouteOptions options;
  Terminal terminal;  // route middleware + handler + error mapping

  struct Segment {
    std::string text;
    bool param = false;
  };
  std::vector<Segment> segments;
};

class Router {
 public:
  // Registers `handler` for `method` and `pattern`. Segments starting with ':' are
  // parameters; a parameter matches one non-empty segment. REQUIRES: not yet served.
  void add(std::string method, std::string_view pattern, Handler handler,
           RouteOptions options = {});

  struct Match {
    const Route* route = nullptr;  // set when found
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // non-empty when the path exists but not with this method
  };
  // A HEAD request is served by the GET route of its path (the server sends no body).
  Match match(std::string_view method, std::string_view path) const;

  // Serves GET and HEAD requests whose path no route has (the web UI's files and client-side
  // routes). Without one, such requests get 404 not_found.
  void setFallback(Handler handler, RouteOptions options = {});

 private:
  Match matchExact(std::string_view method, std::string_view path) const;
  static std::unique_ptr<Route> makeRoute(std::string method, std::string_view pattern,
                                          Handler handler, RouteOptions options);

  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Route> fallback_;
};

}  // namespace atelier::http
