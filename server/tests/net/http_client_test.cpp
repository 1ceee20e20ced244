// HttpClient against a real local server: whole bodies, streaming, errors, timeouts,
// cancellation, back-pressure, concurrency.
#include "net/http_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "support/io_loop.hpp"
#include "support/scripted_server.hpp"
#include "support/server_process.hpp"

namespace atelier::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::ScriptedConnection;
using test::ScriptedRequest;
using test::ScriptedServer;

// Every test runs twice: through libcurl (an io_context of two threads, strands), and over
// the HTTP/1.1 client of our own (one thread, HttpClientOptions::ownHttp1).
enum class Path { curl, own };
void PrintTo(Path p, std::ostream* os) {  // NOLINT(readability-identifier-naming): gtest
  *os << (p == Path::own ? "own" : "curl");
}

class HttpClientTest : public ::testing::TestWithParam<Path> {
 protected:
  HttpClientTest()
      : loop_(GetParam() == Path::own ? 1 : 2),
        client_(std::make_unique<HttpClient>(loop_.executor(), options())) {}
  ~HttpClientTest() override { client_.reset(); }
  static HttpClientOptions options(bool trustTestCa = true) {
    HttpClientOptions o;
    o.serialExecutors = o.ownHttp1 = GetParam() == Path::own;
    if (trustTestCa) o.caFile = test::TlsFiles::caFile();
    return o;
  }

  template <class T>
  T run(std::function<asio::awaitable<T>()> body) {
    return loop_.run<T>(std::move(body));
  }

  static std::string url(const ScriptedServer& s, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(s.port()) + path;
  }

  test::IoLoop loop_;
  std::unique_ptr<HttpClient> client_;
};

TEST_P(HttpClientTest, FetchesAWholeBodyAndSendsHeadersAndBody) {
  ScriptedRequest seen;
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest& r) {
    seen = r;
    c.respond(201, R"({"ok":true})", "application/json", "X-Reply: yes\r\n");
  });
  HttpRequest req;
  req.method = "POST";
  req.url = url(server, "/v1/things?x=1");
  req.headers = {{"Content-Type", "application/json"}, {"X-Api-Key", "k"}};
  req.body = R"({"q":1})";
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->head.status, 201);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->head.header("x-reply"), "yes");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/things?x=1");
  EXPECT_EQ(seen.headers["x-api-key"], "k");
  EXPECT_EQ(seen.body, R"({"q":1})");
  EXPECT_EQ(seen.headers.count("expect"), 0u);
}

TEST_P(HttpClientTest, ErrorStatusIsAResponseWithItsBody) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) {
    c.respond(500, R"({"error":{"code":500,"message":"boom","status":"INTERNAL"}})",
              "application/json");
  });
  HttpRequest req;
  req.url = url(server, "/");
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->head.status, 500);
  EXPECT_NE(r->body.find("boom"), std::string::npos);
}

TEST_P(HttpClientTest, StreamedChunksArriveBeforeTheResponseEnds) {
  std::promise<void> firstSeen;
  auto firstSeenFuture = firstSeen.get_future();
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest&) {
    c.startChunked(200);
    c.chunk("data: one\n\n");
    // The last chunk is only sent once the client has shown it received the first.
    firstSeenFuture.wait_for(10s);
    c.chunk("data: two\n\n");
    c.endChunked();
  });
  HttpRequest req;
  req.url = url(server, "/stream");
  auto got = run<std::vector<std::string>>([&]() -> asio::awaitable<std::vector<std::string>> {
    auto s = client_->start(req);
    std::vector<std::string> parts;
    auto h = co_await s->head();
    if (!h || h->status != 200) co_return parts;
    for (;;) {
      auto c = co_await s->read();
      if (!c || c->empty()) break;
      parts.emplace_back(*c);
      if (parts.size() == 1) firstSeen.set_value();
    }
    co_return parts;
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "data: one\n\n");
  EXPECT_EQ(got[1], "data: two\n\n");
}

TEST_P(HttpClientTest, ConnectionRefusedFailsQuickly) {
  const int port = test::freePort();  // nobody listens there
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const auto start = std::chrono::steady_clock::now();
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_EQ(r.error().message, "could not connect");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_P(HttpClientTest, UnresolvableHostIsReported) {
  HttpRequest req;
  req.url = "http://no-such-host.invalid/";
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "could not resolve host");
}

TEST_P(HttpClientTest, IdleTimeoutWhenTheServerGoesSilent) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) {
    c.startChunked(200);
    c.chunk("data: hello\n\n");
    c.peerClosedWithin(10s);  // then silence
  });
  HttpRequest req;
  req.url = url(server, "/");
  req.idleTimeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = run<Result<std::string>>([&]() -> asio::awaitable<Result<std::string>> {
    auto s = client_->start(req);
    std::string all;
    for (;;) {
      auto c = co_await s->read();
      if (!c) co_return std::move(c).error();
      if (c->empty()) co_return all;
      all += *c;
    }
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // the idle time, not the connect's
}

TEST_P(HttpClientTest, NoAnswerAtAllTimesOut) {
  ScriptedServer server(
      [](ScriptedConnection& c, const ScriptedRequest&) { c.peerClosedWithin(10s); });
  HttpRequest req;
  req.url = url(server, "/");
  req.idleTimeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_timeout);
  // The idle time on a new connection, not the connect timeout (10 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_P(HttpClientTest, ConnectionClosedMidBodyIsAnError) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
    ::shutdown(c.fd(), SHUT_RDWR);
  });
  HttpRequest req;
  req.url = url(server, "/");
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
}

TEST_P(HttpClientTest, CancelEndsAPendingReadAndClosesTheConnection) {
  std::promise<bool> closed;
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest&) {
    c.startChunked(200);
    c.chunk("data: first\n\n");
    closed.set_value(c.peerClosedWithin(10s));
  });
  HttpRequest req;
  req.url = url(server, "/");
  HttpStream* raw = nullptr;
  std::unique_ptr<HttpStream> stream = client_->start(req);
  raw = stream.get();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    raw->cancel();
  });
  auto r = run<Result<void>>([&]() -> asio::awaitable<Result<void>> {
    auto first = co_await raw->read();
    if (!first) co_return std::move(first).error();
    auto second = co_await raw->read();  // blocks until cancelled
    if (!second) co_return std::move(second).error();
    co_return Result<void>{};
  });
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, kCancelledMessage);
  EXPECT_TRUE(raw->cancelled());
  auto f = closed.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST_P(HttpClientTest, SlowConsumerGetsEveryByteIntact) {
  // 4 MiB in 64 KiB chunks, read slowly: the transfer pauses instead of buffering it all.
  std::string body;
  for (int i = 0; body.size() < (4u << 20); ++i)
    body += "line " + std::to_string(i) + "\n";
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest&) {
    c.startChunked(200, "text/plain");
    for (std::size_t off = 0; off < body.size(); off += 65536)
      c.chunk(body.substr(off, 65536));
    c.endChunked();
  });
  HttpRequest req;
  req.url = url(server, "/");
  auto got = run<std::string>([&]() -> asio::awaitable<std::string> {
    auto s = client_->start(req);
    std::string all;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (int n = 0;; ++n) {
      auto c = co_await s->read();
      if (!c || c->empty()) break;
      all += *c;
      if (n % 16 == 0) {
        pause.expires_after(2ms);
        co_await pause.async_wait(asio::use_awaitable);
      }
    }
    co_return all;
  });
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
}

TEST_P(HttpClientTest, FetchEnforcesTheBodyLimit) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) {
    c.respond(200, std::string(100000, 'x'));
  });
  HttpRequest req;
  req.url = url(server, "/");
  req.maxBodyBytes = 1000;
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds 1000 bytes"), std::string::npos);
}

TEST_P(HttpClientTest, HundredConcurrentStreamsAllComplete) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest& r) {
    c.startChunked(200);
    for (int i = 0; i < 5; ++i) {
      c.chunk(r.target + ":" + std::to_string(i) + ";");
      std::this_thread::sleep_for(5ms);
    }
    c.endChunked();
  });
  std::atomic<int> good{0};
  std::vector<std::promise<void>> done(100);
  for (int i = 0; i < 100; ++i) {
    asio::co_spawn(
        asio::make_strand(loop_.context()),
        [&, i]() -> asio::awaitable<void> {
          HttpRequest req;
          req.url = url(server, "/s" + std::to_string(i));
          auto r = co_await client_->fetch(req);
          std::string want;
          for (int k = 0; k < 5; ++k)
            want += "/s" + std::to_string(i) + ":" + std::to_string(k) + ";";
          if (r && r->body == want) ++good;
          done[i].set_value();
        },
        asio::detached);
  }
  for (auto& d : done)
    ASSERT_EQ(d.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(good.load(), 100);
}

TEST_P(HttpClientTest, DestroyingAStreamMidTransferIsSafe) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) {
    c.startChunked(200);
    for (int i = 0; i < 50 && c.chunk("x"); ++i)
      std::this_thread::sleep_for(10ms);
    c.endChunked();
  });
  for (int i = 0; i < 10; ++i) {
    HttpRequest req;
    req.url = url(server, "/");
    auto s = client_->start(req);
    std::this_thread::sleep_for(std::chrono::milliseconds(i * 5));
  }  // each stream destroyed while its transfer runs
  HttpRequest req;
  req.url = url(server, "/");
  auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  EXPECT_TRUE(r.ok());
}

TEST_P(HttpClientTest, AGarbledOrEndlessResponseHeadIsAnError) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest& r) {
    if (r.target == "/garbled") {
      c.send("HTTP/1.1 two hundred OK\r\n\r\n");
    } else {  // a head that never ends: 1 MiB of headers
      c.send("HTTP/1.1 200 OK\r\n");
      for (int i = 0; i < 1024 && c.send("X-Filler: " + std::string(1000, 'x') + "\r\n"); ++i) {
      }
    }
    ::shutdown(c.fd(), SHUT_RDWR);
  });
  for (const std::string path : {"/garbled", "/endless"}) {
    HttpRequest req;
    req.url = url(server, path);
    auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.error().code, Errc::upstream_error) << path;
  }
}

TEST_P(HttpClientTest, KeepsTheConnectionForTheNextRequest) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest& r) {
    c.startChunked(200);
    c.chunk(r.target);
    c.endChunked();
  });
  for (const std::string path : {"/one", "/two", "/three"}) {
    HttpRequest req;
    req.method = "POST";
    req.url = url(server, path);
    req.body = "{}";
    auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, path);
  }
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 1);
}

TEST_P(HttpClientTest, ARequestOnAKeptConnectionTheServerDropsIsSentAgain) {
  // The server answers the first request of each connection and drops the connection at the
  // second, unanswered, as a server closing an idle connection just as a request comes.
  std::mutex mu;
  std::set<int> answered;
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest& r) {
    {
      const std::lock_guard lock(mu);
      if (!answered.insert(c.fd()).second) {
        answered.erase(c.fd());  // the number may come back for a new connection
        ::shutdown(c.fd(), SHUT_RDWR);
        return;
      }
    }
    c.respond(200, r.target);
  });
  for (const std::string path : {"/first", "/second", "/third"}) {
    HttpRequest req;
    req.url = url(server, path);
    auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
    ASSERT_TRUE(r.ok()) << path << ": " << r.error().message;
    EXPECT_EQ(r->body, path);
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST_P(HttpClientTest, AKeptConnectionTheServerClosedIsNotUsed) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest& r) {
    c.respond(200, r.target);
    std::this_thread::sleep_for(50ms);
    ::shutdown(c.fd(), SHUT_RDWR);  // closed while the client keeps it
  });
  for (const std::string path : {"/a", "/b"}) {
    HttpRequest req;
    req.url = url(server, path);
    auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, path);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 2);
}

TEST_P(HttpClientTest, DestroyingAStreamMidBodyClosesItsConnection) {
  std::promise<bool> closed;
  ScriptedServer server([&](ScriptedConnection& c, const ScriptedRequest& r) {
    if (r.target == "/after") {
      c.respond(200, "fine");
      return;
    }
    c.startChunked(200);
    c.chunk("data: first\n\n");
    closed.set_value(c.peerClosedWithin(10s));
  });
  HttpRequest req;
  req.url = url(server, "/");
  auto first = run<Result<std::string>>([&]() -> asio::awaitable<Result<std::string>> {
    auto s = client_->start(req);
    auto bytes = co_await s->read();  // then `s` goes, the body unread
    if (!bytes) co_return std::move(bytes).error();
    co_return std::string(*bytes);  // (the bytes are the stream's until it goes)
  });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "data: first\n\n");
  auto f = closed.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(f.get());
  req.url = url(server, "/after");
  auto after = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->body, "fine");
}

TEST_P(HttpClientTest, TlsWithATrustedCertificate) {
  ScriptedServer server(
      [](ScriptedConnection& c, const ScriptedRequest& r) {
        c.startChunked(200);
        c.chunk("secure " + r.method + " " + r.target + " " + r.body);
        c.endChunked();
      },
      test::TlsFiles::localhost());
  for (int i = 0; i < 2; ++i) {
    HttpRequest req;
    req.method = "POST";
    req.url = "https://localhost:" + std::to_string(server.port()) + "/v1/x?alt=sse";
    req.body = R"({"n":1})";
    auto r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->head.status, 200);
    EXPECT_EQ(r->body, R"(secure POST /v1/x?alt=sse {"n":1})");
  }
  EXPECT_EQ(server.connections(), 1);  // the TLS connection kept, too
}

TEST_P(HttpClientTest, TlsRefusesAnUntrustedOrMisnamedCertificate) {
  ScriptedServer server([](ScriptedConnection& c, const ScriptedRequest&) { c.respond(200, "x"); },
                        test::TlsFiles::localhost());
  // The system's CAs do not know the test CA.
  auto untrusting = std::make_unique<HttpClient>(loop_.executor(), options(false));
  HttpRequest req;
  req.url = "https://localhost:" + std::to_string(server.port()) + "/";
  auto r = run<Result<HttpResponse>>([&]() { return untrusting->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "TLS handshake failed");
  untrusting.reset();
  // Trusted, but for another name (the certificate is for localhost only).
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  r = run<Result<HttpResponse>>([&]() { return client_->fetch(req); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "TLS handshake failed");
  EXPECT_EQ(server.requests(), 0);
}

INSTANTIATE_TEST_SUITE_P(Paths, HttpClientTest, ::testing::Values(Path::curl, Path::own),
                         [](const ::testing::TestParamInfo<Path>& p) {
                           return p.param == Path::own ? "Own" : "Curl";
                         });

}  // namespace
}  // namespace atelier::net
