// PostgreSQL row-level security (migration 009): through the server's role, a statement that
// forgot its "WHERE user_id = …" still sees the acting user's rows only; with nobody acting
// it sees nothing; Supabase clients (auth.uid()) read their own rows and write nothing.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "store/acting.hpp"
#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

using test::DbKind;

struct PgDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgPtr = std::unique_ptr<PGconn, PgDeleter>;

// A plain libpq connection as the login role the server uses (the test cluster's superuser,
// the worst case: it would bypass row-level security without the role switch).
class Sql {
 public:
  explicit Sql(const std::string& url) : c_(PQconnectdb(url.c_str())) {}
  bool ok() const { return PQstatus(c_.get()) == CONNECTION_OK; }

  // The statement's result: its rows' first column joined by ',' (or "#n" for a command's
  // affected count), or "ERROR <sqlstate>".
  std::string run(const std::string& sql) {
    PGresult* r = PQexec(c_.get(), sql.c_str());
    std::string out;
    const auto status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i)
        out += (i ? "," : "") + std::string(PQgetvalue(r, i, 0));
    } else if (status == PGRES_COMMAND_OK) {
      out = std::string("#") + PQcmdTuples(r);
    } else {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      out = std::string("ERROR ") + (state ? state : "?");
    }
    PQclear(r);
    return out;
  }

  // Opens a transaction exactly as the server does for `who`.
  void beginAs(const Acting& who) { ASSERT_EQ(run(postgresScopePrelude(who, true)), "#"); }
  void rollback() { run("ROLLBACK"); }

 private:
  PgPtr c_;
};

struct World {
  std::string a, b;              // users
  std::string chatA, chatB;      // one chat each
  std::string uploadA, uploadB;  // one upload each
};

World populate(Store& st) {
  const auto t0 = fromUnixMillis(1'795'000'000'000);
  World w{newUuidV7(), newUuidV7(), newUuidV7(), newUuidV7(), newUuidV7(), newUuidV7()};
  struct Owner {
    const std::string& user;
    const std::string& chat;
    const std::string& upload;
    const char* email;
  };
  for (const Owner& o : {Owner{w.a, w.chatA, w.uploadA, "a@example.com"},
                         Owner{w.b, w.chatB, w.uploadB, "b@example.com"}}) {
    EXPECT_TRUE(st.createUser(NewUser{o.user, o.email, "hash", "", 1000, t0}).ok());
    EXPECT_TRUE(st.createChatIfUnderLimit(NewChat{o.chat, o.user, "chat", t0}, 5).ok());
    const ActingAs as(o.user);
    Message m{newUuidV7(), o.chat, std::nullopt, "user", "hello", "{}", 0, t0};
    EXPECT_TRUE(st.appendMessage(m).ok());
    EXPECT_TRUE(st.insertUpload(Upload{o.upload, o.user, "uploads/" + o.upload, "image/png", 10,
                                       std::string(64, 'a'), t0})
                    .ok());
  }
  return w;
}

class RowLevelSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    initCrypto();
    db_ = std::make_unique<test::TestDatabase>(DbKind::postgres);
    ATELIER_REQUIRE_DATABASE(*db_);
  }
  std::unique_ptr<test::TestDatabase> db_;
};

TEST_F(RowLevelSecurity, AStatementWithoutItsWhereSeesTheActingUsersRowsOnly) {
  auto opened = openStore(db_->url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE((*opened)->migrate().ok());
  const World w = populate(**opened);

  Sql sql(db_->url());
  ASSERT_TRUE(sql.ok());
  // Without the transaction's role, the login role (a superuser here) sees everything.
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.chats"), "2");

  sql.beginAs(Acting{w.a, false});
  EXPECT_EQ(sql.run("SELECT current_user"), "atelier_app");
  EXPECT_EQ(sql.run("SELECT user_id FROM public.users"), w.a);
  EXPECT_EQ(sql.run("SELECT user_id FROM public.user_usage"), w.a);
  EXPECT_EQ(sql.run("SELECT chat_id FROM public.chats"), w.chatA);
  EXPECT_EQ(sql.run("SELECT DISTINCT chat_id FROM public.messages"), w.chatA);
  EXPECT_EQ(sql.run("SELECT upload_id FROM public.uploads"), w.uploadA);
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.refresh_tokens WHERE user_id <> '" + w.a + "'"),
            "0");
  // Naming B's rows outright does not reach them either.
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.chats WHERE user_id = '" + w.b + "'"), "0");
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.messages WHERE chat_id = '" + w.chatB + "'"), "0");
  // Writes without a WHERE touch A's rows only; B's cannot be written at all.
  EXPECT_EQ(sql.run("UPDATE public.chats SET title = 'mine'"), "#1");
  EXPECT_EQ(sql.run("UPDATE public.user_usage SET total_tokens_used = 0"), "#1");
  EXPECT_EQ(sql.run("DELETE FROM public.uploads"), "#1");
  EXPECT_EQ(sql.run("INSERT INTO public.chats (chat_id, user_id) VALUES ('" + newUuidV7() + "', '" +
                    w.b + "')"),
            "ERROR 42501");  // new row violates row-level security policy
  sql.rollback();

  // Nobody acting (a store call whose caller named no user): nothing at all.
  sql.beginAs(Acting{});
  for (const char* table : {"users", "user_usage", "chats", "messages", "uploads"}) {
    EXPECT_EQ(sql.run(std::string("SELECT count(*) FROM public.") + table), "0") << table;
  }
  EXPECT_EQ(sql.run("DELETE FROM public.messages"), "#0");
  sql.rollback();

  // Service work (sweep, purge, admin) sees every row.
  sql.beginAs(Acting{{}, true});
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.chats"), "2");
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.messages"), "2");
  sql.rollback();

  // A malformed id is nobody, and cannot break out of the prelude's literal.
  sql.beginAs(Acting{"' OR true; --", false});
  EXPECT_EQ(sql.run("SELECT count(*) FROM public.chats"), "0");
  sql.rollback();
}

TEST_F(RowLevelSecurity, TheStoresChatIdMethodsAnswerOnlyForTheActingUser) {
  auto opened = openStore(db_->url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  auto& st = **opened;
  ASSERT_TRUE(st.migrate().ok());
  const World w = populate(st);
  const auto now = fromUnixMillis(1'795'000'001'000);

  // listMessages and messageTree take a chat id only: the application is trusted to have
  // checked the owner. When it did not, the database still answers nothing.
  {
    const ActingAs as(w.b);
    EXPECT_TRUE(st.listMessages(w.chatA, 10, std::nullopt)->messages.empty());
    EXPECT_TRUE(st.messageTree(w.chatA)->empty());
    EXPECT_FALSE(st.appendMessage(Message{newUuidV7(), w.chatA, std::nullopt, "user", "intruder",
                                          "{}", 0, now})
                     .ok());
    EXPECT_FALSE(st.findChat(w.b, w.chatA)->has_value());
  }
  {
    EXPECT_TRUE(st.listMessages(w.chatA, 10, std::nullopt)->messages.empty());  // nobody
  }
  {
    const ActingAs as(w.a);
    auto page = st.listMessages(w.chatA, 10, std::nullopt);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->messages.size(), 1u);
    EXPECT_EQ(page->messages[0].content, "hello");
  }
}

TEST_F(RowLevelSecurity, SupabaseClientsReadTheirOwnRowsAndWriteNothing) {
  // What Supabase provides before our migrations run: the auth schema with auth.uid(), the
  // client roles, and default privileges that grant them every new table in public.
  Sql admin(db_->url());
  ASSERT_TRUE(admin.ok());
  for (const char* role : {"anon", "authenticated"}) {
    const std::string r = admin.run(std::string("CREATE ROLE ") + role + " NOLOGIN");
    ASSERT_TRUE(r == "#" || r == "ERROR 42710") << r;  // made by an earlier run of this test
  }
  ASSERT_EQ(admin.run("CREATE SCHEMA auth"), "#");
  ASSERT_EQ(admin.run("CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ "
                      "SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb "
                      "->> 'sub')::uuid $$"),
            "#");
  ASSERT_EQ(admin.run("GRANT USAGE ON SCHEMA auth TO anon, authenticated"), "#");
  ASSERT_EQ(admin.run("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, "
                      "authenticated"),
            "#");

  auto opened = openStore(db_->url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE((*opened)->migrate().ok());
  const World w = populate(**opened);

  auto asClient = [&](const char* role, const std::string& sub) {
    admin.run("BEGIN");
    admin.run(std::string("SET LOCAL ROLE ") + role);
    admin.run("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + sub + "\"}', true)");
  };
  asClient("authenticated", w.a);
  EXPECT_EQ(admin.run("SELECT chat_id FROM public.chats"), w.chatA);
  EXPECT_EQ(admin.run("SELECT DISTINCT chat_id FROM public.messages"), w.chatA);
  EXPECT_EQ(admin.run("SELECT user_id FROM public.user_usage"), w.a);
  EXPECT_EQ(admin.run("SELECT upload_id FROM public.uploads"), w.uploadA);
  EXPECT_EQ(admin.run("SELECT email FROM public.users"), "a@example.com");
  admin.rollback();
  asClient("authenticated", w.a);
  EXPECT_EQ(admin.run("SELECT password_hash FROM public.users"), "ERROR 42501");
  admin.rollback();
  asClient("authenticated", w.a);  // no write policy: the quota and history stay the server's
  EXPECT_EQ(admin.run("UPDATE public.user_usage SET token_limit = 999999999"), "#0");
  EXPECT_EQ(admin.run("DELETE FROM public.messages"), "#0");
  EXPECT_EQ(admin.run("INSERT INTO public.chats (chat_id, user_id) VALUES ('" + newUuidV7() +
                      "', '" + w.a + "')"),
            "ERROR 42501");
  admin.rollback();
  asClient("authenticated", w.a);  // tables only the server uses
  EXPECT_EQ(admin.run("SELECT count(*) FROM public.refresh_tokens"), "0");
  EXPECT_EQ(admin.run("SELECT count(*) FROM public.email_codes"), "0");
  admin.rollback();
  asClient("anon", "");
  EXPECT_EQ(admin.run("SELECT count(*) FROM public.chats"), "0");
  EXPECT_EQ(admin.run("SELECT count(*) FROM public.messages"), "0");
  admin.rollback();
  // The server itself still works on such a database.
  const ActingAs as(w.a);
  EXPECT_EQ((*opened)->listMessages(w.chatA, 10, std::nullopt)->messages.size(), 1u);
}

TEST_F(RowLevelSecurity, ALoginRoleThatWouldSeeNothingIsRefusedAtStart) {
  auto opened = openStore(db_->url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE((*opened)->migrate().ok());
  // An operator's limited role: table grants, not the owner, not a member of atelier_app.
  Sql admin(db_->url());
  ASSERT_TRUE(admin.ok());
  const std::string role = "atelier_limited_" + newUuidV7().substr(24);
  ASSERT_EQ(admin.run("CREATE ROLE " + role + " LOGIN"), "#");
  ASSERT_EQ(admin.run("GRANT USAGE ON SCHEMA public TO " + role), "#");
  ASSERT_EQ(
      admin.run("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role),
      "#");
  std::string url = db_->url();
  const auto at = url.find('@');
  url = "postgres://" + role + url.substr(at);
  {
    auto limited = openStore(url, StoreOptions{});
    ASSERT_TRUE(limited.ok());
    auto started = (*limited)->migrate();  // what `serve` runs first
    ASSERT_FALSE(started.ok());            // rather than answer every query with nothing
    EXPECT_EQ(started.error().code, Errc::unavailable);
  }
  ASSERT_EQ(admin.run("GRANT atelier_app TO " + role), "#");  // the fix the log names
  {
    auto limited = openStore(url, StoreOptions{});
    ASSERT_TRUE(limited.ok());
    ASSERT_TRUE((*limited)->migrate().ok());
    const auto t0 = fromUnixMillis(1'795'000'000'000);
    const std::string id = newUuidV7();
    ASSERT_TRUE((*limited)->createUser(NewUser{id, "limited@example.com", "h", "", 10, t0}).ok());
    auto found = (*limited)->findUserById(id);
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(found->has_value());
  }
  admin.run("DROP OWNED BY " + role);
  admin.run("DROP ROLE " + role);
}

}  // namespace
}  // namespace atelier::store
