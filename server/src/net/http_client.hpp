// The outbound HTTP client: libcurl's multi interface driven by Asio (sockets and timers
// are Asio's; curl never blocks a thread), and for plain streamed requests an HTTP/1.1 path
// of our own (HttpClientOptions::ownHttp1). Used for the model providers, S3 and anything
// else the server calls.
//
// Thread-safety: HttpClient may be used from coroutines on any executor of its io_context.
// All curl calls happen on the client's own strand (or, with serialExecutors, on the one
// thread of its io_context). An HttpStream is consumed by one coroutine at a time; cancel()
// may be called from anywhere.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace atelier::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds connectTimeout{10'000};
  std::chrono::milliseconds totalTimeout{0};  // whole exchange; 0 = none
  std::chrono::milliseconds idleTimeout{
      0};  // longest silence before the head or between body bytes; 0 = none
  std::size_t maxBodyBytes = std::size_t{16} * 1024 * 1024;  // fetch() only
  std::string awsSigV4;  // e.g. "aws:amz:us-east-1:s3" (CURLOPT_AWS_SIGV4)
  std::string userPwd;   // "key:secret" (CURLOPT_USERPWD)
};

struct HttpResponseHead {
  int status = 0;
  HeaderList headers;
  // Case-insensitive; the last header of that name.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  HttpResponseHead head;
  std::string body;
};

struct HttpClientOptions {
  // Body chunks (each up to 16 KiB, libcurl's write size) a stream holds before the transfer
  // is paused until the consumer reads: the bound on buffered bytes per stream.
  std::size_t bufferedChunks = 64;
  long maxTotalConnections = 0;  // 0: no limit
  long maxHostConnections = 0;
  // Each executor's io_context is run by one thread only: the transfers and curl need no
  // strand of their own (a strand costs a lock and a hand-over on every socket event).
  bool serialExecutors = false;
  // With serialExecutors: streamed requests that need nothing of curl's (see Http1Pool::start)
  // go over an HTTP/1.1 client of our own, read by the consumer's coroutine straight from the
  // socket, with keep-alive connections per thread (net/http1_stream.hpp).
  bool ownHttp1 = false;
  // The CAs that TLS peers are checked against; empty: the system's. (Tests.)
  std::string caFile;
};

// The message of the error a cancelled stream reports (Errc::upstream_error).
inline constexpr std::string_view kCancelledMessage = "cancelled";

namespace detail {
struct Transfer;
class ClientImpl;
class Http1Transfer;
}  // namespace detail

// One request in flight with a streaming body. Destroying it cancels the transfer.
//
// An HTTP error status is not an error here: head() returns it and the body is readable.
// Errors: Errc::upstream_timeout for connect/idle/total timeouts; Errc::upstream_error
// otherwise, with a short message ("could not connect", "could not resolve host",
// "TLS handshake failed", kCancelledMessage, …) that never contains the URL.
class HttpStream {
 public:
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Waits for the status line and headers.
  boost::asio::awaitable<Result<HttpResponseHead>> head();
  // The next body bytes as they arrive, valid until the next call on this stream (they are
  // not copied out of the read buffer); "" once the body is complete.
  boost::asio::awaitable<Result<std::string_view>> read();
  // Ends the transfer; a pending or later head()/read() fails with kCancelledMessage.
  // Thread-safe, idempotent.
  void cancel();
  bool cancelled() const noexcept;

 private:
  friend class HttpClient;
  explicit HttpStream(std::shared_ptr<detail::Transfer> t) : t_(std::move(t)) {}
  explicit HttpStream(std::shared_ptr<detail::Http1Transfer> h) : h_(std::move(h)) {}
  void resumeIfStalled();
  std::shared_ptr<detail::Transfer> t_;       // through curl, or
  std::shared_ptr<detail::Http1Transfer> h_;  // over our own HTTP/1.1
  std::optional<HttpResponseHead> head_;
  std::string data_;  // the bytes the last read() returned (through curl)
  bool ended_ = false;
};

// Whether the environment names a proxy that libcurl would use (http_proxy, HTTPS_PROXY,
// ALL_PROXY, in either case).
bool proxyConfigured();

class HttpClient {
 public:
  explicit HttpClient(boost::asio::any_io_executor ex, const HttpClientOptions& options = {});
  // One curl multi handle (and connection cache) per executor; a request is run by the one
  // whose io_context runs the calling thread (else the first), so a stream's chunks stay on
  // the thread that relays them.
  explicit HttpClient(const std::vector<boost::asio::any_io_executor>& executors,
                      const HttpClientOptions& options = {});
  ~HttpClient();  // cancels every transfer
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the request; its progress is read through the stream.
  std::unique_ptr<HttpStream> start(HttpRequest request);
  // The whole response; a body over request.maxBodyBytes fails (upstream_error).
  boost::asio::awaitable<Result<HttpResponse>> fetch(HttpRequest request);
  // Cancels every transfer in flight. Thread-safe, idempotent.
  void shutdown();
  // Cancels everything and closes every connection, on the client's strand, while the
  // io_context still runs; completes when done. Call it before the io_context stops.
  boost::asio::awaitable<void> close();

 private:
  std::vector<std::shared_ptr<detail::ClientImpl>> impls_;
};

}  // namespace atelier::net
