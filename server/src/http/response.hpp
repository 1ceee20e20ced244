// The response a handler produces: a complete body, or a stream written after the head.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace atelier::http {

// Where a streaming response writes its body (chunked transfer encoding underneath).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Writes and flushes `data` as one chunk. false once the client is gone or the write timed
  // out; every later call returns false too.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
};

using StreamBody = std::function<boost::asio::awaitable<void>(ResponseWriter&)>;

struct Response {
  int status = 200;
  HeaderList headers;
  std::string body;
  // When set, the head goes out with Transfer-Encoding: chunked and this writes the body.
  StreamBody stream;
  // The stream writes its first bytes at once (they are ready when the handler returns): the
  // head waits for them and goes out in the same write. Otherwise it is sent first, alone.
  bool headWithFirstWrite = false;

  void setHeader(std::string name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const {
    return findHeader(headers, name);
  }

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string contentType);
  static Response empty(int status);
};

}  // namespace atelier::http
