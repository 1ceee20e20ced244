// A tiny HTTP/1.1 server for client tests: each request goes to a handler that writes raw
// bytes (chunks, pauses, garbage, early closes) on a blocking socket, in the clear or over
// TLS (OpenSSL, a certificate from server/tests/data/tls). 127.0.0.1 only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "support/tcp_listener.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace atelier::test {

struct ScriptedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class ScriptedConnection {
 public:
  explicit ScriptedConnection(int fd, ssl_st* tls = nullptr) : fd_(fd), tls_(tls) {}
  bool send(const std::string& bytes);
  // Sends a complete response with Content-Length.
  bool respond(int status, const std::string& body, const std::string& contentType = "text/plain",
               const std::string& extraHeaders = "");
  // Chunked encoding pieces.
  bool startChunked(int status, const std::string& contentType = "text/event-stream");
  bool chunk(const std::string& data);
  bool endChunked();
  // True once the peer closed (or reset) the connection within `timeout`.
  bool peerClosedWithin(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  int fd_;
  ssl_st* tls_;
};

// The test certificate: `localhost.pem` (DNS:localhost) signed by `ca.pem`.
struct TlsFiles {
  std::string certificate, key;
  static TlsFiles localhost();
  static std::string caFile();
};

class ScriptedServer {
 public:
  using Handler = std::function<void(ScriptedConnection&, const ScriptedRequest&)>;
  explicit ScriptedServer(Handler handler, const TlsFiles& tls = {});
  ~ScriptedServer();
  std::uint16_t port() const { return listener_->port(); }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }

 private:
  void serve(int fd);
  void serveRequests(int fd, ssl_st* tls);

  Handler handler_;
  ssl_ctx_st* tls_ = nullptr;
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<bool> closing_{false};
  std::unique_ptr<TcpListener> listener_;  // last: stopped before the members it uses
};

}  // namespace atelier::test
