// A blocking, raw-socket HTTP client for tests: sends exact bytes, reads exact answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atelier::test {

struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked
  std::optional<std::string> header(const std::string& name) const;
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port);  // connects to 127.0.0.1:port
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool send(const std::string& bytes);
  // Reads one response (Content-Length or chunked body). nullopt on close/timeout/garbage.
  std::optional<RawResponse> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads the answer to a HEAD request: status and headers, no body whatever they announce.
  std::optional<RawResponse> readHead(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // What one read returns once the server sends something (within `timeout`; "" if not):
  // the bytes of one write of the server's, on loopback.
  std::string readOnce(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closed the connection within `timeout` (reads and discards data).
  bool closedWithin(std::chrono::milliseconds timeout);
  bool connected() const { return fd_ >= 0; }

 private:
  std::optional<RawResponse> readResponse(std::chrono::milliseconds timeout, bool withBody);
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buf_;
};

// One request on a fresh connection.
std::optional<RawResponse> rawRequest(std::uint16_t port, const std::string& bytes);

std::string get(const std::string& path, const std::string& extraHeaders = "");

}  // namespace atelier::test
