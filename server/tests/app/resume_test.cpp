// GET /api/chat/:chatId/stream: re-attaching to a reply still being written, with and
// without Last-Event-ID, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "app/gemini_app_fixture.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
using test::DbKind;

class ResumeTest : public GeminiAppFixture {
 protected:
  std::unique_ptr<test::SseClient> attach(const Session& s, const std::string& chat,
                                          const std::string& lastEventId = "") {
    return std::make_unique<test::SseClient>(
        app_->port(), "/api/chat/" + chat + "/stream", "", s.access, "GET",
        lastEventId.empty() ? "" : "Last-Event-ID: " + lastEventId + "\r\n");
  }
  static test::GeminiScript slow() {
    test::GeminiScript script;
    script.chunks.clear();
    for (int i = 0; i < 30; ++i)
      script.chunks.push_back("w" + std::to_string(i) + " ");
    script.delay = 40ms;
    return script;
  }
};

TEST_P(ResumeTest, AfterADropTheRestArrivesOnceWithNothingMissing) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  gemini_.script(slow());
  auto first = send(s, chat, "paint slowly");
  ASSERT_EQ(first->status(), 200);
  const auto seen = firstEvents(*first, 6);  // start + 5 pieces
  ASSERT_EQ(seen.size(), 6u);
  first->abandon();  // the network drops
  const std::string lastId = seen.back().id;
  ASSERT_FALSE(lastId.empty());

  auto resumed = attach(s, chat, lastId);
  ASSERT_EQ(resumed->status(), 200);
  EXPECT_EQ(resumed->head()->header("Content-Type"), "text/event-stream");
  auto rest = resumed->rest();
  // The ids follow each other: nothing twice, nothing skipped.
  const auto all = joinResumed(seen, rest);
  ASSERT_EQ(all.back().event, "done");
  EXPECT_EQ(texts(all), std::string(rest.back().json().at("message").at("content").as_string()));
  EXPECT_EQ(texts(all).substr(0, 9), "w0 w1 w2 ");

  // Done: nothing to attach to any more.
  EXPECT_EQ(get("/api/chat/" + chat + "/stream", s.access).status, 204);
}

TEST_P(ResumeTest, WithoutAnIdFromTheStartAndForeignIdsToo) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  gemini_.script(slow());
  auto first = send(s, chat, "paint slowly");
  ASSERT_TRUE(first->next());  // start
  auto again = attach(s, chat);
  ASSERT_EQ(again->status(), 200);
  auto from0 = again->rest();
  ASSERT_GE(from0.size(), 3u);
  EXPECT_EQ(from0.front().event, "start");
  EXPECT_EQ(from0.back().event, "done");
  EXPECT_EQ(texts(from0), std::string(from0.back().json().at("message").at("content").as_string()));
  // An id of another reply (or garbage) replays this one from its start.
  gemini_.script(slow());
  auto second = send(s, chat, "and again");
  ASSERT_TRUE(second->next());
  for (const std::string& id : {from0.back().id, std::string("garbage"), std::string(":7")}) {
    auto r = attach(s, chat, id);
    auto first_event = r->next();
    ASSERT_TRUE(first_event) << id;
    EXPECT_EQ(first_event->event, "start") << id;
  }
  second->rest();
}

TEST_P(ResumeTest, OtherUsersAndIdleChats) {
  const auto s = newUser("owner");
  const auto other = newUser("other");
  const auto chat = chatOf(s);
  EXPECT_EQ(get("/api/chat/" + chat + "/stream", s.access).status, 204);
  gemini_.script(slow());
  auto running = send(s, chat, "paint slowly");
  ASSERT_TRUE(running->next());
  EXPECT_EQ(get("/api/chat/" + chat + "/stream", other.access).status, 404);
  EXPECT_EQ(get("/api/chat/" + chat + "/stream", "").status, 401);
  EXPECT_EQ(get("/api/chat/not-a-chat/stream", s.access).status, 404);
  running->rest();
}

INSTANTIATE_TEST_SUITE_P(Databases, ResumeTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
