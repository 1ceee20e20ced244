#include "net/http_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "net/http1_stream.hpp"
#include "util/text.hpp"

namespace atelier::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::optional<std::string_view> HttpResponseHead::header(std::string_view name) const {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) found = v;
  }
  return found;
}

namespace detail {

// What a transfer hands its consumer, in order: one head, then data…, then end or error.
struct Event {
  enum class Kind { head, data, end, error } kind = Kind::data;
  HttpResponseHead head;
  std::string data;
  Error error;
};

using Channel = asio::experimental::concurrent_channel<void(error_code, Event)>;

struct Transfer : std::enable_shared_from_this<Transfer> {
  Transfer(const asio::any_io_executor& strand, std::size_t capacity, HttpRequest r)
      : request(std::move(r)), channel(strand, capacity), idleTimer(strand) {}
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headerList) curl_slist_free_all(headerList);
  }

  HttpRequest request;
  Channel channel;
  asio::steady_timer idleTimer;
  std::weak_ptr<ClientImpl> client;
  std::atomic<bool> cancelled{false};
  // Set on the strand when an event waits for room in the channel (or curl is paused): the
  // consumer then asks the strand to go on after its next receive, and only then (not a post
  // per chunk). The channel holds at least two events, so a receive always follows the set.
  std::atomic<bool> stalled{false};

  // Touched on the client's strand only (curl callbacks run there too).
  CURL* easy = nullptr;
  curl_slist* headerList = nullptr;
  HttpResponseHead head;
  bool headSent = false;
  bool paused = false;
  bool finished = false;
  std::optional<Event> pendingHead;
  std::optional<Event> pendingFinal;
  std::chrono::steady_clock::time_point lastActivity = std::chrono::steady_clock::now();

  // Queues what could not be sent for lack of room; true when everything is out.
  bool flushPending() {
    if (pendingHead) {
      if (!channel.try_send(error_code{}, std::move(*pendingHead))) return stall();
      pendingHead.reset();
    }
    if (pendingFinal) {
      if (!channel.try_send(error_code{}, std::move(*pendingFinal))) return stall();
      pendingFinal.reset();
    }
    return true;
  }
  bool stall() {
    stalled.store(true, std::memory_order_release);
    return false;
  }
};

namespace {

std::once_flag gCurlInit;

Error transferError(CURLcode code, const Transfer& t) {
  if (t.cancelled) return Error::make(Errc::upstream_error, std::string(kCancelledMessage));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error::make(Errc::upstream_timeout, "the request timed out");
    case CURLE_COULDNT_CONNECT:  // refused, unreachable, or no socket to be had (EMFILE)
      return Error::make(Errc::upstream_error, "could not connect");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Error::make(Errc::upstream_error, "could not resolve host");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return Error::make(Errc::upstream_error, "TLS handshake failed");
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return Error::make(Errc::upstream_error,
                         "the connection was closed before the response was complete");
    default:
      return Error::make(Errc::upstream_error,
                         std::string("request failed: ") + curl_easy_strerror(code));
  }
}

}  // namespace

class ClientImpl : public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(const asio::any_io_executor& ex, HttpClientOptions options,
             const std::shared_ptr<asio::ssl::context>& tls)
      : ex_(ex),
        strand_(options.serialExecutors ? ex : asio::any_io_executor(asio::make_strand(ex))),
        options_(std::move(options)),
        timer_(strand_) {
    if (tls) pool_ = std::make_shared<Http1Pool>(ex, tls);
    std::call_once(gCurlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &ClientImpl::onSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &ClientImpl::onTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    if (options_.maxTotalConnections > 0) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options_.maxTotalConnections);
    }
    if (options_.maxHostConnections > 0) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.maxHostConnections);
    }
  }

  ~ClientImpl() { closeNow(); }

  // Whether this thread runs the io_context the client was made for.
  bool runsHere() const {
    const auto* io = ex_.target<asio::io_context::executor_type>();
    return io != nullptr && io->running_in_this_thread();
  }

  // Removes every transfer and closes every connection. Runs on the strand (or when
  // nothing else can touch the client any more). Idempotent.
  void closeNow() {
    if (pool_) pool_->closeNow();
    if (multi_ == nullptr) return;
    std::vector<std::shared_ptr<Transfer>> all;
    for (auto& [easy, t] : transfers_)
      all.push_back(t);
    for (auto& t : all) {
      t->cancelled = true;
      fail(*t, Error::make(Errc::upstream_error, std::string(kCancelledMessage)));
    }
    transfers_.clear();
    timer_.cancel();
    // Closes curl's cached connections through onCloseSocket while sockets_ still knows them.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    sockets_.clear();
  }

  asio::any_io_executor strand() const { return strand_; }
  std::size_t capacity() const { return std::max<std::size_t>(2, options_.bufferedChunks); }

  void add(std::shared_ptr<Transfer> t) {
    // Started from this client's own thread (a coroutine, never inside curl): no turn of the
    // loop in between. Anywhere else: through the strand.
    if (options_.serialExecutors && runsHere()) {
      addOnStrand(t);
      return;
    }
    asio::post(strand_, [self = shared_from_this(), t = std::move(t)] { self->addOnStrand(t); });
  }

  // Consumer made room: unpause, and deliver what waited for room.
  void resume(std::shared_ptr<Transfer> t) {
    asio::post(strand_, [self = shared_from_this(), t = std::move(t)] {
      t->flushPending();
      if (t->paused && !t->finished && t->easy) {
        t->paused = false;
        t->lastActivity = std::chrono::steady_clock::now();
        curl_easy_pause(t->easy, CURLPAUSE_CONT);
        self->checkDone();
      }
    });
  }

  void cancel(std::shared_ptr<Transfer> t) {
    asio::post(strand_, [self = shared_from_this(), t = std::move(t)] {
      self->fail(*t, Error::make(Errc::upstream_error, std::string(kCancelledMessage)));
    });
  }

  Http1Pool* pool() const { return pool_.get(); }

  void shutdown() {
    if (pool_) pool_->shutdown();
    asio::post(strand_, [self = shared_from_this()] {
      if (self->multi_ == nullptr) return;
      std::vector<std::shared_ptr<Transfer>> all;
      for (auto& [easy, t] : self->transfers_)
        all.push_back(t);
      for (auto& t : all) {
        t->cancelled = true;
        self->fail(*t, Error::make(Errc::upstream_error, std::string(kCancelledMessage)));
      }
      self->timer_.cancel();
    });
  }

 private:
  struct SocketState {
    std::unique_ptr<tcp::socket> socket;
    std::uint64_t generation = 0;  // a reused fd number is a different socket
    int want = 0;                  // CURL_POLL_*
    bool reading = false;
    bool writing = false;
  };

  void addOnStrand(const std::shared_ptr<Transfer>& t) {
    if (t->cancelled || multi_ == nullptr) {
      fail(*t, Error::make(Errc::upstream_error, std::string(kCancelledMessage)));
      return;
    }
    CURL* easy = curl_easy_init();
    t->easy = easy;
    const auto& r = t->request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    if (!options_.caFile.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.caFile.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connectTimeout.count()));
    if (r.totalTimeout.count() > 0)
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.totalTimeout.count()));
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    for (const auto& [k, v] : r.headers) {
      std::string line = k;
      line += ": ";
      line += v;
      t->headerList = curl_slist_append(t->headerList, line.c_str());
    }
    t->headerList = curl_slist_append(t->headerList, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headerList);
    if (!r.awsSigV4.empty()) curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, r.awsSigV4.c_str());
    if (!r.userPwd.empty()) curl_easy_setopt(easy, CURLOPT_USERPWD, r.userPwd.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &ClientImpl::onWrite);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &ClientImpl::onHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &ClientImpl::onOpenSocket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &ClientImpl::onCloseSocket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    t->client = weak_from_this();
    transfers_.emplace(easy, t);
    if (r.idleTimeout.count() > 0) armIdle(t, r.idleTimeout);
    inCurl_ = true;
    const CURLMcode added = curl_multi_add_handle(multi_, easy);
    inCurl_ = false;
    if (added != CURLM_OK) {
      fail(*t, Error::make(Errc::upstream_error, "request failed: cannot start the transfer"));
      return;
    }
    if (std::exchange(actNow_, false)) {
      // curl asked to act at once (onTimer with 0): the request goes out now, not a turn later.
      int running = 0;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      checkDone();
    }
  }

  void armIdle(const std::shared_ptr<Transfer>& t, std::chrono::milliseconds after) {
    t->idleTimer.expires_after(after);
    t->idleTimer.async_wait([self = shared_from_this(), t](error_code ec) {
      if (ec || t->finished) return;
      const auto idle = t->request.idleTimeout;
      if (t->paused) {
        self->armIdle(t, idle);  // the consumer is slow, not the server
        return;
      }
      const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t->lastActivity);
      if (silent >= idle) {
        self->fail(*t, idleTimeoutError(idle));
      } else {
        self->armIdle(t, idle - silent);
      }
    });
  }

  // Ends a transfer with an error (once): removes it from curl and tells the consumer.
  void fail(Transfer& t, Error error) {
    if (t.finished) return;
    finish(t);
    Event ev;
    ev.kind = Event::Kind::error;
    ev.error = std::move(error);
    t.pendingFinal = std::move(ev);
    t.flushPending();
    if (t.cancelled) t.channel.cancel();
  }

  void finish(Transfer& t) {
    t.finished = true;
    t.idleTimer.cancel();
    if (t.easy) {
      curl_multi_remove_handle(multi_, t.easy);
      transfers_.erase(t.easy);
    }
  }

  void checkDone() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto it = transfers_.find(msg->easy_handle);
      if (it == transfers_.end()) continue;
      std::shared_ptr<Transfer> t = it->second;
      const CURLcode code = msg->data.result;
      if (code != CURLE_OK) {
        fail(*t, transferError(code, *t));
        continue;
      }
      finish(*t);
      if (!t->headSent) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        t->head.status = static_cast<int>(status);
        Event h;
        h.kind = Event::Kind::head;
        h.head = t->head;
        t->pendingHead = std::move(h);
        t->headSent = true;
      }
      Event end;
      end.kind = Event::Kind::end;
      t->pendingFinal = std::move(end);
      t->flushPending();
    }
  }

  // ---- curl callbacks (all run on the strand, inside curl_multi_socket_action) ----------

  static size_t onHeader(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::string_view line(data, size * n);
    t->lastActivity = std::chrono::steady_clock::now();
    if (line.rfind("HTTP/", 0) == 0) {
      t->head.headers.clear();  // a new response (after 100 Continue or a redirect)
      const auto sp = line.find(' ');
      if (sp != std::string_view::npos)
        t->head.status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
      return size * n;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view value = trimEnd(trimStart(line.substr(colon + 1)), "\r\n ");
      t->head.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return size * n;
  }

  static size_t onWrite(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t len = size * n;
    if (t->cancelled) return 0;  // aborts the transfer
    t->lastActivity = std::chrono::steady_clock::now();
    if (!t->headSent) {
      Event h;
      h.kind = Event::Kind::head;
      h.head = t->head;
      if (!t->channel.try_send(error_code{}, std::move(h))) {
        t->paused = true;
        t->stall();
        return CURL_WRITEFUNC_PAUSE;
      }
      t->headSent = true;
    }
    Event d;
    d.kind = Event::Kind::data;
    d.data.assign(data, len);
    if (!t->channel.try_send(error_code{}, std::move(d))) {
      t->paused = true;  // curl keeps this data and hands it over again on resume
      t->stall();
      return CURL_WRITEFUNC_PAUSE;
    }
    return len;
  }

  static curl_socket_t onOpenSocket(void* userp, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<ClientImpl*>(userp);
    if (purpose != CURLSOCKTYPE_IPCXN ||
        (address->family != AF_INET && address->family != AF_INET6)) {
      return CURL_SOCKET_BAD;
    }
    error_code ec;
    auto socket = std::make_unique<tcp::socket>(self->strand_);
    socket->open(address->family == AF_INET ? tcp::v4() : tcp::v6(), ec);
    if (ec) return CURL_SOCKET_BAD;
    const curl_socket_t fd = socket->native_handle();
    auto& state = self->sockets_[fd];
    state.socket = std::move(socket);
    state.generation = ++self->generation_;
    return fd;
  }

  static int onCloseSocket(void* userp, curl_socket_t fd) {
    auto* self = static_cast<ClientImpl*>(userp);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end()) return ::close(fd);
    error_code ec;
    it->second.socket->close(ec);  // cancels pending waits
    self->sockets_.erase(it);
    return 0;
  }

  static int onSocket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<ClientImpl*>(userp);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end()) return 0;
    SocketState& s = it->second;
    s.want = what == CURL_POLL_REMOVE ? 0 : what;
    if (what == CURL_POLL_REMOVE) {
      error_code ec;
      s.socket->cancel(ec);
      s.reading = s.writing = false;
      return 0;
    }
    self->watch(fd);
    return 0;
  }

  // Waits for the readiness curl asked for on `fd`, then lets curl act.
  void watch(curl_socket_t fd) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    SocketState& s = it->second;
    const auto gen = s.generation;
    if ((s.want & CURL_POLL_IN) && !s.reading) {
      s.reading = true;
      s.socket->async_wait(tcp::socket::wait_read,
                           [self = shared_from_this(), fd, gen](error_code ec) {
                             self->onReady(fd, gen, ec, CURL_CSELECT_IN, &SocketState::reading);
                           });
    }
    if ((s.want & CURL_POLL_OUT) && !s.writing) {
      s.writing = true;
      s.socket->async_wait(tcp::socket::wait_write,
                           [self = shared_from_this(), fd, gen](error_code ec) {
                             self->onReady(fd, gen, ec, CURL_CSELECT_OUT, &SocketState::writing);
                           });
    }
  }

  void onReady(curl_socket_t fd, std::uint64_t gen, error_code ec, int event,
               bool SocketState::*flag) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second.generation != gen) return;  // closed (or fd reused)
    it->second.*flag = false;
    if (ec == asio::error::operation_aborted) return;
    int running = 0;
    curl_multi_socket_action(multi_, fd, ec ? CURL_CSELECT_ERR : event, &running);
    checkDone();
    watch(fd);  // curl may still want this socket
  }

  static int onTimer(CURLM*, long timeoutMs, void* userp) {
    auto* self = static_cast<ClientImpl*>(userp);
    self->timer_.cancel();
    if (timeoutMs < 0) return 0;
    auto fire = [weak = self->weak_from_this()](error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->multi_ == nullptr) return;
      int running = 0;
      curl_multi_socket_action(s->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      s->checkDone();
    };
    if (timeoutMs == 0 && self->inCurl_) {
      self->actNow_ = true;  // a transfer being added: addOnStrand acts when curl returns
      return 0;
    }
    if (timeoutMs == 0) {
      // "Act now": the next turn of the loop, not a timer's.
      asio::post(self->strand_, [fire] { fire(error_code{}); });
      return 0;
    }
    self->timer_.expires_after(std::chrono::milliseconds(timeoutMs));
    self->timer_.async_wait(fire);
    return 0;
  }

  asio::any_io_executor ex_;
  // Where everything of this client runs: a strand on ex_, or ex_ itself when its io_context
  // has one thread (HttpClientOptions::serialExecutors). "The strand" below means this.
  asio::any_io_executor strand_;
  HttpClientOptions options_;
  CURLM* multi_ = nullptr;
  asio::steady_timer timer_;
  std::unordered_map<CURL*, std::shared_ptr<Transfer>> transfers_;
  std::unordered_map<curl_socket_t, SocketState> sockets_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<Http1Pool> pool_;  // with HttpClientOptions::ownHttp1
  bool inCurl_ = false;              // inside curl_multi_add_handle (on the strand)
  bool actNow_ = false;              // curl asked for an immediate timeout while inCurl_
};

}  // namespace detail

// ---- HttpStream ------------------------------------------------------------------------------

HttpStream::~HttpStream() {
  cancel();
}

bool HttpStream::cancelled() const noexcept {
  return h_ ? h_->cancelled() : t_->cancelled.load();
}

void HttpStream::cancel() {
  if (h_) {
    h_->cancel();
    return;
  }
  if (t_->cancelled.exchange(true)) return;
  t_->channel.cancel();
  if (auto client = t_->client.lock()) client->cancel(t_);
}

void HttpStream::resumeIfStalled() {
  if (!t_->stalled.exchange(false, std::memory_order_acq_rel)) return;
  if (auto client = t_->client.lock()) client->resume(t_);
}

using detail::cancelledError;

asio::awaitable<Result<HttpResponseHead>> HttpStream::head() {
  if (h_) {
    co_return co_await h_->head();
  }
  if (head_) co_return *head_;
  if (t_->cancelled) co_return cancelledError();
  auto [ec, ev] = co_await t_->channel.async_receive(asio::as_tuple(asio::use_awaitable));
  resumeIfStalled();
  if (ec || t_->cancelled) co_return cancelledError();
  if (ev.kind == detail::Event::Kind::error) {
    ended_ = true;
    co_return std::move(ev.error);
  }
  head_ = std::move(ev.head);  // the first event is always the head
  co_return *head_;
}

asio::awaitable<Result<std::string_view>> HttpStream::read() {
  if (h_) {
    co_return co_await h_->read();
  }
  if (!head_) {
    auto h = co_await head();
    if (!h) co_return std::move(h).error();
  }
  if (ended_) co_return std::string_view();
  if (t_->cancelled) co_return cancelledError();
  auto [ec, ev] = co_await t_->channel.async_receive(asio::as_tuple(asio::use_awaitable));
  resumeIfStalled();
  if (ec || t_->cancelled) co_return cancelledError();
  switch (ev.kind) {
    case detail::Event::Kind::data:
      data_ = std::move(ev.data);
      co_return std::string_view(data_);
    case detail::Event::Kind::end:
      ended_ = true;
      co_return std::string_view();
    case detail::Event::Kind::error:
      ended_ = true;
      co_return std::move(ev.error);
    case detail::Event::Kind::head:
      break;
  }
  co_return Error::make(Errc::upstream_error, "unexpected response event");
}

// ---- HttpClient ------------------------------------------------------------------------------

bool proxyConfigured() {
  for (const char* name :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
    if (v != nullptr && *v != '\0') return true;
  }
  return false;
}

HttpClient::HttpClient(asio::any_io_executor ex, const HttpClientOptions& options)
    : HttpClient(std::vector<asio::any_io_executor>{std::move(ex)}, options) {}

HttpClient::HttpClient(const std::vector<asio::any_io_executor>& executors,
                       const HttpClientOptions& options) {
  // One TLS context for every thread's connections, its CAs loaded here, before any I/O.
  std::shared_ptr<asio::ssl::context> tls;
  if (options.ownHttp1 && options.serialExecutors) tls = detail::makeTlsContext(options.caFile);
  for (const auto& ex : executors)
    impls_.push_back(std::make_shared<detail::ClientImpl>(ex, options, tls));
}

HttpClient::~HttpClient() {
  shutdown();
}

void HttpClient::shutdown() {
  for (auto& impl : impls_)
    impl->shutdown();
}

asio::awaitable<void> HttpClient::close() {
  for (const auto& i : impls_) {
    auto impl = i;
    // Named, not a temporary: g++ 12 can destroy temporaries of a co_await expression twice
    // (here: release the captured shared_ptr twice).
    auto job = [impl]() -> asio::awaitable<void> {
      impl->closeNow();
      co_return;
    };
    co_await asio::co_spawn(impl->strand(), std::move(job), asio::use_awaitable);
  }
}

std::unique_ptr<HttpStream> HttpClient::start(HttpRequest request) {
  // The transfer runs where its caller runs: the chunks it reads never cross threads.
  const auto here =
      std::find_if(impls_.begin(), impls_.end(), [](const auto& i) { return i->runsHere(); });
  const auto& impl = here != impls_.end() ? *here : impls_.front();
  // Our own HTTP/1.1 runs in the consumer's coroutine: on the pool's thread, which is where
  // the caller is, or the only one there is.
  if (auto* pool = impl->pool(); pool != nullptr && (here != impls_.end() || impls_.size() == 1)) {
    if (auto h = pool->start(request)) {
      return std::unique_ptr<HttpStream>(new HttpStream(std::move(h)));
    }
  }
  auto t = std::make_shared<detail::Transfer>(impl->strand(), impl->capacity(), std::move(request));
  t->client = impl;
  impl->add(t);
  return std::unique_ptr<HttpStream>(new HttpStream(std::move(t)));
}

asio::awaitable<Result<HttpResponse>> HttpClient::fetch(HttpRequest request) {
  const std::size_t limit = request.maxBodyBytes;
  auto stream = start(std::move(request));
  auto head = co_await stream->head();
  if (!head) co_return std::move(head).error();
  HttpResponse out;
  out.head = std::move(head).value();
  for (;;) {
    auto chunk = co_await stream->read();
    if (!chunk) co_return std::move(chunk).error();
    if (chunk->empty()) break;
    if (out.body.size() + chunk->size() > limit) {
      stream->cancel();
      co_return Error::make(Errc::upstream_error,
                            "the response body exceeds " + std::to_string(limit) + " bytes");
    }
    out.body += *chunk;
  }
  co_return out;
}

}  // namespace atelier::net
