// The generic middleware the server layer offers. Feature middleware (authentication)
// lives with its feature.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/router.hpp"

namespace atelier::http {

// Turns an exception escaping a handler into 500 `internal` (logged with the request id,
// never shown to the client). The outermost layer.
Middleware exceptionGuard();

// CORS for the listed origins (exact "scheme://host[:port]" matches). With an empty list
// only same-origin requests work: no Access-Control-* header is ever sent. Answers
// preflights (OPTIONS with Access-Control-Request-Method) itself.
Middleware cors(std::vector<std::string> allowedOrigins);

// A per-client-address token bucket: `perMinute` requests a minute, bursts up to that many.
// Routes with RouteOptions::rateLimited == false are not counted. 0 disables the limit.
// Thread-safe; memory is bounded (idle addresses are forgotten, at most `maxClients` kept).
class RateLimiter {
 public:
  RateLimiter(std::uint32_t perMinute, std::size_t maxClients = 100'000);
  ~RateLimiter();
  // 0 when allowed, else the seconds until a request would be allowed.
  int acquire(std::string_view key, std::chrono::steady_clock::time_point now);

 private:
  struct Shard;
  std::uint32_t perMinute_;
  std::size_t maxPerShard_;
  std::unique_ptr<Shard[]> shards_;
};

Middleware rateLimit(std::shared_ptr<RateLimiter> limiter);

}  // namespace atelier::http
