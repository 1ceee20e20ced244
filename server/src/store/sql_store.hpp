// The Store over SQL: every use case written once, run on SQLite or PostgreSQL through a
// ConnectionSource. Invariants are held by single statements or by transactions that lock
// the user's row first (PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE, one
// writer), so they hold across threads and processes.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/connection_source.hpp"
#include "store/store.hpp"

namespace atelier::store {

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<ConnectionSource> source);
  ~SqlStore() override;

  // SQLite: how many rows of search_docs wait before a saved reply writes them into the
  // full-text index. FTS5 writes a segment and its structure record per transaction that
  // touches it (most of what indexing one reply costs), so replies are indexed in batches;
  // a search indexes whatever waits first, so it always finds every row.
  static constexpr std::int64_t kSearchBatchRows = 64;

  std::string_view dialect() const noexcept override;
  Result<void> ping() override;
  Result<int> migrate() override;
  Result<void> atomically(const std::function<Result<void>()>& body) override;

  Result<User> createUser(const NewUser& u) override;
  Result<std::optional<User>> findUserByEmail(std::string_view email) override;
  Result<std::optional<User>> findUserById(std::string_view userId) override;
  Result<bool> markEmailVerified(std::string_view userId, TimePoint now) override;
  Result<bool> setPasswordHash(std::string_view userId, std::string_view hash,
                               TimePoint now) override;
  Result<bool> setUserDisabled(std::string_view userId, bool disabled, TimePoint now) override;

  Result<bool> issueEmailCode(std::string_view email, CodePurpose purpose,
                              std::string_view codeHash, TimePoint now, TimePoint expiresAt,
                              std::chrono::seconds minInterval) override;
  Result<CodeCheck> consumeEmailCode(std::string_view email, CodePurpose purpose,
                                     std::string_view codeHash, TimePoint now,
                                     int maxAttempts) override;

  Result<void> insertRefreshToken(const RefreshToken& t) override;
  Result<RotateResult> rotateRefreshToken(std::string_view oldHash, RefreshToken next,
                                          TimePoint now) override;
  Result<bool> revokeRefreshToken(std::string_view tokenHash, TimePoint now) override;
  Result<void> revokeUserRefreshTokens(std::string_view userId, TimePoint now) override;

  Result<Chat> createChatIfUnderLimit(const NewChat& c, int maxActive) override;
  Result<std::vector<Chat>> listChats(std::string_view userId) override;
  Result<std::optional<Chat>> findChat(std::string_view userId, std::string_view chatId) override;
  Result<Chat> updateChat(std::string_view userId, std::string_view chatId, const ChatPatch& patch,
                          int maxActive, TimePoint now) override;
  Result<bool> deleteChat(std::string_view userId, std::string_view chatId) override;

  Result<Message> appendMessage(const Message& m) override;
  Result<MessagePage> listMessages(std::string_view chatId, int limit,
                                   std::optional<std::string_view> before) override;

  Result<std::optional<Usage>> getUsage(std::string_view userId, TimePoint now,
                                        std::chrono::seconds resetInterval) override;
  Result<Reservation> reserveTokens(std::string_view userId, std::int64_t promptEstimate,
                                    int maxOutputTokens, TimePoint now,
                                    std::chrono::seconds resetInterval,
                                    const std::optional<LeaseRef>& lease) override;
  Result<Usage> settleTokens(std::string_view userId, std::int64_t reserved,
                             std::int64_t billed) override;

  Result<void> claimGeneration(std::string_view userId, std::string_view chatId,
                               std::string_view generationId, TimePoint now,
                               TimePoint leaseUntil) override;
  Result<void> beginReply(const Message& userMessage, std::string_view title,
                          std::string_view generationId, const GenerationCheckpoint& checkpoint,
                          TimePoint leaseUntil) override;
  Result<void> beginRegeneration(std::string_view chatId, std::string_view userMessageId,
                                 std::string_view generationId,
                                 const GenerationCheckpoint& checkpoint, TimePoint now,
                                 TimePoint leaseUntil) override;
  Result<LeaseState> checkpointGeneration(std::string_view chatId, std::string_view generationId,
                                          const GenerationCheckpoint& checkpoint,
                                          TimePoint leaseUntil) override;
  Result<std::vector<TreeNode>> messageTree(std::string_view chatId) override;
  Result<std::vector<Message>> messagesByIds(std::string_view chatId,
                                             const std::vector<std::string>& ids) override;
  Result<Chat> setCurrentMessage(std::string_view userId, std::string_view chatId,
                                 std::string_view messageId) override;
  Result<std::vector<User>> listUsers(int limit) override;
  Result<bool> setTokenLimit(std::string_view userId, std::int64_t limit) override;
  Result<bool> resetUsage(std::string_view userId, TimePoint now) override;
  Result<std::int64_t> purgeChats(TimePoint cutoff, bool dryRun) override;
  Result<std::vector<SearchHit>> search(std::string_view userId,
                                        const std::vector<std::string>& words, int limit) override;
  Result<Usage> finishGeneration(const FinishedGeneration& finished) override;
  Result<int> recoverGenerations(TimePoint now) override;
  Result<bool> recoverGeneration(std::string_view chatId, TimePoint now) override;
  Result<void> abandonReply(const AbandonedReply& a) override;
  Result<void> releaseGeneration(std::string_view chatId, std::string_view generationId) override;
  Result<std::optional<std::string>> activeGeneration(std::string_view chatId,
                                                      TimePoint now) override;
  Result<std::optional<std::string>> requestStop(std::string_view userId, std::string_view chatId,
                                                 TimePoint now) override;
  Result<int> hitRateWindow(std::string_view key, std::uint32_t limit, std::chrono::seconds period,
                            TimePoint now) override;
  Result<std::int64_t> pruneRateWindows(TimePoint before) override;
  Result<void> notify(std::string_view channel, std::string_view payload) override;
  Result<std::vector<Message>> branchMessages(std::string_view chatId, std::string_view leafId,
                                              std::int64_t maxMessages) override;
  Result<void> insertUpload(const Upload& u) override;
  Result<std::optional<Upload>> findUpload(std::string_view userId,
                                           std::string_view uploadId) override;
  Result<std::optional<Upload>> findUploadByKey(std::string_view userId,
                                                std::string_view objectKey) override;
  Result<bool> deleteUpload(std::string_view userId, std::string_view uploadId) override;

 private:
  // The SQL text for this dialect (expanded once and cached). REQUIRES: `text` lives as long
  // as the store (a string literal): the cache keys on it. Built texts go to queryBuilt().
  const std::string& sql(std::string_view text);
  Result<Rows> run(SqlConnection& c, std::string_view text,
                   const std::vector<SqlValue>& params = {});
  // Turns the expired lease of a dead generation into its incomplete reply and settles its
  // reservation (inside a transaction). False when the lease is no longer that one or alive.
  Result<bool> recoverLease(SqlConnection& c, const std::string& chatId,
                            const std::string& generationId, TimePoint now);
  // The checkpoint and lease extension of checkpointGeneration, on `c`.
  // pg_notify on `c` (inside its transaction: delivered when it commits).
  Result<void> notifyOn(SqlConnection& c, std::string_view channel, std::string_view payload);
  Result<LeaseState> writeCheckpoint(SqlConnection& c, const std::string& chatId,
                                     std::string_view generationId, const GenerationCheckpoint& cp,
                                     TimePoint leaseUntil);
  // Replaces a reservation by the tokens billed (never below 0); the usage after.
  Result<Usage> settle(SqlConnection& c, const std::string& userId, std::int64_t reserved,
                       std::int64_t billed);
  // Inserts a message and makes it the chat's current one (inside a transaction).
  Result<void> insertMessage(SqlConnection& c, const Message& m);
  // One read statement on a reader connection.
  Result<Rows> query(std::string_view text, const std::vector<SqlValue>& params);
  // A read statement built at run time (expanded every call, never cached).
  Result<Rows> queryBuilt(const std::string& text, const std::vector<SqlValue>& params);
  // One write statement; whether it changed any row.
  Result<bool> changed(std::string_view text, const std::vector<SqlValue>& params);
  // Runs `body` inside a write transaction; commits when it returns a value, rolls back on
  // an error.
  template <class T, class F>
  Result<T> transaction(F&& body);
  // Runs `body` on a connection for reading or writing. PostgreSQL: inside a transaction
  // opened as store::acting() (row-level security, migration 009). SQLite: inside BEGIN
  // IMMEDIATE when `atomic`, else statement by statement.
  template <class T, class F>
  Result<T> scoped(bool write, bool atomic, F&& body);
  // SQLite: the rows of search_docs waiting in search_pending into the full-text index, in the
  // transaction open on `c` (migration sqlite/009), if at least `atLeast` wait. PostgreSQL:
  // nothing.
  Result<void> indexPendingSearch(SqlConnection& c, std::int64_t atLeast = 1);
  // `body` on the connection of the unit of work open on this thread (atomically).
  template <class T, class F>
  Result<T> joined(F&& body);
  // Whether the login role can take the role atelier_app (checked after migrating).
  Result<void> checkIsolation(SqlConnection& c);

  std::unique_ptr<ConnectionSource> source_;
  Dialect dialect_;
  std::atomic<bool> appRole_{true};
  std::mutex sqlMu_;
  std::unordered_map<std::string_view, std::string> sqlCache_;
};

}  // namespace atelier::store
