// Project-wide error values. Services return them inside Result<T>; exactly one place
// (http/error_mapper.cpp) turns them into an HTTP status and the contract's JSON body.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace atelier {

// The contract's error codes (shared/API.md), plus a few transport-level ones.
enum class Errc {
  invalid_request,
  invalid_code,
  code_expired,
  invalid_attachment,
  unauthorized,
  invalid_credentials,
  invalid_refresh_token,
  email_not_verified,
  chat_limit_reached,
  token_limit_exceeded,
  not_found,
  method_not_allowed,
  request_timeout,
  email_taken,
  generation_in_progress,
  payload_too_large,
  unsupported_media_type,
  headers_too_large,
  rate_limited,
  internal,
  upstream_error,
  upstream_timeout,
  unavailable,
  provider_not_configured,
};

// The snake_case name used on the wire, e.g. "chat_limit_reached".
std::string_view errcName(Errc code) noexcept;

struct Error {
  Errc code = Errc::internal;
  // Human-readable, safe to show a client: never SQL, a secret or a library's internals.
  std::string message;
  // details.field: the request field that failed validation, if any.
  std::string field;
  // details.provider_status for upstream errors.
  std::optional<int> providerStatus;
  // Retry-After seconds for rate_limited.
  std::optional<int> retryAfterSeconds;

  static Error make(Errc code, std::string message, std::string field = {}) {
    Error e;
    e.code = code;
    e.message = std::move(message);
    e.field = std::move(field);
    return e;
  }
};

// The one answer to a missing, invalid or expired access token and to a gone or disabled
// account (why, if anything, goes to the log only).
inline Error accessTokenRequired() {
  return Error::make(Errc::unauthorized, "a valid access token is required");
}

}  // namespace atelier
