// How sending a message fails, and how it does not overspend: a provider that never answers,
// stalls mid-reply, blocks the prompt, or is not configured; the per-user message rate; and
// ten parallel sends against a small quota. Real HTTP, real databases, the fake of each
// model provider (the suite runs once per provider and database).
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "app/provider_app_fixture.hpp"
#include "support/server_process.hpp"
#include "support/test_database.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::DbKind;
using test::ModelScript;
using test::SseClient;

class MessageFailureTest : public ProviderAppFixture {
 protected:
  config::EnvMap extraEnv() const override {
    auto env = modelEnv();
    env["UPSTREAM_TIMEOUT"] = "1s";
    env["RATE_LIMIT_MESSAGES_PER_MINUTE"] = "3";
    return env;
  }
  // A refused message kept nothing — no message, the chat as `before` (untitled), nothing
  // billed — and the chat takes the next message.
  void expectNothingKeptAndTheChatFree(const Session& s, const std::string& chat,
                                       const json::value& before) {
    const auto after = get("/api/chat/" + chat, s.access).json;
    EXPECT_TRUE(after.at("messages").as_array().empty());
    EXPECT_EQ(after.at("chat"), before);
    EXPECT_EQ(used(s), 0);
    model_->script({.chunks = {"Here."}});
    auto next = send(s, chat, "now?");
    EXPECT_EQ(next->status(), 200);
    EXPECT_EQ(next->rest().back().event, "done");
    EXPECT_EQ(get("/api/chat/" + chat, s.access).json.at("messages").as_array().size(), 2u);
  }
};

TEST_P(MessageFailureTest, AProviderThatNeverAnswersIs504AndKeepsNothing) {
  const auto s = newUser("silent");
  const auto chat = chatOf(s);
  const auto before = get("/api/chat/" + chat, s.access).json.at("chat");
  ModelScript silent;
  silent.stallBeforeHead = true;
  model_->script(silent);
  auto c = send(s, chat, "anyone there?");
  EXPECT_EQ(c->status(), 504);
  EXPECT_EQ(json::parse(c->errorBody()).at("error").at("code"), "upstream_timeout");
  // The question saved with the checks is taken back: the chat is as it was, untitled.
  expectNothingKeptAndTheChatFree(s, chat, before);
}

// The message's checks, reservation and saves are one transaction. The provider is asked as
// soon as the tokens are reserved, while the question is saved and the transaction commits:
// a database that fails at the last step (saving the question) keeps nothing — no message,
// title, reservation or claim — and the provider's reply, already under way, is cut off.
TEST_P(MessageFailureTest, ADatabaseFailureAtTheLastStepKeepsNothingAndCutsTheProviderCallOff) {
  const auto s = newUser("late");
  const auto chat = chatOf(s);
  const auto before = get("/api/chat/" + chat, s.access).json.at("chat");
  // Saving the question is the last step of the transaction.
  const bool sqlite = db_->url().rfind("sqlite://", 0) == 0;
  ASSERT_EQ(test::databaseExec(
                db_->url(),
                sqlite ? "CREATE TRIGGER test_fail_late BEFORE INSERT ON messages WHEN new.content "
                         "= 'fail late' BEGIN SELECT RAISE(ABORT, 'no'); END"
                       : "CREATE FUNCTION test_fail_late() RETURNS trigger LANGUAGE plpgsql AS "
                         "$$ BEGIN RAISE EXCEPTION 'no'; END $$; "
                         "CREATE TRIGGER test_fail_late BEFORE INSERT ON public.messages FOR EACH "
                         "ROW WHEN (new.content = 'fail late') EXECUTE FUNCTION test_fail_late()"),
            "");
  // A reply that would take two seconds.
  model_->script(ModelScript::paced(80, "never ", 25ms));
  const auto asked = model_->modelRequests().size();
  const auto cut = model_->repliesCutShort();
  auto c = send(s, chat, "fail late");
  EXPECT_GE(c->status(), 500);
  const auto body = c->errorBody();
  EXPECT_FALSE(json::parse(body).at("error").at("code").as_string().empty());
  EXPECT_EQ(body.find("RAISE"), std::string::npos);  // no SQL reaches the client
  EXPECT_EQ(body.find("test_fail_late"), std::string::npos);
  EXPECT_EQ(body.find("messages"), std::string::npos);
  // The provider was asked, and Atelier closed the connection once the reply's first bytes
  // arrived (well before its end).
  const auto deadline = std::chrono::steady_clock::now() + 1500ms;
  while (model_->repliesCutShort() == cut && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(model_->modelRequests().size(), asked + 1);
  EXPECT_EQ(model_->repliesCutShort(), cut + 1);
  expectNothingKeptAndTheChatFree(s, chat, before);
}

TEST_P(MessageFailureTest, AStallMidReplyEndsWithUpstreamTimeoutAndKeepsWhatArrived) {
  const auto s = newUser("stall");
  const auto chat = chatOf(s);
  ModelScript stall;
  stall.chunks = {"half ", "a ", "thought"};
  stall.stallAfter = 2;
  model_->script(stall);
  auto events = send(s, chat, "think")->rest();
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().event, "error");
  const auto e = events.back().json();
  EXPECT_EQ(e.at("error").at("code"), "upstream_timeout");
  EXPECT_EQ(e.at("message").at("content"), "half a ");
  EXPECT_EQ(e.at("message").at("metadata").at("status"), "incomplete");
  // The chat is free again and the estimate was billed.
  EXPECT_GT(used(s), 0);
  model_->script(ModelScript{});
  EXPECT_EQ(send(s, chat, "again")->status(), 200);
}

// Headers but no frame within UPSTREAM_TIMEOUT: the provider has not started streaming, so
// the answer is still plain JSON and nothing is kept.
TEST_P(MessageFailureTest, HeadersWithoutAFrameAre504) {
  const auto s = newUser("stall0");
  const auto chat = chatOf(s);
  ModelScript stall;
  stall.stallAfter = 0;
  model_->script(stall);
  auto c = send(s, chat, "think");
  EXPECT_EQ(c->status(), 504);
  EXPECT_EQ(json::parse(c->errorBody()).at("error").at("code"), "upstream_timeout");
  EXPECT_TRUE(get("/api/chat/" + chat, s.access).json.at("messages").as_array().empty());
  EXPECT_EQ(used(s), 0);
}

TEST_P(MessageFailureTest, ABlockedPromptEndsWithDoneAndTheBlockReason) {
  const auto s = newUser("blocked");
  const auto chat = chatOf(s);
  ModelScript blocked;
  blocked.blockReason = "SAFETY";
  blocked.promptTokens = 42;
  model_->script(blocked);
  auto events = send(s, chat, "something unsafe")->rest();
  ASSERT_EQ(events.back().event, "done");
  const auto d = events.back().json();
  EXPECT_EQ(d.at("message").at("content"), "");
  EXPECT_EQ(d.at("message").at("metadata").at("finish_reason"), "SAFETY");
  EXPECT_EQ(d.at("usage").at("total_tokens"), 42);
  EXPECT_EQ(used(s), 42);
}

TEST_P(MessageFailureTest, MalformedProviderFramesEndWithAnErrorNotACrash) {
  const auto s = newUser("garbage");
  const auto chat = chatOf(s);
  ModelScript garbage;
  garbage.rawFrame = R"({"candidates": [{"content": {"parts": [{"text": 12}]}}]} trailing)";
  model_->script(garbage);
  auto events = send(s, chat, "hi")->rest();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "error");
  EXPECT_EQ(events.back().json().at("error").at("code"), "upstream_error");
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_P(MessageFailureTest, AnUnreachableProviderIs502) {
  // A port nothing listens on (the connection is refused), and a name that does not resolve.
  for (const std::string& base : {"http://127.0.0.1:" + std::to_string(test::freePort()),
                                  std::string("http://atelier.invalid:8080")}) {
    for (const auto& [k, v] : model_->envWithBaseUrl(base))
      env_[k] = v;
    restartApp();
    const auto s = newUser("refused");
    const auto chat = chatOf(s);
    auto c = send(s, chat, "hello");
    EXPECT_EQ(c->status(), 502) << base;
    EXPECT_EQ(json::parse(c->errorBody()).at("error").at("code"), "upstream_error") << base;
    EXPECT_EQ(used(s), 0);
  }
}

TEST_P(MessageFailureTest, TheMessageRateIsLimitedPerUser) {
  const auto s = newUser("rate");
  const auto other = newUser("calm");
  const auto chat = chatOf(s);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(send(s, chat, "quick " + std::to_string(i))->rest().back().event, "done");
  auto limited = post("/api/chat/" + chat + "/message", {{"message", "one more"}}, s.access);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.errorCode(), "rate_limited");
  const auto retry = limited.raw.header("Retry-After");
  ASSERT_TRUE(retry);
  EXPECT_GT(std::stoi(*retry), 0);
  EXPECT_LE(std::stoi(*retry), 60);
  // Another user is not affected.
  EXPECT_EQ(send(other, chatOf(other), "hello")->status(), 200);
}

INSTANTIATE_TEST_SUITE_P(Providers, MessageFailureTest, everyProviderAndDatabase(),
                         providerCaseName);

class NoProviderTest : public AppFixture {};

TEST_P(NoProviderTest, SendingIs503ButEverythingElseWorks) {
  const auto s = newUser("noprovider");
  auto chat = post("/api/chat", json::object{{"title", "Ideas"}}, s.access);
  ASSERT_EQ(chat.status, 201);
  const std::string id(chat.json.at("chat_id").as_string());
  auto r = post("/api/chat/" + id + "/message", {{"message", "hello"}}, s.access);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.errorCode(), "provider_not_configured");
  EXPECT_TRUE(get("/api/chat/" + id, s.access).json.at("messages").as_array().empty());
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 0);
  // The chat is not left locked.
  EXPECT_EQ(post("/api/chat/" + id + "/message", {{"message", "hello"}}, s.access).status, 503);
}

INSTANTIATE_TEST_SUITE_P(Databases, NoProviderTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

// Ten sends at once from one user, each reply using its whole output budget: the tokens
// billed never pass the limit (the fake bills exactly Atelier's prompt estimate, so the
// estimate's error is zero here).
class ParallelQuotaTest : public MessageFailureTest {
 protected:
  config::EnvMap extraEnv() const override {
    auto env = MessageFailureTest::extraEnv();
    env["DEFAULT_TOKEN_LIMIT"] = "3000";
    env["MAX_OUTPUT_TOKENS"] = "500";
    env["MAX_CHATS_PER_USER"] = "10";
    env["RATE_LIMIT_MESSAGES_PER_MINUTE"] = "100";
    return env;
  }
};

TEST_P(ParallelQuotaTest, TenParallelSendsNeverSpendPastTheLimit) {
  const auto s = newUser("parallel");
  std::vector<std::string> chats;
  for (int i = 0; i < 10; ++i)
    chats.push_back(chatOf(s));
  ModelScript greedy;
  greedy.promptTokens = -1;
  greedy.fillMaxOutput = true;
  greedy.finishReason = "MAX_TOKENS";
  greedy.chunks = std::vector<std::string>(5, "lorem ");
  greedy.delay = 20ms;
  model_->script(greedy);
  std::barrier sync(10);
  std::atomic<int> streamed{0}, refused{0}, other{0};
  std::atomic<std::int64_t> billed{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 10; ++i) {
    senders.emplace_back([&, i] {
      sync.arrive_and_wait();
      SseClient c(
          app_->port(), "/api/chat/" + chats[i] + "/message",
          json::serialize(json::object{{"message", "Describe collection " + std::to_string(i)}}),
          s.access);
      if (c.status() == 200) {
        auto events = c.rest();
        if (!events.empty() && events.back().event == "done") {
          ++streamed;
          billed += events.back().json().at("usage").at("total_tokens").as_int64();
        }
      } else if (c.status() == 403) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : senders)
    t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(streamed.load(), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(streamed.load() + refused.load(), 10);
  const auto total = used(s);
  EXPECT_EQ(total, billed.load());
  EXPECT_LE(total, 3000);
  // Every maxOutputTokens sent was covered by what remained.
  for (const auto& r : model_->modelRequests()) {
    const auto maxOut = r.maxOutputTokens;
    EXPECT_GE(maxOut, 1);
    EXPECT_LE(maxOut, 500);
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, ParallelQuotaTest, everyProviderAndDatabase(),
                         providerCaseName);

}  // namespace
}  // namespace atelier::app
