// Two Atelier instances on one database, as behind a load balancer: the invariants that
// live in the database hold across them — the active-chat limit, one generation per chat,
// /stop reaching the generation wherever it runs, the per-user message rate.
#include <gtest/gtest.h>

#include "app/gemini_app_fixture.hpp"
#include "support/test_redis.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::DbKind;

class TwoInstancesTest : public GeminiAppFixture {
 protected:
  config::EnvMap extraEnv() const override {
    auto env = geminiEnv();
    env["UPSTREAM_TIMEOUT"] = "6s";  // a 12 s lease, renewed every 4 s
    env["RATE_LIMIT_MESSAGES_PER_MINUTE"] = "4";
    return env;
  }
  void SetUp() override {
    AppFixture::SetUp();
    if (!app_) return;
    auto cfg = config::loadConfig(env_);
    ASSERT_TRUE(cfg.ok());
    second_ = std::make_unique<App>(std::move(cfg).value(), AppOptions{&clock_});
    auto started = second_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  void TearDown() override {
    if (second_) {
      second_->requestShutdown();
      second_->wait();
    }
    AppFixture::TearDown();
  }
  std::uint16_t portOf(int i) const { return i % 2 == 0 ? app_->port() : second_->port(); }
  void expectOneMessageRateForBoth();

  std::unique_ptr<App> second_;
};

TEST_P(TwoInstancesTest, TwentyConcurrentCreatesAcrossBothLeaveExactlyFive) {
  const auto s = newUser("race2");
  const auto race = test::raceChatCreates(20, [&](int i) {
    return test::call(portOf(i), "POST", "/api/chat",
                      json::value{{"title", "race " + std::to_string(i)}}, s.access);
  });
  EXPECT_EQ(race.created, 5);
  EXPECT_EQ(race.refused, 15);
  EXPECT_EQ(
      test::call(second_->port(), "GET", "/api/chat", std::nullopt, s.access).json.at("total"), 5);
}

TEST_P(TwoInstancesTest, OneGenerationPerChatAcrossInstances) {
  const auto s = newUser("lease2");
  const std::string chat(
      post("/api/chat", json::object{}, s.access).json.at("chat_id").as_string());
  const auto slow = test::GeminiScript::paced(20, "slow ", 50ms);
  gemini_.script(slow);
  test::SseClient first(app_->port(), "/api/chat/" + chat + "/message", R"({"message":"one"})",
                        s.access);
  ASSERT_EQ(first.status(), 200);
  ASSERT_EQ(first.next()->event, "start");
  auto busy = test::call(second_->port(), "POST", "/api/chat/" + chat + "/message",
                         json::value{{"message", "two"}}, s.access);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.errorCode(), "generation_in_progress");
  EXPECT_EQ(first.rest().back().event, "done");
  // Once it has finished, the other instance may generate in the chat.
  gemini_.script(test::GeminiScript{});
  test::SseClient next(second_->port(), "/api/chat/" + chat + "/message", R"({"message":"two"})",
                       s.access);
  EXPECT_EQ(next.status(), 200);
  EXPECT_EQ(next.rest().back().event, "done");
}

// Each instance keeps the branch its last message of a chat was sent on (BranchCache); when
// the messages alternate between instances, each finds the other's messages in the database
// and the model is sent the whole branch every time.
TEST_P(TwoInstancesTest, TheModelSeesTheWholeBranchWhenInstancesTakeTurns) {
  const auto s = newUser("turns2");
  const std::string chat(
      post("/api/chat", json::object{}, s.access).json.at("chat_id").as_string());
  std::vector<std::string> expected;
  for (int i = 0; i < 4; ++i) {
    const std::string question = "question " + std::to_string(i);
    const std::string reply = "reply " + std::to_string(i);
    gemini_.script({.chunks = {reply}});
    test::SseClient c(portOf(i), "/api/chat/" + chat + "/message",
                      json::serialize(json::object{{"message", question}}), s.access);
    ASSERT_EQ(c.status(), 200) << i;
    ASSERT_EQ(c.rest().back().event, "done") << i;
    expected.push_back(question);
    std::vector<std::string> sent;
    const auto requests = gemini_.requests();
    for (const auto& turn : requests.back().body.at("contents").as_array())
      sent.emplace_back(turn.at("parts").as_array().at(0).at("text").as_string());
    EXPECT_EQ(sent, expected) << "message " << i << " through instance " << i % 2;
    expected.push_back(reply);
  }
}

// A /stop that the load balancer sends to the other instance ends the generation where it
// runs: on PostgreSQL at once through LISTEN/NOTIFY, on any database at the next renewal of
// the lease (the mark on it), here within 4 s.
TEST_P(TwoInstancesTest, AStopThroughTheOtherInstanceEndsTheGeneration) {
  const auto s = newUser("stop2");
  const auto chat = chatOf(s);
  const auto slow = test::GeminiScript::paced(400, "word ", 50ms);  // 20 s in all
  gemini_.script(slow);
  test::SseClient stream(app_->port(), "/api/chat/" + chat + "/message",
                         R"({"message":"a long one"})", s.access);
  ASSERT_EQ(stream.status(), 200);
  ASSERT_EQ(stream.next()->event, "start");
  ASSERT_EQ(stream.next()->event, "message");
  const auto asked = std::chrono::steady_clock::now();
  auto stopped =
      test::call(second_->port(), "POST", "/api/chat/" + chat + "/stop", std::nullopt, s.access);
  EXPECT_EQ(stopped.status, 204);
  const auto events = stream.rest();
  const auto took = std::chrono::steady_clock::now() - asked;
  ASSERT_FALSE(events.empty());
  const auto& done = events.back();
  ASSERT_EQ(done.event, "done");
  const auto message = done.json().at("message");
  EXPECT_EQ(message.at("metadata").at("status"), "stopped");
  EXPECT_LT(message.at("content").as_string().size(), 400u * 5);
  // Not asserted as a time (noisy machines): the stop landed well before the natural end.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(took).count(), 15);
  if (GetParam() == DbKind::postgres) {
    // The notification, not the lease renewal, did it: fewer than 4 s of text followed.
    EXPECT_LT(events.size(), 60u) << "events after the stop";
  }
  // Nothing runs any more: a second stop through either instance is 404.
  EXPECT_EQ(
      test::call(second_->port(), "POST", "/api/chat/" + chat + "/stop", std::nullopt, s.access)
          .status,
      404);
  EXPECT_EQ(test::call(app_->port(), "POST", "/api/chat/" + chat + "/stop", std::nullopt, s.access)
                .status,
            404);
}

// A reader whose connection dropped re-attaches through the other instance (as a load
// balancer may send it) and receives the rest: nothing twice, nothing missing. On PostgreSQL
// the instances relay the reply through LISTEN/NOTIFY (the `done` frame here is larger than a
// notification, and full of multi-byte characters); on SQLite the other process answers that
// the reply is being written elsewhere.
TEST_P(TwoInstancesTest, AReaderReattachesThroughTheOtherInstance) {
  const auto s = newUser("relay");
  const auto chat = chatOf(s);
  test::GeminiScript slow;
  slow.chunks.clear();
  std::string cats;
  for (int i = 0; i < 100; ++i)
    cats += "猫";
  for (int i = 0; i < 30; ++i)
    slow.chunks.push_back("w" + std::to_string(i) + " " + cats + " ");
  slow.delay = 40ms;
  gemini_.script(slow);
  auto first = send(s, chat, "paint slowly");  // generated by the first instance
  ASSERT_EQ(first->status(), 200);
  const auto seen = firstEvents(*first, 6);  // start + 5 pieces
  ASSERT_EQ(seen.size(), 6u);
  first->abandon();  // the network drops
  const std::string path = "/api/chat/" + chat + "/stream";
  test::SseClient resumed(second_->port(), path, "", s.access, "GET",
                          "Last-Event-ID: " + seen.back().id + "\r\n");
  test::SseClient fromStart(second_->port(), path, "", s.access, "GET");
  if (GetParam() == DbKind::sqlite) {
    EXPECT_EQ(resumed.status(), 409);
    EXPECT_EQ(test::call(second_->port(), "GET", path, std::nullopt, s.access).errorCode(),
              "generation_in_progress");
    return;
  }
  ASSERT_EQ(resumed.status(), 200) << resumed.errorBody();
  const auto rest = resumed.rest();
  const auto all = joinResumed(seen, rest);
  ASSERT_EQ(all.back().event, "done");
  const std::string content(rest.back().json().at("message").at("content").as_string());
  EXPECT_GT(content.size(), 8000u);
  EXPECT_EQ(texts(all), content);
  // A second reader, without an id, got everything from `start`.
  ASSERT_EQ(fromStart.status(), 200);
  const auto whole = fromStart.rest();
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(whole.front().event, "start");
  EXPECT_EQ(whole.back().event, "done");
  EXPECT_EQ(texts(whole), content);
  // Done: nothing to attach to on either instance.
  EXPECT_EQ(test::call(second_->port(), "GET", path, std::nullopt, s.access).status, 204);
}

// RATE_LIMIT_MESSAGES_PER_MINUTE is one limit per user, however the requests are spread.
void TwoInstancesTest::expectOneMessageRateForBoth() {
  const auto s = newUser("rate2");
  const auto chat = chatOf(s);
  for (int i = 0; i < 4; ++i) {
    test::SseClient r(portOf(i), "/api/chat/" + chat + "/message",
                      R"({"message":"hi )" + std::to_string(i) + R"("})", s.access);
    ASSERT_EQ(r.status(), 200) << i;
    ASSERT_EQ(r.rest().back().event, "done");
  }
  for (int i = 0; i < 2; ++i) {
    auto refused = test::call(portOf(i), "POST", "/api/chat/" + chat + "/message",
                              json::value{{"message", "one more"}}, s.access);
    EXPECT_EQ(refused.status, 429);
    EXPECT_EQ(refused.errorCode(), "rate_limited");
    EXPECT_TRUE(refused.raw.header("Retry-After").has_value());
  }
  // Another user is not limited by this one.
  const auto t = newUser("rate2b");
  test::SseClient other(second_->port(), "/api/chat/" + chatOf(t) + "/message",
                        R"({"message":"hello"})", t.access);
  EXPECT_EQ(other.status(), 200);
}

TEST_P(TwoInstancesTest, TheMessageRateIsSharedByBothInstances) {
  expectOneMessageRateForBoth();
}

// With REDIS_URL the windows live in Redis instead, with the same effect.
class TwoInstancesOnRedisTest : public TwoInstancesTest {
 protected:
  config::EnvMap extraEnv() const override {
    auto env = TwoInstancesTest::extraEnv();
    env["REDIS_URL"] = redis_.url();
    return env;
  }
  void SetUp() override {
    ATELIER_REQUIRE_REDIS(redis_);
    TwoInstancesTest::SetUp();
  }
  test::TestRedis redis_;
};

TEST_P(TwoInstancesOnRedisTest, TheMessageRateIsSharedThroughRedis) {
  expectOneMessageRateForBoth();
  EXPECT_NE(redis_.command("DBSIZE"), "0");  // the windows are there, not in the database
}

INSTANTIATE_TEST_SUITE_P(Databases, TwoInstancesTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });
INSTANTIATE_TEST_SUITE_P(Databases, TwoInstancesOnRedisTest, ::testing::Values(DbKind::sqlite),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
