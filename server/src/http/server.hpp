// The HTTP/1.1 server: a listener and one coroutine per connection. Connections are spread
// round-robin over the given io_contexts; with one thread per io_context (what the app does)
// a connection needs no strand, with a shared one it gets a strand of its own.
//
// Per connection: keep-alive; the first request head must arrive within headerTimeout of
// the first byte; an idle keep-alive connection is closed after idleTimeout; a body must
// arrive within bodyTimeout; each write must finish within writeTimeout. Heads over
// headerLimit get 431, bodies over the route's limit 413 (before the body is read),
// malformed requests 400 — each with the contract's JSON error, then the connection closes.
// Every response carries X-Request-Id and X-Content-Type-Options: nosniff.
//
// Shutdown is two-phase: beginShutdown() stops accepting and makes every further response
// `Connection: close` (requests that still arrive on open connections are answered);
// closeAll() ends whatever is still open once activeRequests() is 0 or the grace is over.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/observer.hpp"
#include "http/router.hpp"
#include "util/result.hpp"

namespace boost::asio {
class io_context;
}

namespace atelier::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see Server::port())
  std::chrono::milliseconds headerTimeout{30'000};
  std::chrono::milliseconds idleTimeout{75'000};
  std::chrono::milliseconds bodyTimeout{60'000};
  std::chrono::milliseconds writeTimeout{60'000};
  std::size_t headerLimit = std::size_t{16} * 1024;
  // Take the client address from the last X-Forwarded-For entry (the one our proxy added).
  bool trustProxy = false;
  // True when an io_context is run by several threads: each connection then gets a strand.
  bool strandPerConnection = true;
};

class Server {
 public:
  // `router`, `observer` must outlive the server. `chain` runs around every request. The
  // listener runs on contexts[0]. REQUIRES: !contexts.empty().
  Server(std::vector<boost::asio::io_context*> contexts, ServerOptions options,
         const Router& router, std::vector<Middleware> chain, RequestObserver& observer);
  Server(boost::asio::io_context& ioc, ServerOptions options, const Router& router,
         std::vector<Middleware> chain, RequestObserver& observer)
      : Server(std::vector<boost::asio::io_context*>{&ioc}, std::move(options), router,
               std::move(chain), observer) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Errc::unavailable with a clear message when the address is in use.
  Result<void> listen();
  // The bound port (after listen()).
  std::uint16_t port() const noexcept;
  // Starts accepting connections. REQUIRES: listen() succeeded.
  void start();

  // Phase 1 of shutdown. Thread-safe, idempotent.
  void beginShutdown();
  // Phase 2: closes every connection still open. Thread-safe.
  void closeAll();
  bool draining() const noexcept;
  std::size_t openConnections() const noexcept;
  // Requests whose head was read and whose response is not finished (streams included).
  std::size_t activeRequests() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace atelier::http
