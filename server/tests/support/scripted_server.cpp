#include "support/scripted_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace atelier::test {

bool ScriptedConnection::send(const std::string& bytes) {
  return sendAll(fd_, bytes);
}

bool ScriptedConnection::respond(int status, const std::string& body,
                                 const std::string& contentType, const std::string& extraHeaders) {
  return send("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + contentType +
              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extraHeaders +
              "\r\n" + body);
}

bool ScriptedConnection::startChunked(int status, const std::string& contentType) {
  return send("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + contentType +
              "\r\nTransfer-Encoding: chunked\r\n\r\n");
}

bool ScriptedConnection::chunk(const std::string& data) {
  char head[32];
  std::snprintf(head, sizeof head, "%zx\r\n", data.size());
  return send(head + data + "\r\n");
}

bool ScriptedConnection::endChunked() {
  return send("0\r\n\r\n");
}

bool ScriptedConnection::peerClosedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
  }
}

ScriptedServer::ScriptedServer(Handler handler)
    : handler_(std::move(handler)),
      listener_(std::make_unique<TcpListener>([this](int fd) { serve(fd); })) {}

ScriptedServer::~ScriptedServer() {
  closing_ = true;
  listener_.reset();
}

void ScriptedServer::serve(int fd) {
  std::string buf;
  char tmp[16384];
  while (!closing_) {
    std::size_t headEnd;
    while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    ScriptedRequest req;
    const std::string head = buf.substr(0, headEnd);
    buf.erase(0, headEnd + 4);
    std::size_t lineEnd = head.find("\r\n");
    const std::string first = head.substr(0, lineEnd);
    req.method = first.substr(0, first.find(' '));
    req.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    while (lineEnd != std::string::npos) {
      const std::size_t start = lineEnd + 2;
      lineEnd = head.find("\r\n", start);
      const std::string line =
          head.substr(start, lineEnd == std::string::npos ? std::string::npos : lineEnd - start);
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(c));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      req.headers[name] = value;
    }
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      const std::size_t len = std::stoul(it->second);
      while (buf.size() < len) {
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) {
          ::close(fd);
          return;
        }
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      req.body = buf.substr(0, len);
      buf.erase(0, len);
    }
    ++requests_;
    ScriptedConnection conn(fd);
    handler_(conn, req);
    if (req.headers.count("connection") && req.headers["connection"] == "close") break;
  }
  ::close(fd);
}

}  // namespace atelier::test
