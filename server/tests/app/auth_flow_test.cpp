// Every row of the /api/auth table over real HTTP, with a real SMTP sink, on both databases.
#include <gtest/gtest.h>

#include "app/app_fixture.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::call;
using test::DbKind;
using test::JsonResponse;

class AuthFlowTest : public AppFixture {
 protected:
  static std::string otherCode(const std::string& code) {
    return std::to_string(100000 + (std::stoi(code) + 1) % 900000);
  }
};

TEST_P(AuthFlowTest, RegisterNormalizesTheEmailAndMailsACode) {
  auto r = post("/api/auth/register", {{"email", "  Ada.Lovelace@Example.COM "},
                                       {"password", "abcdefgh"},
                                       {"display_name", "Ada"}});
  ASSERT_EQ(r.status, 201) << r.raw.body;
  const auto& u = r.json.at("user").as_object();
  EXPECT_EQ(u.at("email"), "ada.lovelace@example.com");
  EXPECT_EQ(u.at("display_name"), "Ada");
  EXPECT_EQ(u.at("email_verified"), false);
  EXPECT_EQ(u.at("created_at"), json::value(formatRfc3339(clock_.now())));
  EXPECT_FALSE(u.contains("password_hash"));
  auto code = sink_.code("ada.lovelace@example.com", 0);
  ASSERT_TRUE(code);
  EXPECT_EQ(code->size(), 6u);
  const auto mail = sink_.all().back();
  EXPECT_EQ(mail.from, "no-reply@atelier.test");
  EXPECT_NE(mail.data.find("Subject: Your Atelier verification code"), std::string::npos);
}

TEST_P(AuthFlowTest, RegisterRejectsBadInputNamingTheField) {
  for (const char* email :
       {"not-an-email", "", "a@", "@example.com", "a b@example.com", "a@b@c.io"}) {
    auto r = post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}});
    EXPECT_EQ(r.status, 400) << email;
    EXPECT_EQ(r.errorField(), "email") << email;
  }
  EXPECT_EQ(post("/api/auth/register", {{"password", "abcdefgh"}}).errorField(), "email");
  EXPECT_EQ(
      post("/api/auth/register", {{"email", nextEmail("p")}, {"password", "short7!"}}).errorField(),
      "password");
  EXPECT_EQ(
      post("/api/auth/register", {{"email", nextEmail("p")}, {"password", std::string(129, 'x')}})
          .errorField(),
      "password");
  EXPECT_EQ(
      post("/api/auth/register", {{"email", nextEmail("p")}, {"password", 12345678}}).errorField(),
      "password");
  EXPECT_EQ(
      post("/api/auth/register", {{"email", nextEmail("p")}, {"password", std::string(128, 'y')}})
          .status,
      201);
  auto notJson = call(app_->port(), "POST", "/api/auth/register", json::value("x"));
  EXPECT_EQ(notJson.status, 400);
  EXPECT_EQ(notJson.errorCode(), "invalid_request");
}

TEST_P(AuthFlowTest, DuplicateEmailIsTakenWhateverItsCase) {
  const auto email = nextEmail("dup");
  ASSERT_EQ(post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}}).status, 201);
  std::string upper = email;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(c));
  auto r = post("/api/auth/register", {{"email", upper}, {"password", "abcdefgh"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.errorCode(), "email_taken");
}

TEST_P(AuthFlowTest, VerifyGivesATokenPairAndMeWorks) {
  const auto s = newUser("ver");
  auto me = get("/api/auth/me", s.access);
  ASSERT_EQ(me.status, 200) << me.raw.body;
  EXPECT_EQ(me.json.at("user").at("email_verified"), true);
  EXPECT_EQ(me.json.at("user").at("user_id"), json::value(s.userId));
  const auto& usage = me.json.at("usage").as_object();
  EXPECT_EQ(usage.at("total_tokens_used"), 0);
  EXPECT_EQ(usage.at("token_limit"), 100000);
  EXPECT_EQ(usage.at("remaining_tokens"), 100000);
  EXPECT_EQ(usage.at("next_reset_at"), json::value(formatRfc3339(clock_.now() + 30 * 24h)));
  auto again = login(s.email, s.password);
  EXPECT_EQ(again.json.at("token_type"), "Bearer");
  EXPECT_EQ(again.json.at("expires_in"), 900);
  auto usageOnly = get("/api/usage", s.access);
  EXPECT_EQ(usageOnly.status, 200);
  EXPECT_EQ(usageOnly.json.at("user_id"), json::value(s.userId));
}

TEST_P(AuthFlowTest, WrongCodesCountAndTheFifthKillsTheCode) {
  const auto email = nextEmail("five");
  post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}});
  const auto code = *sink_.code(email, 0);
  const auto wrong = otherCode(code);
  auto first = post("/api/auth/verify", {{"email", email}, {"code", wrong}});
  EXPECT_EQ(first.status, 400);
  EXPECT_EQ(first.errorCode(), "invalid_code");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(post("/api/auth/verify", {{"email", email}, {"code", wrong}}).errorCode(),
              "invalid_code");
  EXPECT_EQ(post("/api/auth/verify", {{"email", email}, {"code", code}}).errorCode(),
            "code_expired");
}

TEST_P(AuthFlowTest, ACodeIsSingleUseAndExpiresAfterTenMinutes) {
  const auto email = nextEmail("once");
  post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}});
  const auto code = *sink_.code(email, 0);
  clock_.advance(9min);
  EXPECT_EQ(post("/api/auth/verify", {{"email", email}, {"code", code}}).status, 200);
  EXPECT_EQ(post("/api/auth/verify", {{"email", email}, {"code", code}}).errorCode(),
            "code_expired");

  const auto late = nextEmail("late");
  post("/api/auth/register", {{"email", late}, {"password", "abcdefgh"}});
  const auto lateCode = *sink_.code(late, 0);
  clock_.advance(10min + 1s);
  EXPECT_EQ(post("/api/auth/verify", {{"email", late}, {"code", lateCode}}).errorCode(),
            "code_expired");
  EXPECT_EQ(
      post("/api/auth/verify", {{"email", nextEmail("nobody")}, {"code", "123456"}}).errorCode(),
      "code_expired");
}

TEST_P(AuthFlowTest, OtpIsAcceptedForAnyAddressAndMailsOncePerMinute) {
  auto unknown =
      post("/api/auth/otp", {{"email", nextEmail("ghost")}, {"purpose", "reset_password"}});
  EXPECT_EQ(unknown.status, 202);
  EXPECT_EQ(unknown.raw.body, "{}");
  EXPECT_EQ(
      post("/api/auth/otp", {{"email", nextEmail("g")}, {"purpose", "make_me_admin"}}).errorField(),
      "purpose");
  const auto s = newUser("otp");
  EXPECT_EQ(post("/api/auth/otp", {{"email", s.email}, {"purpose", "reset_password"}}).status, 202);
  EXPECT_TRUE(sink_.code(s.email, 1));
  EXPECT_EQ(post("/api/auth/otp", {{"email", s.email}, {"purpose", "reset_password"}}).status, 202);
  clock_.advance(61s);
  EXPECT_EQ(post("/api/auth/otp", {{"email", s.email}, {"purpose", "reset_password"}}).status, 202);
  EXPECT_TRUE(sink_.code(s.email, 2));
  EXPECT_EQ(sink_.count(s.email), 3u);  // verify + two resets, not four
}

TEST_P(AuthFlowTest, LoginRules) {
  const auto email = nextEmail("unverified");
  post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}});
  EXPECT_EQ(login(email, "abcdefgh").errorCode(), "email_not_verified");
  const auto s = newUser("login");
  auto ok = login("  " + s.email + " ", s.password);
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.json.at("refresh_token"), json::value(s.refresh));
  auto wrong = login(s.email, s.password + "x");
  auto ghost = login(nextEmail("ghost"), s.password);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.errorCode(), "invalid_credentials");
  EXPECT_EQ(ghost.errorCode(), "invalid_credentials");
  EXPECT_EQ(wrong.json.at("error").at("message"), ghost.json.at("error").at("message"));
}

TEST_P(AuthFlowTest, RepeatedFailedLoginsAreRateLimited) {
  const auto s = newUser("brute");
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(login(s.email, "wrong-password").status, 401);
  auto limited = login(s.email, s.password);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.errorCode(), "rate_limited");
  EXPECT_TRUE(limited.raw.header("Retry-After"));
}

TEST_P(AuthFlowTest, RefreshRotatesAndReplayKillsOnlyThatLogin) {
  const auto s = newUser("rot");
  auto other = login(s.email, s.password);
  auto r1 = post("/api/auth/refresh", {{"refresh_token", s.refresh}});
  ASSERT_EQ(r1.status, 200);
  const std::string rt2(r1.json.at("refresh_token").as_string());
  EXPECT_EQ(get("/api/auth/me", std::string(r1.json.at("access_token").as_string())).status, 200);
  auto r2 = post("/api/auth/refresh", {{"refresh_token", rt2}});
  ASSERT_EQ(r2.status, 200);
  const std::string rt3(r2.json.at("refresh_token").as_string());
  // The first token, already rotated, comes back: that whole login is revoked.
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.refresh}}).errorCode(),
            "invalid_refresh_token");
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", rt3}}).errorCode(),
            "invalid_refresh_token");
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", other.json.at("refresh_token")}}).status,
            200);
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", "garbage"}}).errorCode(),
            "invalid_refresh_token");
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.access}}).errorCode(),
            "invalid_refresh_token");
}

TEST_P(AuthFlowTest, RefreshTokensExpire) {
  const auto s = newUser("rexp");
  clock_.advance(30 * 24h + 1s);
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.refresh}}).errorCode(),
            "invalid_refresh_token");
}

TEST_P(AuthFlowTest, LogoutRevokesThatRefreshToken) {
  const auto s = newUser("out");
  auto other = login(s.email, s.password);
  auto r = post("/api/auth/logout", {{"refresh_token", s.refresh}}, s.access);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.raw.body, "");
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.refresh}}).errorCode(),
            "invalid_refresh_token");
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", other.json.at("refresh_token")}}).status,
            200);
}

TEST_P(AuthFlowTest, PasswordResetRevokesEveryLogin) {
  const auto s = newUser("reset");
  auto second = login(s.email, s.password);
  post("/api/auth/otp", {{"email", s.email}, {"purpose", "reset_password"}});
  const auto code = *sink_.code(s.email, 1);
  EXPECT_EQ(post("/api/auth/password/reset",
                 {{"email", s.email}, {"code", code}, {"new_password", "short"}})
                .errorField(),
            "new_password");
  EXPECT_EQ(post("/api/auth/password/reset",
                 {{"email", s.email}, {"code", otherCode(code)}, {"new_password", "brand new pw"}})
                .errorCode(),
            "invalid_code");
  auto r = post("/api/auth/password/reset",
                {{"email", s.email}, {"code", code}, {"new_password", "brand new pw"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.refresh}}).errorCode(),
            "invalid_refresh_token");
  EXPECT_EQ(
      post("/api/auth/refresh", {{"refresh_token", second.json.at("refresh_token")}}).errorCode(),
      "invalid_refresh_token");
  EXPECT_EQ(login(s.email, s.password).errorCode(), "invalid_credentials");
  EXPECT_EQ(login(s.email, "brand new pw").status, 200);
  EXPECT_EQ(post("/api/auth/password/reset",
                 {{"email", s.email}, {"code", code}, {"new_password", "another pw!"}})
                .errorCode(),
            "code_expired");
}

TEST_P(AuthFlowTest, AVerifyCodeCannotResetAPassword) {
  const auto email = nextEmail("purpose");
  post("/api/auth/register", {{"email", email}, {"password", "abcdefgh"}});
  const auto code = *sink_.code(email, 0);
  auto r = post("/api/auth/password/reset",
                {{"email", email}, {"code", code}, {"new_password", "brand new pw"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.errorCode(), "code_expired");
}

TEST_P(AuthFlowTest, BrokenBearersAre401WithWwwAuthenticate) {
  const auto s = newUser("bearer");
  for (const std::string& header : std::vector<std::string>{
           "", "Authorization: Bearer garbage\r\n", "Authorization: Bearer a.b.c\r\n",
           "Authorization: Bearer \r\n", "Authorization: Basic dXNlcjpwYXNz\r\n",
           "Authorization: Bearer " + s.refresh + "\r\n"}) {
    for (const char* path : {"/api/auth/me", "/api/usage"}) {
      auto r = call(app_->port(), "GET", path, std::nullopt, "", header);
      EXPECT_EQ(r.status, 401) << header << path;
      EXPECT_EQ(r.errorCode(), "unauthorized");
      EXPECT_EQ(r.raw.header("WWW-Authenticate"), "Bearer");
    }
  }
  EXPECT_EQ(call(app_->port(), "GET", "/api/auth/me", std::nullopt, "",
                 "Authorization: bearer " + s.access + "\r\n")
                .status,
            200);
}

TEST_P(AuthFlowTest, AccessTokensExpireWithTheClock) {
  const auto s = newUser("ttl");
  clock_.advance(15min + 20s);  // within the 30 s leeway
  EXPECT_EQ(get("/api/auth/me", s.access).status, 200);
  clock_.advance(15s);
  auto r = get("/api/auth/me", s.access);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.errorCode(), "unauthorized");
}

INSTANTIATE_TEST_SUITE_P(Databases, AuthFlowTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
