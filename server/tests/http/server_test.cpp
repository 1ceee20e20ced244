// The HTTP server core over real sockets: keep-alive, limits, timeouts, errors, shutdown.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <thread>

#include "http/middleware.hpp"
#include "support/raw_client.hpp"
#include "util/crypto.hpp"

namespace atelier::http {
namespace {

namespace asio = boost::asio;
using test::RawClient;
using test::rawRequest;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    initCrypto();
    router_.add("GET", "/hello", [](Request&) -> asio::awaitable<Result<Response>> {
      co_return Response::json(200, R"({"hello":"world"})");
    });
    router_.add("POST", "/echo", [](Request& r) -> asio::awaitable<Result<Response>> {
      co_return Response::text(200, r.body, "text/plain");
    });
    router_.add(
        "GET", "/items/:id/parts/:part", [](Request& r) -> asio::awaitable<Result<Response>> {
          co_return Response::text(
              200, std::string(r.param("id")) + "/" + std::string(r.param("part")), "text/plain");
        });
    router_.add("GET", "/fail", [](Request&) -> asio::awaitable<Result<Response>> {
      co_return Error::make(Errc::chat_limit_reached, "too many chats");
    });
    router_.add("GET", "/throw", [](Request&) -> asio::awaitable<Result<Response>> {
      throw std::runtime_error("secret internals");
      co_return Response::empty(204);
    });
    router_.add("GET", "/slow", [](Request&) -> asio::awaitable<Result<Response>> {
      asio::steady_timer t(co_await asio::this_coro::executor, 500ms);
      co_await t.async_wait(asio::use_awaitable);
      co_return Response::json(200, R"({"slow":true})");
    });
    router_.add("GET", "/stream", [](Request&) -> asio::awaitable<Result<Response>> {
      Response r;
      r.headers.emplace_back("Content-Type", "text/event-stream");
      r.stream = [](ResponseWriter& w) -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          if (!co_await w.write("data: " + std::to_string(i) + "\n\n")) co_return;
        }
      };
      co_return r;
    });
    router_.add("GET", "/drip", [](Request&) -> asio::awaitable<Result<Response>> {
      Response r;
      r.headers.emplace_back("Content-Type", "text/event-stream");
      r.stream = [](ResponseWriter& w) -> asio::awaitable<void> {
        asio::steady_timer pause(co_await asio::this_coro::executor);
        for (int i = 0; i < 10; ++i) {
          if (!co_await w.write("data: " + std::to_string(i) + "\n\n")) co_return;
          pause.expires_after(100ms);
          co_await pause.async_wait(asio::use_awaitable);
        }
      };
      co_return r;
    });
    router_.add("GET", "/flood", [this](Request&) -> asio::awaitable<Result<Response>> {
      Response r;
      r.headers.emplace_back("Content-Type", "text/event-stream");
      r.stream = [this](ResponseWriter& w) -> asio::awaitable<void> {
        const std::string chunk(64 * 1024, 'x');
        while (co_await w.write(chunk))
          ++floodWrites_;
        floodEnded_ = true;
      };
      co_return r;
    });
    // A stream whose first write comes late, its head sent first or held for that write.
    for (const bool held : {false, true}) {
      router_.add("GET", held ? "/late-held" : "/late",
                  [held](Request&) -> asio::awaitable<Result<Response>> {
                    Response r;
                    r.headers.emplace_back("Content-Type", "text/event-stream");
                    r.headWithFirstWrite = held;
                    r.stream = [](ResponseWriter& w) -> asio::awaitable<void> {
                      asio::steady_timer pause(co_await asio::this_coro::executor, 300ms);
                      co_await pause.async_wait(asio::use_awaitable);
                      (void)co_await w.write("data: late\n\n");
                    };
                    co_return r;
                  });
    }
    router_.add("GET", "/empty-held", [](Request&) -> asio::awaitable<Result<Response>> {
      Response r;
      r.headWithFirstWrite = true;
      r.stream = [](ResponseWriter&) -> asio::awaitable<void> { co_return; };
      co_return r;
    });
    router_.add("PATCH", "/hello", [](Request&) -> asio::awaitable<Result<Response>> {
      co_return Response::empty(204);
    });
    RouteOptions small;
    small.maxBodyBytes = 1000;
    router_.add(
        "POST", "/small",
        [](Request& r) -> asio::awaitable<Result<Response>> {
          co_return Response::text(200, std::to_string(r.body.size()), "text/plain");
        },
        small);
  }

  void start(ServerOptions opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    std::vector<Middleware> chain{exceptionGuard()};
    server_ = std::make_unique<Server>(ioc_, opts, router_, std::move(chain), observer_);
    ASSERT_TRUE(server_->listen().ok());
    server_->start();
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->beginShutdown();
      server_->closeAll();
    }
    work_.reset();
    for (int i = 0; i < 200 && server_ && server_->openConnections() > 0; ++i)
      std::this_thread::sleep_for(10ms);
    ioc_.stop();
    for (auto& t : threads_)
      t.join();
  }

  std::uint16_t port() const { return server_->port(); }

  static boost::json::value body(const test::RawResponse& r) { return boost::json::parse(r.body); }

  std::atomic<int> floodWrites_{0};
  std::atomic<bool> floodEnded_{false};
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  MetricsRegistry metrics_;
  RequestObserver observer_{metrics_};
  Router router_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
};

TEST_F(ServerTest, AnswersJsonWithRequestIdAndNosniff) {
  start();
  auto r = rawRequest(port(), test::get("/hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hello":"world"})");
  EXPECT_EQ(r->header("X-Content-Type-Options"), "nosniff");
  ASSERT_TRUE(r->header("X-Request-Id"));
  EXPECT_TRUE(isUuid(*r->header("X-Request-Id")));
}

TEST_F(ServerTest, EchoesASaneRequestIdAndReplacesAnInsaneOne) {
  start();
  auto a = rawRequest(port(), test::get("/hello", "X-Request-Id: abc-123.x_y:z\r\n"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header("X-Request-Id"), "abc-123.x_y:z");
  auto b = rawRequest(port(), test::get("/hello", "X-Request-Id: <script>\r\n"));
  ASSERT_TRUE(b);
  EXPECT_NE(b->header("X-Request-Id"), "<script>");
}

TEST_F(ServerTest, ThousandRequestsOnOneKeepAliveConnection) {
  start();
  RawClient c(port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(c.send(test::get("/hello")));
    auto r = c.read();
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->status, 200);
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient c(port());
  ASSERT_TRUE(c.send(test::get("/items/1/parts/a") + test::get("/items/2/parts/b")));
  auto a = c.read();
  auto b = c.read();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "1/a");
  EXPECT_EQ(b->body, "2/b");
}

// The first bytes the server sends on a fresh connection for GET `path`, as one read.
std::string firstBytes(std::uint16_t port, const std::string& path) {
  RawClient c(port);
  return c.send(test::get(path)) ? c.readOnce() : std::string();
}

TEST_F(ServerTest, AStreamsHeadGoesFirstOrWithItsFirstWriteWhenTheHandlerSaysSo) {
  start();
  const std::string first = firstBytes(port(), "/late");
  EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  EXPECT_EQ(first.find("data: late"), std::string::npos) << "the head went first, alone";
  const std::string held = firstBytes(port(), "/late-held");
  EXPECT_EQ(held.rfind("HTTP/1.1 200", 0), 0u) << held;
  EXPECT_NE(held.find("Transfer-Encoding: chunked"), std::string::npos) << held;
  EXPECT_NE(held.find("c\r\ndata: late\n\n\r\n"), std::string::npos) << "one write: " << held;
  // Held, and the body writes nothing: the head and the end of the body.
  auto empty = rawRequest(port(), test::get("/empty-held"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, "");
}

TEST_F(ServerTest, UnknownRouteIs404Json) {
  start();
  auto r = rawRequest(port(), test::get("/nope"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto j = body(*r);
  EXPECT_EQ(j.at("error").at("code"), "not_found");
  EXPECT_EQ(j.at("error").at("request_id").as_string(), *r->header("X-Request-Id"));
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  start();
  auto r = rawRequest(port(), "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(body(*r).at("error").at("code"), "method_not_allowed");
  EXPECT_EQ(r->header("Allow"), "GET, PATCH");
}

TEST_F(ServerTest, HandlerErrorGoesThroughTheMapper) {
  start();
  auto r = rawRequest(port(), test::get("/fail"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body(*r).at("error").at("code"), "chat_limit_reached");
}

TEST_F(ServerTest, ExceptionBecomes500WithoutInternals) {
  start();
  auto r = rawRequest(port(), test::get("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(body(*r).at("error").at("code"), "internal");
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  EXPECT_TRUE(rawRequest(port(), test::get("/hello")));  // still serving
}

TEST_F(ServerTest, OversizeHeaderIs431AndServerStaysUp) {
  start();
  const std::string big(20 * 1024, 'a');
  auto r = rawRequest(port(), test::get("/hello", "X-Big: " + big + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(body(*r).at("error").at("code"), "headers_too_large");
  auto ok = rawRequest(port(), test::get("/hello"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerTest, OversizeBodyIs413BeforeItIsRead) {
  start();
  RawClient c(port());
  // Declares 10 MB but sends none of it: the answer must not wait for the body.
  ASSERT_TRUE(c.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"));
  auto r = c.read(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(body(*r).at("error").at("code"), "payload_too_large");
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
  start();
  RawClient c(port());
  std::string req = "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i)
    req += "12c\r\n" + std::string(300, 'x') + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.send(req));
  auto r = c.read(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, BodyWithinTheLimitIsRead) {
  start();
  auto r = rawRequest(port(), "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "5");
}

TEST_F(ServerTest, ContentLengthWithTransferEncodingIs400) {
  start();
  auto r = rawRequest(
      port(),
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body(*r).at("error").at("code"), "invalid_request");
}

// Request smuggling: a head that two parsers could read two ways is refused, and the
// connection closes, so nothing after it is taken for a request of its own.
TEST_F(ServerTest, AmbiguousFramingIsRefusedAndNothingBehindItRuns) {
  start();
  const std::string smuggled = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::string> heads = {
      // two lengths
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n",
      // a length and chunks
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
      // chunked, but not as the last coding
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      // a NUL inside a header value
      std::string("GET /hello HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n", 45),
  };
  for (const auto& head : heads) {
    RawClient c(port());
    ASSERT_TRUE(c.send(head + "0\r\n\r\n" + smuggled));
    auto r = c.read();
    ASSERT_TRUE(r) << head;
    EXPECT_EQ(r->status, 400) << head;
    EXPECT_EQ(body(*r).at("error").at("code"), "invalid_request") << head;
    EXPECT_TRUE(c.closedWithin(2s)) << "the smuggled request must not be answered: " << head;
  }
  auto ok = rawRequest(port(), test::get("/hello"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// obs-fold (a header line continued on the next): RFC 9112 §5.2 lets a server refuse it or
// join the lines with a space; Beast joins them. Either way the value is one value of one
// header, so a folded Content-Length frames the body exactly as a plain one would.
TEST_F(ServerTest, AFoldedHeaderIsJoinedIntoOneValue) {
  start();
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 4\r\n\r\nbody" +
                     test::get("/hello")));
  auto echo = c.read();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, "body");
  auto next = c.read();  // the next request starts exactly after those 4 bytes
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(body(*next).at("hello"), "world");
}

// A thousand connections that never finish their heads (a slow-loris) do not keep another
// client from being served; each is cut off by the header timeout.
TEST_F(ServerTest, ASlowLorisDoesNotStarveOtherClients) {
  ServerOptions o;
  o.headerTimeout = 2s;
  start(o);
  std::vector<std::unique_ptr<RawClient>> loris;
  for (int i = 0; i < 1000; ++i) {
    loris.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(loris.back()->connected()) << i;
    ASSERT_TRUE(loris.back()->send("GET /hello HTTP/1.1\r\nX-Slow: "));
  }
  for (int i = 0; i < 5; ++i) {
    auto ok = rawRequest(port(), test::get("/hello"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
  }
  std::size_t cut = 0;
  for (auto& c : loris)
    cut += c->closedWithin(10s) ? 1 : 0;
  EXPECT_EQ(cut, loris.size());
}

TEST_F(ServerTest, MalformedRequestsAre400AndServerStaysUp) {
  start();
  for (const char* raw : {"GARBAGE\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n",
                          "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    auto r = rawRequest(port(), raw);
    ASSERT_TRUE(r) << raw;
    EXPECT_EQ(r->status, 400) << raw;
    EXPECT_EQ(body(*r).at("error").at("code"), "invalid_request");
  }
  auto ok = rawRequest(port(), test::get("/hello"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerTest, SlowHeadersAreCutOff) {
  ServerOptions o;
  o.headerTimeout = 300ms;
  start(o);
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\n"));
  std::this_thread::sleep_for(150ms);
  ASSERT_TRUE(c.send("X-A: 1\r\n"));  // still dribbling, never finishing the head
  EXPECT_TRUE(c.closedWithin(2s));
  auto ok = rawRequest(port(), test::get("/hello"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions o;
  o.idleTimeout = 200ms;
  start(o);
  RawClient c(port());
  ASSERT_TRUE(c.send(test::get("/hello")));
  ASSERT_TRUE(c.read());
  EXPECT_TRUE(c.closedWithin(2s));
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  start();
  RawClient c(port());
  ASSERT_TRUE(c.send(test::get("/hello", "Connection: close\r\n")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closedWithin(2s));
}

TEST_F(ServerTest, StreamingResponseIsChunked) {
  start();
  auto r = rawRequest(port(), test::get("/stream"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

// A client that stops reading a stream: once a write has waited writeTimeout for room, the
// connection is closed and the stream's writes fail — while a stream that is read goes on
// past that time (writes that finish are never cut off, however long the body lasts).
TEST_F(ServerTest, AStreamWhoseClientStopsReadingIsCutOffAfterTheWriteTimeout) {
  ServerOptions o;
  o.writeTimeout = 300ms;
  start(o);
  RawClient reader(port());
  ASSERT_TRUE(reader.send(test::get("/drip")));  // 1 s, its writes all quick
  RawClient stalled(port());
  ASSERT_TRUE(stalled.send(test::get("/flood")));
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 500 && !floodEnded_; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(floodEnded_.load());
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
  EXPECT_GT(floodWrites_.load(), 0);  // it wrote until the socket buffers were full
  EXPECT_TRUE(stalled.closedWithin(2s));
  auto r = reader.read();
  ASSERT_TRUE(r);
  std::string all;
  for (int i = 0; i < 10; ++i)
    all += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(r->body, all);
}

TEST_F(ServerTest, ShutdownFinishesInFlightRequestsAndStillAnswersOpenConnections) {
  start();
  RawClient idle(port());
  ASSERT_TRUE(idle.send(test::get("/hello")));
  ASSERT_TRUE(idle.read());
  RawClient busy(port());
  ASSERT_TRUE(busy.send(test::get("/slow")));
  std::this_thread::sleep_for(100ms);
  server_->beginShutdown();
  EXPECT_EQ(server_->activeRequests(), 1u);
  // A request on a connection that was already open is still answered, then closed.
  ASSERT_TRUE(idle.send(test::get("/hello")));
  auto late1 = idle.read(2s);
  ASSERT_TRUE(late1);
  EXPECT_EQ(late1->status, 200);
  EXPECT_EQ(late1->header("Connection"), "close");
  EXPECT_TRUE(idle.closedWithin(2s));
  auto r = busy.read(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  for (int i = 0; i < 100 && server_->activeRequests() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->activeRequests(), 0u);
  // New connections are refused once the listener is closed.
  std::this_thread::sleep_for(50ms);
  RawClient late(port());
  EXPECT_TRUE(!late.connected() || !late.send(test::get("/hello")) || !late.read(1s));
}

TEST_F(ServerTest, RequestsAreCountedInMetrics) {
  start();
  ASSERT_TRUE(rawRequest(port(), test::get("/hello")));
  ASSERT_TRUE(rawRequest(port(), test::get("/nope")));
  // Counted just after the last byte went out, on the server's thread: the client may read
  // the answer first. Wait (a bounded while) until both are counted.
  const std::string hello =
      R"(atelier_http_requests_total{route="/hello",method="GET",status="200"} 1)";
  const std::string unmatched =
      R"(atelier_http_requests_total{route="unmatched",method="GET",status="404"} 1)";
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text = metrics_.render();
    if (text.find(hello) != std::string::npos && text.find(unmatched) != std::string::npos &&
        text.find("atelier_http_requests_in_flight 0") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(text.find(hello), std::string::npos) << text;
  EXPECT_NE(text.find(unmatched), std::string::npos) << text;
  EXPECT_NE(text.find("atelier_http_requests_in_flight 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace atelier::http
