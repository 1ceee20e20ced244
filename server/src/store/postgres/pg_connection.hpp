// One libpq connection. Not thread-safe: a ConnectionSource hands it to one thread at a time.
// Blocking calls: only ever used from worker threads.
#pragma once

#include <string>
#include <unordered_map>

#include "store/sql_connection.hpp"

struct pg_conn;

namespace atelier::store {

class PgConnection final : public SqlConnection {
 public:
  // Connects (blocking, bounded by connect_timeout). Errc::unavailable when unreachable.
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& conninfo);
  ~PgConnection() override;

  Result<Rows> exec(std::string_view sql, const std::vector<SqlValue>& params) override;
  const SqlError& lastFailure() const override { return failure_; }
  Result<void> execScript(std::string_view sql) override;

  // False once the server connection is lost; the pool then replaces this connection.
  bool healthy() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}

  // The server-side prepared statement for `query` (prepared on first use), or null when
  // it cannot be: statements are parsed and planned once per connection, not per call.
  const std::string* prepared(const std::string& query, int nParams);

  // At most this many per connection (search texts, built per query, take slots too); beyond
  // it, statements run unprepared.
  static constexpr std::size_t kMaxPrepared = 256;
  pg_conn* conn_;
  SqlError failure_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → statement name
};

}  // namespace atelier::store
