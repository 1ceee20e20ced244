#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <unordered_set>

#include "http/errors.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

namespace atelier::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

namespace {

struct Conn {
  explicit Conn(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
};

bool saneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// The address our proxy added: the last X-Forwarded-For entry.
std::string forwardedClient(std::string_view xff) {
  const auto comma = xff.rfind(',');
  std::string_view last = trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
  if (last.empty() || last.size() > 64) return {};
  return std::string(last);
}

// Writes a chunked body; the head has been written already.
//
// Each write must finish within `timeout` (a client that stops reading is cut off), but the
// body of a stream is thousands of small writes: instead of a timer armed and cancelled
// around every one (Beast's per-operation timeout), one watchdog timer for the whole body,
// set to the deadline of the write in progress and re-armed only when it fires.
class ChunkWriter final : public ResponseWriter {
 public:
  // `head`, when not empty, goes out with the first chunk (or the end of the body).
  ChunkWriter(beast::tcp_stream& stream, std::chrono::milliseconds timeout, std::string head = {})
      : stream_(stream),
        watch_(std::make_shared<Watchdog>(stream, timeout)),
        head_(std::move(head)) {}
  ~ChunkWriter() override {
    watch_->stream = nullptr;
    watch_->timer.cancel();
  }
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  asio::awaitable<bool> write(std::string_view data) override {
    if (!ok_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    char head[24];
    const int n = std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    const std::array<asio::const_buffer, 4> bufs{
        asio::buffer(head_), asio::buffer(head, static_cast<std::size_t>(n)),
        asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
    const bool sent = co_await send(bufs);
    head_.clear();
    if (!sent) co_return false;
    bytes_ += data.size();
    co_return true;
  }

  asio::awaitable<void> finish() {
    if (!ok_) co_return;
    const std::array<asio::const_buffer, 2> last{asio::buffer(head_), asio::buffer("0\r\n\r\n", 5)};
    (void)co_await send(last);
  }

  bool ok() const noexcept { return ok_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  struct Watchdog {
    Watchdog(beast::tcp_stream& s, std::chrono::milliseconds t)
        : stream(&s), timer(s.get_executor()), timeout(t) {}
    beast::tcp_stream* stream;  // null once the writer is gone
    asio::steady_timer timer;
    std::chrono::milliseconds timeout;
    bool armed = false;
    bool writing = false;
    std::chrono::steady_clock::time_point since;  // when the write in progress began
  };

  // Wakes at `at`: a write still in progress since `timeout` or longer closes the
  // connection (the write then fails); one in progress for less sets the next wake-up at its
  // deadline; none leaves the watchdog unarmed until the next write.
  static void arm(const std::shared_ptr<Watchdog>& w, std::chrono::steady_clock::time_point at) {
    w->armed = true;
    w->timer.expires_at(at);
    w->timer.async_wait([w](boost::system::error_code ec) {
      w->armed = false;
      if (ec || w->stream == nullptr || !w->writing) return;
      if (std::chrono::steady_clock::now() - w->since >= w->timeout) {
        w->stream->close();
        return;
      }
      arm(w, w->since + w->timeout);
    });
  }

  template <class Buffers>
  asio::awaitable<bool> send(const Buffers& bufs) {
    watch_->writing = true;
    watch_->since = std::chrono::steady_clock::now();
    if (!watch_->armed) arm(watch_, watch_->since + watch_->timeout);
    auto [ec, written] = co_await asio::async_write(stream_.socket(), bufs, kTuple);
    watch_->writing = false;
    if (ec) ok_ = false;
    co_return ok_;
  }

  beast::tcp_stream& stream_;
  std::shared_ptr<Watchdog> watch_;
  std::string head_;  // the response's head, until the first write takes it
  bool ok_ = true;
  std::uint64_t bytes_ = 0;
};

}  // namespace

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(std::vector<asio::io_context*> contexts, ServerOptions options, const Router& router,
       std::vector<Middleware> chain, RequestObserver& observer)
      : contexts_(std::move(contexts)),
        options_(std::move(options)),
        router_(router),
        chain_(std::move(chain)),
        observer_(observer),
        acceptor_(asio::make_strand(*contexts_.front())) {
    dispatch_ = [](Request& req) -> asio::awaitable<Response> {
      if (req.route != nullptr) co_return co_await req.route->terminal(req);
      if (!req.allowedMethods.empty()) {
        Response r = errorResponse(
            Error::make(Errc::method_not_allowed, "this path does not serve " + req.method),
            req.requestId);
        r.headers.emplace_back("Allow", req.allowedMethods);
        co_return r;
      }
      co_return errorResponse(Error::make(Errc::not_found, "no such route"), req.requestId);
    };
  }

  Result<void> listen() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec)
      return Error::make(Errc::unavailable, "HOST: not an IP address: \"" + options_.host + "\"");
    const tcp::endpoint ep(address, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error::make(Errc::unavailable, "cannot listen on " + options_.host + ":" +
                                                std::to_string(options_.port) + ": " +
                                                ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return {};
  }

  void start() {
    asio::co_spawn(
        acceptor_.get_executor(), [self = shared_from_this()] { return self->acceptLoop(); },
        asio::detached);
  }

  void beginShutdown() {
    if (draining_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
    // Open connections stay: a request that still arrives on one is answered (with
    // Connection: close). closeAll() ends them once the in-flight work is done.
  }

  void closeAll() {
    std::lock_guard lock(mu_);
    for (const auto& c : conns_) {
      asio::post(c->stream.get_executor(), [c] {
        beast::error_code ec;
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        c->stream.close();
      });
    }
  }

  bool draining() const noexcept { return draining_.load(); }
  std::size_t activeRequests() const noexcept { return active_.load(); }
  std::size_t openConnections() const noexcept {
    std::lock_guard lock(mu_);
    return conns_.size();
  }
  std::uint16_t port() const noexcept { return port_; }

 private:
  asio::awaitable<void> acceptLoop() {
    while (!draining_) {
      auto [ec, socket] = co_await acceptor_.async_accept(nextExecutor(), kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        // Out of file descriptors and the like: log, breathe, go on.
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(kTuple);
        continue;
      }
      beast::error_code opt;
      socket.set_option(tcp::no_delay(true), opt);
      auto conn = std::make_shared<Conn>(std::move(socket));
      {
        std::lock_guard lock(mu_);
        conns_.insert(conn);
      }
      asio::co_spawn(
          conn->stream.get_executor(),
          [self = shared_from_this(), conn] { return self->session(conn); }, asio::detached);
    }
  }

  // Where the next connection runs: the io_contexts in turn.
  asio::any_io_executor nextExecutor() {
    asio::io_context& ctx = *contexts_[next_++ % contexts_.size()];
    if (options_.strandPerConnection) return asio::make_strand(ctx);
    return ctx.get_executor();
  }

  asio::awaitable<void> session(std::shared_ptr<Conn> conn) {
    observer_.openConnections().inc();
    std::string peer;
    {
      beast::error_code ec;
      const auto ep = conn->stream.socket().remote_endpoint(ec);
      if (!ec) peer = ep.address().to_string();
    }
    beast::flat_buffer buffer;
    bool first = true;
    try {
      for (;;) {
        if (buffer.size() == 0) {
          // Wait for the first byte of the next request (idle keep-alive time).
          conn->stream.expires_after(first ? options_.headerTimeout : options_.idleTimeout);
          auto [ec, n] = co_await conn->stream.async_read_some(buffer.prepare(4096), kTuple);
          if (ec) break;
          buffer.commit(n);
        }
        first = false;
        if (!co_await handleOne(*conn, buffer, peer)) break;
      }
    } catch (const std::exception& e) {
      spdlog::error("connection from {} failed: {}", peer, e.what());
    }
    beast::error_code ec;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    conn->stream.close();
    {
      std::lock_guard lock(mu_);
      conns_.erase(conn);
    }
    observer_.openConnections().dec();
  }

  // Reads, handles and answers one request. Returns whether the connection stays open.
  asio::awaitable<bool> handleOne(Conn& conn, beast::flat_buffer& buffer, const std::string& peer) {
    auto& stream = conn.stream;
    Request req;
    req.received = std::chrono::steady_clock::now();
    req.peerAddress = peer;
    req.clientAddress = peer;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.headerLimit));
    parser.body_limit(boost::none);  // the route's limit is applied once the head is known

    stream.expires_after(options_.headerTimeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    if (hec) {
      if (hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
          hec == asio::error::connection_reset || hec == asio::error::operation_aborted) {
        co_return false;
      }
      if (hec == beast::error::timeout) {
        // tcp_stream has closed the socket already: nothing can be sent.
        spdlog::info("closed connection from {}: request head not complete within {} ms", peer,
                     options_.headerTimeout.count());
        co_return false;
      }
      req.requestId = newUuidV7();
      Error e;
      if (hec == bhttp::error::header_limit) {
        e = Error::make(Errc::headers_too_large, "request headers exceed 16 KiB");
      } else {
        e = Error::make(Errc::invalid_request, "malformed HTTP request");
      }
      {
        Response answer = errorResponse(e, req.requestId);
        co_await sendFinal(stream, req, std::move(answer), "malformed");
      }
      co_return false;
    }

    auto& head = parser.get();
    req.method = std::string(head.method_string());
    req.target = std::string(head.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(8);
    for (const auto& f : head) {
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    const auto incomingId = head["X-Request-Id"];
    req.requestId = saneRequestId(incomingId) ? std::string(incomingId) : newUuidV7();
    if (options_.trustProxy) {
      if (auto xff = head["X-Forwarded-For"]; !xff.empty()) {
        if (auto c = forwardedClient(xff); !c.empty()) req.clientAddress = std::move(c);
      }
    }
    const bool wantsKeepAlive = parser.keep_alive();

    // Request smuggling: Beast refuses a length beside chunks, and differing lengths; a
    // transfer coding other than one lone `chunked` (RFC 9112 §6.3: a final coding that is
    // not chunked leaves the length unknowable, and no other coding is decoded here) is
    // refused too. The connection closes, so nothing behind the head is read as a request.
    if (const auto te = head[bhttp::field::transfer_encoding];
        head.count(bhttp::field::transfer_encoding) > 1 ||
        (!te.empty() && !beast::iequals(trim(std::string_view(te.data(), te.size())), "chunked"))) {
      Response answer = errorResponse(
          Error::make(Errc::invalid_request, "unsupported Transfer-Encoding"), req.requestId);
      co_await sendFinal(stream, req, std::move(answer), "malformed");
      co_return false;
    }

    if (req.target.empty() || req.target.front() != '/') {
      Response answer = errorResponse(
          Error::make(Errc::invalid_request, "malformed request target"), req.requestId);
      co_await sendFinal(stream, req, std::move(answer), "malformed");
      co_return false;
    }

    auto match = router_.match(req.method, req.path);
    req.route = match.route;
    req.params = std::move(match.params);
    req.allowedMethods = std::move(match.allow);

    // The body: refused before reading when its declared size is over the limit.
    const std::size_t limit = req.route ? req.route->options.maxBodyBytes : 1024 * 1024;
    if (!parser.is_done()) {
      if (const auto len = parser.content_length(); len && *len > limit) {
        {
          Response answer = tooLarge(req, limit);
          co_await sendFinal(stream, req, std::move(answer), routeName(req));
        }
        co_return false;
      }
      parser.body_limit(limit);
      if (head[bhttp::field::expect] == "100-continue") {
        stream.expires_after(options_.writeTimeout);
        auto [cec, cn] = co_await asio::async_write(
            stream, asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), kTuple);
        if (cec) co_return false;
      }
      stream.expires_after(options_.bodyTimeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          {
            Response answer = tooLarge(req, limit);
            co_await sendFinal(stream, req, std::move(answer), routeName(req));
          }
        } else if (bec == beast::error::timeout) {
          spdlog::info("closed connection from {}: request body not complete within {} ms", peer,
                       options_.bodyTimeout.count());
        } else if (bec != bhttp::error::partial_message && bec != asio::error::eof &&
                   bec != asio::error::connection_reset) {
          Response answer = errorResponse(
              Error::make(Errc::invalid_request, "malformed request body"), req.requestId);
          co_await sendFinal(stream, req, std::move(answer), routeName(req));
        }
        co_return false;
      }
    }
    req.body = std::move(parser.get().body());

    observer_.started();
    ++active_;
    Response res = co_await runChain(chain_, dispatch_, req);
    const bool keepAlive = wantsKeepAlive && !draining_;
    std::uint64_t bytes = 0;
    const bool ok = co_await writeResponse(stream, req, res, keepAlive, bytes);
    --active_;
    finish(req, res.status, bytes);
    co_return ok&& keepAlive;
  }

  static std::string_view routeName(const Request& req) {
    return req.route ? std::string_view(req.route->pattern) : std::string_view("unmatched");
  }

  Response tooLarge(const Request& req, std::size_t limit) const {
    return errorResponse(Error::make(Errc::payload_too_large,
                                     "request body exceeds " + std::to_string(limit) + " bytes"),
                         req.requestId);
  }

  void finish(const Request& req, int status, std::uint64_t bytes) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received).count();
    AccessRecord r;
    r.method = req.method;
    r.route = routeName(req);
    r.path = req.path;
    r.status = status;
    r.bytesOut = bytes;
    r.seconds = secs;
    r.requestId = req.requestId;
    r.userId = req.userId;
    r.client = req.clientAddress;
    observer_.finished(r);
  }

  // An answer after which the connection closes (the request could not be read whole).
  // Lingers briefly so that a client still sending its body reads the answer, not a reset.
  // Callers pass a named Response: g++ 12 can destroy a temporary argument of a coroutine
  // called in a co_await expression twice.
  asio::awaitable<void> sendFinal(beast::tcp_stream& stream, Request& req, Response res,
                                  std::string_view route) {
    observer_.started();
    std::uint64_t bytes = 0;
    co_await writeResponse(stream, req, res, false, bytes);
    AccessRecord r;
    r.method = req.method.empty() ? std::string_view("-") : std::string_view(req.method);
    r.route = route;
    r.path = req.path;
    r.status = res.status;
    r.bytesOut = bytes;
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received).count();
    r.requestId = req.requestId;
    r.client = req.clientAddress;
    observer_.finished(r);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16384> sink{};
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < (4u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (rec) break;
      drained += n;
    }
  }

  // The status line and headers, serialized by hand into one buffer (Beast's generic
  // serializer costs more than the rest of a small response).
  static std::string serializeHead(const Request& req, const Response& res, bool keepAlive,
                                   bool chunked) {
    std::string head;
    head.reserve(256);
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    head += "\r\n";
    auto field = [&head](std::string_view name, std::string_view value) {
      head += name;
      head += ": ";
      // A value never carries a line break (no header injection through data).
      for (char c : value)
        head += (c == '\r' || c == '\n') ? ' ' : c;
      head += "\r\n";
    };
    for (const auto& [k, v] : res.headers)
      field(k, v);
    field("X-Request-Id", req.requestId);
    field("X-Content-Type-Options", "nosniff");
    if (!keepAlive) field("Connection", "close");
    if (chunked) {
      field("Transfer-Encoding", "chunked");
    } else if (res.status >= 200 && res.status != 204 && res.status != 304) {
      field("Content-Length", std::to_string(res.body.size()));
    }
    head += "\r\n";
    return head;
  }

  asio::awaitable<bool> writeResponse(beast::tcp_stream& stream, const Request& req, Response& res,
                                      bool keepAlive, std::uint64_t& bytes) {
    const bool streaming = static_cast<bool>(res.stream);
    std::string head = serializeHead(req, res, keepAlive, streaming);
    stream.expires_after(options_.writeTimeout);
    if (!streaming || req.method == "HEAD") {
      // HEAD: the head a GET would get (Content-Length included), without the body.
      const std::string_view body = req.method == "HEAD" ? std::string_view() : res.body;
      bytes = body.size();
      const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
      auto [ec, n] = co_await asio::async_write(stream, bufs, kTuple);
      co_return !ec;
    }
    if (!res.headWithFirstWrite) {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), kTuple);
      if (ec) co_return false;
    }
    ChunkWriter writer(stream, options_.writeTimeout,
                       res.headWithFirstWrite ? std::move(head) : std::string());
    co_await res.stream(writer);
    co_await writer.finish();
    bytes = writer.bytes();
    co_return writer.ok();
  }

  std::vector<asio::io_context*> contexts_;
  std::size_t next_ = 0;  // touched by the accept loop only
  ServerOptions options_;
  const Router& router_;
  std::vector<Middleware> chain_;
  RequestObserver& observer_;
  Terminal dispatch_;
  tcp::acceptor acceptor_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint16_t> port_{0};
  mutable std::mutex mu_;
  std::unordered_set<std::shared_ptr<Conn>> conns_;
};

Server::Server(std::vector<asio::io_context*> contexts, ServerOptions options, const Router& router,
               std::vector<Middleware> chain, RequestObserver& observer)
    : impl_(std::make_shared<Impl>(std::move(contexts), std::move(options), router,
                                   std::move(chain), observer)) {}

Server::~Server() = default;
Result<void> Server::listen() {
  return impl_->listen();
}
std::uint16_t Server::port() const noexcept {
  return impl_->port();
}
void Server::start() {
  impl_->start();
}
void Server::beginShutdown() {
  impl_->beginShutdown();
}
void Server::closeAll() {
  impl_->closeAll();
}
bool Server::draining() const noexcept {
  return impl_->draining();
}
std::size_t Server::openConnections() const noexcept {
  return impl_->openConnections();
}
std::size_t Server::activeRequests() const noexcept {
  return impl_->activeRequests();
}

}  // namespace atelier::http
