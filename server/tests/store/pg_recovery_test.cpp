// PostgreSQL drops our connections (a restart, a failover, an idle-killer): the pool
// notices, reconnects, and service resumes by itself with the data intact.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

// Terminates every backend of `database` except the caller's own, through `adminUrl`.
void terminateBackends(const std::string& adminUrl, const std::string& database) {
  PGconn* c = PQconnectdb(adminUrl.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK);
  const char* params[] = {database.c_str()};
  PGresult* r = PQexecParams(c,
                             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = $1 AND pid <> pg_backend_pid()",
                             1, nullptr, params, nullptr, nullptr, 0);
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(c);
}

TEST(PostgresRecovery, ServiceResumesAfterTheServerDropsEveryConnection) {
  initCrypto();
  test::TestDatabase db(test::DbKind::postgres);
  ATELIER_REQUIRE_DATABASE(db);
  StoreOptions options;
  options.poolSize = 4;
  auto opened = openStore(db.url(), options);
  ASSERT_TRUE(opened.ok());
  auto& store = *opened;
  ASSERT_TRUE(store->migrate().ok());
  NewUser u{newUuidV7(), "survivor@example.com", "h", "", 10, fromUnixMillis(1'795'000'000'000)};
  ASSERT_TRUE(store->createUser(u).ok());
  // Warm every pooled connection, then have the server kill them all.
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(store->ping().ok());
  const std::string name =
      db.url().substr(db.url().rfind('/') + 1, db.url().find('?') - db.url().rfind('/') - 1);
  terminateBackends(std::getenv("ATELIER_TEST_PG_URL"), name);

  // Calls on dead connections fail as `unavailable` (never `internal`), each dropping its
  // connection; within one round of the pool everything works again.
  int failures = 0;
  bool recovered = false;
  for (int i = 0; i < 12 && !recovered; ++i) {
    auto found = store->findUserByEmail("survivor@example.com");
    if (found.ok()) {
      recovered = found->has_value() && (*found)->userId == u.userId;
    } else {
      EXPECT_EQ(found.error().code, Errc::unavailable);
      ++failures;
    }
  }
  EXPECT_TRUE(recovered);
  EXPECT_LE(failures, options.poolSize);
  EXPECT_TRUE(store->ping().ok());
}

}  // namespace
}  // namespace atelier::store
