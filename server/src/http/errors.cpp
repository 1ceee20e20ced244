#include "http/errors.hpp"

#include <boost/json.hpp>

namespace atelier::http {

namespace json = boost::json;

int statusFor(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_request:
    case Errc::invalid_code:
    case Errc::code_expired:
    case Errc::invalid_attachment:
      return 400;
    case Errc::unauthorized:
    case Errc::invalid_credentials:
    case Errc::invalid_refresh_token:
      return 401;
    case Errc::email_not_verified:
    case Errc::chat_limit_reached:
    case Errc::token_limit_exceeded:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::method_not_allowed:
      return 405;
    case Errc::request_timeout:
      return 408;
    case Errc::email_taken:
    case Errc::generation_in_progress:
      return 409;
    case Errc::payload_too_large:
      return 413;
    case Errc::unsupported_media_type:
      return 415;
    case Errc::headers_too_large:
      return 431;
    case Errc::rate_limited:
      return 429;
    case Errc::internal:
      return 500;
    case Errc::upstream_error:
      return 502;
    case Errc::upstream_timeout:
      return 504;
    case Errc::unavailable:
    case Errc::provider_not_configured:
      return 503;
  }
  return 500;
}

namespace {

json::object errorObject(const Error& error) {
  json::object e;
  e["code"] = errcName(error.code);
  e["message"] = error.message.empty() ? std::string(errcName(error.code)) : error.message;
  json::object details;
  if (!error.field.empty()) details["field"] = error.field;
  if (error.providerStatus) details["provider_status"] = *error.providerStatus;
  if (!details.empty()) e["details"] = std::move(details);
  return e;
}

}  // namespace

std::string errorObjectJson(const Error& error) {
  return json::serialize(errorObject(error));
}

Response errorResponse(const Error& error, std::string_view requestId) {
  json::object e = errorObject(error);
  e["request_id"] = requestId;
  json::object body;
  body["error"] = std::move(e);
  Response r = Response::json(statusFor(error.code), json::serialize(body));
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.code == Errc::rate_limited) {
    r.headers.emplace_back("Retry-After", std::to_string(error.retryAfterSeconds.value_or(1)));
  }
  return r;
}

}  // namespace atelier::http
