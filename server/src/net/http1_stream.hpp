// The outbound HTTP/1.1 path of our own, for requests whose response is streamed (the model
// providers): the consumer's coroutine writes the request and reads the response straight
// from the socket, on its own thread. Against libcurl's multi interface that saves, for every
// chunk, a hand-over through a channel, a poll() (curl asks whether more data waits) and an
// epoll_ctl() (a wait re-armed for curl), and for every request curl's set-up and two turns
// of the loop. Keep-alive connections are kept per I/O thread; TLS is OpenSSL's (the system's
// CAs, SNI, the host name checked).
//
// HttpClient picks this path (HttpClientOptions::ownHttp1) for http:// and https:// requests
// without curl-only features (AWS signatures, basic auth) when its io_contexts run one thread
// each; everything else goes through curl.
//
// Thread-safety: a Http1Pool is used on its io_context's one thread only. A Http1Transfer is
// driven by one coroutine on that thread at a time; cancel() may be called from anywhere.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/http_client.hpp"
#include "util/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace atelier::net::detail {

struct Http1Conn;
class Http1Transfer;

// The errors both paths report for a cancelled transfer and for a silent server.
Error cancelledError();
Error idleTimeoutError(std::chrono::milliseconds idle);

// A TLS client context with the system's trusted CAs (or only those of `caFile`), peers
// verified. Loads the CA files: make it before the I/O threads run.
std::shared_ptr<boost::asio::ssl::context> makeTlsContext(const std::string& caFile);

// Idle keep-alive connections of one single-threaded io_context, and the transfers in flight
// (so that shutdown can end them).
class Http1Pool : public std::enable_shared_from_this<Http1Pool> {
 public:
  // Idle connections kept, in all, and how long one may sit idle before it is closed (servers
  // close theirs after a while; a connection older than that is not worth the risk).
  static constexpr std::size_t kMaxIdle = 256;
  static constexpr std::chrono::seconds kMaxIdleAge{50};

  Http1Pool(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls);
  ~Http1Pool();
  Http1Pool(const Http1Pool&) = delete;
  Http1Pool& operator=(const Http1Pool&) = delete;

  // A transfer for `request` (moved from only then, else untouched), or null when the request needs
  // curl: a scheme other than http/https, user info in the URL, an AWS signature or basic auth,
  // HEAD, a header that would not survive the wire. Nothing is sent before head() or read().
  std::shared_ptr<Http1Transfer> start(HttpRequest& request);
  // Ends every transfer in flight (they fail with kCancelledMessage) and closes the idle
  // connections, on the pool's thread. Thread-safe.
  void shutdown();
  // The same, at once: on the pool's thread, or when nothing else can use it any more.
  void closeNow();
  bool closed() const { return closed_; }

  boost::asio::ssl::context& tls() const { return *tls_; }
  std::size_t idleCount() const { return idle_; }

  // For transfers: an idle connection to `key` that is still open, or null.
  std::unique_ptr<Http1Conn> take(const std::string& key);
  // For transfers: a connection whose response ended cleanly, for the next request.
  void put(std::unique_ptr<Http1Conn> conn);
  void enrol(Http1Transfer* t);
  void leave(Http1Transfer* t);

 private:
  void cancelAll();

  boost::asio::any_io_executor executor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Http1Conn>>> idleByKey_;
  std::size_t idle_ = 0;
  bool closed_ = false;
  std::mutex activeMu_;  // transfers enrol on the pool's thread but may end on another
  std::unordered_set<Http1Transfer*> active_;
};

class Http1Transfer : public std::enable_shared_from_this<Http1Transfer> {
 public:
  struct Target;  // where the request goes, from its URL

  Http1Transfer(std::weak_ptr<Http1Pool> pool, boost::asio::any_io_executor executor,
                HttpRequest request, Target target);
  ~Http1Transfer();
  Http1Transfer(const Http1Transfer&) = delete;
  Http1Transfer& operator=(const Http1Transfer&) = delete;

  // Sends the request (on a kept connection if there is one) and reads the response's head,
  // and with it the first bytes of the body (or its end).
  boost::asio::awaitable<Result<HttpResponseHead>> head();
  // The next body bytes, valid until the next call; "" once the body is complete (the
  // connection is then kept).
  boost::asio::awaitable<Result<std::string_view>> read();
  void cancel();  // thread-safe, idempotent
  bool cancelled() const noexcept { return cancelled_.load(); }

 private:
  boost::asio::awaitable<Result<std::string_view>> readSome();  // "" at the end
  boost::asio::awaitable<Result<void>> exchange();
  boost::asio::awaitable<Result<void>> connect();
  Error failure(const char* phase, const boost::system::error_code& ec);
  void armWatchdog();
  void onWatchdog();
  void closeConnection();
  void finish(bool reusable);

  std::weak_ptr<Http1Pool> pool_;
  boost::asio::any_io_executor executor_;
  HttpRequest request_;
  std::atomic<bool> cancelled_{false};
  // The transfer is over (set on the executor; read anywhere: cancel() then need not post).
  std::atomic<bool> finished_{false};

  // Touched on the executor's thread only.
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace atelier::net::detail
