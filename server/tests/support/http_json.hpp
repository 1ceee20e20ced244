// JSON over HTTP for integration tests (one request per connection).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "support/raw_client.hpp"
#include "support/smtp_sink.hpp"

namespace atelier::test {

struct JsonResponse {
  int status = 0;
  boost::json::value json;  // null when the body is not JSON
  RawResponse raw;
  // error.code of an error body, or "".
  std::string errorCode() const;
  std::string errorField() const;
};

JsonResponse call(std::uint16_t port, const std::string& method, const std::string& path,
                  const std::optional<boost::json::value>& body = std::nullopt,
                  const std::string& token = "", const std::string& extraHeaders = "");

// Registers `email` with `password`, reads its code from `sink` and verifies it; the access
// token, or "" with the failed step recorded as a test failure.
std::string signUpVerified(std::uint16_t port, SmtpSink& sink, const std::string& email,
                           const std::string& password = "long enough password");

// `n` threads released at once, each sending create(i) (a chat creation); how many were
// created (201) and refused with 403 chat_limit_reached.
struct CreateRace {
  int created = 0;
  int refused = 0;
};
CreateRace raceChatCreates(int n, const std::function<JsonResponse(int i)>& create);

}  // namespace atelier::test
