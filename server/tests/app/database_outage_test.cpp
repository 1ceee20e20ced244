// The database away or locked under the `atelier` binary.
// - PostgreSQL stops while replies stream, then comes back: requests meanwhile get 503
//   `unavailable` at once (no hang), the replies that finish during the outage are saved when
//   the database returns, and service resumes by itself.
// - Another process holds SQLite's write lock for a moment: requests wait it out, none fails;
//   a lock held past the busy timeout is a clean 503, and service goes on after it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <thread>

#include "support/fake_gemini.hpp"
#include "support/http_json.hpp"
#include "support/pg_cluster.hpp"
#include "support/server_process.hpp"
#include "support/smtp_sink.hpp"
#include "support/sse_client.hpp"

namespace atelier::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int kStreams = 8;
constexpr int kChunks = 40;  // 2 s at 50 ms: each reply ends while the database is away

std::map<std::string, std::string> serverEnv(const FakeGemini& gemini, const SmtpSink& sink,
                                             std::uint16_t port, const std::string& databaseUrl,
                                             const std::string& dir) {
  auto env = gemini.env();
  env.insert({{"HOST", "127.0.0.1"},
              {"PORT", std::to_string(port)},
              {"DATABASE_URL", databaseUrl},
              {"STORAGE_URL", "file://" + dir + "/uploads"},
              {"JWT_SECRET", std::string(48, 'j')},
              {"SMTP_URL", sink.url()},
              {"MAIL_FROM", "Atelier <no-reply@atelier.test>"},
              {"MAX_CHATS_PER_USER", "20"},
              {"RATE_LIMIT_MESSAGES_PER_MINUTE", "0"},
              {"RATE_LIMIT_REQUESTS_PER_MINUTE", "0"},
              {"LOG_LEVEL", "info"}});
  return env;
}

std::string tempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "atelier-outage-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return "";
  return dir;
}

struct Stream {
  std::string chat, streamed, closing, status;
  std::atomic<bool> started{false};
};

TEST(DatabaseOutage, RequestsFailFastRepliesAreSavedWhenItReturnsAndServiceResumes) {
  OwnPgCluster pg;
  if (pg.url().empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << pg.skipReason();  // NOLINT(concurrency-mt-unsafe)
    GTEST_SKIP() << pg.skipReason();
  }
  const std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  FakeGemini gemini;
  gemini.scriptBy(
      [](const RecordedGeminiRequest&) { return GeminiScript::paced(kChunks, "word ", 50ms); });
  SmtpSink sink;
  const auto port = freePort();
  ServerProcess server({"serve"}, serverEnv(gemini, sink, port, pg.url(), dir), dir);
  ASSERT_TRUE(server.waitHealthy(port)) << server.output();
  const std::string token = signUpVerified(port, sink, "outage@example.com");
  ASSERT_FALSE(token.empty());

  std::vector<Stream> streams(kStreams);
  for (auto& s : streams) {
    auto r = call(port, "POST", "/api/chat", json::object{}, token);
    ASSERT_EQ(r.status, 201);
    s.chat = std::string(r.json.at("chat_id").as_string());
  }
  std::vector<std::thread> clients;
  clients.reserve(streams.size());
  for (auto& s : streams) {
    clients.emplace_back([&s, port, &token] {
      SseClient c(port, "/api/chat/" + s.chat + "/message",
                  json::serialize(json::object{{"message", "tell me a tale"}}), token);
      if (c.status() != 200) {
        s.closing = "status " + std::to_string(c.status());
        s.started = true;
        return;
      }
      while (auto e = c.next(60s)) {
        if (e->event == "message") {
          s.streamed += std::string(e->json().at("text").as_string());
          s.started = true;
        } else if (e->event == "done" || e->event == "error") {
          s.closing = e->event;
          if (const auto d = e->json(); d.at("message").is_object())
            s.status = std::string(d.at("message").at("metadata").at("status").as_string());
          break;
        }
      }
      s.started = true;
    });
  }
  const auto allStarted = [&] {
    return std::all_of(streams.begin(), streams.end(),
                       [](const Stream& s) { return s.started.load(); });
  };
  for (int i = 0; i < 400 && !allStarted(); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(allStarted());

  // The database goes away mid-reply.
  ASSERT_TRUE(pg.halt());
  const auto outage = std::chrono::steady_clock::now();

  // Requests get 503 `unavailable` — promptly: a bound far above a refused connection's
  // microseconds, far below a hang.
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/chat"}, {"GET", "/api/chat/" + streams[0].chat}, {"POST", "/api/chat"}}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = method == "POST" ? call(port, method, path, json::object{}, token)
                              : call(port, method, path, std::nullopt, token);
    EXPECT_EQ(r.status, 503) << method << " " << path;
    EXPECT_EQ(r.errorCode(), "unavailable") << method << " " << path;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << method << " " << path;
  }
  EXPECT_EQ(call(port, "GET", "/readyz", std::nullopt).status, 503);
  EXPECT_EQ(call(port, "GET", "/healthz", std::nullopt).status, 200);  // alive, not ready

  // Every reply finishes streaming while the database is still away (then waits to be saved).
  std::this_thread::sleep_until(outage + 3s);
  ASSERT_TRUE(pg.resume());

  for (auto& t : clients)
    t.join();
  for (const auto& s : streams) {
    EXPECT_EQ(s.closing, "done") << s.chat;
    EXPECT_EQ(s.status, "complete") << s.chat;
  }
  // Service resumes by itself.
  int status = 0;
  for (int i = 0; i < 300 && status != 200; ++i) {
    status = call(port, "GET", "/api/chat", std::nullopt, token).status;
    if (status != 200) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(status, 200);
  EXPECT_EQ(call(port, "GET", "/readyz", std::nullopt).status, 200);
  for (const auto& s : streams) {
    auto r = call(port, "GET", "/api/chat/" + s.chat, std::nullopt, token);
    ASSERT_EQ(r.status, 200);
    const auto& ms = r.json.at("messages").as_array();
    ASSERT_EQ(ms.size(), 2u) << s.chat;
    EXPECT_EQ(ms[1].at("content"), json::value(s.streamed)) << s.chat;
    EXPECT_EQ(ms[1].at("metadata").at("status"), json::value("complete")) << s.chat;
  }
  // And new work goes through.
  SseClient again(port, "/api/chat/" + streams[0].chat + "/message",
                  json::serialize(json::object{{"message", "and another"}}), token);
  ASSERT_EQ(again.status(), 200);
  auto rest = again.rest();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().event, "done");

  const std::string log = server.output();
  EXPECT_NE(log.find("is not saved yet"), std::string::npos);  // told, while it waited
  EXPECT_NE(log.find("is saved"), std::string::npos);
  EXPECT_EQ(log.find("tell me a tale"), std::string::npos);  // no user text in the log
  server.signal(SIGTERM);
  EXPECT_EQ(server.waitExit(20s), 0) << server.output();
  std::filesystem::remove_all(dir);
}

// Holds SQLite's write lock from another connection, as a second process would (a backup, the
// admin command, a second instance on the same file).
class WriteLock {
 public:
  explicit WriteLock(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  ~WriteLock() {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

TEST(DatabaseOutage, SqliteLockedByAnotherProcessIsWaitedOutNotReported) {
  const std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  FakeGemini gemini;
  gemini.scriptBy([](const RecordedGeminiRequest&) { return GeminiScript::paced(4, "ok ", 10ms); });
  SmtpSink sink;
  const auto port = freePort();
  const std::string file = dir + "/atelier.db";
  ServerProcess server({"serve"}, serverEnv(gemini, sink, port, "sqlite://" + file, dir), dir);
  ASSERT_TRUE(server.waitHealthy(port)) << server.output();
  const std::string token = signUpVerified(port, sink, "locked@example.com");
  ASSERT_FALSE(token.empty());
  auto created = call(port, "POST", "/api/chat", json::object{}, token);
  ASSERT_EQ(created.status, 201);
  const std::string chat(created.json.at("chat_id").as_string());

  // A momentary lock (1.5 s, well inside the 5 s busy timeout): every request waits it out.
  std::vector<JsonResponse> answers;
  std::string closing;
  {
    auto lock = std::make_unique<WriteLock>(file);
    std::thread release([&lock] {
      std::this_thread::sleep_for(1500ms);
      lock.reset();
    });
    answers.push_back(call(port, "POST", "/api/chat", json::object{}, token));
    answers.push_back(
        call(port, "PATCH", "/api/chat/" + chat, json::object{{"title", "renamed"}}, token));
    answers.push_back(call(port, "GET", "/api/chat/" + chat, std::nullopt, token));
    SseClient c(port, "/api/chat/" + chat + "/message",
                json::serialize(json::object{{"message", "still there?"}}), token);
    EXPECT_EQ(c.status(), 200) << c.errorBody();
    auto events = c.rest();
    closing = events.empty() ? "" : events.back().event;
    release.join();
  }
  for (const auto& a : answers)
    EXPECT_TRUE(a.status == 200 || a.status == 201) << a.status << " " << a.raw.body;
  EXPECT_EQ(closing, "done");

  // A lock held past the busy timeout (and the retries after it): a clean 503, then service.
  {
    WriteLock lock(file);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(port, "POST", "/api/chat", json::object{}, token);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.errorCode(), "unavailable");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);  // the timeout, not a hang
  }
  EXPECT_EQ(call(port, "POST", "/api/chat", json::object{}, token).status, 201);
  auto chats = call(port, "GET", "/api/chat", std::nullopt, token);
  ASSERT_EQ(chats.status, 200);
  EXPECT_EQ(chats.json.at("total").as_int64(), 3);  // the one refused was not half-made
  server.signal(SIGTERM);
  EXPECT_EQ(server.waitExit(20s), 0) << server.output();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace atelier::test
