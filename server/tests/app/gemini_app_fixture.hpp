// The app wired to a fake model, with helpers to open chats and send messages over SSE:
// BasicChatFixture for any parameter, GeminiAppFixture for suites about Gemini alone.
#pragma once

#include <boost/json/serialize.hpp>

#include "app/app_fixture.hpp"
#include "support/fake_gemini.hpp"
#include "support/sse_client.hpp"

namespace atelier::app {

template <class Param>
class BasicChatFixture : public BasicAppFixture<Param> {
 protected:
  std::string chatOf(const Session& s) {
    auto r = this->post("/api/chat", boost::json::object{}, s.access);
    EXPECT_EQ(r.status, 201);
    return r.status == 201 ? std::string(r.json.at("chat_id").as_string()) : std::string();
  }
  std::unique_ptr<test::SseClient> send(const Session& s, const std::string& chatId,
                                        const std::string& message) {
    return std::make_unique<test::SseClient>(
        this->app_->port(), "/api/chat/" + chatId + "/message",
        boost::json::serialize(boost::json::object{{"message", message}}), s.access);
  }
  // Every `text` of the unnamed events, in order.
  static std::string texts(const std::vector<test::SseEventRecord>& events) {
    std::string out;
    for (const auto& e : events) {
      if (e.event == "message") out += std::string(e.json().at("text").as_string());
    }
    return out;
  }
  // The first `n` events of a stream (fewer when it ends sooner: callers check the size).
  static std::vector<test::SseEventRecord> firstEvents(test::SseClient& c, std::size_t n) {
    std::vector<test::SseEventRecord> out;
    while (out.size() < n) {
      auto e = c.next();
      if (!e) break;
      out.push_back(*e);
    }
    return out;
  }
  // `seen` (read from `start` until the connection dropped) then `rest` (re-attached with
  // the last id seen): every frame exactly once, ids consecutive, ending in `done`. The whole.
  static std::vector<test::SseEventRecord> joinResumed(
      const std::vector<test::SseEventRecord>& seen,
      const std::vector<test::SseEventRecord>& rest) {
    std::vector<test::SseEventRecord> all = seen;
    all.insert(all.end(), rest.begin(), rest.end());
    EXPECT_FALSE(seen.empty());
    EXPECT_FALSE(rest.empty());
    if (seen.empty() || rest.empty()) return all;
    EXPECT_NE(rest.front().event, "start");
    EXPECT_EQ(rest.back().event, "done");
    const std::string aid(seen.front().json().at("assistant_message_id").as_string());
    for (std::size_t i = 1; i < all.size(); ++i)
      EXPECT_EQ(all[i].id, aid + ":" + std::to_string(i)) << i;
    return all;
  }
  std::int64_t used(const Session& s) {
    return this->get("/api/usage", s.access).json.at("total_tokens_used").as_int64();
  }
};

class GeminiAppFixture : public BasicChatFixture<test::DbKind> {
 protected:
  // The provider settings; subclasses add theirs.
  config::EnvMap geminiEnv() const {
    const auto env = gemini_.env();
    return {env.begin(), env.end()};
  }
  config::EnvMap extraEnv() const override { return geminiEnv(); }

  test::FakeGemini gemini_;
};

}  // namespace atelier::app
