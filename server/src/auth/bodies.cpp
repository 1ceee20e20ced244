#include "auth/bodies.hpp"

#include <boost/json/object.hpp>

#include "http/json_body.hpp"
#include "util/text.hpp"

namespace atelier::auth {

namespace json = boost::json;

namespace {

// The body as an object with its normalized {email}.
struct WithEmail {
  json::object body;
  std::string email;
};
Result<WithEmail> emailBody(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  auto raw = http::requireString(*body, "email");
  if (!raw) return Error::make(Errc::invalid_request, "email is required", "email");
  auto email = normalizeEmail(*raw);
  if (!email) return std::move(email).error();
  return WithEmail{std::move(body).value(), std::move(email).value()};
}

Result<std::string> newPassword(const json::object& body, std::string_view field) {
  auto password = http::requireString(body, field);
  if (!password) {
    return Error::make(Errc::invalid_request,
                       std::string(field) + " must be a string of 8 to 128 characters",
                       std::string(field));
  }
  if (auto ok = checkPassword(*password, field); !ok) return std::move(ok).error();
  return password;
}

}  // namespace

Result<std::string> normalizeEmail(std::string_view raw) {
  auto bad = [] {
    return Error::make(Errc::invalid_request, "email is not a valid e-mail address", "email");
  };
  raw = trim(raw);
  if (raw.empty() || raw.size() > kMaxEmail) return bad();
  std::string email;
  email.reserve(raw.size());
  for (char c : raw)
    email += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos)
    return bad();
  const std::string_view local(email.data(), at);
  const std::string_view domain(email.data() + at + 1, email.size() - at - 1);
  if (local.size() > 64 || domain.size() < 3 || domain.find('.') == std::string_view::npos ||
      domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return bad();
  }
  for (unsigned char c : local) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("()<>[]\\,;:\"").find(static_cast<char>(c)) != std::string_view::npos) {
      return bad();
    }
  }
  for (char c : domain) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return bad();
  }
  return email;
}

Result<void> checkPassword(std::string_view password, std::string_view field) {
  const std::size_t n = http::utf8Length(password);
  if (n < 8 || n > 128) {
    return Error::make(Errc::invalid_request, std::string(field) + " must be 8 to 128 characters",
                       std::string(field));
  }
  return {};
}

Result<RegisterBody> decodeRegister(std::string_view text) {
  auto f = emailBody(text);
  if (!f) return std::move(f).error();
  auto password = newPassword(f->body, "password");
  if (!password) return std::move(password).error();
  auto name = http::optionalString(f->body, "display_name");
  if (!name) return std::move(name).error();
  std::string displayName = std::move(*name).value_or("");
  if (http::utf8Length(displayName) > kMaxDisplayName) {
    return Error::make(Errc::invalid_request, "display_name is at most 100 characters",
                       "display_name");
  }
  return RegisterBody{std::move(f->email), std::move(password).value(), std::move(displayName)};
}

Result<VerifyBody> decodeVerify(std::string_view text) {
  auto f = emailBody(text);
  if (!f) return std::move(f).error();
  auto code = http::requireString(f->body, "code");
  if (!code) return std::move(code).error();
  return VerifyBody{std::move(f->email), std::move(code).value()};
}

Result<OtpBody> decodeOtp(std::string_view text) {
  auto f = emailBody(text);
  if (!f) return std::move(f).error();
  auto purpose = http::requireString(f->body, "purpose");
  if (!purpose) return std::move(purpose).error();
  if (*purpose == "verify_email")
    return OtpBody{std::move(f->email), store::CodePurpose::verifyEmail};
  if (*purpose == "reset_password")
    return OtpBody{std::move(f->email), store::CodePurpose::resetPassword};
  return Error::make(Errc::invalid_request, "purpose must be verify_email or reset_password",
                     "purpose");
}

Result<LoginBody> decodeLogin(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  auto rawEmail = http::requireString(*body, "email");
  auto password = http::requireString(*body, "password");
  if (!rawEmail) return std::move(rawEmail).error();
  if (!password) return std::move(password).error();
  auto email = normalizeEmail(*rawEmail);
  if (!email) return Error::make(Errc::invalid_credentials, "the e-mail or the password is wrong");
  return LoginBody{std::move(email).value(), std::move(password).value()};
}

Result<std::string> decodeRefreshToken(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  return http::requireString(*body, "refresh_token");
}

Result<ResetBody> decodeReset(std::string_view text) {
  auto f = emailBody(text);
  if (!f) return std::move(f).error();
  auto code = http::requireString(f->body, "code");
  if (!code) return std::move(code).error();
  auto password = newPassword(f->body, "new_password");
  if (!password) return std::move(password).error();
  return ResetBody{std::move(f->email), std::move(code).value(), std::move(password).value()};
}

}  // namespace atelier::auth
