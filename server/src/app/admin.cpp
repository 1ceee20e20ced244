#include "app/admin.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/auth_service.hpp"
#include "store/store.hpp"
#include "util/crypto.hpp"
#include "util/time.hpp"

namespace atelier::app {

namespace {

Result<std::unique_ptr<store::Store>> openMigrated(const config::Config& config) {
  initCrypto();
  auto opened = store::openStore(config.databaseUrl, store::StoreOptions{});
  if (!opened) return std::move(opened).error();
  if (auto applied = (*opened)->migrate(); !applied) return std::move(applied).error();
  return opened;
}

int failed(const Error& e) {
  fmt::print(stderr, "atelier: the database failed: {}\n", e.message);
  return 1;
}

// The user named by an e-mail address (anything with an @) or a user id.
Result<std::optional<store::User>> findUser(store::Store& st, const std::string& who) {
  if (who.find('@') != std::string::npos) {
    auto email = auth::normalizeEmail(who);           // as at sign-up: trimmed, lower-cased
    if (!email) return std::optional<store::User>();  // not an address: nobody has it
    return st.findUserByEmail(*email);
  }
  return st.findUserById(who);
}

std::string usageLine(store::Store& st, const store::User& u) {
  auto usage = st.getUsage(u.userId, SystemClock().now(), std::chrono::seconds(0));
  if (!usage || !usage->has_value()) return "-";
  return fmt::format("{}/{}", (*usage)->totalTokensUsed, (*usage)->tokenLimit);
}

}  // namespace

int runUserCommand(const config::Config& config, const UserCommand& cmd) {
  auto opened = openMigrated(config);
  if (!opened) return failed(opened.error());
  store::Store& st = **opened;
  const auto now = SystemClock().now();

  if (cmd.verb == "list") {
    auto users = st.listUsers(cmd.listLimit);
    if (!users) return failed(users.error());
    fmt::print("{:<36}  {:<32}  {:<8}  {:<8}  {:>17}  {}\n", "USER ID", "E-MAIL", "VERIFIED",
               "DISABLED", "TOKENS USED/LIMIT", "CREATED");
    for (const auto& u : *users) {
      fmt::print("{:<36}  {:<32}  {:<8}  {:<8}  {:>17}  {}\n", u.userId, u.email,
                 u.emailVerified ? "yes" : "no", u.disabled ? "yes" : "no", usageLine(st, u),
                 formatRfc3339(u.createdAt));
    }
    fmt::print("{} user(s){}\n", users->size(),
               static_cast<int>(users->size()) == cmd.listLimit ? " (more with --limit)" : "");
    return 0;
  }

  auto found = findUser(st, cmd.who);
  if (!found) return failed(found.error());
  if (!found->has_value()) {
    fmt::print(stderr, "atelier: no user {}\n", cmd.who);
    return kExitNoSuchUser;
  }
  const store::User& u = **found;

  if (cmd.verb == "show") {
    auto chats = st.listChats(u.userId);
    auto usage = st.getUsage(u.userId, now, config.tokenResetInterval);
    fmt::print("user_id:        {}\nemail:          {}\ndisplay_name:   {}\n", u.userId, u.email,
               u.displayName);
    fmt::print("email_verified: {}\ndisabled:       {}\ncreated_at:     {}\n",
               u.emailVerified ? "yes" : "no", u.disabled ? "yes" : "no",
               formatRfc3339(u.createdAt));
    if (usage && usage->has_value()) {
      fmt::print("tokens:         {} used of {} (interval since {})\n", (*usage)->totalTokensUsed,
                 (*usage)->tokenLimit, formatRfc3339((*usage)->lastResetAt));
    }
    if (chats) {
      const auto active = std::count_if(chats->begin(), chats->end(),
                                        [](const store::Chat& c) { return c.isActive; });
      fmt::print("chats:          {} ({} active)\n", chats->size(), active);
    }
    return 0;
  }
  if (cmd.verb == "disable" || cmd.verb == "enable") {
    const bool disable = cmd.verb == "disable";
    auto changed = st.setUserDisabled(u.userId, disable, now);
    if (!changed) return failed(changed.error());
    if (disable) {
      // Its access tokens stop working at the next request (every request checks the user);
      // its refresh tokens are revoked now.
      if (auto revoked = st.revokeUserRefreshTokens(u.userId, now); !revoked)
        return failed(revoked.error());
    }
    fmt::print("{} {}\n", disable ? "disabled" : "enabled", u.email);
    spdlog::info("operator {} user {}", disable ? "disabled" : "enabled", u.userId);
    return 0;
  }
  if (cmd.verb == "set-limit") {
    if (!cmd.limit || *cmd.limit < 0) {
      fmt::print(stderr, "atelier: set-limit needs a token limit of 0 or more\n");
      return 2;
    }
    auto changed = st.setTokenLimit(u.userId, *cmd.limit);
    if (!changed) return failed(changed.error());
    fmt::print("token limit of {} set to {}\n", u.email, *cmd.limit);
    return 0;
  }
  if (cmd.verb == "reset-usage") {
    auto changed = st.resetUsage(u.userId, now);
    if (!changed) return failed(changed.error());
    fmt::print("usage of {} reset to 0\n", u.email);
    return 0;
  }
  fmt::print(stderr, "atelier: unknown user command {}\n", cmd.verb);
  return 2;
}

int runChatPurge(const config::Config& config, std::chrono::seconds inactiveFor, bool dryRun) {
  auto opened = openMigrated(config);
  if (!opened) return failed(opened.error());
  const auto cutoff = SystemClock().now() - inactiveFor;
  auto n = (*opened)->purgeChats(cutoff, dryRun);
  if (!n) return failed(n.error());
  if (dryRun) {
    fmt::print("{} chat(s) not updated since {} would be deleted\n", *n, formatRfc3339(cutoff));
  } else {
    fmt::print("deleted {} chat(s) not updated since {}\n", *n, formatRfc3339(cutoff));
    spdlog::info("operator purged {} chat(s) inactive since {}", *n, formatRfc3339(cutoff));
  }
  return 0;
}

}  // namespace atelier::app
