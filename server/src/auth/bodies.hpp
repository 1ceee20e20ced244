// The JSON bodies of the /api/auth routes, decoded and checked: what a route hands to the
// service is always well-formed. Pure functions of the body's bytes (fuzzed by
// server/fuzz/route_body_fuzz.cpp). Every failure is Errc::invalid_request naming its field,
// except where a route's contract says otherwise (login: invalid_credentials).
#pragma once

#include <string>
#include <string_view>

#include "store/types.hpp"
#include "util/result.hpp"

namespace atelier::auth {

inline constexpr std::size_t kMaxEmail = 254;
inline constexpr std::size_t kMaxDisplayName = 100;

// The trimmed, lower-cased e-mail, or Errc::invalid_request (field "email").
Result<std::string> normalizeEmail(std::string_view raw);
// 8–128 characters, else Errc::invalid_request naming `field`.
Result<void> checkPassword(std::string_view password, std::string_view field);

struct RegisterBody {
  std::string email;  // normalized
  std::string password;
  std::string displayName;  // at most kMaxDisplayName characters, "" when absent
};
Result<RegisterBody> decodeRegister(std::string_view body);

struct VerifyBody {  // also /api/auth/password/reset's email and code
  std::string email;
  std::string code;
};
Result<VerifyBody> decodeVerify(std::string_view body);

struct OtpBody {
  std::string email;
  store::CodePurpose purpose = store::CodePurpose::verifyEmail;
};
Result<OtpBody> decodeOtp(std::string_view body);

struct LoginBody {
  std::string email;
  std::string password;
};
// A malformed e-mail cannot belong to an account: Errc::invalid_credentials, the answer to a
// wrong password.
Result<LoginBody> decodeLogin(std::string_view body);

// {refresh_token} of /api/auth/refresh and /api/auth/logout.
Result<std::string> decodeRefreshToken(std::string_view body);

struct ResetBody {
  std::string email;
  std::string code;
  std::string newPassword;
};
Result<ResetBody> decodeReset(std::string_view body);

}  // namespace atelier::auth
