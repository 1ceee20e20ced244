// A real redis-server of the test's own, on a free port in a temporary folder, stopped by its
// PID. Without redis-server installed the Redis cases skip — except under CI, where that is a
// failure (./dev test installs it).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "support/server_process.hpp"

namespace atelier::test {

class TestRedis {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";

  // Starts one when redis-server is installed; `password` non-empty requires AUTH.
  explicit TestRedis(std::string password = {});
  ~TestRedis();
  TestRedis(const TestRedis&) = delete;
  TestRedis& operator=(const TestRedis&) = delete;

  bool available() const { return process_ != nullptr; }
  std::uint16_t port() const { return port_; }
  // redis://[:password@]127.0.0.1:port/database
  std::string url(int database = 0) const;
  // Stops it (SIGTERM, by PID) and starts it again on the same port, empty.
  void stop();
  void start();
  // Runs one command through redis-cli semantics: the reply as text ("" on failure).
  std::string command(const std::string& a, const std::string& b = {}) const;

 private:
  std::string dir_, password_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

#define ATELIER_REQUIRE_REDIS(redis)                                                \
  do {                                                                              \
    if (!(redis).available()) {                                                     \
      if (std::getenv("CI") != nullptr) FAIL() << "redis-server is required in CI"; \
      GTEST_SKIP() << "redis-server is not installed (./dev test installs it)";     \
    }                                                                               \
  } while (0)

}  // namespace atelier::test
