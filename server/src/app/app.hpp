// The whole server process: configuration in, a running HTTP server out.
//
// App owns every long-lived piece (io_context and its threads, worker pools, store,
// metrics, router, server) and tears them down in order. Tests run it in-process on an
// ephemeral port; main() runs it until SIGTERM/SIGINT.
#pragma once

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace atelier::app {

struct AppOptions {
  // Where "now" comes from; the system clock when null. Tests pass a ManualClock.
  const Clock* clock = nullptr;
};

class App {
 public:
  explicit App(config::Config config, AppOptions options = {});
  ~App();  // shuts down if still running
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Opens the store, applies migrations, binds the port and starts the I/O threads.
  Result<void> start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // SIGTERM and SIGINT start the graceful shutdown. REQUIRES: start() succeeded.
  void handleSignals();
  // Starts the graceful shutdown (thread-safe, idempotent; also what SIGTERM/SIGINT do).
  void requestShutdown();
  // Blocks until the shutdown has finished. Returns the process exit code.
  int wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// `atelier serve`: runs until a signal ends it. Returns the exit code.
int serve(config::Config config);
// `atelier migrate`: applies migrations and reports them. Returns the exit code.
int migrate(const config::Config& config);

}  // namespace atelier::app
