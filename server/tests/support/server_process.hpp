// Runs the real `atelier` binary as a child process for tests; stopped by its PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atelier::test {

class ServerProcess {
 public:
  // The binary: $ATELIER_BINARY, else the one built beside the tests.
  static std::string binary();

  // Starts `exe args…` (exe empty: binary()) in `cwd` with exactly `env` (plus PATH and the
  // sanitizers' options), output to cwd/<logName>.
  ServerProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                std::string cwd, std::string exe = "", const std::string& logName = "server.log");
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits until GET /healthz on `port` answers 200. False if the process exits first.
  bool waitHealthy(std::uint16_t port,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The exit code once the process has exited within `timeout` (128+N for signal N).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  void signal(int sig);
  std::string output() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
  std::optional<int> exit_;
};

std::uint16_t freePort();

}  // namespace atelier::test
