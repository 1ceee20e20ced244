#include "store/redis_rate_windows.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <boost/url/parse.hpp>
#include <charconv>

namespace atelier::store {
namespace {

constexpr std::size_t kMaxIdle = 32;
constexpr auto kWarningEvery = std::chrono::seconds(30);

// INCR the current window (expiring after two periods when new) and read the previous one,
// in one atomic round trip. KEYS share a hash tag so that a Redis Cluster accepts them.
constexpr std::string_view kHitScript =
    "local c = redis.call('INCR', KEYS[1])\n"
    "if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
    "local p = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "return {c, p}\n";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval toTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Error redisError(std::string_view what, std::string_view detail) {
  return Error::make(Errc::unavailable, std::string(what) + ": " + std::string(detail));
}

// One command, binary-safe. An error reply, or a broken connection, is an Error.
Result<Reply> command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!r) return redisError("Redis " + args.front(), c->err != 0 ? c->errstr : "no reply");
  if (r->type == REDIS_REPLY_ERROR)
    return redisError("Redis " + args.front(), std::string_view(r->str, r->len));
  return r;
}

}  // namespace

Result<RedisEndpoint> parseRedisUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return Error::make(Errc::invalid_request, "REDIS_URL is not a valid URL");
  const auto& u = *parsed;
  if (u.scheme() != "redis") {
    return Error::make(Errc::invalid_request,
                       "REDIS_URL must start with redis:// (TLS is not supported by this "
                       "build's hiredis; reach Redis over a private network or a TLS tunnel)");
  }
  RedisEndpoint e;
  if (!u.host().empty()) e.host = u.host();
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  if (u.has_port()) {
    if (u.port_number() == 0) return Error::make(Errc::invalid_request, "REDIS_URL: bad port");
    e.port = u.port_number();
  }
  if (u.has_userinfo()) {
    e.user = u.user();
    e.password = u.password();
    if (!u.has_password()) {  // redis://secret@host: the password alone, as redis-cli reads it
      e.password = e.user;
      e.user.clear();
    }
  }
  std::string path = u.path();
  if (!path.empty() && path != "/") {
    const std::string_view db = std::string_view(path).substr(1);
    const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), e.database);
    if (ec != std::errc() || end != db.data() + db.size() || e.database < 0) {
      return Error::make(Errc::invalid_request,
                         "REDIS_URL: the path must be a database number, like /0");
    }
  }
  return e;
}

void RedisRateWindows::ContextDeleter::operator()(redisContext* c) const {
  redisFree(c);
}

RedisRateWindows::RedisRateWindows(RedisEndpoint endpoint)
    : endpoint_(std::move(endpoint)),
      where_("Redis at " + endpoint_.host + ":" + std::to_string(endpoint_.port) + "/" +
             std::to_string(endpoint_.database)) {}

RedisRateWindows::~RedisRateWindows() = default;

Result<RedisRateWindows::Context> RedisRateWindows::connect() const {
  const timeval tv = toTimeval(endpoint_.timeout);
  Context c(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv));
  if (!c) return redisError("Redis", "out of memory");
  if (c->err != 0) return redisError("cannot connect to " + where_, c->errstr);
  if (redisSetTimeout(c.get(), tv) != REDIS_OK) return redisError("Redis", "cannot set a timeout");
  if (!endpoint_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint_.user.empty()) auth.push_back(endpoint_.user);
    auth.push_back(endpoint_.password);
    if (auto r = command(c.get(), auth); !r) return std::move(r).error();
  }
  if (endpoint_.database != 0) {
    if (auto r = command(c.get(), {"SELECT", std::to_string(endpoint_.database)}); !r)
      return std::move(r).error();
  }
  return c;
}

Result<RedisRateWindows::Context> RedisRateWindows::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      Context c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return connect();
}

void RedisRateWindows::release(Context c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
}

void RedisRateWindows::failedOpen(const Error& e) {
  const auto nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  failing_ = true;
  auto last = lastWarningMs_.load();
  if (nowMs - last < std::chrono::milliseconds(kWarningEvery).count()) return;
  if (!lastWarningMs_.compare_exchange_strong(last, nowMs)) return;
  spdlog::warn("rate limits are not enforced while Redis fails ({}); retrying", e.message);
}

Result<void> RedisRateWindows::ping() {
  auto c = acquire();
  if (!c) return std::move(c).error();
  auto r = command(c->get(), {"PING"});
  if (!r) return std::move(r).error();
  release(std::move(*c));
  return {};
}

Result<int> RedisRateWindows::hit(std::string_view key, std::uint32_t limit,
                                  std::chrono::seconds period, TimePoint now) {
  const auto pos = windowAt(now.time_since_epoch(), period);
  const std::int64_t periodMs = std::chrono::milliseconds(period).count();
  const std::string base = "atelier:rl:{" + std::string(key) + "}:";
  const std::string current = base + std::to_string(pos.startMs);
  auto run = [&]() -> Result<int> {
    auto c = acquire();
    if (!c) return std::move(c).error();
    auto r = command(c->get(), {"EVAL", std::string(kHitScript), "2", current,
                                base + std::to_string(pos.startMs - periodMs),
                                std::to_string(2 * periodMs + 1000)});
    if (!r) return std::move(r).error();  // the connection is dropped: it may be broken
    const redisReply* reply = r->get();
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
      return redisError("Redis", "unexpected reply to the rate-limit script");
    }
    const WindowHits hits{reply->element[0]->integer, reply->element[1]->integer};
    const int wait = slidingWindowWait(hits, limit, period, pos.into);
    if (wait > 0) {
      // A refused hit is not counted: the client is told when to retry, and retrying then
      // must succeed.
      if (auto d = command(c->get(), {"DECR", current}); !d) return std::move(d).error();
    }
    release(std::move(*c));
    return wait;
  };
  auto wait = run();
  if (!wait) {
    failedOpen(wait.error());
    return 0;
  }
  if (failing_.exchange(false)) spdlog::info("Redis answers again: rate limits are enforced");
  return wait;
}

}  // namespace atelier::store
