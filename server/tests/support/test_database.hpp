// Fresh databases for tests: a temp SQLite file, or a new database on the PostgreSQL
// cluster named by ATELIER_TEST_PG_URL (./dev test starts one). Without that variable the
// PostgreSQL cases skip — except under CI, where a skipped PostgreSQL run is a failure.
#pragma once

#include <string>

namespace atelier::test {

enum class DbKind { sqlite, postgres };

std::string dbKindName(DbKind k);

class TestDatabase {
 public:
  explicit TestDatabase(DbKind kind);
  ~TestDatabase();  // drops the database / removes the files
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Empty when this kind is not available here (see skipReason()).
  const std::string& url() const { return url_; }
  const std::string& skipReason() const { return skipReason_; }
  const std::string& dir() const { return dir_; }  // a temp directory owned by this object

 private:
  DbKind kind_;
  std::string url_;
  std::string skipReason_;
  std::string dir_;
  std::string pgName_;
};

// Runs `sql` on a connection of its own to the SQLite database at `url` (sqlite://path), as
// another process would: the error message, or "" (and the first column of the last row
// into `value`, when given).
std::string sqliteExec(const std::string& url, const std::string& sql,
                       std::string* value = nullptr);

// Runs `sql` (one or more statements) on the database at `url`, SQLite or PostgreSQL, on a
// connection of its own: the error message, or "".
std::string databaseExec(const std::string& url, const std::string& sql);

// GTEST_SKIP() or FAIL() (under CI) when the database is unavailable.
#define ATELIER_REQUIRE_DATABASE(db)                                     \
  do {                                                                   \
    if ((db).url().empty()) {                                            \
      if (std::getenv("CI") != nullptr)                                  \
        FAIL() << "PostgreSQL is required in CI: " << (db).skipReason(); \
      GTEST_SKIP() << (db).skipReason();                                 \
    }                                                                    \
  } while (0)

}  // namespace atelier::test
