// SIGTERM with 200 replies streaming: the `atelier` binary stops taking connections, lets the
// replies that can finish within SHUTDOWN_GRACE finish, ends the others with their closing
// `error` event, saves every one of them, and exits 0. On SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "support/fake_gemini.hpp"
#include "support/http_json.hpp"
#include "support/server_process.hpp"
#include "support/smtp_sink.hpp"
#include "support/sse_client.hpp"
#include "support/test_database.hpp"

namespace atelier::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int kStreams = 200;
constexpr int kShortChunks = 20;  // 1 s at 50 ms: done within the grace period
constexpr int kLongChunks = 400;  // 20 s: cut by it

class ShutdownTest : public ::testing::TestWithParam<DbKind> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ATELIER_REQUIRE_DATABASE(*db_);
    gemini_.scriptBy([](const RecordedGeminiRequest& r) {
      const auto& contents = r.body.at("contents").as_array();
      const bool longOne =
          contents.back().at("parts").at(0).at("text").as_string().starts_with("long");
      return GeminiScript::paced(longOne ? kLongChunks : kShortChunks, "word ", 50ms);
    });
  }

  std::map<std::string, std::string> env(std::uint16_t port) const {
    auto e = gemini_.env();
    e.insert({{"HOST", "127.0.0.1"},
              {"PORT", std::to_string(port)},
              {"DATABASE_URL", db_->url()},
              {"STORAGE_URL", "file://" + db_->dir() + "/uploads"},
              {"JWT_SECRET", std::string(48, 'j')},
              {"SMTP_URL", sink_.url()},
              {"MAIL_FROM", "Atelier <no-reply@atelier.test>"},
              {"THREADS", "2"},
              {"SHUTDOWN_GRACE", "3s"},
              {"MAX_CHATS_PER_USER", std::to_string(kStreams)},
              {"RATE_LIMIT_MESSAGES_PER_MINUTE", "0"},
              {"RATE_LIMIT_REQUESTS_PER_MINUTE", "0"},
              {"DEFAULT_TOKEN_LIMIT", "100000000"},
              {"LOG_LEVEL", "warn"}});
    return e;
  }

  // A verified user's access token.
  std::string signUp(std::uint16_t port) {
    return signUpVerified(port, sink_, "drain@example.com");
  }

  SmtpSink sink_;
  FakeGemini gemini_;
  std::unique_ptr<TestDatabase> db_;
};

struct Outcome {
  std::string chat, closing, streamed, status;
  bool longOne = false;
};

TEST_P(ShutdownTest, TwoHundredStreamsEndCleanlyAndAreAllSaved) {
  const auto port = freePort();
  auto server =
      std::make_unique<ServerProcess>(std::vector<std::string>{"serve"}, env(port), db_->dir());
  ASSERT_TRUE(server->waitHealthy(port)) << server->output();
  const auto token = signUp(port);
  ASSERT_FALSE(token.empty());
  std::vector<Outcome> outcomes(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    auto r = call(port, "POST", "/api/chat", json::object{}, token);
    ASSERT_EQ(r.status, 201);
    outcomes[i].chat = std::string(r.json.at("chat_id").as_string());
    outcomes[i].longOne = i % 2 == 0;
  }

  std::atomic<int> streaming{0};
  std::vector<std::thread> clients;
  clients.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      auto& o = outcomes[i];
      SseClient c(port, "/api/chat/" + o.chat + "/message",
                  json::serialize(json::object{{"message", o.longOne ? "long tale" : "short one"}}),
                  token);
      if (c.status() != 200) {
        o.closing = "status " + std::to_string(c.status());
        ++streaming;
        return;
      }
      bool counted = false;
      while (auto e = c.next(30s)) {
        if (e->event == "message") {
          o.streamed += std::string(e->json().at("text").as_string());
          if (!counted) {
            counted = true;
            ++streaming;
          }
        } else if (e->event == "done" || e->event == "error") {
          o.closing = e->event;
          const auto d = e->json();
          if (d.at("message").is_object())
            o.status = std::string(d.at("message").at("metadata").at("status").as_string());
          break;
        }
      }
      if (!counted) ++streaming;
    });
  }
  for (int i = 0; i < 600 && streaming.load() < kStreams; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(streaming.load(), kStreams) << "every reply should be streaming before SIGTERM";

  server->signal(SIGTERM);
  const auto code = server->waitExit(20s);
  for (auto& t : clients)
    t.join();
  ASSERT_TRUE(code) << server->output();
  EXPECT_EQ(*code, 0) << server->output();
  server.reset();

  // Every stream ended with its closing event: the short ones done, the long ones cut.
  int done = 0, cut = 0;
  for (const auto& o : outcomes) {
    if (o.longOne) {
      EXPECT_EQ(o.closing, "error") << o.chat;
      EXPECT_EQ(o.status, "incomplete") << o.chat;
      cut += o.closing == "error";
    } else {
      EXPECT_EQ(o.closing, "done") << o.chat;
      EXPECT_EQ(o.status, "complete") << o.chat;
      done += o.closing == "done";
    }
  }
  RecordProperty("done", done);
  RecordProperty("cut", cut);

  // And every reply is in the database, exactly as it was streamed.
  const auto again = freePort();
  ServerProcess restarted({"serve"}, env(again), db_->dir());
  ASSERT_TRUE(restarted.waitHealthy(again)) << restarted.output();
  for (const auto& o : outcomes) {
    auto r = call(again, "GET", "/api/chat/" + o.chat, std::nullopt, token);
    ASSERT_EQ(r.status, 200);
    const auto& ms = r.json.at("messages").as_array();
    ASSERT_EQ(ms.size(), 2u) << o.chat;
    EXPECT_EQ(ms[1].at("content"), json::value(o.streamed)) << o.chat;
    EXPECT_EQ(ms[1].at("metadata").at("status"), json::value(o.status)) << o.chat;
  }
  restarted.signal(SIGTERM);
  EXPECT_EQ(restarted.waitExit(10s), 0);
}

INSTANTIATE_TEST_SUITE_P(Databases, ShutdownTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return dbKindName(info.param); });

}  // namespace
}  // namespace atelier::test
