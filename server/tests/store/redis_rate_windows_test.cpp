// Rate-limit windows in a real redis-server: the same sliding window as the database's,
// atomic under concurrent callers, with AUTH and a database number, and failing open (with
// the limit back once Redis is) rather than refusing every message while Redis is away.
#include "store/redis_rate_windows.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/test_redis.hpp"

namespace atelier::store {
namespace {

using namespace std::chrono_literals;

constexpr auto kPeriod = std::chrono::seconds(60);

// A time at the start of a 60 s window, plus `offset`.
TimePoint at(std::chrono::milliseconds offset) {
  return fromUnixMillis(1'800'000'000'000 - (1'800'000'000'000 % 60'000)) + offset;
}

RedisRateWindows windowsFor(const test::TestRedis& redis, int database = 0) {
  auto endpoint = parseRedisUrl(redis.url(database));
  EXPECT_TRUE(endpoint.ok());
  return RedisRateWindows(std::move(endpoint).value());
}

TEST(RedisUrl, ReadsHostPortPasswordAndDatabase) {
  auto e = parseRedisUrl("redis://:s%40cret@cache.internal:6380/3");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "s@cret");
  EXPECT_EQ(e->database, 3);

  auto acl = parseRedisUrl("redis://atelier:pw@10.0.0.5");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->user, "atelier");
  EXPECT_EQ(acl->password, "pw");
  EXPECT_EQ(acl->port, 6379);
  EXPECT_EQ(acl->database, 0);

  auto bare = parseRedisUrl("redis://secret@[::1]:7000");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "::1");
  EXPECT_EQ(bare->password, "secret");  // one name alone is a password, as redis-cli reads it
  EXPECT_EQ(bare->user, "");
}

TEST(RedisUrl, RefusesWhatItCannotHonour) {
  EXPECT_FALSE(parseRedisUrl("rediss://cache:6380").ok());  // no TLS in hiredis 0.14
  EXPECT_FALSE(parseRedisUrl("redis://cache/zero").ok());
  EXPECT_FALSE(parseRedisUrl("redis://cache/-1").ok());
  EXPECT_FALSE(parseRedisUrl("redis://cache:0").ok());
  EXPECT_FALSE(parseRedisUrl("not a url").ok());
}

TEST(RedisRateWindows, CountsRefusesWithoutCountingAndSlides) {
  test::TestRedis redis;
  ATELIER_REQUIRE_REDIS(redis);
  auto windows = windowsFor(redis);
  for (int i = 0; i < 3; ++i) {
    auto wait = windows.hit("messages:u1", 3, kPeriod, at(1s));
    ASSERT_TRUE(wait.ok()) << wait.error().message;
    EXPECT_EQ(*wait, 0) << i;
  }
  auto refused = windows.hit("messages:u1", 3, kPeriod, at(1s));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, 79);  // 59 s to the next window, where 3 × (1 − 20/60) + 1 ≤ 3
  // The refused hit was not counted, and the key expires by itself.
  const std::string key = "atelier:rl:{messages:u1}:" + std::to_string(toUnixMillis(at(0ms)));
  EXPECT_EQ(redis.command("GET", key), "3");
  const auto ttl = std::stoll(redis.command("PTTL", key));
  EXPECT_GT(ttl, 60'000);
  EXPECT_LE(ttl, 121'000);
  // Another key is another limit.
  EXPECT_EQ(*windows.hit("messages:u2", 3, kPeriod, at(1s)), 0);
  // Half-way through the next window the previous one weighs half: 3 × 0.5 = 1.5, so one
  // hit fits (1.5 + 1 ≤ 3) and a second (1.5 + 2 > 3) does not.
  EXPECT_EQ(*windows.hit("messages:u1", 3, kPeriod, at(90s)), 0);
  EXPECT_GT(*windows.hit("messages:u1", 3, kPeriod, at(90s)), 0);
  // Two windows on, the old hits weigh nothing.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(*windows.hit("messages:u1", 3, kPeriod, at(181s)), 0);
}

TEST(RedisRateWindows, ConcurrentHitsNeverPassTheLimit) {
  test::TestRedis redis;
  ATELIER_REQUIRE_REDIS(redis);
  auto windows = windowsFor(redis);
  std::atomic<int> allowed{0}, failed{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto wait = windows.hit("messages:busy", 100, kPeriod, at(5s));
        if (!wait) {
          ++failed;
        } else if (*wait == 0) {
          ++allowed;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), 100);
}

TEST(RedisRateWindows, AuthenticatesAndUsesTheDatabaseOfTheUrl) {
  test::TestRedis redis("p4ss.w0rd");
  ATELIER_REQUIRE_REDIS(redis);
  auto windows = windowsFor(redis, 5);
  ASSERT_TRUE(windows.ping().ok());
  EXPECT_EQ(*windows.hit("messages:u", 1, kPeriod, at(1s)), 0);
  EXPECT_GT(*windows.hit("messages:u", 1, kPeriod, at(1s)), 0);
  EXPECT_EQ(redis.command("DBSIZE"), "0");  // database 0 is untouched

  // A wrong password is a failure to reach Redis: said by ping(), and the hit is allowed.
  auto endpoint = parseRedisUrl(redis.url(5));
  ASSERT_TRUE(endpoint.ok());
  endpoint->password = "wrong";
  RedisRateWindows wrong(std::move(endpoint).value());
  EXPECT_FALSE(wrong.ping().ok());
  EXPECT_EQ(*wrong.hit("messages:u", 1, kPeriod, at(1s)), 0);
}

TEST(RedisRateWindows, FailsOpenWhileRedisIsAwayAndEnforcesAgainOnceBack) {
  test::TestRedis redis;
  ATELIER_REQUIRE_REDIS(redis);
  auto windows = windowsFor(redis);
  EXPECT_EQ(*windows.hit("messages:u", 1, kPeriod, at(1s)), 0);  // a pooled connection now
  redis.stop();
  for (int i = 0; i < 3; ++i) {
    auto wait = windows.hit("messages:u", 1, kPeriod, at(2s));
    ASSERT_TRUE(wait.ok());
    EXPECT_EQ(*wait, 0) << "a limiter that cannot count lets the message through";
  }
  redis.start();  // empty: nothing was persisted
  EXPECT_EQ(*windows.hit("messages:u", 1, kPeriod, at(3s)), 0);
  EXPECT_GT(*windows.hit("messages:u", 1, kPeriod, at(3s)), 0);
}

}  // namespace
}  // namespace atelier::store
