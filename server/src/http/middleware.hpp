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

// A token bucket per key (a client address, an e-mail): `capacity` requests per `period`,
// bursts up to `capacity`. Thread-safe; memory is bounded (idle keys are forgotten, at most
// `maxKeys` kept). A capacity of 0 disables the limit.
class RateLimiter {
 public:
  RateLimiter(std::uint32_t capacity, std::chrono::seconds period, std::size_t maxKeys = 100'000);
  // Requests per minute (RATE_LIMIT_REQUESTS_PER_MINUTE).
  explicit RateLimiter(std::uint32_t perMinute)
      : RateLimiter(perMinute, std::chrono::seconds(60)) {}
  ~RateLimiter();
  // Takes one token: 0 when allowed, else the seconds until a request would be allowed.
  int acquire(std::string_view key, std::chrono::steady_clock::time_point now);
  // Like acquire() without taking a token.
  int check(std::string_view key, std::chrono::steady_clock::time_point now);

 private:
  struct Shard;
  int take(std::string_view key, std::chrono::steady_clock::time_point now, bool consume);
  double capacity_;
  double perSecond_;
  std::size_t maxPerShard_;
  std::unique_ptr<Shard[]> shards_;
};

// RATE_LIMIT_REQUESTS_PER_MINUTE per client address, on routes with rateLimited set.
Middleware rateLimit(std::shared_ptr<RateLimiter> limiter);

}  // namespace atelier::http
