// The production shape, run for real: two `atelier` processes behind nginx (configured by
// deploy/nginx/atelier.conf itself), on one PostgreSQL database and one S3 bucket (s3rver),
// a fake Gemini and an SMTP sink in this process. What must hold across instances is proven
// through the proxy: the chat limit, the token quota, /stop, recovery from a killed instance
// and a rolling restart that loses no message.
#include <gtest/gtest.h>
#include <signal.h>

#include <barrier>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "support/fake_gemini.hpp"
#include "support/http_json.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"
#include "support/smtp_sink.hpp"
#include "support/sse_client.hpp"
#include "support/test_database.hpp"
#include "support/test_s3.hpp"

namespace atelier::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr std::int64_t kTokenLimit = 3000;
// UPSTREAM_TIMEOUT=4s gives a 10 s generation lease (see App::leaseDuration).
constexpr auto kLease = 10s;

struct User {
  std::string email, userId, access;
};

// deploy/nginx/atelier.conf with the test's ports in its upstream and listen lines, inside a
// minimal main configuration that keeps every file in `dir`.
std::string nginxConfig(const std::string& dir, std::uint16_t port,
                        const std::vector<std::uint16_t>& instances) {
  std::ifstream in(std::string(ATELIER_SOURCE_DIR) + "/deploy/nginx/atelier.conf");
  std::stringstream site;
  site << in.rdbuf();
  std::string text, line;
  while (std::getline(site, line)) {
    const auto at = line.find_first_not_of(' ');
    const std::string_view code = at == std::string::npos ? "" : std::string_view(line).substr(at);
    if (code.starts_with("server 127.0.0.1:") || code == "listen [::]:80;") continue;
    if (code == "listen 80;") {
      text += "    listen 127.0.0.1:" + std::to_string(port) + ";\n";
      continue;
    }
    text += line + "\n";
    if (code == "upstream atelier {") {
      for (auto p : instances)
        text += "    server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=3s;\n";
    }
  }
  std::ofstream(dir + "/atelier.conf") << text;
  std::string conf;
  conf += "daemon off;\nmaster_process off;\nworker_processes 1;\n";
  conf += "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log warn;\n";
  conf += "events { worker_connections 4096; }\nhttp {\n  access_log off;\n";
  for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    conf += "  " + std::string(t) + "_temp_path " + dir + "/" + t + ";\n";
  conf += "  include " + dir + "/atelier.conf;\n}\n";
  return conf;
}

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(DbKind::postgres);
    ATELIER_REQUIRE_DATABASE(*db_);
    ATELIER_REQUIRE_S3(s3_);
    if (!fs::exists(kNginx)) {
      if (std::getenv("CI") != nullptr) FAIL() << "nginx is required in CI (./dev test)";
      GTEST_SKIP() << "nginx is not installed";
    }
    root_ = db_->dir() + "/scale-out";
    fs::create_directories(root_ + "/nginx");
    for (int i = 0; i < 2; ++i) {
      ports_.push_back(freePort());
      startInstance(i);
    }
    proxyPort_ = freePort();
    std::ofstream(root_ + "/nginx/nginx.conf") << nginxConfig(root_ + "/nginx", proxyPort_, ports_);
    nginx_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"-p", root_ + "/nginx", "-c", root_ + "/nginx/nginx.conf", "-e",
                                 root_ + "/nginx/error.log"},
        std::map<std::string, std::string>{}, root_ + "/nginx", kNginx, "nginx.log");
    ASSERT_TRUE(nginx_->waitHealthy(proxyPort_)) << nginx_->output();
  }

  void TearDown() override {
    // Stopped by PID, SIGTERM first so that sanitizer reports and logs are complete.
    for (auto& p : instances_) {
      if (!p) continue;
      p->signal(SIGTERM);
      const auto code = p->waitExit(30s);
      EXPECT_EQ(code, 0) << p->output();
    }
    if (nginx_) {
      nginx_->signal(SIGQUIT);
      nginx_->waitExit(5s);
    }
  }

  std::map<std::string, std::string> envFor(int i) const {
    std::map<std::string, std::string> env{
        {"HOST", "127.0.0.1"},
        {"PORT", std::to_string(ports_[i])},
        {"DATABASE_URL", db_->url()},
        {"STORAGE_URL", std::string("s3://") + TestS3::kBucket},
        {"JWT_SECRET", std::string(48, 's')},  // the same on every instance
        {"SMTP_URL", sink_.url()},
        {"MAIL_FROM", "Atelier <no-reply@atelier.test>"},
        {"GEMINI_API_KEY", FakeGemini::kApiKey},
        {"GEMINI_BASE_URL", gemini_.baseUrl()},
        {"GEMINI_MODEL", "gemini-test"},
        {"UPSTREAM_TIMEOUT", "4s"},
        {"SHUTDOWN_GRACE", "20s"},
        {"TRUST_PROXY", "true"},
        {"THREADS", "2"},
        {"DEFAULT_TOKEN_LIMIT", std::to_string(kTokenLimit)},
        {"MAX_OUTPUT_TOKENS", "200"},
        {"RATE_LIMIT_MESSAGES_PER_MINUTE", "1000"},
        {"RATE_LIMIT_REQUESTS_PER_MINUTE", "0"},
        {"LOG_LEVEL", "info"}};
    for (const auto& [k, v] : s3_.env())
      env[k] = v;
    return env;
  }

  void startInstance(int i) {
    const std::string dir = root_ + "/instance-" + std::to_string(i);
    fs::create_directories(dir);
    if (instances_.size() <= static_cast<std::size_t>(i)) instances_.resize(i + 1);
    instances_[i] =
        std::make_unique<ServerProcess>(std::vector<std::string>{"serve"}, envFor(i), dir, "",
                                        "server-" + std::to_string(++starts_) + ".log");
    ASSERT_TRUE(instances_[i]->waitHealthy(ports_[i])) << instances_[i]->output();
  }

  JsonResponse via(const std::string& method, const std::string& path,
                   const std::optional<json::value>& body = std::nullopt,
                   const std::string& token = "") {
    return call(proxyPort_, method, path, body, token);
  }

  // Registered (the code read from the SMTP sink), verified, signed in — through nginx.
  User newUser(const std::string& tag) {
    User u;
    u.email = tag + std::to_string(++counter_) + "@example.com";
    const auto before = sink_.count(u.email);
    EXPECT_EQ(via("POST", "/api/auth/register",
                  json::value{{"email", u.email}, {"password", "correct horse " + tag}})
                  .status,
              201);
    auto code = sink_.code(u.email, before);
    EXPECT_TRUE(code);
    auto v = via("POST", "/api/auth/verify",
                 json::value{{"email", u.email}, {"code", code.value_or("")}});
    EXPECT_EQ(v.status, 200);
    if (v.status != 200) return u;
    u.userId = std::string(v.json.at("user").at("user_id").as_string());
    u.access = std::string(v.json.at("access_token").as_string());
    return u;
  }
  std::string newChat(const User& u) {
    auto r = via("POST", "/api/chat", json::object{}, u.access);
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.status == 201 ? std::string(r.json.at("chat_id").as_string()) : "";
  }
  std::unique_ptr<SseClient> send(const User& u, const std::string& chat, const std::string& text,
                                  std::uint16_t port = 0) {
    return std::make_unique<SseClient>(port ? port : proxyPort_, "/api/chat/" + chat + "/message",
                                       json::serialize(json::object{{"message", text}}), u.access);
  }
  std::string nginxErrors() const {
    std::ifstream in(root_ + "/nginx/error.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // The instance streaming a reply now, by its atelier_active_streams gauge (-1: none).
  int busyInstance() {
    for (std::size_t i = 0; i < ports_.size(); ++i) {
      if (!instances_[i]) continue;
      auto r = rawRequest(ports_[i], get("/metrics"));
      if (r && r->body.find("\natelier_active_streams 1") != std::string::npos)
        return static_cast<int>(i);
    }
    return -1;
  }
  json::array messagesOf(const User& u, const std::string& chat) {
    auto r = via("GET", "/api/chat/" + chat + "?limit=100", std::nullopt, u.access);
    EXPECT_EQ(r.status, 200) << r.raw.body << nginxErrors();
    return r.status == 200 ? r.json.at("messages").as_array() : json::array{};
  }

  std::unique_ptr<TestDatabase> db_;
  TestS3 s3_;
  SmtpSink sink_;
  FakeGemini gemini_;
  std::string root_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<ServerProcess>> instances_;
  std::unique_ptr<ServerProcess> nginx_;
  std::uint16_t proxyPort_ = 0;
  int counter_ = 0;
  int starts_ = 0;
};

TEST_F(ScaleOutTest, TwentyConcurrentCreatesThroughTheProxyLeaveExactlyFive) {
  const auto u = newUser("race");
  const auto race = test::raceChatCreates(
      20, [&](int) { return via("POST", "/api/chat", json::object{}, u.access); });
  EXPECT_EQ(race.created, 5);
  EXPECT_EQ(race.refused, 15);
  for (auto port : ports_) {  // each instance sees the same five
    EXPECT_EQ(call(port, "GET", "/api/chat", std::nullopt, u.access).json.at("total"), 5);
  }
}

// Rounds of five parallel sends through the proxy, each billing its whole output budget,
// until the quota refuses every one: never more than the limit is spent, and what is spent
// is exactly what the saved replies say.
TEST_F(ScaleOutTest, TheTokenLimitHoldsUnderParallelSendsThroughBothInstances) {
  const auto u = newUser("quota");
  std::vector<std::string> chats;
  for (int i = 0; i < 5; ++i)
    chats.push_back(newChat(u));
  GeminiScript script;
  script.chunks = {"Ink ", "and ", "light."};
  script.delay = 40ms;
  script.promptTokens = -1;  // bill exactly Atelier's own estimate of the prompt
  script.fillMaxOutput = true;
  gemini_.script(script);
  int granted = 0, round = 0;
  for (; round < 20; ++round) {
    std::barrier sync(5);
    std::atomic<int> ok{0}, limited{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 5; ++i) {
      threads.emplace_back([&, i] {
        sync.arrive_and_wait();
        auto r = send(u, chats[i], "round " + std::to_string(round));
        if (r->status() == 200) {
          if (r->rest().back().event == "done") ++ok;
        } else if (r->status() == 403) {
          ++limited;
        } else {
          ++other;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(other.load(), 0) << "round " << round;
    granted += ok.load();
    if (limited.load() == 5) break;
  }
  EXPECT_LT(round, 20) << "the quota never ran out";
  EXPECT_GT(granted, 5);
  const auto usage = via("GET", "/api/usage", std::nullopt, u.access).json;
  const std::int64_t used = usage.at("total_tokens_used").as_int64();
  EXPECT_LE(used, kTokenLimit);
  std::int64_t billed = 0;
  for (const auto& chat : chats) {
    for (const auto& m : messagesOf(u, chat))
      billed += m.at("tokens_consumed").as_int64();
  }
  EXPECT_EQ(billed, used);
}

// The stop goes straight to the instance that is not generating.
TEST_F(ScaleOutTest, AStopThroughInstanceBEndsTheGenerationOnInstanceA) {
  const auto u = newUser("stop");
  const auto chat = newChat(u);
  const auto slow = GeminiScript::paced(200, "word ", 50ms);  // 10 s in all
  gemini_.script(slow);
  auto stream = send(u, chat, "a long one");
  ASSERT_EQ(stream->status(), 200);
  ASSERT_EQ(stream->next()->event, "start");
  ASSERT_EQ(stream->next()->event, "message");
  const int a = busyInstance();
  ASSERT_GE(a, 0);
  const int b = 1 - a;
  EXPECT_EQ(call(ports_[b], "POST", "/api/chat/" + chat + "/stop", std::nullopt, u.access).status,
            204);
  const auto events = stream->rest();
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().event, "done");
  const auto message = events.back().json().at("message");
  EXPECT_EQ(message.at("metadata").at("status"), "stopped");
  EXPECT_LT(events.size(), 60u) << "the notification should stop it at once, not the lease";
  EXPECT_EQ(messagesOf(u, chat).size(), 2u);
}

// SIGKILL: no goodbye, no save. The chat stays blocked only until the lease expires; then
// the reply so far is saved as incomplete and the chat takes messages again.
TEST_F(ScaleOutTest, AKilledInstanceLeavesTheChatUsableWithinTheLease) {
  const auto u = newUser("kill");
  const auto chat = newChat(u);
  const auto slow = GeminiScript::paced(200, "word ", 50ms);
  gemini_.script(slow);
  auto stream = send(u, chat, "a long one");
  ASSERT_EQ(stream->status(), 200);
  ASSERT_EQ(stream->next()->event, "start");
  // Long enough for a lease renewal to record text (every lease/3).
  std::string lastId;
  for (int i = 0; i < 90; ++i) {
    auto e = stream->next();
    ASSERT_EQ(e->event, "message");
    lastId = e->id;
  }
  const int a = busyInstance();
  ASSERT_GE(a, 0);
  // A reader re-attached through the other instance, relayed from this one.
  SseClient mirror(ports_[1 - a], "/api/chat/" + chat + "/stream", "", u.access, "GET",
                   "Last-Event-ID: " + lastId + "\r\n");
  ASSERT_EQ(mirror.status(), 200) << mirror.errorBody();
  ASSERT_EQ(mirror.next()->event, "message");
  instances_[a]->signal(SIGKILL);
  ASSERT_EQ(instances_[a]->waitExit(5s), 128 + SIGKILL);
  instances_[a].reset();
  const auto killed = std::chrono::steady_clock::now();
  stream->rest();  // the proxy ends the client's stream

  gemini_.script(GeminiScript{});
  std::optional<std::chrono::steady_clock::duration> usable;
  int busy = 0;
  while (std::chrono::steady_clock::now() - killed < kLease + 10s) {
    auto next = send(u, chat, "are you there?");
    if (next->status() == 200) {
      EXPECT_EQ(next->rest().back().event, "done");
      usable = std::chrono::steady_clock::now() - killed;
      break;
    }
    EXPECT_EQ(next->status(), 409) << next->errorBody();
    ++busy;
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(usable) << "the chat stayed blocked";
  // The relayed reader is told, once the dead instance's lease has run out.
  const auto relayed = mirror.rest();
  ASSERT_FALSE(relayed.empty());
  EXPECT_EQ(relayed.back().event, "error");
  EXPECT_EQ(relayed.back().json().at("error").at("code"), "upstream_error");
  RecordProperty("seconds_until_usable",
                 std::to_string(std::chrono::duration<double>(*usable).count()));
  EXPECT_GT(busy, 0) << "the lease should hold the chat until it expires";
  const auto ms = messagesOf(u, chat);
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_EQ(ms[1].at("metadata").at("status"), "incomplete");
  const std::string partial(ms[1].at("content").as_string());
  EXPECT_FALSE(partial.empty());
  EXPECT_EQ(partial.find_first_not_of("word "), std::string::npos);
  EXPECT_EQ(ms[3].at("content"), "Hello, world!");
  // The killed instance comes back; both serve again.
  startInstance(a);
  EXPECT_EQ(call(ports_[a], "GET", "/readyz").status, 200);
}

// Each instance in turn gets SIGTERM while users keep sending through the proxy, and is
// started again: every send that started ends with its reply, and every reply is saved.
TEST_F(ScaleOutTest, ARollingRestartUnderLoadLosesNoMessage) {
  const auto paced = GeminiScript::paced(10, "ink ", 30ms);
  gemini_.script(paced);
  constexpr int kUsers = 6;
  std::vector<User> users;
  std::vector<std::string> chats;
  for (int i = 0; i < kUsers; ++i) {
    users.push_back(newUser("load"));
    chats.push_back(newChat(users.back()));
  }
  std::atomic<bool> running{true};
  std::atomic<int> completed{0}, refusedBeforeStart{0}, broken{0};
  std::vector<int> perUser(kUsers, 0);
  std::mutex mu;
  std::vector<std::string> brokenSamples;
  std::vector<std::thread> load;
  for (int i = 0; i < kUsers; ++i) {
    load.emplace_back([&, i] {
      int n = 0;
      while (running) {
        auto r = send(users[i], chats[i], "message " + std::to_string(n));
        if (r->status() != 200) {
          // Refused before anything was saved (the proxy had no instance for a moment).
          ++refusedBeforeStart;
          std::this_thread::sleep_for(50ms);
          continue;
        }
        const auto events = r->rest();
        if (!events.empty() && events.front().event == "start" && events.back().event == "done") {
          ++completed;
          ++perUser[i];
          ++n;
        } else {
          std::string seen;
          for (const auto& e : events)
            seen += e.event + (e.event == "error" ? " " + e.data : "") + ", ";
          std::lock_guard lock(mu);
          if (brokenSamples.size() < 3) brokenSamples.push_back(seen);
          ++broken;
        }
      }
    });
  }
  // As docs/operations.md says: one instance at a time, the next once the restarted one is
  // ready and nginx's fail_timeout (3 s) has passed.
  std::this_thread::sleep_for(1500ms);
  for (int i = 0; i < 2; ++i) {
    instances_[i]->signal(SIGTERM);
    EXPECT_EQ(instances_[i]->waitExit(30s), 0) << instances_[i]->output();
    startInstance(i);
    std::this_thread::sleep_for(3500ms);
  }
  running = false;
  for (auto& t : load)
    t.join();
  RecordProperty("completed", completed.load());
  RecordProperty("refused_before_start", refusedBeforeStart.load());
  EXPECT_EQ(broken.load(), 0) << "a stream that started ended without its reply: "
                              << ::testing::PrintToString(brokenSamples);
  EXPECT_GT(completed.load(), kUsers * 4);
  for (int i = 0; i < kUsers; ++i) {
    const auto ms = messagesOf(users[i], chats[i]);
    ASSERT_EQ(ms.size(), 2u * perUser[i]) << "user " << i;
    for (std::size_t k = 1; k < ms.size(); k += 2) {
      EXPECT_EQ(ms[k].at("role"), "assistant");
      EXPECT_EQ(ms[k].at("content"), "ink ink ink ink ink ink ink ink ink ink ");
      EXPECT_EQ(ms[k].at("metadata").at("status"), "complete");
    }
  }
}

}  // namespace
}  // namespace atelier::test
