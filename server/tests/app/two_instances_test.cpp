// Two Atelier instances on one database, as behind a load balancer: the invariants that
// live in the database hold across them — the active-chat limit, one generation per chat,
// /stop reaching only its own instance's generation, the token quota.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "app/gemini_app_fixture.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::DbKind;

class TwoInstancesTest : public GeminiAppFixture {
 protected:
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

  std::unique_ptr<App> second_;
};

TEST_P(TwoInstancesTest, TwentyConcurrentCreatesAcrossBothLeaveExactlyFive) {
  const auto s = newUser("race2");
  std::barrier sync(20);
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      sync.arrive_and_wait();
      auto r = test::call(portOf(i), "POST", "/api/chat",
                          json::value{{"title", "race " + std::to_string(i)}}, s.access);
      if (r.status == 201) ++created;
      if (r.status == 403 && r.errorCode() == "chat_limit_reached") ++refused;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(
      test::call(second_->port(), "GET", "/api/chat", std::nullopt, s.access).json.at("total"), 5);
}

TEST_P(TwoInstancesTest, OneGenerationPerChatAcrossInstances) {
  const auto s = newUser("lease2");
  const std::string chat(
      post("/api/chat", json::object{}, s.access).json.at("chat_id").as_string());
  test::GeminiScript slow;
  slow.chunks = std::vector<std::string>(20, "slow ");
  slow.delay = 50ms;
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

INSTANTIATE_TEST_SUITE_P(Databases, TwoInstancesTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
