#include <spdlog/spdlog.h>

#include "store/connection_source.hpp"
#include "store/sql_store.hpp"
#include "store/store.hpp"

namespace atelier::store {

namespace {
// SQLite readers: WAL lets them run beside the single writer.
constexpr int kSqliteReaders = 4;
}  // namespace

Result<std::unique_ptr<Store>> openStore(std::string_view databaseUrl,
                                         const StoreOptions& options) {
  if (databaseUrl.rfind("sqlite://", 0) == 0) {
    const std::string path(databaseUrl.substr(9));
    if (path.empty()) return Error::make(Errc::invalid_request, "sqlite:// needs a file path");
    auto pool = SqlitePool::open(path, kSqliteReaders, options.busyTimeout);
    if (!pool) return std::move(pool).error();
    return std::unique_ptr<Store>(std::make_unique<SqlStore>(std::move(pool).value()));
  }
  if (databaseUrl.rfind("postgres://", 0) == 0 || databaseUrl.rfind("postgresql://", 0) == 0) {
    auto pool = std::make_unique<PgPool>(std::string(databaseUrl), options.poolSize,
                                         options.acquireTimeout);
    auto store = std::make_unique<SqlStore>(std::move(pool));
    // Fail at start-up when the server cannot be reached at all (later outages are survived).
    if (auto up = store->ping(); !up) return std::move(up).error();
    return std::unique_ptr<Store>(std::move(store));
  }
  const auto scheme = databaseUrl.substr(0, databaseUrl.find("://"));
  return Error::make(Errc::invalid_request,
                     "unknown database scheme \"" + std::string(scheme) + "\"");
}

}  // namespace atelier::store
