#include "support/pg_cluster.hpp"

#include <stdio.h>
#include <stdlib.h>

#include <array>
#include <filesystem>

namespace atelier::test {

namespace {

// Runs scripts/pg-cluster `cmd` on `dir`; whether it succeeded (its output in `out`).
bool pgCluster(const std::string& cmd, const std::string& dir, std::string* out = nullptr) {
  const std::string line =
      std::string(ATELIER_SOURCE_DIR) + "/scripts/pg-cluster " + cmd + " '" + dir + "' 2>&1";
  FILE* p = ::popen(line.c_str(), "r");
  if (p == nullptr) return false;
  std::array<char, 512> buf{};
  std::string text;
  while (std::fgets(buf.data(), buf.size(), p) != nullptr)
    text += buf.data();
  const int status = ::pclose(p);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (out != nullptr) *out = text;
  return status == 0;
}

}  // namespace

OwnPgCluster::OwnPgCluster() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "atelier-pgcluster-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    skipReason_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  std::string out;
  if (!pgCluster("start", dir_, &out)) {
    skipReason_ = "cannot start a PostgreSQL cluster: " + out;
    return;
  }
  url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
}

OwnPgCluster::~OwnPgCluster() {
  if (!dir_.empty()) pgCluster("stop", dir_);
}

bool OwnPgCluster::halt() {
  return pgCluster("halt", dir_);
}

bool OwnPgCluster::resume() {
  return pgCluster("resume", dir_);
}

}  // namespace atelier::test
