// What is particular to LLM_PROVIDER=openai, end to end (the streaming suite in
// message_stream_test.cpp and message_failure_test.cpp runs for this provider too): the
// request on the wire, OpenAI's finish reasons, an error object inside the stream, and a
// server that never sends `data: [DONE]`.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "app/gemini_app_fixture.hpp"
#include "support/fake_openai.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;
using test::ModelScript;

class OpenAiAppTest : public BasicChatFixture<DbKind> {
 protected:
  config::EnvMap extraEnv() const override {
    const auto env = fake_.env();
    return {env.begin(), env.end()};
  }
  test::FakeOpenAi fake_;
};

TEST_P(OpenAiAppTest, TheRequestIsChatCompletionsWithThePersonaAsASystemMessage) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  ModelScript cut;
  cut.chunks = {"Neon ", "koi."};
  cut.finishReason = "MAX_TOKENS";  // sent as "length"
  cut.promptTokens = 21;
  fake_.script(cut);
  auto events = send(s, chat, "A koi for a night market")->rest();
  ASSERT_EQ(events.back().event, "done");
  const auto done = events.back().json();
  EXPECT_EQ(done.at("message").at("content"), "Neon koi.");
  EXPECT_EQ(done.at("usage").at("total_tokens"), 23);
  EXPECT_EQ(done.at("message").at("metadata").at("finish_reason"), "MAX_TOKENS");
  const auto reqs = fake_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].headers.at("authorization"), "Bearer sk-local");
  const auto body = json::parse(reqs[0].body);
  EXPECT_EQ(body.at("model"), "local-model");
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[1].at("role"), "user");
  EXPECT_EQ(messages[1].at("content"), "A koi for a night market");
}

TEST_P(OpenAiAppTest, AnErrorObjectMidStreamEndsWithErrorAndKeepsWhatArrived) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  ModelScript overloaded;
  overloaded.chunks = {"Neon "};
  overloaded.rawFrameAfterChunks = R"({"error":{"message":"overloaded","type":"server_error"}})";
  fake_.script(overloaded);
  auto events = send(s, chat, "go")->rest();
  ASSERT_EQ(events.back().event, "error");
  const auto e = events.back().json();
  EXPECT_EQ(e.at("error").at("code"), "upstream_error");
  EXPECT_EQ(e.at("message").at("content"), "Neon ");
  EXPECT_EQ(e.at("message").at("metadata").at("status"), "incomplete");
  EXPECT_EQ(json::serialize(e).find("overloaded"), std::string::npos)
      << "the provider's text stays in the log";
}

TEST_P(OpenAiAppTest, AServerWithoutDoneOrUsageStillCompletesAndBillsTheEstimate) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  ModelScript bare;
  bare.reportUsage = false;
  bare.omitEndMarker = true;
  fake_.script(bare);
  auto events = send(s, chat, "hello")->rest();
  ASSERT_EQ(events.back().event, "done");
  const auto d = events.back().json();
  EXPECT_EQ(d.at("message").at("content"), "Hello, world!");
  EXPECT_EQ(d.at("message").at("metadata").at("status"), "complete");
  const auto billed = d.at("usage").at("total_tokens").as_int64();
  EXPECT_GT(billed, 0);
  EXPECT_EQ(used(s), billed);
}

INSTANTIATE_TEST_SUITE_P(Databases, OpenAiAppTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
