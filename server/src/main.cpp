// atelier: serve | migrate | version | user … | chat purge
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/admin.hpp"
#include "app/app.hpp"
#include "config/config.hpp"
#include "config/parse.hpp"
#include "util/log.hpp"

namespace {

// Exit codes: 0 fine, 1 a runtime failure (database, port in use), 2 bad configuration/usage.
constexpr int kExitConfig = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace atelier;
  CLI::App cli{"Atelier: a self-hosted AI chat back end", "atelier"};
  cli.require_subcommand(0, 1);
  auto* serveCmd = cli.add_subcommand("serve", "Run the HTTP server (the default)");
  auto* migrateCmd = cli.add_subcommand("migrate", "Apply the database migrations and exit");
  auto* versionCmd = cli.add_subcommand("version", "Print the version and exit");
  (void)serveCmd;

  // Operator tools on the configured database.
  app::UserCommand userCommand;
  auto* userCmd = cli.add_subcommand("user", "Manage users (list, show, disable, enable, …)");
  userCmd->require_subcommand(1);
  auto* userList = userCmd->add_subcommand("list", "List users, oldest first");
  userList->add_option("--limit", userCommand.listLimit, "At most this many")
      ->check(CLI::Range(1, 1'000'000));
  for (const auto* verb : {"show", "disable", "enable", "set-limit", "reset-usage"}) {
    const std::string v(verb);
    const char* help = v == "show"        ? "Show a user, their usage and chats"
                       : v == "disable"   ? "Disable a user: sign-in and every token refused"
                       : v == "enable"    ? "Enable a disabled user"
                       : v == "set-limit" ? "Set a user's token limit"
                                          : "Reset a user's used tokens to 0";
    auto* sub = userCmd->add_subcommand(v, help);
    sub->add_option("user", userCommand.who, "E-mail address or user id")->required();
    if (v == "set-limit") sub->add_option("tokens", userCommand.limit, "The new limit")->required();
  }
  std::string inactiveFor;
  bool dryRun = false;
  auto* chatCmd = cli.add_subcommand("chat", "Manage chats");
  chatCmd->require_subcommand(1);
  auto* purgeCmd = chatCmd->add_subcommand("purge", "Delete chats not updated for a while");
  purgeCmd->add_option("--inactive-for", inactiveFor, "e.g. 90d, 12h")->required();
  purgeCmd->add_flag("--dry-run", dryRun, "Only count them");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }
  if (versionCmd->parsed()) {
    fmt::print("atelier {}\n", ATELIER_VERSION);
    return 0;
  }

  auto env = config::readEnvironment(".env");
  if (!env) {
    fmt::print(stderr, "{}\n", env.error().message);
    return kExitConfig;
  }
  auto loaded = config::loadConfig(*env);
  if (!loaded) {
    fmt::print(stderr, "{}\n", loaded.error().message);
    return kExitConfig;
  }
  config::Config cfg = std::move(loaded).value();
  setupLogging(cfg.logLevel, cfg.logFormat == "json" ? LogFormat::json : LogFormat::text);

  int code = 0;
  if (migrateCmd->parsed()) {
    code = app::migrate(cfg);
  } else if (userCmd->parsed()) {
    for (auto* sub : userCmd->get_subcommands())
      userCommand.verb = sub->get_name();
    code = app::runUserCommand(cfg, userCommand);
  } else if (purgeCmd->parsed()) {
    const auto parsed = config::parseDuration(inactiveFor);
    if (const auto* e = std::get_if<std::string>(&parsed)) {
      fmt::print(stderr, "--inactive-for: {}\n", *e);
      code = kExitConfig;
    } else if (std::get<std::chrono::seconds>(parsed).count() <= 0) {
      fmt::print(stderr, "--inactive-for: must be more than 0\n");
      code = kExitConfig;
    } else {
      code = app::runChatPurge(cfg, std::get<std::chrono::seconds>(parsed), dryRun);
    }
  } else {
    if (cfg.jwtSecret.empty()) {
      const std::string path = "./data/jwt_secret";
      auto secret = config::loadOrCreateJwtSecret(path);
      if (!secret) {
        spdlog::critical("{}", secret.error().message);
        shutdownLogging();
        return 1;
      }
      spdlog::warn(
          "JWT_SECRET is not set: using the generated secret in {} (set JWT_SECRET in production, "
          "the same on every instance)",
          path);
      cfg.jwtSecret = std::move(secret).value();
    }
    spdlog::info("configuration: {}", config::describe(cfg));
    code = app::serve(std::move(cfg));
  }
  shutdownLogging();
  return code;
}
