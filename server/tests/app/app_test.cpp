// The whole server in-process over real sockets, on SQLite and on PostgreSQL.
#include "app/app.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "support/raw_client.hpp"
#include "support/test_database.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
using test::DbKind;
using test::RawClient;

class AppTest : public ::testing::TestWithParam<DbKind> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    ATELIER_REQUIRE_DATABASE(*db_);
  }

  void start(config::EnvMap env = {}) {
    env.emplace("HOST", "127.0.0.1");
    env.emplace("PORT", "0");
    env.emplace("DATABASE_URL", db_->url());
    env.emplace("STORAGE_URL", "file://" + db_->dir() + "/uploads");
    env.emplace("JWT_SECRET", std::string(48, 's'));
    env.emplace("THREADS", "2");
    env.emplace("LOG_LEVEL", "warn");
    auto cfg = config::loadConfig(env);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    app_ = std::make_unique<App>(std::move(cfg).value());
    auto started = app_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  void TearDown() override {
    if (app_) {
      app_->requestShutdown();
      EXPECT_EQ(app_->wait(), 0);
      app_.reset();
    }
    db_.reset();
  }

  std::optional<test::RawResponse> get(const std::string& path, const std::string& headers = "") {
    return test::rawRequest(app_->port(), test::get(path, headers));
  }

  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<App> app_;
};

TEST_P(AppTest, HealthzAnswersOk) {
  start();
  auto r = get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"ok"})");
  EXPECT_EQ(r->header("Content-Type"), "application/json");
}

TEST_P(AppTest, ReadyzChecksTheDatabase) {
  start();
  auto r = get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(AppTest, ReadyzIs503FromTheFirstMomentOfShutdown) {
  start({{"SHUTDOWN_GRACE", "5s"}});
  RawClient open(app_->port());
  ASSERT_TRUE(open.send(test::get("/healthz")));
  ASSERT_TRUE(open.read());
  app_->requestShutdown();
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(open.send(test::get("/readyz")));
  auto r = open.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(boost::json::parse(r->body).at("error").at("code"), "unavailable");
  EXPECT_EQ(r->header("Connection"), "close");
}

TEST_P(AppTest, MetricsFollowTheExpositionFormat) {
  start();
  ASSERT_TRUE(get("/healthz"));
  ASSERT_TRUE(get("/no-such-route"));
  std::this_thread::sleep_for(50ms);
  auto r = get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+$)");
  static const std::regex meta(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream in(r->body);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind('#', 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, meta)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_NE(
      r->body.find(R"(atelier_http_requests_total{route="unmatched",method="GET",status="404"} 1)"),
      std::string::npos);
  EXPECT_NE(r->body.find("# TYPE atelier_http_request_duration_seconds histogram"),
            std::string::npos);
}

TEST_P(AppTest, UnknownAndWrongMethodGetJsonErrors) {
  start();
  auto nf = get("/api/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(boost::json::parse(nf->body).at("error").at("code"), "not_found");
  auto na = test::rawRequest(app_->port(),
                             "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->header("Allow"), "GET");
}

TEST_P(AppTest, RateLimitPerClientAddressWithRetryAfter) {
  start({{"RATE_LIMIT_REQUESTS_PER_MINUTE", "3"}});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get("/api/x")->status, 404);
  auto limited = get("/api/x");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(boost::json::parse(limited->body).at("error").at("code"), "rate_limited");
  ASSERT_TRUE(limited->header("Retry-After"));
  EXPECT_GE(std::stoi(*limited->header("Retry-After")), 1);
  // Operations endpoints are never limited.
  EXPECT_EQ(get("/healthz")->status, 200);
  EXPECT_EQ(get("/readyz")->status, 200);
  EXPECT_EQ(get("/metrics")->status, 200);
}

TEST_P(AppTest, TrustProxyTakesTheForwardedAddress) {
  start({{"RATE_LIMIT_REQUESTS_PER_MINUTE", "1"}, {"TRUST_PROXY", "true"}});
  EXPECT_EQ(get("/api/x", "X-Forwarded-For: 203.0.113.1\r\n")->status, 404);
  EXPECT_EQ(get("/api/x", "X-Forwarded-For: 203.0.113.1\r\n")->status, 429);
  EXPECT_EQ(get("/api/x", "X-Forwarded-For: 198.51.100.1, 203.0.113.2\r\n")->status, 404);
}

TEST_P(AppTest, CorsOnlyForConfiguredOrigins) {
  start({{"CORS_ORIGINS", "http://app.example"}});
  auto pre =
      test::rawRequest(app_->port(),
                       "OPTIONS /api/chat HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n"
                       "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->header("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_NE(pre->header("Access-Control-Allow-Headers")->find("Authorization"), std::string::npos);
  auto evil =
      test::rawRequest(app_->port(),
                       "OPTIONS /api/chat HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n"
                       "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(evil);
  EXPECT_FALSE(evil->header("Access-Control-Allow-Origin"));
  auto simple = get("/healthz", "Origin: http://app.example\r\n");
  EXPECT_EQ(simple->header("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_FALSE(
      get("/healthz", "Origin: http://evil.example\r\n")->header("Access-Control-Allow-Origin"));
}

TEST_P(AppTest, WebUiIsServedAtRoot) {
  start();
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type")->rfind("text/html", 0), 0u);
  EXPECT_TRUE(r->header("Content-Security-Policy"));
}

INSTANTIATE_TEST_SUITE_P(Databases, AppTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
