// The whole app with LLM_PROVIDER=openai against a fake OpenAI-compatible server: the same
// stream, billing and saving as with Gemini, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "app/app_fixture.hpp"
#include "support/fake_openai.hpp"
#include "support/sse_client.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;

class OpenAiAppTest : public AppFixture {
 protected:
  config::EnvMap extraEnv() const override {
    return {{"LLM_PROVIDER", "openai"},
            {"OPENAI_BASE_URL", fake_.baseUrl() + "/v1"},
            {"OPENAI_API_KEY", "sk-local"},
            {"OPENAI_MODEL", "local-model"}};
  }
  std::string chatOf(const Session& s) {
    auto r = post("/api/chat", json::object{}, s.access);
    EXPECT_EQ(r.status, 201);
    return std::string(r.json.at("chat_id").as_string());
  }
  test::FakeOpenAi fake_;
};

TEST_P(OpenAiAppTest, AReplyStreamsIsBilledAndSaved) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  test::SseClient c(app_->port(), "/api/chat/" + chat + "/message",
                    R"({"message":"A koi for a night market"})", s.access);
  ASSERT_EQ(c.status(), 200) << c.errorBody();
  auto events = c.rest();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().event, "start");
  std::string text;
  for (const auto& e : events) {
    if (e.event == "message") text += std::string(e.json().at("text").as_string());
  }
  EXPECT_EQ(text, "Neon koi.");
  ASSERT_EQ(events.back().event, "done");
  const auto done = events.back().json();
  EXPECT_EQ(done.at("message").at("content"), "Neon koi.");
  EXPECT_EQ(done.at("usage").at("total_tokens"), 23);
  EXPECT_EQ(done.at("message").at("tokens_consumed"), 23);
  EXPECT_EQ(done.at("message").at("metadata").at("finish_reason"), "MAX_TOKENS");
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 23);
  // The request the server sent: the persona as a system message, then the user's text.
  const auto reqs = fake_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].headers.at("authorization"), "Bearer sk-local");
  const auto body = json::parse(reqs[0].body);
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[1].at("content"), "A koi for a night market");
  // Saved: the history shows both.
  auto page = get("/api/chat/" + chat, s.access);
  ASSERT_EQ(page.json.at("messages").as_array().size(), 2u);
}

TEST_P(OpenAiAppTest, AProviderRateLimitIsA502WithItsStatusAndNothingKept) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  fake_.mode(test::OpenAiMode::http429);
  auto r = post("/api/chat/" + chat + "/message", {{"message", "hello"}}, s.access);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.json.at("error").at("code"), "upstream_error");
  EXPECT_EQ(r.json.at("error").at("details").at("provider_status"), 429);
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 0);
  EXPECT_TRUE(get("/api/chat/" + chat, s.access).json.at("messages").as_array().empty());
}

TEST_P(OpenAiAppTest, ADropMidReplyEndsWithErrorAndKeepsWhatArrived) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  fake_.mode(test::OpenAiMode::dropMidStream);
  test::SseClient c(app_->port(), "/api/chat/" + chat + "/message", R"({"message":"go"})",
                    s.access);
  ASSERT_EQ(c.status(), 200);
  auto events = c.rest();
  ASSERT_EQ(events.back().event, "error");
  const auto e = events.back().json();
  EXPECT_EQ(e.at("error").at("code"), "upstream_error");
  EXPECT_EQ(e.at("message").at("content"), "Neon ");
  EXPECT_EQ(e.at("message").at("metadata").at("status"), "incomplete");
}

INSTANTIATE_TEST_SUITE_P(Databases, OpenAiAppTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
