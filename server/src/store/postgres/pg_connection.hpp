// One libpq connection. Not thread-safe: a ConnectionSource hands it to one thread at a time.
// Blocking calls: only ever used from worker threads.
#pragma once

#include <string>

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

  pg_conn* conn_;
  SqlError failure_;
};

}  // namespace atelier::store
