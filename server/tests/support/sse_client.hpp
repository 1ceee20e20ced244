// Reads a streamed (chunked) SSE response event by event over a raw socket.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/raw_client.hpp"

namespace atelier::test {

struct SseEventRecord {
  std::string event;  // "message" when unnamed
  std::string id;
  std::string data;
  boost::json::value json() const;
};

class SseClient {
 public:
  // POSTs `jsonBody` to `path` with the bearer token and reads the response head. With
  // `method` GET, no body is sent; `extraHeaders` are "Name: value\r\n" lines.
  SseClient(std::uint16_t port, const std::string& path, const std::string& jsonBody,
            const std::string& token, const std::string& method = "POST",
            const std::string& extraHeaders = "");
  ~SseClient() { abandon(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;
  int status() const { return head_ ? head_->status : 0; }
  const std::optional<RawResponse>& head() const { return head_; }
  // The body of a non-SSE answer (a JSON error).
  const std::string& errorBody() const { return errorBody_; }
  // The next event; nullopt at the end of the stream or on timeout.
  std::optional<SseEventRecord> next(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Every remaining event.
  std::vector<SseEventRecord> rest();
  std::size_t comments() const { return comments_; }
  // Closes the connection like a browser tab going away.
  void abandon();

 private:
  bool fillBody(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string raw_;   // bytes not yet de-chunked
  std::string body_;  // de-chunked, not yet split into events
  bool ended_ = false;
  std::optional<RawResponse> head_;
  std::string errorBody_;
  std::size_t comments_ = 0;
};

}  // namespace atelier::test
