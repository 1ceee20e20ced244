// The app wired to a fake Gemini, with helpers to open chats and send messages over SSE.
#pragma once

#include <boost/json/serialize.hpp>

#include "app/app_fixture.hpp"
#include "support/fake_gemini.hpp"
#include "support/sse_client.hpp"

namespace atelier::app {

class GeminiAppFixture : public AppFixture {
 protected:
  // The provider settings; subclasses add theirs.
  config::EnvMap geminiEnv() const {
    return {{"GEMINI_API_KEY", test::FakeGemini::kApiKey},
            {"GEMINI_BASE_URL", gemini_.baseUrl()},
            {"GEMINI_MODEL", "gemini-test"}};
  }
  config::EnvMap extraEnv() const override { return geminiEnv(); }

  std::string chatOf(const Session& s) {
    auto r = post("/api/chat", boost::json::object{}, s.access);
    EXPECT_EQ(r.status, 201);
    return r.status == 201 ? std::string(r.json.at("chat_id").as_string()) : std::string();
  }
  std::unique_ptr<test::SseClient> send(const Session& s, const std::string& chatId,
                                        const std::string& message) {
    return std::make_unique<test::SseClient>(
        app_->port(), "/api/chat/" + chatId + "/message",
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
  std::int64_t used(const Session& s) {
    return get("/api/usage", s.access).json.at("total_tokens_used").as_int64();
  }

  test::FakeGemini gemini_;
};

}  // namespace atelier::app
