#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "support/tcp_listener.hpp"

namespace atelier::test {

std::optional<std::string> RawResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return v;
    }
  }
  return std::nullopt;
}

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send(const std::string& bytes) {
  return sendAll(fd_, bytes);
}

bool RawClient::fill(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char tmp[16384];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::string RawClient::readOnce(std::chrono::milliseconds timeout) {
  if (buf_.empty()) (void)fill(std::chrono::steady_clock::now() + timeout);
  return std::exchange(buf_, std::string());
}

std::optional<RawResponse> RawClient::read(std::chrono::milliseconds timeout) {
  return readResponse(timeout, true);
}

std::optional<RawResponse> RawClient::readHead(std::chrono::milliseconds timeout) {
  return readResponse(timeout, false);
}

std::optional<RawResponse> RawClient::readResponse(std::chrono::milliseconds timeout,
                                                   bool withBody) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t headEnd;
  while ((headEnd = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return std::nullopt;
  }
  RawResponse r;
  const std::string head = buf_.substr(0, headEnd);
  buf_.erase(0, headEnd + 4);
  std::size_t lineEnd = head.find("\r\n");
  const std::string statusLine = head.substr(0, lineEnd);
  if (statusLine.size() < 12) return std::nullopt;
  r.status = std::stoi(statusLine.substr(9, 3));
  while (lineEnd != std::string::npos) {
    const std::size_t start = lineEnd + 2;
    lineEnd = head.find("\r\n", start);
    const std::string line =
        head.substr(start, lineEnd == std::string::npos ? std::string::npos : lineEnd - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ')
      v.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), v);
  }
  if (!withBody) return r;
  if (auto te = r.header("Transfer-Encoding"); te && te->find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t le;
      while ((le = buf_.find("\r\n")) == std::string::npos) {
        if (!fill(deadline)) return std::nullopt;
      }
      const std::size_t size = std::stoul(buf_.substr(0, le), nullptr, 16);
      while (buf_.size() < le + 2 + size + 2) {
        if (!fill(deadline)) return std::nullopt;
      }
      r.body += buf_.substr(le + 2, size);
      buf_.erase(0, le + 2 + size + 2);
      if (size == 0) break;
    }
  } else if (auto cl = r.header("Content-Length")) {
    const std::size_t len = std::stoul(*cl);
    while (buf_.size() < len) {
      if (!fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
  }
  return r;
}

bool RawClient::closedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[4096];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
  }
}

std::optional<RawResponse> rawRequest(std::uint16_t port, const std::string& bytes) {
  RawClient c(port);
  if (!c.connected() || !c.send(bytes)) return std::nullopt;
  return c.read();
}

std::string get(const std::string& path, const std::string& extraHeaders) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extraHeaders + "\r\n";
}

}  // namespace atelier::test
