#include "support/test_database.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace atelier::test {

namespace {

std::string makeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "atelier-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

bool adminExec(const std::string& url, const std::string& sql, std::string& error) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
    PQfinish(c);
    return false;
  }
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) error = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  return ok;
}

// The admin URL with its database name replaced.
std::string withDatabase(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?');
  std::string out = url.substr(0, slash == std::string::npos ? query : slash) + "/" + db;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

}  // namespace

std::string dbKindName(DbKind k) {
  return k == DbKind::sqlite ? "Sqlite" : "Postgres";
}

TestDatabase::TestDatabase(DbKind kind) : kind_(kind), dir_(makeTempDir()) {
  if (kind == DbKind::sqlite) {
    url_ = "sqlite://" + dir_ + "/test.db";
    return;
  }
  const char* admin = std::getenv("ATELIER_TEST_PG_URL");
  if (admin == nullptr || *admin == '\0') {
    skipReason_ = "ATELIER_TEST_PG_URL is not set (./dev test starts a PostgreSQL cluster)";
    return;
  }
  static std::atomic<int> counter{0};
  std::random_device rd;
  pgName_ = "atelier_t" + std::to_string(rd() % 100000000) + "_" + std::to_string(counter++);
  std::string error;
  if (!adminExec(admin, "CREATE DATABASE " + pgName_, error)) {
    skipReason_ = "cannot create a test database: " + error;
    pgName_.clear();
    return;
  }
  url_ = withDatabase(admin, pgName_);
}

TestDatabase::~TestDatabase() {
  if (!pgName_.empty()) {
    std::string error;
    adminExec(std::getenv("ATELIER_TEST_PG_URL"),
              "DROP DATABASE IF EXISTS " + pgName_ + " WITH (FORCE)", error);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string sqliteExec(const std::string& url, const std::string& sql, std::string* value) {
  const std::string prefix = "sqlite://";
  if (url.rfind(prefix, 0) != 0) return "not an SQLite URL";
  sqlite3* db = nullptr;
  if (sqlite3_open(url.substr(prefix.size()).c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  char* err = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int, char** row, char**) {
        if (out != nullptr && row[0] != nullptr) *static_cast<std::string*>(out) = row[0];
        return 0;
      },
      value, &err);
  std::string error = rc == SQLITE_OK ? "" : (err != nullptr ? err : "failed");
  sqlite3_free(err);
  sqlite3_close(db);
  return error;
}

std::string databaseExec(const std::string& url, const std::string& sql) {
  if (url.rfind("sqlite://", 0) == 0) return sqliteExec(url, sql);
  std::string error;
  return adminExec(url, sql, error) ? "" : error;
}

}  // namespace atelier::test
