#include "http/middleware.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "http/errors.hpp"

namespace atelier::http {

namespace asio = boost::asio;

Middleware exceptionGuard() {
  return [](Request& req, Next next) -> asio::awaitable<Response> {
    try {
      co_return co_await next(req);
    } catch (const std::exception& e) {
      spdlog::error("unhandled exception in {} {} request_id={}: {}", req.method,
                    req.route ? req.route->pattern : req.path, req.requestId, e.what());
    }
    co_return errorResponse(Error::make(Errc::internal, "internal error"), req.requestId);
  };
}

Middleware cors(std::vector<std::string> allowedOrigins) {
  return [origins = std::move(allowedOrigins)](Request& req,
                                               Next next) -> asio::awaitable<Response> {
    const auto origin = req.header("Origin");
    const bool allowed =
        origin && std::find(origins.begin(), origins.end(), *origin) != origins.end();
    if (req.method == "OPTIONS" && req.header("Access-Control-Request-Method")) {
      Response r = Response::empty(204);
      if (allowed) {
        r.headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
        r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
        r.headers.emplace_back("Access-Control-Allow-Headers",
                               "Authorization, Content-Type, X-Request-Id, Last-Event-ID");
        r.headers.emplace_back("Access-Control-Max-Age", "600");
      }
      r.headers.emplace_back("Vary", "Origin");
      co_return r;
    }
    Response r = co_await next(req);
    if (allowed) {
      r.headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
      r.headers.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
      r.headers.emplace_back("Vary", "Origin");
    }
    co_return r;
  };
}

// ---- rate limiting ----------------------------------------------------------------------

namespace {
constexpr std::size_t kShards = 16;
}

struct RateLimiter::Shard {
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mu;
  std::unordered_map<std::string, Bucket> buckets;
};

RateLimiter::RateLimiter(std::uint32_t capacity, std::chrono::seconds period, std::size_t maxKeys)
    : capacity_(capacity),
      perSecond_(period.count() > 0 ? capacity / static_cast<double>(period.count()) : capacity),
      maxPerShard_(std::max<std::size_t>(1, maxKeys / kShards)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

RateLimiter::~RateLimiter() = default;

int RateLimiter::acquire(std::string_view key, std::chrono::steady_clock::time_point now) {
  return take(key, now, true);
}

int RateLimiter::check(std::string_view key, std::chrono::steady_clock::time_point now) {
  return take(key, now, false);
}

int RateLimiter::take(std::string_view key, std::chrono::steady_clock::time_point now,
                      bool consume) {
  if (capacity_ <= 0) return 0;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (!consume) return 0;
    if (shard.buckets.size() >= maxPerShard_) {
      // Forget buckets that have refilled completely: they carry no information.
      std::erase_if(shard.buckets, [&](const auto& kv) {
        const double idle = std::chrono::duration<double>(now - kv.second.last).count();
        return kv.second.tokens + idle * perSecond_ >= capacity_;
      });
      if (shard.buckets.size() >= maxPerShard_) shard.buckets.erase(shard.buckets.begin());
    }
    it = shard.buckets.emplace(std::string(key), Shard::Bucket{capacity_, now}).first;
  }
  auto& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(capacity_, b.tokens + elapsed * perSecond_);
  b.last = now;
  if (b.tokens >= 1.0) {
    if (consume) b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / perSecond_)));
}

Middleware rateLimit(std::shared_ptr<RateLimiter> limiter) {
  return [limiter = std::move(limiter)](Request& req, Next next) -> asio::awaitable<Response> {
    if (req.route == nullptr || req.route->options.rateLimited) {
      const int wait = limiter->acquire(req.clientAddress, req.received);
      if (wait > 0) {
        Error e = Error::make(Errc::rate_limited, "too many requests, slow down");
        e.retryAfterSeconds = wait;
        co_return errorResponse(e, req.requestId);
      }
    }
    co_return co_await next(req);
  };
}

}  // namespace atelier::http
