// The one place where an Error becomes an HTTP status and the contract's JSON body:
// {"error": {"code", "message", "request_id", "details"?}}.
#pragma once

#include <string_view>

#include "http/response.hpp"
#include "util/error.hpp"

namespace atelier::http {

int statusFor(Errc code) noexcept;
// Adds WWW-Authenticate: Bearer to every 401 and Retry-After to 429.
Response errorResponse(const Error& error, std::string_view requestId);
// The {"code","message"} object (no request id) for SSE `error` events.
std::string errorObjectJson(const Error& error);

}  // namespace atelier::http
