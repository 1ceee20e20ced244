#include "support/scripted_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

namespace atelier::test {

namespace {

// Reads what is there (blocking until something is): ≤ 0 when the peer is gone.
ssize_t receive(int fd, ssl_st* tls, char* buf, std::size_t size) {
  if (tls != nullptr) return SSL_read(tls, buf, static_cast<int>(size));
  return ::recv(fd, buf, size, 0);
}

}  // namespace

TlsFiles TlsFiles::localhost() {
  const std::string dir = ATELIER_SOURCE_DIR "/server/tests/data/tls/";
  return {dir + "localhost.pem", dir + "localhost.key"};
}

std::string TlsFiles::caFile() {
  return ATELIER_SOURCE_DIR "/server/tests/data/tls/ca.pem";
}

bool ScriptedConnection::send(const std::string& bytes) {
  if (tls_ == nullptr) return sendAll(fd_, bytes);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const int n = SSL_write(tls_, bytes.data() + off, static_cast<int>(bytes.size() - off));
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
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
    if (tls_ != nullptr) {
      if (SSL_read(tls_, buf, sizeof buf) <= 0) return true;
      continue;
    }
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
  }
}

ScriptedServer::ScriptedServer(Handler handler, const TlsFiles& tls)
    : handler_(std::move(handler)) {
  if (!tls.certificate.empty()) {
    // OpenSSL writes with write(): a client gone mid-response must not kill the test binary.
    std::signal(SIGPIPE, SIG_IGN);
    tls_ = SSL_CTX_new(TLS_server_method());
    if (tls_ == nullptr || SSL_CTX_use_certificate_chain_file(tls_, tls.certificate.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("cannot load the test certificate " + tls.certificate);
    }
  }
  listener_ = std::make_unique<TcpListener>([this](int fd) { serve(fd); });
}

ScriptedServer::~ScriptedServer() {
  closing_ = true;
  listener_.reset();
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

void ScriptedServer::serve(int fd) {
  ++connections_;
  SSL* tls = nullptr;
  if (tls_ != nullptr) {
    tls = SSL_new(tls_);
    SSL_set_fd(tls, fd);
    if (SSL_accept(tls) != 1) {  // e.g. a client that does not trust the certificate
      SSL_free(tls);
      ERR_clear_error();
      ::close(fd);
      return;
    }
  }
  serveRequests(fd, tls);
  if (tls != nullptr) {
    SSL_shutdown(tls);
    SSL_free(tls);
  }
  ::close(fd);
}

void ScriptedServer::serveRequests(int fd, ssl_st* tls) {
  std::string buf;
  char tmp[16384];
  while (!closing_) {
    std::size_t headEnd;
    while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = receive(fd, tls, tmp, sizeof tmp);
      if (n <= 0) return;
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
        const ssize_t n = receive(fd, tls, tmp, sizeof tmp);
        if (n <= 0) return;
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      req.body = buf.substr(0, len);
      buf.erase(0, len);
    }
    ++requests_;
    ScriptedConnection conn(fd, tls);
    handler_(conn, req);
    if (req.headers.count("connection") && req.headers["connection"] == "close") break;
  }
}

}  // namespace atelier::test
