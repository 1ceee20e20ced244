#include "util/error.hpp"

namespace atelier {

std::string_view errcName(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_request:
      return "invalid_request";
    case Errc::invalid_code:
      return "invalid_code";
    case Errc::code_expired:
      return "code_expired";
    case Errc::invalid_attachment:
      return "invalid_attachment";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::invalid_credentials:
      return "invalid_credentials";
    case Errc::invalid_refresh_token:
      return "invalid_refresh_token";
    case Errc::email_not_verified:
      return "email_not_verified";
    case Errc::chat_limit_reached:
      return "chat_limit_reached";
    case Errc::token_limit_exceeded:
      return "token_limit_exceeded";
    case Errc::not_found:
      return "not_found";
    case Errc::method_not_allowed:
      return "method_not_allowed";
    case Errc::request_timeout:
      return "request_timeout";
    case Errc::email_taken:
      return "email_taken";
    case Errc::generation_in_progress:
      return "generation_in_progress";
    case Errc::payload_too_large:
      return "payload_too_large";
    case Errc::unsupported_media_type:
      return "unsupported_media_type";
    case Errc::headers_too_large:
      return "headers_too_large";
    case Errc::rate_limited:
      return "rate_limited";
    case Errc::internal:
      return "internal";
    case Errc::upstream_error:
      return "upstream_error";
    case Errc::upstream_timeout:
      return "upstream_timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::provider_not_configured:
      return "provider_not_configured";
  }
  return "internal";
}

}  // namespace atelier
