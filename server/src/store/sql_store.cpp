#include "store/sql_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <set>
#include <unordered_map>
#include <variant>

#include "store/acting.hpp"
#include "store/migrations.hpp"
#include "util/crypto.hpp"
#include "util/rate_window.hpp"
#include "util/text.hpp"

namespace atelier::store {

namespace {

using Row = std::vector<std::optional<std::string>>;

std::int64_t toInt(const std::optional<std::string>& v) {
  std::int64_t n = 0;
  if (v) std::from_chars(v->data(), v->data() + v->size(), n);
  return n;
}
bool toBool(const std::optional<std::string>& v) {
  return v && (*v == "t" || *v == "1" || *v == "true");
}
TimePoint toTime(const std::optional<std::string>& v) {
  return fromUnixMillis(toInt(v));
}
std::string toStr(const std::optional<std::string>& v) {
  return v.value_or(std::string());
}
std::int64_t ms(TimePoint t) {
  return toUnixMillis(t);
}
SqlValue optionalText(const std::optional<std::string>& v) {
  return v ? SqlValue(*v) : SqlValue(nullptr);
}
SqlValue nullIfEmpty(const std::string& v) {
  return v.empty() ? SqlValue(nullptr) : SqlValue(v);
}
const char* purposeName(CodePurpose p) {
  return p == CodePurpose::verifyEmail ? "verify_email" : "reset_password";
}

Usage toUsage(const Row& r) {
  return Usage{toStr(r[0]), toInt(r[1]), toInt(r[2]), toTime(r[3])};
}

User toUser(const Row& r) {
  User u;
  u.userId = toStr(r[0]);
  u.email = toStr(r[1]);
  u.passwordHash = toStr(r[2]);
  u.displayName = toStr(r[3]);
  u.emailVerified = toBool(r[4]);
  u.disabled = toBool(r[5]);
  u.createdAt = toTime(r[6]);
  u.updatedAt = toTime(r[7]);
  return u;
}

Chat toChat(const Row& r) {
  Chat c;
  c.chatId = toStr(r[0]);
  c.userId = toStr(r[1]);
  c.title = toStr(r[2]);
  c.isActive = toBool(r[3]);
  c.currentMessageId = r[4];
  c.createdAt = toTime(r[5]);
  c.updatedAt = toTime(r[6]);
  if (r[7]) c.generationExpiresAt = toTime(r[7]);
  return c;
}

Upload toUpload(const Row& r) {
  Upload u;
  u.uploadId = toStr(r[0]);
  u.userId = toStr(r[1]);
  u.objectKey = toStr(r[2]);
  u.mimeType = toStr(r[3]);
  u.sizeBytes = toInt(r[4]);
  u.sha256 = toStr(r[5]);
  u.createdAt = toTime(r[6]);
  return u;
}

Message toMessage(const Row& r) {
  Message m;
  m.messageId = toStr(r[0]);
  m.chatId = toStr(r[1]);
  m.parentMessageId = r[2];
  m.role = toStr(r[3]);
  m.content = toStr(r[4]);
  m.metadataJson = r[5] ? *r[5] : "{}";
  m.tokensConsumed = toInt(r[6]);
  m.createdAt = toTime(r[7]);
  return m;
}

// The transaction Store::atomically has open on this thread: its store, its connection, and
// whom it was opened for.
struct OpenUnit {
  const SqlStore* store = nullptr;
  SqlConnection* conn = nullptr;
  Acting as;
};
thread_local OpenUnit openUnit;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

}  // namespace

// Statement texts: one definition for both dialects (see expandSql for the @macros).
#define USER_COLS                                                                            \
  "user_id, email, password_hash, display_name, email_verified, disabled, @ts(created_at), " \
  "@ts(updated_at)"
#define CHAT_COLS                                                                              \
  "chat_id, user_id, title, is_active, current_message_id, @ts(created_at), @ts(updated_at), " \
  "@ts(generation_expires_at)"
#define UPLOAD_COLS "upload_id, user_id, object_key, mime_type, size_bytes, sha256, @ts(created_at)"
#define MESSAGE_COLS                                                                   \
  "message_id, chat_id, parent_message_id, role, content, metadata, tokens_consumed, " \
  "@ts(created_at)"

SqlStore::SqlStore(std::unique_ptr<ConnectionSource> source)
    : source_(std::move(source)), dialect_(source_->dialect()) {}

SqlStore::~SqlStore() = default;

std::string_view SqlStore::dialect() const noexcept {
  return dialect_ == Dialect::postgres ? "postgres" : "sqlite";
}

const std::string& SqlStore::sql(std::string_view text) {
  std::lock_guard lock(sqlMu_);
  auto it = sqlCache_.find(text);
  if (it == sqlCache_.end()) it = sqlCache_.emplace(text, expandSql(text, dialect_)).first;
  return it->second;
}

Result<Rows> SqlStore::run(SqlConnection& c, std::string_view text,
                           const std::vector<SqlValue>& params) {
  return c.exec(sql(text), params);
}

template <class T, class F>
Result<T> SqlStore::scoped(bool write, bool atomic, F&& body) {
  if (openUnit.store == this) return joined<T>(std::forward<F>(body));
  auto lease = source_->acquire(write);
  if (!lease) return std::move(lease).error();
  SqlConnection& c = **lease;
  // PostgreSQL: always a transaction, opened as the acting user (row-level security).
  // SQLite: a transaction when the work must be atomic; BEGIN IMMEDIATE takes the write lock
  // up front, so two writers never deadlock upgrading read locks.
  if (dialect_ == Dialect::postgres) {
    if (auto begun = c.execScript(postgresScopePrelude(acting(), appRole_)); !begun)
      return std::move(begun).error();
  } else if (!atomic) {
    return body(c);
  } else if (auto begun = c.exec("BEGIN IMMEDIATE", {}); !begun) {
    return std::move(begun).error();
  }
  Result<T> result = body(c);
  if (result) {
    if (auto committed = c.exec("COMMIT", {}); !committed) {
      (void)c.exec("ROLLBACK", {});
      return std::move(committed).error();
    }
  } else {
    (void)c.exec("ROLLBACK", {});
  }
  return result;
}

template <class T, class F>
Result<T> SqlStore::joined(F&& body) {
  SqlConnection& c = *openUnit.conn;
  // PostgreSQL: a call acting for someone else than the unit (the service's rate window in a
  // user's message) switches the transaction's settings for itself, then back.
  const bool other = dialect_ == Dialect::postgres && !(acting() == openUnit.as);
  if (other) {
    if (auto r = c.execScript(postgresScopeSettings(acting())); !r) return std::move(r).error();
  }
  Result<T> result = body(c);
  if (other) {
    if (auto r = c.execScript(postgresScopeSettings(openUnit.as)); !r && result)
      return std::move(r).error();
  }
  return result;
}

Result<void> SqlStore::atomically(const std::function<Result<void>()>& body) {
  if (openUnit.store == this) return body();
  auto r = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
    struct Close {
      ~Close() { openUnit = OpenUnit{}; }
    } close;
    openUnit = OpenUnit{this, &c, acting()};
    auto done = body();
    if (!done) return std::move(done).error();
    return std::monostate{};
  });
  if (!r) return std::move(r).error();
  return {};
}

template <class T, class F>
Result<T> SqlStore::transaction(F&& body) {
  return scoped<T>(true, true, std::forward<F>(body));
}

Result<Rows> SqlStore::query(std::string_view text, const std::vector<SqlValue>& params) {
  return scoped<Rows>(false, false, [&](SqlConnection& c) { return run(c, text, params); });
}

Result<Rows> SqlStore::queryBuilt(const std::string& text, const std::vector<SqlValue>& params) {
  return scoped<Rows>(false, false,
                      [&](SqlConnection& c) { return c.exec(expandSql(text, dialect_), params); });
}

Result<bool> SqlStore::changed(std::string_view text, const std::vector<SqlValue>& params) {
  auto r = scoped<Rows>(true, false, [&](SqlConnection& c) { return run(c, text, params); });
  if (!r) return std::move(r).error();
  return r->affected > 0;
}

Result<void> SqlStore::ping() {
  auto lease = source_->acquire(false);
  if (!lease) return std::move(lease).error();
  auto r = (*lease)->exec("SELECT 1", {});
  if (!r) return std::move(r).error();
  return {};
}

Result<int> SqlStore::migrate() {
  auto lease = source_->acquire(true);
  if (!lease) return std::move(lease).error();
  SqlConnection& c = **lease;
  const bool pg = dialect_ == Dialect::postgres;
  // Several processes may start at once: one migrates, the others wait and then find
  // nothing left to do.
  constexpr std::int64_t kMigrationLock = 0x4174656c696572;  // "Atelier"
  if (pg) {
    if (auto r = c.exec("SELECT pg_advisory_lock($1)", {kMigrationLock}); !r)
      return std::move(r).error();
  }
  auto unlock = [&] {
    if (pg) (void)c.exec("SELECT pg_advisory_unlock($1)", {kMigrationLock});
  };
  const char* ddl =
      pg ? "CREATE TABLE IF NOT EXISTS public.schema_migrations (name text PRIMARY KEY, "
           "applied_at timestamptz NOT NULL DEFAULT now())"
         : "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, "
           "applied_at INTEGER NOT NULL)";
  // Only when missing: a role that may not create tables (one that serves, while an owner
  // migrates) must still get past this at start.
  bool present = false;
  if (pg) {
    auto r = c.exec("SELECT to_regclass('public.schema_migrations') IS NOT NULL", {});
    if (!r) {
      unlock();
      return std::move(r).error();
    }
    present = !r->empty() && toBool(r->rows.front()[0]);
  }
  if (auto r = present ? Result<void>() : c.execScript(ddl); !r) {
    unlock();
    return std::move(r).error();
  }
  auto done = c.exec("SELECT name FROM schema_migrations", {});
  if (!done) {
    unlock();
    return std::move(done).error();
  }
  std::set<std::string> applied;
  for (const auto& row : done->rows)
    applied.insert(toStr(row[0]));

  int count = 0;
  for (const auto& m : embeddedMigrations()) {
    if (m.dialect != dialect() || applied.count(std::string(m.name))) continue;
    spdlog::info("applying migration {} ({})", m.name, m.dialect);
    auto fail = [&](std::string_view step) {
      (void)c.exec("ROLLBACK", {});
      unlock();
      spdlog::error("migration {} failed at {}", m.name, step);
      return Error::make(Errc::unavailable,
                         "migration " + std::string(m.name) + " failed (see the log)");
    };
    if (!c.exec(pg ? "BEGIN" : "BEGIN IMMEDIATE", {})) return fail("BEGIN");
    if (!c.execScript(m.sql)) return fail("its SQL");
    const auto now =
        toUnixMillis(std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()));
    if (!c.exec(expandSql("INSERT INTO schema_migrations (name, applied_at) VALUES ($1, @tsp($2))",
                          dialect_),
                {std::string(m.name), now})) {
      return fail("recording it");
    }
    if (!c.exec("COMMIT", {})) return fail("COMMIT");
    ++count;
  }
  unlock();
  if (pg) {
    if (auto checked = checkIsolation(c); !checked) return std::move(checked).error();
  }
  return count;
}

Result<void> SqlStore::checkIsolation(SqlConnection& c) {
  auto r = c.exec(
      "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atelier_app') "
      "THEN pg_has_role('atelier_app', 'MEMBER') ELSE false END, current_user, "
      "(SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), "
      "(SELECT relrowsecurity FROM pg_class WHERE oid = 'public.chats'::regclass), "
      "(SELECT pg_get_userbyid(relowner) = current_user FROM pg_class "
      "WHERE oid = 'public.chats'::regclass)",
      {});
  if (!r) return std::move(r).error();
  const auto& row = r->rows.front();
  appRole_ = toBool(row[0]);
  if (appRole_) return {};
  const std::string role = toStr(row[1]);
  const bool bypasses = toBool(row[2]) || toBool(row[4]);
  if (toBool(row[3]) && !bypasses) {
    // Row-level security is on, and this role is under it without the role its policies
    // are for: every query would quietly find nothing.
    spdlog::critical(
        "row-level security: role {} is neither a member of atelier_app nor the tables' owner, "
        "so it would see no rows; run GRANT atelier_app TO {} (as the owner or a superuser)",
        role, role);
    return Error::make(Errc::unavailable,
                       "the database role cannot take the role atelier_app (see the log)");
  }
  spdlog::warn(
      "row-level security: role {} cannot take the role atelier_app (migration 009 could not "
      "create or grant it); the database does not keep users' rows apart, only the server's "
      "queries do",
      role);
  return {};
}

// ---- users --------------------------------------------------------------------------------

Result<User> SqlStore::createUser(const NewUser& u) {
  const ActingAs as(u.userId);
  return transaction<User>([&](SqlConnection& c) -> Result<User> {
    auto inserted =
        run(c,
            "INSERT INTO @users (user_id, email, password_hash, display_name, email_verified, "
            "disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, @false, @false, @tsp($5), "
            "@tsp($5))",
            {u.userId, u.email, u.passwordHash, u.displayName, ms(u.now)});
    if (!inserted) {
      if (c.lastFailure().kind == SqlFailure::uniqueViolation) {
        return Error::make(Errc::email_taken, "an account with this e-mail already exists",
                           "email");
      }
      return std::move(inserted).error();
    }
    auto usage =
        run(c,
            "INSERT INTO user_usage (user_id, total_tokens_used, token_limit, last_reset_at) "
            "VALUES ($1, 0, $2, @tsp($3))",
            {u.userId, u.tokenLimit, ms(u.now)});
    if (!usage) return std::move(usage).error();
    User out;
    out.userId = u.userId;
    out.email = u.email;
    out.passwordHash = u.passwordHash;
    out.displayName = u.displayName;
    out.createdAt = out.updatedAt = u.now;
    return out;
  });
}

Result<std::optional<User>> SqlStore::findUserByEmail(std::string_view email) {
  const auto as = ActingAs::service();
  auto r = query("SELECT " USER_COLS " FROM @users WHERE email = $1", {std::string(email)});
  if (!r) return std::move(r).error();
  if (r->empty()) return std::optional<User>();
  return std::optional<User>(toUser(r->rows.front()));
}

Result<std::optional<User>> SqlStore::findUserById(std::string_view userId) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return std::optional<User>();
  auto r = query("SELECT " USER_COLS " FROM @users WHERE user_id = $1", {std::string(userId)});
  if (!r) return std::move(r).error();
  if (r->empty()) return std::optional<User>();
  return std::optional<User>(toUser(r->rows.front()));
}

Result<bool> SqlStore::markEmailVerified(std::string_view userId, TimePoint now) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return false;
  return changed(
      "UPDATE @users SET email_verified = @true, updated_at = @tsp($2) WHERE user_id = $1",
      {std::string(userId), ms(now)});
}

Result<bool> SqlStore::setPasswordHash(std::string_view userId, std::string_view hash,
                                       TimePoint now) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return false;
  return changed("UPDATE @users SET password_hash = $2, updated_at = @tsp($3) WHERE user_id = $1",
                 {std::string(userId), std::string(hash), ms(now)});
}

Result<bool> SqlStore::setUserDisabled(std::string_view userId, bool disabled, TimePoint now) {
  const auto as = ActingAs::service();
  if (!isUuid(userId)) return false;
  return changed("UPDATE @users SET disabled = $2, updated_at = @tsp($3) WHERE user_id = $1",
                 {std::string(userId), std::int64_t{disabled ? 1 : 0}, ms(now)});
}

// ---- e-mail codes ---------------------------------------------------------------------------

Result<bool> SqlStore::issueEmailCode(std::string_view email, CodePurpose purpose,
                                      std::string_view codeHash, TimePoint now, TimePoint expiresAt,
                                      std::chrono::seconds minInterval) {
  const auto as = ActingAs::service();
  // One statement: insert, or replace a code issued at least minInterval ago.
  return changed(
      "INSERT INTO email_codes (email, purpose, code_hash, attempts, created_at, expires_at, "
      "used_at) "
      "VALUES ($1, $2, $3, 0, @tsp($4), @tsp($5), NULL) "
      "ON CONFLICT (email, purpose) DO UPDATE SET code_hash = excluded.code_hash, attempts = 0, "
      "created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = NULL "
      "WHERE email_codes.created_at <= @tsp($6)",
      {std::string(email), std::string(purposeName(purpose)), std::string(codeHash), ms(now),
       ms(expiresAt), ms(now - std::chrono::duration_cast<Millis>(minInterval))});
}

Result<CodeCheck> SqlStore::consumeEmailCode(std::string_view email, CodePurpose purpose,
                                             std::string_view codeHash, TimePoint now,
                                             int maxAttempts) {
  const auto as = ActingAs::service();
  const std::vector<SqlValue> key{std::string(email), std::string(purposeName(purpose))};
  return transaction<CodeCheck>([&](SqlConnection& c) -> Result<CodeCheck> {
    auto r = run(c,
                 "SELECT code_hash, attempts, @ts(expires_at), used_at FROM email_codes "
                 "WHERE email = $1 AND purpose = $2 @lockrow",
                 key);
    if (!r) return std::move(r).error();
    if (r->empty()) return CodeCheck::expired;
    const auto& row = r->rows.front();
    if (row[3] || toTime(row[2]) <= now || toInt(row[1]) >= maxAttempts) return CodeCheck::expired;
    if (!constantTimeEquals(toStr(row[0]), codeHash)) {
      auto u =
          run(c, "UPDATE email_codes SET attempts = attempts + 1 WHERE email = $1 AND purpose = $2",
              key);
      if (!u) return std::move(u).error();
      return CodeCheck::wrong;
    }
    auto u = run(c, "UPDATE email_codes SET used_at = @tsp($3) WHERE email = $1 AND purpose = $2",
                 {key[0], key[1], ms(now)});
    if (!u) return std::move(u).error();
    return CodeCheck::ok;
  });
}

// ---- refresh tokens ---------------------------------------------------------------------------

Result<void> SqlStore::insertRefreshToken(const RefreshToken& t) {
  const ActingAs as(t.userId);
  auto r = changed(
      "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) "
      "VALUES ($1, $2, $3, @tsp($4), @tsp($5))",
      {t.tokenHash, t.userId, t.familyId, ms(t.createdAt), ms(t.expiresAt)});
  if (!r) return std::move(r).error();
  return {};
}

Result<RotateResult> SqlStore::rotateRefreshToken(std::string_view oldHash, RefreshToken next,
                                                  TimePoint now) {
  const auto as = ActingAs::service();
  return transaction<RotateResult>([&](SqlConnection& c) -> Result<RotateResult> {
    auto r = run(c,
                 "SELECT user_id, family_id, @ts(expires_at), revoked_at FROM refresh_tokens "
                 "WHERE token_hash = $1 @lockrow",
                 {std::string(oldHash)});
    if (!r) return std::move(r).error();
    RotateResult out;
    if (r->empty()) return out;  // invalid
    const auto& row = r->rows.front();
    out.userId = toStr(row[0]);
    const std::string family = toStr(row[1]);
    if (row[3]) {
      // A rotated (or revoked) token came back: someone holds a copy. End the whole login.
      auto k = run(c,
                   "UPDATE refresh_tokens SET revoked_at = @tsp($2) WHERE family_id = $1 AND "
                   "revoked_at IS NULL",
                   {family, ms(now)});
      if (!k) return std::move(k).error();
      out.outcome = RotateOutcome::reused;
      return out;
    }
    if (toTime(row[2]) <= now) {
      out.userId.clear();
      return out;  // invalid: expired
    }
    auto u = run(
        c,
        "UPDATE refresh_tokens SET revoked_at = @tsp($2), replaced_by = $3 WHERE token_hash = $1",
        {std::string(oldHash), ms(now), next.tokenHash});
    if (!u) return std::move(u).error();
    auto i =
        run(c,
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) "
            "VALUES ($1, $2, $3, @tsp($4), @tsp($5))",
            {next.tokenHash, out.userId, family, ms(next.createdAt), ms(next.expiresAt)});
    if (!i) return std::move(i).error();
    out.outcome = RotateOutcome::rotated;
    return out;
  });
}

Result<bool> SqlStore::revokeRefreshToken(std::string_view tokenHash, TimePoint now) {
  const auto as = ActingAs::service();
  return changed(
      "UPDATE refresh_tokens SET revoked_at = @tsp($2) WHERE token_hash = $1 AND revoked_at IS "
      "NULL",
      {std::string(tokenHash), ms(now)});
}

Result<void> SqlStore::revokeUserRefreshTokens(std::string_view userId, TimePoint now) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return {};
  auto r = changed(
      "UPDATE refresh_tokens SET revoked_at = @tsp($2) WHERE user_id = $1 AND revoked_at IS NULL",
      {std::string(userId), ms(now)});
  if (!r) return std::move(r).error();
  return {};
}

// ---- chats --------------------------------------------------------------------------------

Result<Chat> SqlStore::createChatIfUnderLimit(const NewChat& n, int maxActive) {
  const ActingAs as(n.userId);
  return transaction<Chat>([&](SqlConnection& c) -> Result<Chat> {
    // Lock the user's row: concurrent creates (any process) queue here, so the count below
    // sees every chat committed before.
    auto lock = run(c, "SELECT user_id FROM @users WHERE user_id = $1 @lockrow", {n.userId});
    if (!lock) return std::move(lock).error();
    if (lock->empty()) return Error::make(Errc::not_found, "no such user");
    auto count =
        run(c, "SELECT count(*) FROM chats WHERE user_id = $1 AND is_active = @true", {n.userId});
    if (!count) return std::move(count).error();
    if (toInt(count->rows.front()[0]) >= maxActive) {
      return Error::make(Errc::chat_limit_reached,
                         "you already have " + std::to_string(maxActive) +
                             " active chats; deactivate or delete one to start another");
    }
    auto ins = run(c,
                   "INSERT INTO chats (chat_id, user_id, title, created_at, updated_at, is_active, "
                   "current_message_id) "
                   "VALUES ($1, $2, $3, @tsp($4), @tsp($4), @true, NULL)",
                   {n.chatId, n.userId, n.title, ms(n.now)});
    if (!ins) return std::move(ins).error();
    Chat out;
    out.chatId = n.chatId;
    out.userId = n.userId;
    out.title = n.title;
    out.isActive = true;
    out.createdAt = out.updatedAt = n.now;
    return out;
  });
}

Result<std::vector<Chat>> SqlStore::listChats(std::string_view userId) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return std::vector<Chat>();
  auto r = query("SELECT " CHAT_COLS
                 " FROM chats WHERE user_id = $1 ORDER BY updated_at DESC, chat_id DESC",
                 {std::string(userId)});
  if (!r) return std::move(r).error();
  std::vector<Chat> out;
  out.reserve(r->rows.size());
  for (const auto& row : r->rows)
    out.push_back(toChat(row));
  return out;
}

Result<std::optional<Chat>> SqlStore::findChat(std::string_view userId, std::string_view chatId) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId)) return std::optional<Chat>();
  auto r = query("SELECT " CHAT_COLS " FROM chats WHERE chat_id = $1 AND user_id = $2",
                 {std::string(chatId), std::string(userId)});
  if (!r) return std::move(r).error();
  if (r->empty()) return std::optional<Chat>();
  return std::optional<Chat>(toChat(r->rows.front()));
}

Result<Chat> SqlStore::updateChat(std::string_view userId, std::string_view chatId,
                                  const ChatPatch& patch, int maxActive, TimePoint now) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId)) return Error::make(Errc::not_found, "no such chat");
  const std::string uid(userId), cid(chatId);
  return transaction<Chat>([&](SqlConnection& c) -> Result<Chat> {
    auto lock = run(c, "SELECT user_id FROM @users WHERE user_id = $1 @lockrow", {uid});
    if (!lock) return std::move(lock).error();
    auto cur =
        run(c, "SELECT " CHAT_COLS " FROM chats WHERE chat_id = $1 AND user_id = $2", {cid, uid});
    if (!cur) return std::move(cur).error();
    if (cur->empty()) return Error::make(Errc::not_found, "no such chat");
    const Chat before = toChat(cur->rows.front());
    if (patch.isActive.value_or(false) && !before.isActive) {
      auto count =
          run(c, "SELECT count(*) FROM chats WHERE user_id = $1 AND is_active = @true", {uid});
      if (!count) return std::move(count).error();
      if (toInt(count->rows.front()[0]) >= maxActive) {
        return Error::make(Errc::chat_limit_reached,
                           "you already have " + std::to_string(maxActive) + " active chats");
      }
    }
    const SqlValue title = patch.title ? SqlValue(*patch.title) : SqlValue(nullptr);
    const SqlValue active =
        patch.isActive ? SqlValue(std::int64_t{*patch.isActive ? 1 : 0}) : SqlValue(nullptr);
    auto up =
        run(c,
            "UPDATE chats SET title = COALESCE($3, title), is_active = COALESCE($4, is_active), "
            "updated_at = @tsp($5) WHERE chat_id = $1 AND user_id = $2 RETURNING " CHAT_COLS,
            {cid, uid, title, active, ms(now)});
    if (!up) return std::move(up).error();
    if (up->empty()) return Error::make(Errc::not_found, "no such chat");
    return toChat(up->rows.front());
  });
}

Result<bool> SqlStore::deleteChat(std::string_view userId, std::string_view chatId) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId)) return false;
  return changed("DELETE FROM chats WHERE chat_id = $1 AND user_id = $2",
                 {std::string(chatId), std::string(userId)});
}

// ---- messages ------------------------------------------------------------------------------

Result<void> SqlStore::insertMessage(SqlConnection& c, const Message& m) {
  auto chat =
      run(c, "UPDATE chats SET updated_at = @tsp($2), current_message_id = $3 WHERE chat_id = $1",
          {m.chatId, ms(m.createdAt), m.messageId});
  if (!chat) return std::move(chat).error();
  if (chat->affected == 0) return Error::make(Errc::not_found, "no such chat");
  auto ins =
      run(c,
          "INSERT INTO messages (message_id, chat_id, parent_message_id, role, content, metadata, "
          "tokens_consumed, created_at) VALUES ($1, $2, $3, $4, $5, @json($6), $7, @tsp($8))",
          {m.messageId, m.chatId, optionalText(m.parentMessageId), m.role, m.content,
           m.metadataJson, m.tokensConsumed, ms(m.createdAt)});
  if (!ins) return std::move(ins).error();
  return {};
}

Result<Message> SqlStore::appendMessage(const Message& m) {
  return transaction<Message>([&](SqlConnection& c) -> Result<Message> {
    auto r = insertMessage(c, m);
    if (!r) return std::move(r).error();
    return m;
  });
}

Result<MessagePage> SqlStore::listMessages(std::string_view chatId, int limit,
                                           std::optional<std::string_view> before) {
  if (!isUuid(chatId)) return MessagePage{};
  const std::string cid(chatId);
  return scoped<MessagePage>(false, false, [&](SqlConnection& c) -> Result<MessagePage> {
    Result<Rows> r = Rows{};
    if (before) {
      if (!isUuid(*before))
        return Error::make(Errc::invalid_request, "before is not a message of this chat", "before");
      auto anchor =
          run(c, "SELECT @ts(created_at) FROM messages WHERE message_id = $1 AND chat_id = $2",
              {std::string(*before), cid});
      if (!anchor) return std::move(anchor).error();
      if (anchor->empty())
        return Error::make(Errc::invalid_request, "before is not a message of this chat", "before");
      r = run(c,
              "SELECT " MESSAGE_COLS
              " FROM messages WHERE chat_id = $1 AND (created_at < @tsp($2) OR "
              "(created_at = @tsp($2) AND message_id < $3)) ORDER BY created_at DESC, message_id "
              "DESC LIMIT $4",
              {cid, toInt(anchor->rows.front()[0]), std::string(*before), std::int64_t{limit} + 1});
    } else {
      r = run(
          c,
          "SELECT " MESSAGE_COLS
          " FROM messages WHERE chat_id = $1 ORDER BY created_at DESC, message_id DESC LIMIT $2",
          {cid, std::int64_t{limit} + 1});
    }
    if (!r) return std::move(r).error();
    MessagePage page;
    page.hasMore = r->rows.size() > static_cast<std::size_t>(limit);
    const std::size_t n = std::min(r->rows.size(), static_cast<std::size_t>(limit));
    page.messages.reserve(n);
    for (std::size_t i = n; i-- > 0;)
      page.messages.push_back(toMessage(r->rows[i]));
    return page;
  });
}

Result<std::vector<TreeNode>> SqlStore::messageTree(std::string_view chatId) {
  std::vector<TreeNode> out;
  if (!isUuid(chatId)) return out;
  auto r = query(
      "SELECT message_id, parent_message_id, role FROM messages WHERE chat_id = $1"
      " ORDER BY created_at, message_id",
      {std::string(chatId)});
  if (!r) return std::move(r).error();
  out.reserve(r->rows.size());
  for (auto& row : r->rows)
    out.push_back(TreeNode{toStr(row[0]), std::move(row[1]), toStr(row[2])});
  return out;
}

Result<std::vector<Message>> SqlStore::messagesByIds(std::string_view chatId,
                                                     const std::vector<std::string>& ids) {
  std::vector<Message> out;
  if (!isUuid(chatId) || ids.empty()) return out;
  boost::json::array list;
  list.reserve(ids.size());
  for (const auto& id : ids) {
    if (isUuid(id)) list.emplace_back(id);
  }
  auto r = query("SELECT " MESSAGE_COLS
                 " FROM messages WHERE chat_id = $1 AND message_id IN @idlist($2)",
                 {std::string(chatId), boost::json::serialize(list)});
  if (!r) return std::move(r).error();
  std::unordered_map<std::string, Message> byId;
  for (const auto& row : r->rows) {
    Message m = toMessage(row);
    byId.emplace(m.messageId, std::move(m));
  }
  out.reserve(byId.size());
  for (const auto& id : ids) {
    if (auto it = byId.find(id); it != byId.end()) out.push_back(std::move(it->second));
  }
  return out;
}

Result<Chat> SqlStore::setCurrentMessage(std::string_view userId, std::string_view chatId,
                                         std::string_view messageId) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId) || !isUuid(messageId))
    return Error::make(Errc::not_found, "no such chat");
  auto r = scoped<Rows>(true, false, [&](SqlConnection& c) {
    return run(c,
               "UPDATE chats SET current_message_id = $3 WHERE chat_id = $1 AND user_id = $2"
               " AND EXISTS (SELECT 1 FROM messages WHERE message_id = $3 AND chat_id = $1)"
               " RETURNING " CHAT_COLS,
               {std::string(chatId), std::string(userId), std::string(messageId)});
  });
  if (!r) return std::move(r).error();
  if (r->empty()) return Error::make(Errc::not_found, "no such chat or message");
  return toChat(r->rows.front());
}

namespace {

// Scripts written without spaces between words (CJK, kana, hangul): the tokenizers take a
// whole run as one token, so such a query word is matched as a substring instead.
bool hasUnspacedScript(std::string_view utf8) {
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xf0 && i + 3 < utf8.size()) {
      cp = ((c & 0x07u) << 18) | ((utf8[i + 1] & 0x3fu) << 12) | ((utf8[i + 2] & 0x3fu) << 6) |
           (utf8[i + 3] & 0x3fu);
      len = 4;
    } else if (c >= 0xe0 && i + 2 < utf8.size()) {
      cp = ((c & 0x0fu) << 12) | ((utf8[i + 1] & 0x3fu) << 6) | (utf8[i + 2] & 0x3fu);
      len = 3;
    } else if (c >= 0xc0 && i + 1 < utf8.size()) {
      len = 2;
    }
    if ((cp >= 0x2e80 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) ||
        (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff66 && cp <= 0xff9f) ||
        (cp >= 0x20000 && cp <= 0x3134f)) {
      return true;
    }
    i += len;
  }
  return false;
}

// An FTS5 string: the text in double quotes, inner quotes doubled. Whatever `q` holds (`*`,
// `(`, `:`, NEAR, OR, `-`) is then text to match, never query syntax.
std::string ftsString(std::string_view text) {
  std::string out(1, '"');
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

Result<void> SqlStore::indexPendingSearch(SqlConnection& c, std::int64_t atLeast) {
  if (dialect_ == Dialect::postgres) return {};  // its index is written with every row
  if (atLeast > 1) {
    auto waiting =
        run(c, "SELECT count(*) FROM (SELECT 1 FROM search_pending LIMIT $1)", {atLeast});
    if (!waiting) return std::move(waiting).error();
    if (toInt(waiting->rows.front()[0]) < atLeast) return {};
  }
  auto indexed = run(c,
                     "INSERT INTO search_fts (rowid, owner, body) SELECT d.doc_id, d.owner, d.body "
                     "FROM search_pending p JOIN search_docs d ON d.doc_id = p.doc_id",
                     {});
  if (!indexed) return std::move(indexed).error();
  if (indexed->affected == 0) return {};
  auto emptied = run(c, "DELETE FROM search_pending", {});
  if (!emptied) return std::move(emptied).error();
  return {};
}

Result<std::vector<SearchHit>> SqlStore::search(std::string_view userId,
                                                const std::vector<std::string>& words, int limit) {
  const ActingAs as(userId);
  std::vector<SearchHit> out;
  if (!isUuid(userId) || words.empty()) return out;
  if (dialect_ == Dialect::sqlite) {
    // What is still waiting for the index (the questions of replies being written) first.
    auto pending = query("SELECT EXISTS (SELECT 1 FROM search_pending)", {});
    if (!pending) return std::move(pending).error();
    if (toBool(pending->rows.front()[0])) {
      auto indexed = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
        if (auto r = indexPendingSearch(c); !r) return std::move(r).error();
        return std::monostate{};
      });
      if (!indexed) return std::move(indexed).error();
    }
  }
  std::vector<std::string> tokens, substrings;
  for (const auto& w : words)
    (hasUnspacedScript(w) ? substrings : tokens).push_back(w);
  std::vector<SqlValue> params;
  std::string sql;
  const bool pg = dialect_ == Dialect::postgres;
  if (pg) {
    // Message texts and titles of the user's chats, each with every word.
    params = {std::string(userId)};
    // One tsquery: the spaced words ANDed, and each unspaced word as a phrase of its
    // characters (the index splits those scripts the same way, see migration 006).
    std::string tsquery;
    if (!tokens.empty()) {
      std::string joined;
      for (const auto& t : tokens)
        joined += t + ' ';
      params.emplace_back(std::move(joined));
      tsquery = "plainto_tsquery('simple', $" + std::to_string(params.size()) + ")";
    }
    for (const auto& w : substrings) {
      params.emplace_back(w);
      if (!tsquery.empty()) tsquery += " && ";
      tsquery += "phraseto_tsquery('simple', public.atelier_search_text($" +
                 std::to_string(params.size()) + "))";
    }
    const std::string messageWhere =
        "c.user_id = $1 AND to_tsvector('simple', public.atelier_search_text(m.content)) @@ (" +
        tsquery + ")";
    const std::string titleWhere =
        "c.user_id = $1 AND to_tsvector('simple', public.atelier_search_text(c.title)) @@ (" +
        tsquery + ")";
    params.emplace_back(std::int64_t{limit});
    sql =
        "SELECT chat_id, title, message_id, body, at FROM ("
        " SELECT m.chat_id::text AS chat_id, c.title, m.message_id::text AS message_id,"
        " m.content AS body, @ts(m.created_at) AS at FROM public.messages m"
        " JOIN public.chats c ON c.chat_id = m.chat_id WHERE " +
        messageWhere +
        " UNION ALL"
        " SELECT c.chat_id::text, c.title, NULL, c.title, @ts(c.updated_at) FROM public.chats c"
        " WHERE " +
        titleWhere + ") hits ORDER BY at DESC LIMIT $" + std::to_string(params.size());
  } else {
    std::string owner(userId);
    owner.erase(std::remove(owner.begin(), owner.end(), '-'), owner.end());
    // Words go through the FTS index, restricted to the owner inside it; a query of unspaced
    // words only scans the owner's own rows.
    std::string from, where;
    if (!tokens.empty()) {
      std::string match = "owner:" + ftsString(owner);
      for (const auto& t : tokens)
        match += " AND body:" + ftsString(t);
      params.emplace_back(std::move(match));
      from = "search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid";
      where = "search_fts MATCH $1";
    } else {
      params.emplace_back(std::move(owner));
      from = "search_docs d";
      where = "d.owner = $1";
    }
    sql =
        "SELECT d.chat_id, c.title, d.message_id, d.body, COALESCE(m.created_at, c.updated_at) "
        "AS at FROM " +
        from +
        " JOIN chats c ON c.chat_id = d.chat_id"
        " LEFT JOIN messages m ON m.message_id = d.message_id WHERE " +
        where;
    for (const auto& w : substrings) {
      params.emplace_back(w);
      sql += " AND instr(d.body, $" + std::to_string(params.size()) + ") > 0";
    }
    params.emplace_back(std::int64_t{limit});
    sql += " ORDER BY at DESC LIMIT $" + std::to_string(params.size());
  }
  auto r = queryBuilt(sql, params);  // built per query: not for the cache
  if (!r) return std::move(r).error();
  out.reserve(r->rows.size());
  for (const auto& row : r->rows)
    out.push_back(
        SearchHit{toStr(row[0]), toStr(row[1]), toStr(row[2]), toStr(row[3]), toTime(row[4])});
  return out;
}

Result<std::vector<Message>> SqlStore::branchMessages(std::string_view chatId,
                                                      std::string_view leafId,
                                                      std::int64_t maxMessages) {
  std::vector<Message> out;
  if (!isUuid(chatId) || !isUuid(leafId) || maxMessages <= 0) return out;
  // Up the parents from the leaf, at most maxMessages steps; every step stays in the chat.
  auto r = query(
      "WITH RECURSIVE branch (message_id, parent_message_id, depth) AS ("
      " SELECT message_id, parent_message_id, 0 FROM messages WHERE message_id = $1 AND chat_id = "
      "$2"
      " UNION ALL"
      " SELECT m.message_id, m.parent_message_id, b.depth + 1 FROM messages m"
      " JOIN branch b ON m.message_id = b.parent_message_id"
      " WHERE m.chat_id = $2 AND b.depth + 1 < CAST($3 AS BIGINT))"
      " SELECT " MESSAGE_COLS
      " FROM messages WHERE message_id IN (SELECT message_id FROM branch)"
      " ORDER BY created_at, message_id",
      {std::string(leafId), std::string(chatId), maxMessages});
  if (!r) return std::move(r).error();
  out.reserve(r->rows.size());
  for (const auto& row : r->rows)
    out.push_back(toMessage(row));
  return out;
}

// ---- usage --------------------------------------------------------------------------------

// ---- operator tools -----------------------------------------------------------------------

Result<std::vector<User>> SqlStore::listUsers(int limit) {
  const auto as = ActingAs::service();
  auto r = query("SELECT " USER_COLS " FROM @users ORDER BY created_at, user_id LIMIT $1",
                 {std::int64_t{limit}});
  if (!r) return std::move(r).error();
  std::vector<User> out;
  out.reserve(r->rows.size());
  for (const auto& row : r->rows)
    out.push_back(toUser(row));
  return out;
}

Result<bool> SqlStore::setTokenLimit(std::string_view userId, std::int64_t limit) {
  const auto as = ActingAs::service();
  if (!isUuid(userId)) return false;
  return changed("UPDATE user_usage SET token_limit = $2 WHERE user_id = $1",
                 {std::string(userId), limit});
}

Result<bool> SqlStore::resetUsage(std::string_view userId, TimePoint now) {
  const auto as = ActingAs::service();
  if (!isUuid(userId)) return false;
  return changed(
      "UPDATE user_usage SET total_tokens_used = 0, last_reset_at = @tsp($2) WHERE user_id = $1",
      {std::string(userId), ms(now)});
}

Result<std::int64_t> SqlStore::purgeChats(TimePoint cutoff, bool dryRun) {
  const auto as = ActingAs::service();
  if (dryRun) {
    auto r =
        query("SELECT COUNT(*) FROM chats WHERE updated_at < @tsp($1) AND generation_id IS NULL",
              {ms(cutoff)});
    if (!r) return std::move(r).error();
    return toInt(r->rows.front()[0]);
  }
  auto r = scoped<Rows>(true, false, [&](SqlConnection& c) {
    return run(c, "DELETE FROM chats WHERE updated_at < @tsp($1) AND generation_id IS NULL",
               {ms(cutoff)});
  });
  if (!r) return std::move(r).error();
  return static_cast<std::int64_t>(r->affected);
}

Result<std::optional<Usage>> SqlStore::getUsage(std::string_view userId, TimePoint now,
                                                std::chrono::seconds resetInterval) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return std::optional<Usage>();
  const std::string uid(userId);
  auto read = [&]() -> Result<std::optional<Usage>> {
    auto r = query(
        "SELECT user_id, total_tokens_used, token_limit, @ts(last_reset_at) FROM user_usage WHERE "
        "user_id = $1",
        {uid});
    if (!r) return std::move(r).error();
    if (r->empty()) return std::optional<Usage>();
    return std::optional<Usage>(toUsage(r->rows.front()));
  };
  auto usage = read();
  if (!usage || !*usage || resetInterval.count() <= 0) return usage;
  const auto due = now - std::chrono::duration_cast<Millis>(resetInterval);
  if ((*usage)->lastResetAt > due) return usage;
  // The interval has passed: reset (a single guarded statement, so concurrent readers reset once).
  auto reset = changed(
      "UPDATE user_usage SET total_tokens_used = 0, last_reset_at = @tsp($2) "
      "WHERE user_id = $1 AND last_reset_at <= @tsp($3)",
      {uid, ms(now), ms(due)});
  if (!reset) return std::move(reset).error();
  return read();
}

Result<Reservation> SqlStore::reserveTokens(std::string_view userId, std::int64_t promptEstimate,
                                            int maxOutputTokens, TimePoint now,
                                            std::chrono::seconds resetInterval,
                                            const std::optional<LeaseRef>& lease) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return Error::make(Errc::not_found, "no such user");
  const std::string uid(userId);
  return transaction<Reservation>([&](SqlConnection& c) -> Result<Reservation> {
    auto row = run(c,
                   "SELECT total_tokens_used, token_limit, @ts(last_reset_at) FROM user_usage "
                   "WHERE user_id = $1 @lockrow",
                   {uid});
    if (!row) return std::move(row).error();
    if (row->empty()) return Error::make(Errc::not_found, "no such user");
    std::int64_t used = toInt(row->rows[0][0]);
    const std::int64_t limit = toInt(row->rows[0][1]);
    const bool resetDue =
        resetInterval.count() > 0 &&
        toTime(row->rows[0][2]) <= now - std::chrono::duration_cast<Millis>(resetInterval);
    if (resetDue) used = 0;
    const std::int64_t budget =
        std::min<std::int64_t>(maxOutputTokens, limit - used - promptEstimate);
    if (budget < 1) {
      return Error::make(Errc::token_limit_exceeded,
                         "your token quota is used up; it resets at the next interval");
    }
    Reservation r;
    r.reserved = promptEstimate + budget;
    r.maxOutputTokens = static_cast<int>(budget);
    r.remainingAfter = limit - used - r.reserved;
    auto up = resetDue ? run(c,
                             "UPDATE user_usage SET total_tokens_used = $2, last_reset_at = "
                             "@tsp($3) WHERE user_id = $1",
                             {uid, r.reserved, ms(now)})
                       : run(c, "UPDATE user_usage SET total_tokens_used = $2 WHERE user_id = $1",
                             {uid, used + r.reserved});
    if (!up) return std::move(up).error();
    if (lease) {
      auto rec = run(c,
                     "UPDATE chats SET generation_reserved = $3, generation_billed = 0 WHERE "
                     "chat_id = $1 AND generation_id = $2",
                     {lease->chatId, lease->generationId, r.reserved});
      if (!rec) return std::move(rec).error();
      if (rec->affected == 0) {
        return Error::make(Errc::generation_in_progress, "the generation lease was lost");
      }
    }
    return r;
  });
}

Result<Usage> SqlStore::settle(SqlConnection& c, const std::string& userId, std::int64_t reserved,
                               std::int64_t billed) {
  auto r = run(c,
               "UPDATE user_usage SET total_tokens_used = @greatest(0, total_tokens_used - $2) + "
               "$3 WHERE user_id = $1 "
               "RETURNING user_id, total_tokens_used, token_limit, @ts(last_reset_at)",
               {userId, reserved, billed});
  if (!r) return std::move(r).error();
  if (r->empty()) return Error::make(Errc::not_found, "no such user");
  return toUsage(r->rows.front());
}

Result<Usage> SqlStore::settleTokens(std::string_view userId, std::int64_t reserved,
                                     std::int64_t billed) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return Error::make(Errc::not_found, "no such user");
  return scoped<Usage>(true, false, [&](SqlConnection& c) {
    return settle(c, std::string(userId), reserved, billed);
  });
}

Result<void> SqlStore::claimGeneration(std::string_view userId, std::string_view chatId,
                                       std::string_view generationId, TimePoint now,
                                       TimePoint leaseUntil) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId)) return Error::make(Errc::not_found, "no such chat");
  const std::string uid(userId), cid(chatId), gid(generationId);
  auto result = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
    auto claim = [&]() -> Result<bool> {
      auto r = run(c,
                   "UPDATE chats SET generation_id = $3, generation_expires_at = @tsp($4) WHERE "
                   "chat_id = $1 AND user_id = $2 AND generation_id IS NULL",
                   {cid, uid, gid, ms(leaseUntil)});
      if (!r) return std::move(r).error();
      return r->affected > 0;
    };
    auto claimed = claim();
    if (!claimed) return std::move(claimed).error();
    if (*claimed) return std::monostate{};
    auto held = run(c,
                    "SELECT generation_id, @ts(generation_expires_at) FROM chats WHERE chat_id = "
                    "$1 AND user_id = $2",
                    {cid, uid});
    if (!held) return std::move(held).error();
    if (held->empty()) return Error::make(Errc::not_found, "no such chat");
    const auto& h = held->rows.front();
    if (h[0] && toTime(h[1]) <= now) {
      // The holder died: recover its reply first, then take the chat.
      auto recovered = recoverLease(c, cid, *h[0], now);
      if (!recovered) return std::move(recovered).error();
      claimed = claim();
      if (!claimed) return std::move(claimed).error();
      if (*claimed) return std::monostate{};
    }
    return Error::make(Errc::generation_in_progress,
                       "a reply is being generated in this chat; wait or stop it");
  });
  if (!result) return std::move(result).error();
  return {};
}

Result<LeaseState> SqlStore::writeCheckpoint(SqlConnection& c, const std::string& chatId,
                                             std::string_view generationId,
                                             const GenerationCheckpoint& cp, TimePoint leaseUntil) {
  auto r = run(c,
               "UPDATE chats SET generation_expires_at = @tsp($3), generation_reply_id = $4, "
               "generation_parent_id = $5, generation_text = $6, generation_billed = $7 "
               "WHERE chat_id = $1 AND generation_id = $2 RETURNING generation_stop_requested",
               {chatId, std::string(generationId), ms(leaseUntil), nullIfEmpty(cp.replyId),
                nullIfEmpty(cp.parentId), cp.text, cp.billed});
  if (!r) return std::move(r).error();
  if (r->empty()) return LeaseState::lost;
  return toBool(r->rows.front()[0]) ? LeaseState::stopRequested : LeaseState::held;
}

Result<void> SqlStore::beginReply(const Message& userMessage, std::string_view title,
                                  std::string_view generationId, const GenerationCheckpoint& cp,
                                  TimePoint leaseUntil) {
  auto r = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
    auto saved = insertMessage(c, userMessage);
    if (!saved) return std::move(saved).error();
    if (!title.empty()) {
      auto titled = run(c, "UPDATE chats SET title = $2 WHERE chat_id = $1 AND title = ''",
                        {userMessage.chatId, std::string(title)});
      if (!titled) return std::move(titled).error();
    }
    auto checkpointed = writeCheckpoint(c, userMessage.chatId, generationId, cp, leaseUntil);
    if (!checkpointed) return std::move(checkpointed).error();
    return std::monostate{};
  });
  if (!r) return std::move(r).error();
  return {};
}

Result<void> SqlStore::beginRegeneration(std::string_view chatId, std::string_view userMessageId,
                                         std::string_view generationId,
                                         const GenerationCheckpoint& cp, TimePoint now,
                                         TimePoint leaseUntil) {
  auto r = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
    auto current =
        run(c, "UPDATE chats SET updated_at = @tsp($2), current_message_id = $3 WHERE chat_id = $1",
            {std::string(chatId), ms(now), std::string(userMessageId)});
    if (!current) return std::move(current).error();
    if (current->affected == 0) return Error::make(Errc::not_found, "no such chat");
    auto checkpointed = writeCheckpoint(c, std::string(chatId), generationId, cp, leaseUntil);
    if (!checkpointed) return std::move(checkpointed).error();
    return std::monostate{};
  });
  if (!r) return std::move(r).error();
  return {};
}

Result<LeaseState> SqlStore::checkpointGeneration(std::string_view chatId,
                                                  std::string_view generationId,
                                                  const GenerationCheckpoint& cp,
                                                  TimePoint leaseUntil) {
  if (!isUuid(chatId)) return LeaseState::lost;
  return scoped<LeaseState>(true, false, [&](SqlConnection& c) {
    return writeCheckpoint(c, std::string(chatId), generationId, cp, leaseUntil);
  });
}

#define CLEAR_LEASE                                                                  \
  "generation_id = NULL, generation_expires_at = NULL, generation_reply_id = NULL, " \
  "generation_parent_id = NULL, generation_text = NULL, generation_reserved = 0, "   \
  "generation_billed = 0, generation_stop_requested = FALSE"

Result<Usage> SqlStore::finishGeneration(const FinishedGeneration& f) {
  const ActingAs as(f.userId);
  if (!isUuid(f.userId) || !isUuid(f.chatId)) return Error::make(Errc::not_found, "no such chat");
  return transaction<Usage>([&](SqlConnection& c) -> Result<Usage> {
    // Only the holder of the lease finishes: a generation whose lease was recovered by another
    // instance (it stalled past the lease) must not save or bill twice.
    auto held = run(c, "UPDATE chats SET " CLEAR_LEASE " WHERE chat_id = $1 AND generation_id = $2",
                    {f.chatId, f.generationId});
    if (!held) return std::move(held).error();
    if (held->affected == 0) {
      return Error::make(Errc::not_found, "the reply was given up after its lease expired");
    }
    if (f.reply) {
      auto saved = insertMessage(c, *f.reply);
      if (!saved) return std::move(saved).error();
    }
    // Into the full-text index once kSearchBatchRows rows wait: one segment for many replies.
    if (auto indexed = indexPendingSearch(c, kSearchBatchRows); !indexed) {
      return std::move(indexed).error();
    }
    return settle(c, f.userId, f.reserved, f.billed);
  });
}

Result<bool> SqlStore::recoverLease(SqlConnection& c, const std::string& chatId,
                                    const std::string& generationId, TimePoint now) {
  // Claim the dead lease first: of several instances recovering it at once, one wins.
  auto dead = run(c,
                  "UPDATE chats SET generation_id = NULL WHERE chat_id = $1 AND generation_id = $2 "
                  "AND generation_expires_at <= @tsp($3) RETURNING user_id, generation_reply_id, "
                  "generation_parent_id, generation_text, generation_reserved, generation_billed",
                  {chatId, generationId, ms(now)});
  if (!dead) return std::move(dead).error();
  if (dead->empty()) return false;
  const auto& d = dead->rows.front();
  const std::string userId = toStr(d[0]);
  auto cleared = run(c, "UPDATE chats SET " CLEAR_LEASE " WHERE chat_id = $1", {chatId});
  if (!cleared) return std::move(cleared).error();
  std::int64_t billed = 0;
  if (d[1]) {  // the provider had accepted the request: keep what arrived, marked incomplete
    Message m;
    m.messageId = *d[1];
    m.chatId = chatId;
    m.parentMessageId = d[2];
    m.role = "assistant";
    m.content = toStr(d[3]);
    m.metadataJson = R"({"status":"incomplete"})";
    m.tokensConsumed = billed = toInt(d[5]);
    m.createdAt = now;
    auto saved = insertMessage(c, m);
    if (saved) saved = indexPendingSearch(c, kSearchBatchRows);
    if (!saved) return std::move(saved).error();
  }
  auto settled = settle(c, userId, toInt(d[4]), billed);
  if (!settled) return std::move(settled).error();
  return true;
}

Result<int> SqlStore::recoverGenerations(TimePoint now) {
  const auto as = ActingAs::service();
  auto expired = query(
      "SELECT chat_id, generation_id FROM chats WHERE generation_id IS NOT NULL AND "
      "generation_expires_at <= @tsp($1) LIMIT 1000",
      {ms(now)});
  if (!expired) return std::move(expired).error();
  int recovered = 0;
  for (const auto& row : expired->rows) {
    const std::string chatId = toStr(row[0]), generationId = toStr(row[1]);
    auto one = transaction<bool>(
        [&](SqlConnection& c) { return recoverLease(c, chatId, generationId, now); });
    if (!one) return std::move(one).error();
    if (*one) ++recovered;
  }
  return recovered;
}

Result<bool> SqlStore::recoverGeneration(std::string_view chatId, TimePoint now) {
  if (!isUuid(chatId)) return false;
  const std::string cid(chatId);
  return transaction<bool>([&](SqlConnection& c) -> Result<bool> {
    auto held = run(c,
                    "SELECT generation_id FROM chats WHERE chat_id = $1 AND generation_id IS NOT "
                    "NULL AND generation_expires_at <= @tsp($2)",
                    {cid, ms(now)});
    if (!held) return std::move(held).error();
    if (held->empty() || !held->rows[0][0]) return false;
    return recoverLease(c, cid, *held->rows[0][0], now);
  });
}

Result<void> SqlStore::abandonReply(const AbandonedReply& a) {
  const ActingAs as(a.userId);
  if (!isUuid(a.userId) || !isUuid(a.chatId)) return {};
  auto r = transaction<std::monostate>([&](SqlConnection& c) -> Result<std::monostate> {
    // Each column put back only where it still holds what the start wrote (a rename or a
    // branch switch meanwhile stays).
    auto undone =
        run(c,
            "UPDATE chats SET " CLEAR_LEASE
            ", "
            "current_message_id = CASE WHEN current_message_id = $3 THEN $4 "
            "ELSE current_message_id END, "
            "updated_at = CASE WHEN updated_at = @tsp($5) THEN @tsp($6) ELSE updated_at END, "
            "title = CASE WHEN title = $7 THEN '' ELSE title END "
            "WHERE chat_id = $1 AND generation_id = $2",
            {a.chatId, a.generationId, a.userMessageId, optionalText(a.previousCurrentId),
             ms(a.startedAt), ms(a.previousUpdatedAt), a.title});
    if (!undone) return std::move(undone).error();
    if (undone->affected == 0) return std::monostate{};  // recovered: settled by whoever did
    if (a.newMessage) {
      auto deleted = run(c, "DELETE FROM messages WHERE message_id = $1 AND chat_id = $2",
                         {a.userMessageId, a.chatId});
      if (!deleted) return std::move(deleted).error();
    }
    auto settled = settle(c, a.userId, a.reserved, 0);
    if (!settled) return std::move(settled).error();
    return std::monostate{};
  });
  if (!r) return std::move(r).error();
  return {};
}

Result<void> SqlStore::releaseGeneration(std::string_view chatId, std::string_view generationId) {
  if (!isUuid(chatId)) return {};
  auto r = changed("UPDATE chats SET " CLEAR_LEASE " WHERE chat_id = $1 AND generation_id = $2",
                   {std::string(chatId), std::string(generationId)});
  if (!r) return std::move(r).error();
  return {};
}

Result<std::optional<std::string>> SqlStore::activeGeneration(std::string_view chatId,
                                                              TimePoint now) {
  if (!isUuid(chatId)) return std::optional<std::string>();
  auto r = query(
      "SELECT generation_id FROM chats WHERE chat_id = $1 AND generation_id IS NOT NULL "
      "AND generation_expires_at > @tsp($2)",
      {std::string(chatId), ms(now)});
  if (!r) return std::move(r).error();
  if (r->empty() || !r->rows[0][0]) return std::optional<std::string>();
  return std::optional<std::string>(*r->rows[0][0]);
}

Result<std::optional<std::string>> SqlStore::requestStop(std::string_view userId,
                                                         std::string_view chatId, TimePoint now) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(chatId)) return std::optional<std::string>();
  const std::string cid(chatId);
  return transaction<std::optional<std::string>>(
      [&](SqlConnection& c) -> Result<std::optional<std::string>> {
        auto marked = run(c,
                          "UPDATE chats SET generation_stop_requested = TRUE WHERE chat_id = $1 "
                          "AND user_id = $2 AND generation_id IS NOT NULL AND "
                          "generation_expires_at > @tsp($3) RETURNING generation_id",
                          {cid, std::string(userId), ms(now)});
        if (!marked) return std::move(marked).error();
        if (marked->empty() || !marked->rows[0][0]) return std::optional<std::string>();
        std::string generationId = *marked->rows[0][0];
        if (dialect_ == Dialect::postgres) {
          // Delivered when the transaction commits, to every instance listening.
          if (auto notified = notifyOn(c, kStopChannel, cid + ":" + generationId); !notified)
            return std::move(notified).error();
        }
        return std::optional<std::string>(std::move(generationId));
      });
}

// ---- rate windows --------------------------------------------------------------------------

Result<int> SqlStore::hitRateWindow(std::string_view key, std::uint32_t limit,
                                    std::chrono::seconds period, TimePoint now) {
  const auto as = ActingAs::service();
  const auto at = windowAt(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()), period);
  const std::int64_t periodMs = std::chrono::milliseconds(period).count();
  // One statement, atomic per key on both databases: roll the window forward when it has
  // passed (the hits of the window just before become `previous_hits`), then count the hit.
  // A window start behind the stored one (an instance whose clock lags) counts in the
  // stored window rather than resetting it.
  return scoped<int>(true, false, [&](SqlConnection& c) -> Result<int> {
    auto hit = run(c,
                   "INSERT INTO rate_windows (key, window_start, hits, previous_hits) "
                   "VALUES ($1, $2, 1, 0) ON CONFLICT (key) DO UPDATE SET "
                   "previous_hits = CASE WHEN rate_windows.window_start >= excluded.window_start "
                   "THEN rate_windows.previous_hits WHEN rate_windows.window_start = "
                   "excluded.window_start - CAST($3 AS BIGINT) THEN rate_windows.hits ELSE 0 END, "
                   "hits = CASE WHEN rate_windows.window_start >= excluded.window_start "
                   "THEN rate_windows.hits + 1 ELSE 1 END, "
                   "window_start = CASE WHEN rate_windows.window_start >= excluded.window_start "
                   "THEN rate_windows.window_start ELSE excluded.window_start END "
                   "RETURNING hits, previous_hits, window_start",
                   {std::string(key), at.startMs, periodMs});
    if (!hit) return std::move(hit).error();
    if (hit->empty()) return Error::make(Errc::internal, "rate window: no row returned");
    const auto& row = hit->rows.front();
    const std::int64_t windowStart = toInt(row[2]);
    const auto into = std::chrono::milliseconds(
        std::clamp<std::int64_t>(at.startMs + at.into.count() - windowStart, 0, periodMs));
    const int wait = slidingWindowWait({toInt(row[0]), toInt(row[1])}, limit, period, into);
    if (wait > 0) {
      // A refused hit does not count: a client that keeps trying is told the same wait.
      auto undone = run(c,
                        "UPDATE rate_windows SET hits = hits - 1 WHERE key = $1 AND "
                        "window_start = $2 AND hits > 0",
                        {std::string(key), windowStart});
      if (!undone) return std::move(undone).error();
    }
    return wait;
  });
}

Result<std::int64_t> SqlStore::pruneRateWindows(TimePoint before) {
  const auto as = ActingAs::service();
  auto r = scoped<Rows>(true, false, [&](SqlConnection& c) {
    return run(c, "DELETE FROM rate_windows WHERE window_start < $1", {ms(before)});
  });
  if (!r) return std::move(r).error();
  return r->affected;
}

Result<void> SqlStore::notifyOn(SqlConnection& c, std::string_view channel,
                                std::string_view payload) {
  if (payload.size() > kMaxNotifyPayload)
    return Error::make(Errc::internal, "a notification payload is too long");
  auto r = c.exec("SELECT pg_notify($1, $2)", {std::string(channel), std::string(payload)});
  if (!r) return std::move(r).error();
  return {};
}

Result<void> SqlStore::notify(std::string_view channel, std::string_view payload) {
  if (dialect_ != Dialect::postgres)
    return Error::make(Errc::unavailable, "notifications need PostgreSQL");
  auto lease = source_->acquire(false);
  if (!lease) return std::move(lease).error();
  return notifyOn(**lease, channel, payload);
}

// ---- uploads -------------------------------------------------------------------------------

Result<void> SqlStore::insertUpload(const Upload& u) {
  const ActingAs as(u.userId);
  auto r = changed(
      "INSERT INTO uploads (upload_id, user_id, object_key, mime_type, size_bytes, sha256, "
      "created_at) VALUES ($1, $2, $3, $4, $5, $6, @tsp($7))",
      {u.uploadId, u.userId, u.objectKey, u.mimeType, u.sizeBytes, u.sha256, ms(u.createdAt)});
  if (!r) return std::move(r).error();
  return {};
}

Result<std::optional<Upload>> SqlStore::findUpload(std::string_view userId,
                                                   std::string_view uploadId) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(uploadId)) return std::optional<Upload>();
  auto r = query("SELECT " UPLOAD_COLS " FROM uploads WHERE upload_id = $1 AND user_id = $2",
                 {std::string(uploadId), std::string(userId)});
  if (!r) return std::move(r).error();
  if (r->empty()) return std::optional<Upload>();
  return std::optional<Upload>(toUpload(r->rows.front()));
}

Result<std::optional<Upload>> SqlStore::findUploadByKey(std::string_view userId,
                                                        std::string_view objectKey) {
  const ActingAs as(userId);
  if (!isUuid(userId)) return std::optional<Upload>();
  auto r = query("SELECT " UPLOAD_COLS " FROM uploads WHERE object_key = $1 AND user_id = $2",
                 {std::string(objectKey), std::string(userId)});
  if (!r) return std::move(r).error();
  if (r->empty()) return std::optional<Upload>();
  return std::optional<Upload>(toUpload(r->rows.front()));
}

Result<bool> SqlStore::deleteUpload(std::string_view userId, std::string_view uploadId) {
  const ActingAs as(userId);
  if (!isUuid(userId) || !isUuid(uploadId)) return false;
  return changed("DELETE FROM uploads WHERE upload_id = $1 AND user_id = $2",
                 {std::string(uploadId), std::string(userId)});
}

}  // namespace atelier::store
