// Operator tools on the configured database (no server needed):
//   atelier user list|show|disable|enable|set-limit|reset-usage
//   atelier chat purge --inactive-for 90d [--dry-run]
// They print plain text for people and exit 0 (done), 1 (the database failed), 2 (bad
// arguments) or 3 (no such user).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace atelier::app {

inline constexpr int kExitNoSuchUser = 3;

struct UserCommand {
  std::string verb;                   // list, show, disable, enable, set-limit, reset-usage
  std::string who;                    // an e-mail address or a user id (not for list)
  std::optional<std::int64_t> limit;  // set-limit: the new token limit
  int listLimit = 100;                // list: at most this many users
};
int runUserCommand(const config::Config& config, const UserCommand& command);

int runChatPurge(const config::Config& config, std::chrono::seconds inactiveFor, bool dryRun);

}  // namespace atelier::app
