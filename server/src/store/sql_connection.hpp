// The narrow seam between the store's logic (sql_store.cpp, written once) and a database
// driver (SQLite, libpq). SQL is written with $1..$n placeholders and a few dialect
// macros expanded by expandSql() before it reaches the driver.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace atelier::store {

enum class Dialect { sqlite, postgres };

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

// A result set as text (NULL is nullopt): PostgreSQL's text format, SQLite's column_text.
struct Rows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
  bool empty() const noexcept { return rows.empty(); }
};

// How a statement failed, for the store's logic to react to.
enum class SqlFailure { none, uniqueViolation, connection, other };

struct SqlError {
  SqlFailure kind = SqlFailure::other;
  std::string constraint;  // for uniqueViolation, when the driver names it
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs one statement. On failure returns an Error (message safe for clients) and
  // describes it in lastFailure(); driver detail goes to the log only.
  virtual Result<Rows> exec(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  virtual const SqlError& lastFailure() const = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual Result<void> execScript(std::string_view sql) = 0;
};

// Expands the dialect macros, then (SQLite) turns $N into ?N:
//   @users           public.users | users
//   @ts(expr)        epoch milliseconds of a timestamptz column | the INTEGER column itself
//   @tsp($N)         a timestamptz from epoch milliseconds | the parameter itself
//   @json($N)        $N::jsonb | ?N
//   @text(expr)      expr::text | expr
//   @true / @false   true/false | 1/0
//   @lockrow         FOR NO KEY UPDATE | nothing (SQLite's BEGIN IMMEDIATE already serializes)
//   @greatest        GREATEST | MAX (the two-argument scalar)
std::string expandSql(std::string_view sql, Dialect dialect);

}  // namespace atelier::store
