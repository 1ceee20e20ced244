// atelier: serve | migrate | version
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/app.hpp"
#include "config/config.hpp"
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
