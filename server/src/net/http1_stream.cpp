#include "net/http1_stream.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>

#include "util/text.hpp"

namespace atelier::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = std::size_t{64} * 1024;
constexpr std::size_t kBufferLimit = kHeaderLimit + std::size_t{16} * 1024;
// Body bytes are copied out this many at a time (what is beyond stays in the connection's
// buffer for the next read, without a system call): small, since every open stream holds it.
constexpr std::size_t kReadSize = std::size_t{4} * 1024;

// The server closed (or reset) the connection: on a kept connection before any byte of the
// response, the request is sent again on a new one (the server dropped it while idle).
bool connectionLost(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

struct Http1Conn {
  Http1Conn(const asio::any_io_executor& ex, std::string k) : key(std::move(k)), plain(ex) {}

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  // Calls f with the stream to read and write: the TLS stream, or the socket itself.
  template <class F>
  auto with(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }

  std::string key;                   // "https://host:port"
  std::optional<tcp::socket> plain;  // moved into `tls` for https
  std::optional<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer{kBufferLimit};
  SteadyClock::time_point idleSince;
  bool reused = false;
};

struct Http1Transfer::Target {
  std::string key, host, port, hostHeader, path;
  bool tls = false;
};

namespace {

std::optional<Http1Transfer::Target> parseTarget(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  Http1Transfer::Target t;
  if (u->scheme_id() == boost::urls::scheme::https) {
    t.tls = true;
  } else if (u->scheme_id() != boost::urls::scheme::http) {
    return std::nullopt;
  }
  if (u->has_userinfo()) return std::nullopt;  // curl's to handle
  switch (u->host_type()) {
    case boost::urls::host_type::ipv4:
      t.host = u->host_ipv4_address().to_string();
      break;
    case boost::urls::host_type::ipv6:
      t.host = u->host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::name:
      t.host = u->host_name();
      break;
    default:
      return std::nullopt;
  }
  if (t.host.empty()) return std::nullopt;
  t.port = std::string(t.tls ? "443" : "80");
  if (u->has_port()) {
    if (u->port_number() == 0) return std::nullopt;  // empty, 0 or beyond 65535: curl's to refuse
    t.port = std::to_string(u->port_number());
  }
  t.hostHeader = std::string(u->encoded_host_and_port());
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) {
    t.path += '?';
    t.path += std::string(u->encoded_query());
  }
  t.key = std::string(t.tls ? "https://" : "http://") + t.hostHeader;
  return t;
}

}  // namespace

struct Http1Transfer::State {
  explicit State(const asio::any_io_executor& ex) : watchdog(ex) {}
  Target target;
  std::string requestHead;
  std::unique_ptr<Http1Conn> conn;
  std::optional<tcp::resolver> resolver;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::string scratch;  // body bytes land here, kReadSize at a time
  asio::steady_timer watchdog;
  std::optional<Error> expired;  // set by the watchdog
  std::optional<Error> error;    // the transfer's end, repeated to later calls
  SteadyClock::time_point started, connectBy, lastActivity;
  bool connecting = false;
  bool waiting = false;  // a read of the server's bytes is pending (idle time counts)
  bool headDone = false;
  bool enrolled = false;
  HttpResponseHead head;
  std::optional<std::size_t> first;  // bytes read with the head (in scratch), for the first read()
};

Error cancelledError() {
  return Error::make(Errc::upstream_error, std::string(kCancelledMessage));
}

Error idleTimeoutError(std::chrono::milliseconds idle) {
  const double seconds = static_cast<double>(idle.count()) / 1000.0;
  return Error::make(Errc::upstream_timeout,
                     "no data from the server for " + std::to_string(seconds).substr(0, 4) + " s");
}

std::shared_ptr<ssl::context> makeTlsContext(const std::string& caFile) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  if (caFile.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(caFile, ec);
  }
  if (ec) {
    spdlog::warn("the trusted CAs could not be loaded ({}): TLS connections will fail",
                 ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  return ctx;
}

// ---- Http1Pool ------------------------------------------------------------------------------

Http1Pool::Http1Pool(asio::any_io_executor executor, std::shared_ptr<ssl::context> tls)
    : executor_(std::move(executor)), tls_(std::move(tls)) {}

Http1Pool::~Http1Pool() = default;

std::shared_ptr<Http1Transfer> Http1Pool::start(HttpRequest& request) {
  if (!request.awsSigV4.empty() || !request.userPwd.empty() || request.method == "HEAD" ||
      hasLineBreak(request.method) || request.method.empty()) {
    return nullptr;
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || hasLineBreak(name) || hasLineBreak(value)) return nullptr;
  }
  auto target = parseTarget(request.url);
  if (!target) return nullptr;
  return std::make_shared<Http1Transfer>(weak_from_this(), executor_, std::move(request),
                                         std::move(*target));
}

std::unique_ptr<Http1Conn> Http1Pool::take(const std::string& key) {
  auto it = idleByKey_.find(key);
  if (it == idleByKey_.end()) return nullptr;
  auto& kept = it->second;
  const auto now = SteadyClock::now();
  while (!kept.empty()) {
    std::unique_ptr<Http1Conn> c = std::move(kept.back());  // the most recently used
    kept.pop_back();
    --idle_;
    if (now - c->idleSince > kMaxIdleAge) continue;
    // Still open, with nothing to read: anything else (the server's close, a TLS alert)
    // means the server is done with it.
    char byte = 0;
    const ssize_t n = ::recv(c->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return c;
  }
  return nullptr;
}

void Http1Pool::put(std::unique_ptr<Http1Conn> conn) {
  if (closed_) return;
  auto& kept = idleByKey_[conn->key];
  const auto now = SteadyClock::now();
  while (!kept.empty() && now - kept.front()->idleSince > kMaxIdleAge) {
    kept.erase(kept.begin());  // the oldest first
    --idle_;
  }
  if (idle_ >= kMaxIdle) return;  // closed
  conn->idleSince = now;
  conn->reused = true;
  kept.push_back(std::move(conn));
  ++idle_;
}

void Http1Pool::enrol(Http1Transfer* t) {
  const std::lock_guard lock(activeMu_);
  active_.insert(t);
}

void Http1Pool::leave(Http1Transfer* t) {
  const std::lock_guard lock(activeMu_);
  active_.erase(t);
}

void Http1Pool::cancelAll() {
  std::vector<std::shared_ptr<Http1Transfer>> all;
  {
    const std::lock_guard lock(activeMu_);
    for (auto* t : active_) {
      if (auto alive = t->weak_from_this().lock()) all.push_back(std::move(alive));
    }
  }
  for (auto& t : all)
    t->cancel();
}

void Http1Pool::shutdown() {
  asio::post(executor_, [self = shared_from_this()] { self->closeNow(); });
}

void Http1Pool::closeNow() {
  closed_ = true;
  cancelAll();
  idleByKey_.clear();
  idle_ = 0;
}

// ---- Http1Transfer --------------------------------------------------------------------------

Http1Transfer::Http1Transfer(std::weak_ptr<Http1Pool> pool, asio::any_io_executor executor,
                             HttpRequest request, Target target)
    : pool_(std::move(pool)),
      executor_(std::move(executor)),
      request_(std::move(request)),
      s_(std::make_unique<State>(executor_)) {
  s_->target = std::move(target);
  std::string& h = s_->requestHead;
  h.reserve(128 + s_->target.path.size());
  h += request_.method;
  h += ' ';
  h += s_->target.path;
  h += " HTTP/1.1\r\nHost: ";
  h += s_->target.hostHeader;
  h += "\r\n";
  bool accept = false;
  for (const auto& [name, value] : request_.headers) {
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
    accept = accept || iequals(name, "accept");
  }
  if (!accept) h += "Accept: */*\r\n";
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT" ||
      request_.method == "PATCH") {
    h += "Content-Length: ";
    h += std::to_string(request_.body.size());
    h += "\r\n";
  }
  h += "\r\n";
}

Http1Transfer::~Http1Transfer() {
  if (s_->enrolled) {
    if (auto pool = pool_.lock()) pool->leave(this);
  }
}

void Http1Transfer::cancel() {
  if (cancelled_.exchange(true) || finished_.load()) return;
  asio::post(executor_, [self = shared_from_this()] {
    self->closeConnection();
    self->s_->watchdog.cancel();
  });
}

void Http1Transfer::closeConnection() {
  error_code ec;
  if (s_->conn) s_->conn->socket().close(ec);  // a pending operation ends (aborted)
  if (s_->resolver) s_->resolver->cancel();
}

Error Http1Transfer::failure(const char* phase, const error_code& ec) {
  if (cancelled_) return cancelledError();
  if (s_->expired) return *s_->expired;
  const std::string_view p(phase);
  if (p == "resolve") return Error::make(Errc::upstream_error, "could not resolve host");
  if (p == "connect") return Error::make(Errc::upstream_error, "could not connect");
  if (p == "tls") return Error::make(Errc::upstream_error, "TLS handshake failed");
  if (connectionLost(ec) || p == "send") {
    return Error::make(Errc::upstream_error,
                       "the connection was closed before the response was complete");
  }
  return Error::make(Errc::upstream_error, "request failed: the response could not be read");
}

void Http1Transfer::armWatchdog() {
  const auto& r = request_;
  std::optional<SteadyClock::time_point> next;
  auto sooner = [&](SteadyClock::time_point t) {
    if (!next || t < *next) next = t;
  };
  if (r.totalTimeout.count() > 0) sooner(s_->started + r.totalTimeout);
  if (s_->connecting && r.connectTimeout.count() > 0) sooner(s_->connectBy);
  if (!s_->connecting && r.idleTimeout.count() > 0) {
    // While nobody reads, the silence is the consumer's, not the server's: look again later.
    sooner((s_->waiting ? s_->lastActivity : SteadyClock::now()) + r.idleTimeout);
  }
  if (!next) return;
  s_->watchdog.expires_at(*next);
  s_->watchdog.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->finished_ || self->s_->expired) return;
    self->onWatchdog();
  });
}

void Http1Transfer::onWatchdog() {
  const auto& r = request_;
  const auto now = SteadyClock::now();
  if ((r.totalTimeout.count() > 0 && now >= s_->started + r.totalTimeout) ||
      (s_->connecting && r.connectTimeout.count() > 0 && now >= s_->connectBy)) {
    s_->expired = Error::make(Errc::upstream_timeout, "the request timed out");
  } else if (!s_->connecting && s_->waiting && r.idleTimeout.count() > 0 &&
             now - s_->lastActivity >= r.idleTimeout) {
    s_->expired = idleTimeoutError(r.idleTimeout);
  }
  if (s_->expired) {
    closeConnection();
    return;
  }
  armWatchdog();
}

void Http1Transfer::finish(bool reusable) {
  if (finished_.exchange(true)) return;
  s_->watchdog.cancel();
  auto pool = pool_.lock();
  Http1Conn* c = s_->conn.get();
  if (reusable && pool && c != nullptr && !cancelled_ && c->buffer.size() == 0 &&
      c->socket().is_open()) {
    pool->put(std::move(s_->conn));
  } else {
    closeConnection();
  }
  s_->conn.reset();
  if (s_->enrolled && pool) pool->leave(this);
  s_->enrolled = false;
}

asio::awaitable<Result<void>> Http1Transfer::connect() {
  const Target& target = s_->target;
  auto pool = pool_.lock();
  if (!pool) co_return cancelledError();
  s_->conn = std::make_unique<Http1Conn>(executor_, target.key);
  s_->connecting = true;
  s_->connectBy = SteadyClock::now() + request_.connectTimeout;
  armWatchdog();
  tcp::socket& socket = *s_->conn->plain;
  error_code notAddress;
  const auto address = asio::ip::make_address(target.host, notAddress);
  error_code ec;
  if (!notAddress) {
    const auto port = static_cast<unsigned short>(std::stoul(target.port));
    std::tie(ec) = co_await socket.async_connect(tcp::endpoint(address, port), kTuple);
    if (ec) co_return failure("connect", ec);
  } else {
    s_->resolver.emplace(executor_);
    auto [rec, results] = co_await s_->resolver->async_resolve(target.host, target.port, kTuple);
    s_->resolver.reset();
    if (rec) co_return failure(rec == asio::error::operation_aborted ? "connect" : "resolve", rec);
    if (cancelled_) co_return cancelledError();
    auto [cec, endpoint] = co_await asio::async_connect(socket, results, kTuple);
    if (cec) co_return failure("connect", cec);
  }
  if (cancelled_ || s_->expired) co_return failure("connect", {});
  socket.set_option(tcp::no_delay(true), ec);
  if (target.tls) {
    Http1Conn& c = *s_->conn;
    c.tls.emplace(std::move(*c.plain), pool->tls());
    c.plain.reset();
    if (notAddress) SSL_set_tlsext_host_name(c.tls->native_handle(), target.host.c_str());
    c.tls->set_verify_mode(ssl::verify_peer);
    c.tls->set_verify_callback(ssl::host_name_verification(target.host));
    std::tie(ec) = co_await c.tls->async_handshake(ssl::stream_base::client, kTuple);
    if (ec) co_return failure("tls", ec);
  }
  s_->connecting = false;
  armWatchdog();  // from the connect deadline back to the idle and total ones
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Http1Transfer::exchange() {
  for (int attempt = 0;; ++attempt) {
    if (cancelled_) co_return cancelledError();
    std::unique_ptr<Http1Conn> kept;
    if (attempt == 0) {
      if (auto pool = pool_.lock()) kept = pool->take(s_->target.key);
    }
    if (kept) {
      s_->conn = std::move(kept);
    } else if (auto connected = co_await connect(); !connected) {
      co_return connected;
    }
    const bool mayRetry = s_->conn->reused && attempt == 0;
    s_->parser.emplace();
    s_->parser->header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    s_->parser->body_limit(boost::none);  // a stream: the consumer bounds what it keeps
    const std::array<asio::const_buffer, 2> out{asio::buffer(s_->requestHead),
                                                asio::buffer(request_.body)};
    s_->lastActivity = SteadyClock::now();
    s_->waiting = true;
    auto [wec, written] =
        co_await s_->conn->with([&](auto& s) { return asio::async_write(s, out, kTuple); });
    if (wec) {
      s_->waiting = false;
      if (mayRetry && !cancelled_ && !s_->expired) {
        closeConnection();
        continue;
      }
      co_return failure("send", wec);
    }
    s_->lastActivity = SteadyClock::now();
    auto [rec, got] = co_await s_->conn->with(
        [&](auto& s) { return http::async_read_header(s, s_->conn->buffer, *s_->parser, kTuple); });
    s_->waiting = false;
    if (rec) {
      if (mayRetry && !cancelled_ && !s_->expired && !s_->parser->got_some() &&
          connectionLost(rec)) {
        closeConnection();
        continue;
      }
      co_return failure("head", rec);
    }
    co_return Result<void>{};
  }
}

asio::awaitable<Result<HttpResponseHead>> Http1Transfer::head() {
  if (s_->headDone) co_return s_->head;
  if (s_->error) co_return *s_->error;
  if (cancelled_) co_return cancelledError();
  auto pool = pool_.lock();
  if (!pool || pool->closed()) co_return cancelledError();
  pool->enrol(this);
  s_->enrolled = true;
  pool.reset();
  s_->started = SteadyClock::now();
  armWatchdog();
  auto done = co_await exchange();
  if (!done) {
    s_->error = std::move(done).error();
    finish(false);
    co_return *s_->error;
  }
  const auto& message = s_->parser->get();
  s_->head.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    s_->head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  // As through curl, the head counts as arrived with the first bytes of the body (or its
  // end): a server that answers with headers and then nothing fails here, before the
  // caller commits to streaming (the provider's first-chunk timeout is a 504).
  auto first = co_await readSome();
  if (!first) co_return std::move(first).error();
  s_->first = first->size();
  s_->headDone = true;
  co_return s_->head;
}

asio::awaitable<Result<std::string_view>> Http1Transfer::read() {
  if (!s_->headDone) {
    auto h = co_await head();
    if (!h) co_return std::move(h).error();
  }
  if (s_->first) {
    const std::size_t first = *s_->first;
    s_->first.reset();
    if (first > 0) co_return std::string_view(s_->scratch.data(), first);
  }
  co_return co_await readSome();
}

asio::awaitable<Result<std::string_view>> Http1Transfer::readSome() {
  for (;;) {
    if (s_->error) co_return *s_->error;
    if (finished_) co_return std::string_view();
    if (cancelled_) {
      s_->error = cancelledError();
      finish(false);
      co_return *s_->error;
    }
    if (s_->parser->is_done()) {
      finish(s_->parser->keep_alive());
      co_return std::string_view();
    }
    if (s_->scratch.size() != kReadSize) s_->scratch.resize(kReadSize);
    auto& body = s_->parser->get().body();
    body.data = s_->scratch.data();
    body.size = kReadSize;
    body.more = true;
    s_->lastActivity = SteadyClock::now();
    s_->waiting = true;
    auto [ec, n] = co_await s_->conn->with(
        [&](auto& s) { return http::async_read_some(s, s_->conn->buffer, *s_->parser, kTuple); });
    s_->waiting = false;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      s_->error = failure("body", ec);
      finish(false);
      co_return *s_->error;
    }
    s_->lastActivity = SteadyClock::now();
    const std::size_t got = kReadSize - body.size;
    if (got > 0) co_return std::string_view(s_->scratch.data(), got);
  }
}

}  // namespace atelier::net::detail
