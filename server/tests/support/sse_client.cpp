#include "support/sse_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include "support/tcp_listener.hpp"

namespace atelier::test {

boost::json::value SseEventRecord::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(data, ec);
  return ec ? boost::json::value(nullptr) : v;
}

SseClient::SseClient(std::uint16_t port, const std::string& path, const std::string& jsonBody,
                     const std::string& token, const std::string& method,
                     const std::string& extraHeaders) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
  sendAll(fd_, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                   token + "\r\n" + extraHeaders +
                   (method == "GET" ? std::string("Accept: text/event-stream\r\n\r\n")
                                    : "Content-Type: application/json\r\nAccept: "
                                      "text/event-stream\r\nContent-Length: " +
                                          std::to_string(jsonBody.size()) + "\r\n\r\n" + jsonBody));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t headEnd;
  while ((headEnd = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!fillBody(deadline)) return;
  }
  RawResponse h;
  const std::string head = raw_.substr(0, headEnd);
  raw_.erase(0, headEnd + 4);
  h.status = std::stoi(head.substr(9, 3));
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    const std::size_t start = pos + 2;
    pos = head.find("\r\n", start);
    const std::string line =
        head.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ')
        v.erase(0, 1);
      h.headers.emplace_back(line.substr(0, colon), v);
    }
  }
  head_ = h;
  if (auto cl = h.header("Content-Length")) {
    const std::size_t len = std::stoul(*cl);
    while (raw_.size() < len && fillBody(deadline)) {
    }
    errorBody_ = raw_.substr(0, len);
    ended_ = true;
  }
}

bool SseClient::fillBody(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0 || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char tmp[16384];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  raw_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<SseEventRecord> SseClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // De-chunk what is complete.
    for (;;) {
      const auto le = raw_.find("\r\n");
      if (le == std::string::npos) break;
      const std::size_t size = std::stoul(raw_.substr(0, le), nullptr, 16);
      if (raw_.size() < le + 2 + size + 2) break;
      body_ += raw_.substr(le + 2, size);
      raw_.erase(0, le + 2 + size + 2);
      if (size == 0) ended_ = true;
    }
    const auto end = body_.find("\n\n");
    if (end != std::string::npos) {
      const std::string block = body_.substr(0, end);
      body_.erase(0, end + 2);
      SseEventRecord ev;
      ev.event = "message";
      bool any = false;
      std::size_t pos = 0;
      while (pos <= block.size()) {
        const auto nl = std::min(block.find('\n', pos), block.size());
        const std::string line = block.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line.front() == ':') {
          ++comments_;
          continue;
        }
        const auto colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (field == "event") ev.event = value;
        if (field == "id") ev.id = value;
        if (field == "data") ev.data += (ev.data.empty() ? "" : "\n") + value;
        any = true;
      }
      if (any) return ev;
      continue;
    }
    if (ended_ || !fillBody(deadline)) return std::nullopt;
  }
}

std::vector<SseEventRecord> SseClient::rest() {
  std::vector<SseEventRecord> out;
  while (auto ev = next())
    out.push_back(std::move(*ev));
  return out;
}

void SseClient::abandon() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace atelier::test
