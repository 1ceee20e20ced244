// A PostgreSQL cluster of one test's own (scripts/pg-cluster), for tests that stop and start
// the database under the server. Stopped by its postmaster's PID and removed when destroyed.
#pragma once

#include <string>

namespace atelier::test {

class OwnPgCluster {
 public:
  OwnPgCluster();  // initdb + start; url() stays empty when that failed (see skipReason())
  ~OwnPgCluster();
  OwnPgCluster(const OwnPgCluster&) = delete;
  OwnPgCluster& operator=(const OwnPgCluster&) = delete;

  const std::string& url() const { return url_; }
  const std::string& skipReason() const { return skipReason_; }
  // A fast shutdown (every session cut), keeping the data; then the same cluster, same port.
  bool halt();
  bool resume();

 private:
  std::string dir_;
  std::string url_;
  std::string skipReason_;
};

}  // namespace atelier::test
