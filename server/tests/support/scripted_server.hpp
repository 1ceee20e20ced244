// A tiny HTTP/1.1 server for client tests: each request goes to a handler that writes raw
// bytes (chunks, pauses, garbage, early closes) on a blocking socket. 127.0.0.1 only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "support/tcp_listener.hpp"

namespace atelier::test {

struct ScriptedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class ScriptedConnection {
 public:
  explicit ScriptedConnection(int fd) : fd_(fd) {}
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
};

class ScriptedServer {
 public:
  using Handler = std::function<void(ScriptedConnection&, const ScriptedRequest&)>;
  explicit ScriptedServer(Handler handler);
  ~ScriptedServer();
  std::uint16_t port() const { return listener_->port(); }
  int requests() const { return requests_.load(); }

 private:
  void serve(int fd);

  Handler handler_;
  std::atomic<int> requests_{0};
  std::atomic<bool> closing_{false};
  std::unique_ptr<TcpListener> listener_;  // last: stopped before the members it uses
};

}  // namespace atelier::test
