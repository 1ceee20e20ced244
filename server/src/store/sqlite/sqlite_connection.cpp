#include "store/sqlite/sqlite_connection.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <thread>

namespace atelier::store {

namespace {

// Resets a cached statement and its bindings on scope exit, ready for the next use.
struct StmtResetter {
  sqlite3_stmt* stmt;
  ~StmtResetter() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

bool isBusy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(
    const std::string& path, bool readOnly, std::chrono::milliseconds busyTimeout) {
  sqlite3* db = nullptr;
  const int flags =
      (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    spdlog::error("sqlite: cannot open {}: {}", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Error::make(Errc::unavailable, "the database cannot be opened");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busyTimeout.count()));
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db, busyTimeout));
  const char* pragmas =
      readOnly ? "PRAGMA foreign_keys=ON;"
               : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
  if (auto r = conn->execScript(pragmas); !r) return std::move(r).error();
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : cache_)
    sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error SqliteConnection::fail(int rc, std::string_view what) {
  const int primary = rc & 0xff;
  failure_ = SqlError{};
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    failure_.kind = SqlFailure::uniqueViolation;
    // "UNIQUE constraint failed: users.email"
    const std::string msg = sqlite3_errmsg(db_);
    const auto colon = msg.find(": ");
    if (colon != std::string::npos) failure_.constraint = msg.substr(colon + 2);
    return Error::make(Errc::internal, "conflict");
  }
  spdlog::error("sqlite: {} failed: {} ({})", what, sqlite3_errmsg(db_), rc);
  if (isBusy(rc) || primary == SQLITE_IOERR || primary == SQLITE_FULL ||
      primary == SQLITE_CANTOPEN) {
    failure_.kind = SqlFailure::connection;
    return Error::make(Errc::unavailable, "the database is unavailable, try again");
  }
  failure_.kind = SqlFailure::other;
  return Error::make(Errc::internal, "internal error");
}

Result<Rows> SqliteConnection::exec(std::string_view sql, const std::vector<SqlValue>& params) {
  failure_ = SqlError{};
  sqlite3_stmt* stmt = nullptr;
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) {
    stmt = it->second;
  } else {
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return fail(rc, "prepare");
    cache_.emplace(std::string(sql), stmt);
  }
  StmtResetter resetter{stmt};
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(params[i])) {
      rc = sqlite3_bind_null(stmt, idx);
    } else if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
      rc = sqlite3_bind_int64(stmt, idx, *n);
    } else {
      const auto& s = std::get<std::string>(params[i]);
      rc = sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return fail(rc, "bind");
  }
  Rows out;
  const int cols = sqlite3_column_count(stmt);
  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      auto& row = out.rows.emplace_back();
      row.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.emplace_back(
              std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
      continue;
    }
    if (rc == SQLITE_DONE) break;
    // SQLITE_BUSY without the busy handler's wait (a WAL snapshot gone stale, a lock met
    // mid-statement): retry the statement from the start a few times, only before it returned
    // rows (nothing is seen twice) and only within the busy timeout (a lock the handler
    // already waited out in full is not waited for again).
    if (isBusy(rc) && out.rows.empty() && attempt < 5 &&
        std::chrono::steady_clock::now() - started < busyTimeout_) {
      sqlite3_reset(stmt);
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
      continue;
    }
    return fail(rc, "step");
  }
  out.affected = sqlite3_changes(db_);
  return out;
}

Result<void> SqliteConnection::execScript(std::string_view sql) {
  failure_ = SqlError{};
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    spdlog::error("sqlite: script failed: {}", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return fail(rc, "script");
  }
  return {};
}

void SqliteConnection::onWalCommit(std::function<void(int pages)> committed) {
  walCommitted_ = std::move(committed);
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<SqliteConnection*>(self)->walCommitted_(pages);
        return SQLITE_OK;
      },
      this);
}

Result<bool> SqliteConnection::checkpointPassive() {
  failure_ = SqlError{};
  int walFrames = 0;
  int copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copied);
  if (isBusy(rc)) return false;  // another process checkpoints now: next time
  if (rc != SQLITE_OK) return fail(rc, "checkpoint");
  return copied >= walFrames;
}

}  // namespace atelier::store
