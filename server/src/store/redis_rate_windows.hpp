// Rate-limit windows in Redis (REDIS_URL), for deployments that already run one and would
// rather keep these short-lived counters out of the database. Each fixed window is one key,
// `atelier:rl:<key>:<window start ms>`, counted by a Lua script that increments it, gives it
// an expiry of two periods and reads the previous window in one round trip; the sliding
// window arithmetic is the database's (util/rate_window.hpp).
//
// A limiter must not take the service down with it: when Redis cannot be reached the hit is
// allowed (fail open) and a warning is logged at most every 30 s, until it answers again.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/rate_window.hpp"

struct redisContext;

namespace atelier::store {

// Where and how to reach Redis, from a redis:// URL.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user (empty: the default user)
  std::string password;  // empty: no AUTH
  int database = 0;
  std::chrono::milliseconds timeout{500};  // connect, and each command
};

// redis://[[user]:password@]host[:port][/database]; an error names what is wrong.
Result<RedisEndpoint> parseRedisUrl(std::string_view url);

class RedisRateWindows final : public RateWindows {
 public:
  explicit RedisRateWindows(RedisEndpoint endpoint);
  ~RedisRateWindows() override;
  RedisRateWindows(const RedisRateWindows&) = delete;
  RedisRateWindows& operator=(const RedisRateWindows&) = delete;

  Result<int> hit(std::string_view key, std::uint32_t limit, std::chrono::seconds period,
                  TimePoint now) override;
  std::string_view where() const override { return where_; }

  // Connects once and answers PING: for start-up, to say early that Redis is unreachable.
  Result<void> ping();

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const;
  };
  using Context = std::unique_ptr<redisContext, ContextDeleter>;

  Result<Context> connect() const;
  // A pooled connection, or a new one.
  Result<Context> acquire();
  void release(Context c);
  void failedOpen(const Error& e);

  RedisEndpoint endpoint_;
  std::string where_;
  std::mutex mu_;
  std::vector<Context> idle_;  // at most kMaxIdle; callers are bounded by the worker pool
  std::atomic<std::int64_t> lastWarningMs_{0};
  std::atomic<bool> failing_{false};
};

}  // namespace atelier::store
