#include "auth/views.hpp"

namespace atelier::auth {

namespace json = boost::json;

json::object userJson(const store::User& u) {
  return {{"user_id", u.userId},
          {"email", u.email},
          {"display_name", u.displayName},
          {"email_verified", u.emailVerified},
          {"created_at", formatRfc3339(u.createdAt)}};
}

json::object usageJson(const store::Usage& u, std::chrono::seconds resetInterval) {
  json::object o{{"user_id", u.userId},
                 {"total_tokens_used", u.totalTokensUsed},
                 {"token_limit", u.tokenLimit},
                 {"remaining_tokens", std::max<std::int64_t>(0, u.tokenLimit - u.totalTokensUsed)},
                 {"last_reset_at", formatRfc3339(u.lastResetAt)}};
  if (resetInterval.count() > 0) {
    o["next_reset_at"] =
        formatRfc3339(u.lastResetAt + std::chrono::duration_cast<Millis>(resetInterval));
  } else {
    o["next_reset_at"] = nullptr;
  }
  return o;
}

json::object tokenPairJson(const TokenPair& p) {
  return {{"access_token", p.accessToken},
          {"token_type", "Bearer"},
          {"expires_in", p.expiresIn.count()},
          {"refresh_token", p.refreshToken},
          {"user", userJson(p.user)}};
}

}  // namespace atelier::auth
