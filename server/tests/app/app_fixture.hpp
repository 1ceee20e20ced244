// The whole app in-process on a fresh database (SQLite or PostgreSQL), a real SMTP sink,
// a manual clock, and helpers to sign users up over HTTP.
#pragma once

#include <gtest/gtest.h>

#include "app/app.hpp"
#include "support/http_json.hpp"
#include "support/smtp_sink.hpp"
#include "support/test_database.hpp"

namespace atelier::app {

struct Session {
  std::string userId;
  std::string email;
  std::string password;
  std::string access;
  std::string refresh;
};

// The database a test parameter names (suites with richer parameters overload this).
inline test::DbKind dbOf(test::DbKind kind) {
  return kind;
}

template <class Param>
class BasicAppFixture : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDatabase>(dbOf(this->GetParam()));
    ATELIER_REQUIRE_DATABASE(*db_);
    config::EnvMap env{{"HOST", "127.0.0.1"},
                       {"PORT", "0"},
                       {"DATABASE_URL", db_->url()},
                       {"STORAGE_URL", "file://" + db_->dir() + "/uploads"},
                       {"JWT_SECRET", std::string(48, 'k')},
                       {"SMTP_URL", sink_.url()},
                       {"MAIL_FROM", "Atelier <no-reply@atelier.test>"},
                       {"THREADS", "2"},
                       {"LOG_LEVEL", "warn"}};
    for (const auto& [k, v] : extraEnv())
      env[k] = v;
    env_ = env;
    startApp();
  }

  void startApp() {
    auto cfg = config::loadConfig(env_);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    app_ = std::make_unique<App>(std::move(cfg).value(), AppOptions{&clock_});
    auto started = app_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  // Stops the server and starts a new one on the same database (the port changes).
  void restartApp() {
    app_->requestShutdown();
    app_->wait();
    app_.reset();
    startApp();
  }

  void TearDown() override {
    if (app_) {
      app_->requestShutdown();
      app_->wait();
    }
  }

  virtual config::EnvMap extraEnv() const { return {}; }

  test::JsonResponse post(const std::string& path, boost::json::value body,
                          const std::string& token = "") {
    return test::call(app_->port(), "POST", path, body, token);
  }
  test::JsonResponse patch(const std::string& path, boost::json::value body,
                           const std::string& token = "") {
    return test::call(app_->port(), "PATCH", path, body, token);
  }
  test::JsonResponse get(const std::string& path, const std::string& token = "") {
    return test::call(app_->port(), "GET", path, std::nullopt, token);
  }
  test::JsonResponse del(const std::string& path, const std::string& token = "") {
    return test::call(app_->port(), "DELETE", path, std::nullopt, token);
  }
  test::JsonResponse login(const std::string& email, const std::string& password) {
    return post("/api/auth/login", {{"email", email}, {"password", password}});
  }

  std::string nextEmail(const std::string& tag) {
    return tag + std::to_string(++counter_) + "@example.com";
  }

  // Registered, verified, signed in.
  Session newUser(const std::string& tag = "user") {
    Session s;
    s.email = nextEmail(tag);
    s.password = "correct horse " + tag;
    const auto before = sink_.count(s.email);
    EXPECT_EQ(post("/api/auth/register", {{"email", s.email}, {"password", s.password}}).status,
              201);
    auto code = sink_.code(s.email, before);
    EXPECT_TRUE(code);
    auto v = post("/api/auth/verify", {{"email", s.email}, {"code", code.value_or("")}});
    EXPECT_EQ(v.status, 200);
    if (v.status != 200) return s;
    s.userId = std::string(v.json.at("user").at("user_id").as_string());
    s.access = std::string(v.json.at("access_token").as_string());
    s.refresh = std::string(v.json.at("refresh_token").as_string());
    return s;
  }

  config::EnvMap env_;
  test::SmtpSink sink_;
  ManualClock clock_{fromUnixMillis(1'795'000'000'000)};
  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<App> app_;
  int counter_ = 0;
};

using AppFixture = BasicAppFixture<test::DbKind>;

}  // namespace atelier::app
