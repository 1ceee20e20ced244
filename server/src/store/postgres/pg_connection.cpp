#include "store/postgres/pg_connection.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <memory>

namespace atelier::store {

namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// The message of a libpq error without its trailing newline, for the log only.
std::string oneLine(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    spdlog::error("postgres: cannot connect: {}",
                  oneLine(conn ? PQerrorMessage(conn) : "out of memory"));
    PQfinish(conn);
    return Error::make(Errc::unavailable, "the database is unavailable");
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

bool PgConnection::healthy() const {
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<Rows> PgConnection::exec(std::string_view sql, const std::vector<SqlValue>& params) {
  failure_ = SqlError{};
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
      texts[i] = std::to_string(*n);
      values[i] = texts[i].c_str();
    } else if (const auto* s = std::get_if<std::string>(&params[i])) {
      values[i] = s->c_str();
    }
  }
  const std::string query(sql);
  const int nParams = static_cast<int>(params.size());
  const std::string* name = prepared(query, nParams);
  ResultPtr res(name != nullptr ? PQexecPrepared(conn_, name->c_str(), nParams, values.data(),
                                                 nullptr, nullptr, 0)
                                : PQexecParams(conn_, query.c_str(), nParams, nullptr,
                                               values.data(), nullptr, nullptr, 0));
  const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    if (sqlstate == "23505") {
      failure_.kind = SqlFailure::uniqueViolation;
      const char* constraint = PQresultErrorField(res.get(), PG_DIAG_CONSTRAINT_NAME);
      failure_.constraint = constraint ? constraint : "";
      return Error::make(Errc::internal, "conflict");
    }
    spdlog::error("postgres: query failed ({}): {}", sqlstate.empty() ? "no sqlstate" : sqlstate,
                  oneLine(PQerrorMessage(conn_)));
    if (!healthy() || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
        sqlstate == "57P03") {
      failure_.kind = SqlFailure::connection;
      return Error::make(Errc::unavailable, "the database is unavailable, try again");
    }
    failure_.kind = SqlFailure::other;
    return Error::make(Errc::internal, "internal error");
  }
  Rows out;
  const int n = PQntuples(res.get());
  const int cols = PQnfields(res.get());
  out.rows.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    auto& row = out.rows.emplace_back();
    row.reserve(static_cast<std::size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                     static_cast<std::size_t>(PQgetlength(res.get(), r, c))));
      }
    }
  }
  const char* tuples = PQcmdTuples(res.get());
  if (tuples && *tuples) std::from_chars(tuples, tuples + std::strlen(tuples), out.affected);
  return out;
}

const std::string* PgConnection::prepared(const std::string& query, int nParams) {
  if (auto it = prepared_.find(query); it != prepared_.end()) return &it->second;
  if (prepared_.size() >= kMaxPrepared) return nullptr;
  std::string name = "atelier_" + std::to_string(prepared_.size() + 1);
  ResultPtr r(PQprepare(conn_, name.c_str(), query.c_str(), nParams, nullptr));
  // Not preparable now (a failed transaction, a lost connection, bad SQL): run it unprepared,
  // which reports the error as usual.
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return nullptr;
  return &prepared_.emplace(query, std::move(name)).first->second;
}

Result<void> PgConnection::execScript(std::string_view sql) {
  failure_ = SqlError{};
  const std::string text(sql);
  ResultPtr res(PQexec(conn_, text.c_str()));
  const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    spdlog::error("postgres: script failed: {}", oneLine(PQerrorMessage(conn_)));
    failure_.kind = healthy() ? SqlFailure::other : SqlFailure::connection;
    return Error::make(healthy() ? Errc::internal : Errc::unavailable,
                       "the database script failed");
  }
  return {};
}

}  // namespace atelier::store
