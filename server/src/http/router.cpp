#include "http/router.hpp"

#include <algorithm>

#include "http/errors.hpp"

namespace atelier::http {

namespace asio = boost::asio;

asio::awaitable<Response> Next::operator()(Request& req) const {
  if (rest_.empty()) co_return co_await (*terminal_)(req);
  co_return co_await rest_.front()(req, Next(rest_.subspan(1), terminal_));
}

asio::awaitable<Response> runChain(std::span<const Middleware> chain, const Terminal& terminal,
                                   Request& req) {
  // A coroutine, so that `next` lives in this frame while it runs (a member coroutine called
  // on a temporary would outlive its object).
  const Next next(chain, &terminal);
  co_return co_await next(req);
}

namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t j = std::min(path.find('/', i), path.size());
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::unique_ptr<Route> Router::makeRoute(std::string method, std::string_view pattern,
                                         Handler handler, RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::string(pattern);
  for (auto seg : splitPath(pattern)) {
    Route::Segment s;
    s.param = !seg.empty() && seg.front() == ':';
    s.text = std::string(s.param ? seg.substr(1) : seg);
    route->segments.push_back(std::move(s));
  }
  route->options = std::move(options);
  // The innermost step: the handler, its error mapped by the one error mapper.
  Terminal inner = [h = std::move(handler)](Request& req) -> asio::awaitable<Response> {
    Result<Response> r = co_await h(req);
    if (!r) co_return errorResponse(r.error(), req.requestId);
    co_return std::move(r).value();
  };
  const Route* self = route.get();
  route->terminal = [self, inner = std::move(inner)](Request& req) -> asio::awaitable<Response> {
    co_return co_await runChain(self->options.middleware, inner, req);
  };
  return route;
}

void Router::add(std::string method, std::string_view pattern, Handler handler,
                 RouteOptions options) {
  routes_.push_back(makeRoute(std::move(method), pattern, std::move(handler), std::move(options)));
}

void Router::setFallback(Handler handler, RouteOptions options) {
  fallback_ = makeRoute("GET", "/*", std::move(handler), std::move(options));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m = matchExact(method, path);
  if (m.route != nullptr) return m;
  const bool head = method == "HEAD";
  if (head) {
    Match get = matchExact("GET", path);
    if (get.route != nullptr) return get;
  }
  if (m.allow.empty() && fallback_ && (head || method == "GET")) m.route = fallback_.get();
  return m;
}

Router::Match Router::matchExact(std::string_view method, std::string_view path) const {
  Match m;
  const auto segs = splitPath(path);
  // A trailing slash is a different resource ("/api/chat/" is not "/api/chat").
  const bool trailingSlash = path.size() > 1 && path.back() == '/';
  for (const auto& r : routes_) {
    if (r->segments.size() != segs.size() || trailingSlash) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      ok = r->segments[i].param ? !segs[i].empty() : r->segments[i].text == segs[i];
    }
    if (!ok) continue;
    if (r->method == method) {
      m.route = r.get();
      m.allow.clear();
      for (std::size_t i = 0; i < segs.size(); ++i) {
        if (r->segments[i].param) m.params.emplace_back(r->segments[i].text, std::string(segs[i]));
      }
      return m;
    }
    if (m.allow.find(r->method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r->method;
    }
  }
  return m;
}

}  // namespace atelier::http
