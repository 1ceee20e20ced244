// The operator tools (`atelier user …`, `atelier chat purge`) run as the real binary against
// the database of a running app, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "app/gemini_app_fixture.hpp"
#include "support/server_process.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
using test::DbKind;

struct CliRun {
  int code = -1;
  std::string output;
};

class AdminCliTest : public GeminiAppFixture {
 protected:
  CliRun cli(std::vector<std::string> args) {
    test::ServerProcess p(
        std::move(args),
        {{"DATABASE_URL", db_->url()}, {"JWT_SECRET", std::string(48, 'k')}, {"LOG_LEVEL", "warn"}},
        db_->dir());
    CliRun r;
    r.code = p.waitExit(30s).value_or(-1);
    r.output = p.output();
    return r;
  }
};

TEST_P(AdminCliTest, ListAndShowUsers) {
  const auto s = newUser("listed");
  const auto chat = chatOf(s);
  gemini_.script({.chunks = {"Ink."}, .promptTokens = 30});
  send(s, chat, "hello")->rest();
  auto list = cli({"user", "list"});
  EXPECT_EQ(list.code, 0) << list.output;
  EXPECT_NE(list.output.find(s.email), std::string::npos) << list.output;
  EXPECT_NE(list.output.find(s.userId), std::string::npos);
  EXPECT_NE(list.output.find("1 user(s)"), std::string::npos);
  auto show = cli({"user", "show", s.email});
  EXPECT_EQ(show.code, 0) << show.output;
  EXPECT_NE(show.output.find("tokens:         31 used of 100000"), std::string::npos)
      << show.output;
  EXPECT_NE(show.output.find("chats:          1 (1 active)"), std::string::npos);
  // By id too; an unknown user is exit code 3.
  EXPECT_EQ(cli({"user", "show", s.userId}).code, 0);
  auto unknown = cli({"user", "show", "nobody@example.com"});
  EXPECT_EQ(unknown.code, 3);
  EXPECT_NE(unknown.output.find("no user nobody@example.com"), std::string::npos);
  EXPECT_EQ(cli({"user", "frobnicate"}).code, 2);
  EXPECT_EQ(cli({"user", "set-limit", s.email}).code, 2);
}

TEST_P(AdminCliTest, ADisabledUsersTokensStopWorkingAtOnce) {
  const auto s = newUser("disabled");
  const auto chat = chatOf(s);
  ASSERT_EQ(get("/api/auth/me", s.access).status, 200);
  auto r = cli({"user", "disable", s.email});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(get("/api/auth/me", s.access).status, 401);
  // The message routes check the account inside their one transaction, and before any other
  // refusal.
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", "hi"}}, s.access).status, 401);
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", ""}}, s.access).status, 401);
  EXPECT_EQ(post("/api/chat/not-a-chat/message", {{"message", "hi"}}, s.access).status, 401);
  EXPECT_EQ(post("/api/chat/" + chat + "/regenerate", boost::json::object{}, s.access).status, 401);
  EXPECT_EQ(post("/api/auth/refresh", {{"refresh_token", s.refresh}}).status, 401);
  EXPECT_EQ(login(s.email, s.password).status, 401);
  EXPECT_NE(cli({"user", "show", s.email}).output.find("disabled:       yes"), std::string::npos);
  EXPECT_EQ(cli({"user", "enable", s.email}).code, 0);
  EXPECT_EQ(login(s.email, s.password).status, 200);
}

TEST_P(AdminCliTest, SetLimitAndResetUsage) {
  const auto s = newUser("quota");
  const auto chat = chatOf(s);
  gemini_.script({.chunks = {"Ink."}, .promptTokens = 40});
  send(s, chat, "hello")->rest();
  EXPECT_GT(used(s), 0);
  EXPECT_EQ(cli({"user", "set-limit", s.userId, "5"}).code, 0);
  EXPECT_EQ(get("/api/usage", s.access).json.at("token_limit").as_int64(), 5);
  // Over the new limit: refused.
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", "more"}}, s.access).status, 403);
  EXPECT_EQ(cli({"user", "set-limit", s.userId, "1000"}).code, 0);
  EXPECT_EQ(cli({"user", "reset-usage", s.email}).code, 0);
  EXPECT_EQ(used(s), 0);
}

TEST_P(AdminCliTest, PurgeDeletesOnlyChatsInactiveLongEnough) {
  // The app's clock is a week behind the real one: its chats were last updated 7 days ago.
  const auto s = newUser("purged");
  const auto a = chatOf(s);
  const auto b = chatOf(s);
  auto none = cli({"chat", "purge", "--inactive-for", "30d"});
  EXPECT_EQ(none.code, 0) << none.output;
  EXPECT_NE(none.output.find("deleted 0 chat(s)"), std::string::npos) << none.output;
  auto dry = cli({"chat", "purge", "--inactive-for", "1d", "--dry-run"});
  EXPECT_NE(dry.output.find("2 chat(s)"), std::string::npos) << dry.output;
  EXPECT_EQ(get("/api/chat/" + a, s.access).status, 200);
  auto purge = cli({"chat", "purge", "--inactive-for", "1d"});
  EXPECT_EQ(purge.code, 0);
  EXPECT_NE(purge.output.find("deleted 2 chat(s)"), std::string::npos) << purge.output;
  EXPECT_EQ(get("/api/chat/" + a, s.access).status, 404);
  EXPECT_EQ(get("/api/chat/" + b, s.access).status, 404);
  EXPECT_EQ(cli({"chat", "purge", "--inactive-for", "soon"}).code, 2);
  EXPECT_EQ(cli({"chat", "purge"}).code, 2);
}

INSTANTIATE_TEST_SUITE_P(Databases, AdminCliTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
