// The `atelier` binary as a user runs it: configuration errors, .env, data dir, signals.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/http_json.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"
#include "support/smtp_sink.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier {
namespace {

using namespace std::chrono_literals;
using test::ServerProcess;

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = std::make_unique<test::TestDatabase>(test::DbKind::sqlite); }
  std::string dir() const { return db_->dir(); }
  std::map<std::string, std::string> baseEnv(std::uint16_t port) const {
    return {{"HOST", "127.0.0.1"}, {"PORT", std::to_string(port)}, {"THREADS", "2"}};
  }
  std::unique_ptr<test::TestDatabase> db_;
};

struct BadConfig {
  const char* var;
  const char* value;
  const char* line;
};

class BadConfigTest : public ProcessTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigTest, StopsWithExitCode2AndOneLineNamingTheVariable) {
  const auto& c = GetParam();
  auto env = baseEnv(test::freePort());
  env[c.var] = c.value;
  ServerProcess p({"serve"}, env, dir());
  auto code = p.waitExit(10s);
  ASSERT_TRUE(code) << "the server kept running";
  EXPECT_EQ(*code, 2);
  EXPECT_EQ(p.output(), std::string(c.line) + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Examples, BadConfigTest,
    ::testing::Values(
        BadConfig{"PORT", "80a", R"(PORT: not a number: "80a")"},
        BadConfig{"DATABASE_URL", "mysql://x",
                  R"(DATABASE_URL: unknown scheme "mysql" (use sqlite:// or postgres://))"},
        BadConfig{"JWT_SECRET", "short", "JWT_SECRET: must be at least 32 bytes (got 5)"},
        BadConfig{"DEFAULT_TOKEN_LIMIT", "lots", R"(DEFAULT_TOKEN_LIMIT: not a number: "lots")"},
        BadConfig{"SHUTDOWN_GRACE", "soon",
                  R"(SHUTDOWN_GRACE: not a duration: "soon" (use e.g. 90s, 15m, 12h, 30d))"}),
    [](const auto& info) { return std::string(info.param.var); });

TEST_F(ProcessTest, RunsWithDefaultsAndCreatesItsDataDirectory) {
  const auto port = test::freePort();
  ServerProcess p({"serve"}, baseEnv(port), dir());
  ASSERT_TRUE(p.waitHealthy(port)) << p.output();
  EXPECT_TRUE(std::filesystem::exists(dir() + "/data/atelier.db"));
  EXPECT_TRUE(std::filesystem::exists(dir() + "/data/jwt_secret"));
  EXPECT_EQ(std::filesystem::status(dir() + "/data/jwt_secret").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_NE(p.output().find("JWT_SECRET is not set"), std::string::npos);
  p.signal(SIGTERM);
  EXPECT_EQ(p.waitExit(10s), 0);
}

TEST_F(ProcessTest, ReadsDotEnvInTheWorkingDirectory) {
  const auto port = test::freePort();
  std::ofstream(dir() + "/.env") << "# test\nPORT=" << port
                                 << "\nRATE_LIMIT_REQUESTS_PER_MINUTE=1\n";
  ServerProcess p({}, {{"HOST", "127.0.0.1"}}, dir());
  ASSERT_TRUE(p.waitHealthy(port)) << p.output();
  EXPECT_EQ(test::rawRequest(port, test::get("/api/x"))->status, 404);
  EXPECT_EQ(test::rawRequest(port, test::get("/api/x"))->status, 429);
  p.signal(SIGTERM);
  EXPECT_EQ(p.waitExit(10s), 0);
}

TEST_F(ProcessTest, SigtermDrainsAndExitsZero) {
  const auto port = test::freePort();
  auto env = baseEnv(port);
  env["SHUTDOWN_GRACE"] = "5s";
  ServerProcess p({"serve"}, env, dir());
  ASSERT_TRUE(p.waitHealthy(port)) << p.output();
  test::RawClient open(port);
  ASSERT_TRUE(open.send(test::get("/healthz")));
  ASSERT_TRUE(open.read());
  p.signal(SIGTERM);
  // Exits promptly: nothing is in flight, so it does not wait out the grace period.
  auto code = p.waitExit(4s);
  ASSERT_TRUE(code) << p.output();
  EXPECT_EQ(*code, 0);
  EXPECT_NE(p.output().find("shutdown complete"), std::string::npos);
  test::RawClient late(port);
  EXPECT_FALSE(late.connected());
}

TEST_F(ProcessTest, MigrateAppliesAndReports) {
  ServerProcess p({"migrate"},
                  {{"DATABASE_URL", "sqlite://./m.db"}, {"JWT_SECRET", std::string(40, 'x')}},
                  dir());
  ASSERT_EQ(p.waitExit(20s), 0) << p.output();
  EXPECT_EQ(p.output().find(" 0 migration(s) applied"), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("migration(s) applied"), std::string::npos) << p.output();
  ServerProcess again({"migrate"}, {{"DATABASE_URL", "sqlite://./m.db"}}, dir());
  ASSERT_EQ(again.waitExit(20s), 0);
  EXPECT_NE(again.output().find("0 migration(s) applied"), std::string::npos) << again.output();
}

TEST_F(ProcessTest, VersionAndUnknownCommand) {
  ServerProcess v({"version"}, {}, dir());
  EXPECT_EQ(v.waitExit(10s), 0);
  EXPECT_EQ(v.output().rfind("atelier ", 0), 0u);
  ServerProcess bad({"frobnicate"}, {}, dir());
  EXPECT_EQ(bad.waitExit(10s), 2);
}

TEST_F(ProcessTest, PortInUseIsAClearStartupError) {
  const auto port = test::freePort();
  ServerProcess first({"serve"}, baseEnv(port), dir());
  ASSERT_TRUE(first.waitHealthy(port));
  const auto other = dir() + "/second";
  std::filesystem::create_directories(other);
  ServerProcess second({"serve"}, baseEnv(port), other);
  auto code = second.waitExit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1);
  EXPECT_NE(second.output().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.output();
  first.signal(SIGTERM);
  EXPECT_EQ(first.waitExit(10s), 0);
}

TEST_F(ProcessTest, AFailingSmtpServerIsLoggedAndDoesNotHoldUpTheRequest) {
  const auto port = test::freePort();
  auto env = baseEnv(port);
  env["SMTP_URL"] = "smtp://127.0.0.1:" + std::to_string(test::freePort());  // nobody listens
  ServerProcess p({"serve"}, env, dir());
  ASSERT_TRUE(p.waitHealthy(port)) << p.output();
  const auto start = std::chrono::steady_clock::now();
  auto r =
      test::call(port, "POST", "/api/auth/register",
                 boost::json::value{{"email", "nomail@example.com"}, {"password", "abcdefgh"}});
  EXPECT_EQ(r.status, 201);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = p.output().find("e-mail to nomail@example.com not sent") != std::string::npos;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(logged) << p.output();
  p.signal(SIGTERM);
  EXPECT_EQ(p.waitExit(10s), 0);
}

TEST_F(ProcessTest, NoSecretReachesTheLogOrAnErrorBody) {
  test::SmtpSink sink;
  const auto port = test::freePort();
  const std::string jwtSecret = "jwt-secret-" + std::string(40, 'q');
  auto env = baseEnv(port);
  env["SMTP_URL"] = sink.url();
  env["JWT_SECRET"] = jwtSecret;
  env["LOG_LEVEL"] = "debug";
  ServerProcess p({"serve"}, env, dir());
  ASSERT_TRUE(p.waitHealthy(port)) << p.output();
  namespace json = boost::json;
  std::vector<std::string> secrets{jwtSecret};
  std::vector<std::string> bodies;
  auto post = [&](const std::string& path, json::value body) {
    auto r = test::call(port, "POST", path, body);
    bodies.push_back(r.raw.body);
    return r;
  };
  const std::string email = "hygiene@example.com", password = "a very secret passphrase";
  secrets.push_back(password);
  secrets.push_back("Wrong-" + password);
  post("/api/auth/register", {{"email", email}, {"password", password}});
  const auto code = sink.code(email, 0).value_or("no-code");
  secrets.push_back(code);
  auto pair = post("/api/auth/verify", {{"email", email}, {"code", code}});
  ASSERT_EQ(pair.status, 200);
  post("/api/auth/login", {{"email", email}, {"password", "Wrong-" + password}});
  auto login = post("/api/auth/login", {{"email", email}, {"password", password}});
  for (const auto* r : {&pair, &login}) {
    const std::string access(r->json.at("access_token").as_string());
    const std::string refresh(r->json.at("refresh_token").as_string());
    secrets.insert(secrets.end(), {access, refresh, sha256Hex(refresh)});
  }
  auto rotated = post("/api/auth/refresh", {{"refresh_token", pair.json.at("refresh_token")}});
  secrets.push_back(std::string(rotated.json.at("refresh_token").as_string()));
  post("/api/auth/refresh", {{"refresh_token", pair.json.at("refresh_token")}});  // replay
  post("/api/auth/otp", {{"email", email}, {"purpose", "reset_password"}});
  const auto resetCode = sink.code(email, 1).value_or("no-code");
  secrets.push_back(resetCode);
  post("/api/auth/password/reset",
       {{"email", email}, {"code", resetCode}, {"new_password", "new " + password}});
  secrets.push_back("new " + password);
  test::call(port, "GET", "/api/auth/me", std::nullopt,
             std::string(login.json.at("access_token").as_string()));
  p.signal(SIGTERM);
  ASSERT_EQ(p.waitExit(10s), 0);
  const std::string log = p.output();
  EXPECT_NE(log.find("http POST /api/auth/login 401"), std::string::npos)
      << "the access log is missing";
  for (const auto& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "in the log: " << secret.substr(0, 12) << "…";
    for (const auto& body : bodies) {
      if (body.find(R"("error")") != std::string::npos) {
        EXPECT_EQ(body.find(secret), std::string::npos)
            << "in an error body: " << secret.substr(0, 12);
      }
    }
  }
}

}  // namespace
}  // namespace atelier
