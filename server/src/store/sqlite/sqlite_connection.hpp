// One SQLite connection with a statement cache. Not thread-safe: a ConnectionSource hands
// it to one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>

#include "store/sql_connection.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace atelier::store {

class SqliteConnection final : public SqlConnection {
 public:
  // Opens (creating when `readOnly` is false) the database file. WAL, foreign keys on,
  // synchronous=NORMAL, the busy timeout set.
  static Result<std::unique_ptr<SqliteConnection>> open(const std::string& path, bool readOnly,
                                                        std::chrono::milliseconds busyTimeout);
  ~SqliteConnection() override;

  Result<Rows> exec(std::string_view sql, const std::vector<SqlValue>& params) override;
  const SqlError& lastFailure() const override { return failure_; }
  Result<void> execScript(std::string_view sql) override;

  // Replaces SQLite's automatic checkpoint (which runs inside a commit, on the writer):
  // `committed` is called after every commit with the number of pages in the WAL, on the
  // committing thread.
  void onWalCommit(std::function<void(int pages)> committed);
  // A PASSIVE checkpoint: copies what no reader still needs from the WAL into the database
  // file (and syncs it) without waiting for, or blocking, readers and the writer. True when
  // the whole WAL was copied.
  Result<bool> checkpointPassive();

 private:
  SqliteConnection(sqlite3* db, std::chrono::milliseconds busyTimeout)
      : db_(db), busyTimeout_(busyTimeout) {}
  Error fail(int rc, std::string_view what);

  sqlite3* db_;
  std::chrono::milliseconds busyTimeout_;  // the longest a statement waits for a lock in all
  std::unordered_map<std::string, sqlite3_stmt*> cache_;  // expanded SQL → prepared statement
  SqlError failure_;
  std::function<void(int)> walCommitted_;
};

}  // namespace atelier::store
