// The Store: every read and write of persistent state, as use-case methods.
//
// Contract for implementations (SqliteStore, PostgresStore):
// - Methods are synchronous and may block: call them from a WorkerPool, never from an
//   I/O thread. They are safe to call from many threads at once.
// - Every invariant (unique e-mail, chat limit, single-use codes, refresh-token rotation)
//   is enforced by the database in one statement or one transaction, so it holds across
//   threads and across several server processes sharing one PostgreSQL.
// - Failures are values: Errc::unavailable when the database cannot be reached (the
//   message says so without internals), the documented Errc for a broken invariant, and
//   Errc::internal for anything else. SQL text and driver messages go to the log, never
//   into Error::message.
// - "Not found" for lookups is an empty optional, not an error.
#pragma once

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/types.hpp"
#include "util/result.hpp"

namespace atelier::store {

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres".
  virtual std::string_view dialect() const noexcept = 0;

  // Cheap round trip to the database (for /readyz).
  virtual Result<void> ping() = 0;

  // Applies the embedded migrations of this dialect that schema_migrations does not list
  // yet, each in its own transaction, in name order. Returns how many were applied.
  // Safe when several processes start at once (PostgreSQL: advisory lock).
  virtual Result<int> migrate() = 0;

  // Runs `body` as one transaction: every Store call it makes on this thread joins it (one
  // connection, one commit), and an error from `body` rolls all of it back. An inner call
  // joins an outer one. On PostgreSQL the transaction opens as the calling thread's scope
  // (store/acting.hpp); a call inside that acts as someone else switches the scope for
  // itself and back.
  virtual Result<void> atomically(const std::function<Result<void>()>& body) = 0;

  // ---- users ---------------------------------------------------------------------------
  // Inserts the user and its user_usage row (token_limit = u.tokenLimit,
  // last_reset_at = u.now) in one transaction. Errc::email_taken if the e-mail exists.
  virtual Result<User> createUser(const NewUser& u) = 0;
  virtual Result<std::optional<User>> findUserByEmail(std::string_view email) = 0;
  virtual Result<std::optional<User>> findUserById(std::string_view userId) = 0;
  // false when no such user.
  virtual Result<bool> markEmailVerified(std::string_view userId, TimePoint now) = 0;
  virtual Result<bool> setPasswordHash(std::string_view userId, std::string_view hash,
                                       TimePoint now) = 0;
  virtual Result<bool> setUserDisabled(std::string_view userId, bool disabled, TimePoint now) = 0;

  // ---- e-mail codes ----------------------------------------------------------------------
  // Stores a new code for (email, purpose), replacing any earlier one, unless one was issued
  // less than `minInterval` before `now`: then nothing changes and the result is false.
  // Atomic: of two concurrent calls inside the interval exactly one returns true.
  virtual Result<bool> issueEmailCode(std::string_view email, CodePurpose purpose,
                                      std::string_view codeHash, TimePoint now, TimePoint expiresAt,
                                      std::chrono::seconds minInterval) = 0;
  // Checks `codeHash` against the live code for (email, purpose). See CodeCheck. A code is
  // dead once `maxAttempts` wrong attempts were counted. Atomic: a code is used at most once.
  virtual Result<CodeCheck> consumeEmailCode(std::string_view email, CodePurpose purpose,
                                             std::string_view codeHash, TimePoint now,
                                             int maxAttempts) = 0;

  // ---- refresh tokens --------------------------------------------------------------------
  virtual Result<void> insertRefreshToken(const RefreshToken& t) = 0;
  // Atomically replaces the live token whose hash is `oldHash` by `next`; next.userId and
  // next.familyId are ignored and taken from the old token. Of two concurrent rotations of
  // one token, one rotates and the other sees `reused` (and revokes the family).
  virtual Result<RotateResult> rotateRefreshToken(std::string_view oldHash, RefreshToken next,
                                                  TimePoint now) = 0;
  // Revokes one token; false when unknown or already revoked.
  virtual Result<bool> revokeRefreshToken(std::string_view tokenHash, TimePoint now) = 0;
  virtual Result<void> revokeUserRefreshTokens(std::string_view userId, TimePoint now) = 0;

  // ---- chats -----------------------------------------------------------------------------
  // Creates the chat unless the user already has `maxActive` active chats
  // (Errc::chat_limit_reached). Atomic across concurrent callers and processes.
  virtual Result<Chat> createChatIfUnderLimit(const NewChat& c, int maxActive) = 0;
  // All the user's chats, most recently updated first.
  virtual Result<std::vector<Chat>> listChats(std::string_view userId) = 0;
  // The chat if it exists and belongs to userId.
  virtual Result<std::optional<Chat>> findChat(std::string_view userId,
                                               std::string_view chatId) = 0;
  // Applies the patch; re-activating counts against `maxActive` atomically
  // (Errc::chat_limit_reached). Errc::not_found when missing or another user's. Sets
  // updated_at = now.
  virtual Result<Chat> updateChat(std::string_view userId, std::string_view chatId,
                                  const ChatPatch& patch, int maxActive, TimePoint now) = 0;
  // Deletes the chat and (by cascade) its messages; false when missing or another user's.
  virtual Result<bool> deleteChat(std::string_view userId, std::string_view chatId) = 0;

  // ---- messages --------------------------------------------------------------------------
  // Inserts the message, sets the chat's updated_at to m.createdAt and its
  // current_message_id to m.messageId, in one transaction. Errc::not_found if the chat is gone.
  virtual Result<Message> appendMessage(const Message& m) = 0;
  // The newest `limit` messages of the chat older than `before` (all when nullopt), oldest
  // first. Errc::invalid_request (field "before") when `before` is not a message of the chat.
  virtual Result<MessagePage> listMessages(std::string_view chatId, int limit,
                                           std::optional<std::string_view> before) = 0;

  // Every message of the chat as a tree node, oldest first (created_at, then id).
  virtual Result<std::vector<TreeNode>> messageTree(std::string_view chatId) = 0;
  // The messages of the chat with these ids, in the order given (unknown ids left out).
  virtual Result<std::vector<Message>> messagesByIds(std::string_view chatId,
                                                     const std::vector<std::string>& ids) = 0;
  // Makes `messageId` the chat's current message (updated_at unchanged). Errc::not_found when
  // the chat is not the user's.
  virtual Result<Chat> setCurrentMessage(std::string_view userId, std::string_view chatId,
                                         std::string_view messageId) = 0;

  // The user's chat titles and message texts that contain every one of `words` (lower-case,
  // matched case-insensitively and without regard to accents), newest first, at most `limit`.
  virtual Result<std::vector<SearchHit>> search(std::string_view userId,
                                                const std::vector<std::string>& words,
                                                int limit) = 0;

  // The branch that ends at `leafId`: the path from the root message down to it, oldest
  // first, at most its newest `maxMessages` (empty when the leaf is not a message of the chat).
  virtual Result<std::vector<Message>> branchMessages(std::string_view chatId,
                                                      std::string_view leafId,
                                                      std::int64_t maxMessages) = 0;

  // ---- operator tools (atelier user …, atelier chat purge) ---------------------------------
  // Users, oldest first, at most `limit`.
  virtual Result<std::vector<User>> listUsers(int limit) = 0;
  // Sets the user's token limit; false when no such user.
  virtual Result<bool> setTokenLimit(std::string_view userId, std::int64_t limit) = 0;
  // Sets the user's used tokens to 0 and starts a new interval now; false when no such user.
  virtual Result<bool> resetUsage(std::string_view userId, TimePoint now) = 0;
  // Chats not updated since `cutoff` and not generating: how many (dryRun) or deleted.
  virtual Result<std::int64_t> purgeChats(TimePoint cutoff, bool dryRun) = 0;

  // ---- usage -----------------------------------------------------------------------------
  // The user's usage row, after resetting total_tokens_used to 0 (and last_reset_at to now)
  // if `resetInterval` (> 0) has passed since last_reset_at. nullopt when no such user.
  virtual Result<std::optional<Usage>> getUsage(std::string_view userId, TimePoint now,
                                                std::chrono::seconds resetInterval) = 0;

  // Resets the usage when the interval has passed, then sets aside promptEstimate plus an
  // output budget of min(maxOutputTokens, remaining − promptEstimate) — in one transaction
  // that holds the user's usage row, so concurrent reservations (any process) queue and
  // can never together pass token_limit. Errc::token_limit_exceeded when the budget would
  // be below 1.
  // With `lease`, the reservation is recorded on that generation lease in the same
  // transaction, so a crash cannot leak it (see recoverGenerations).
  virtual Result<Reservation> reserveTokens(std::string_view userId, std::int64_t promptEstimate,
                                            int maxOutputTokens, TimePoint now,
                                            std::chrono::seconds resetInterval,
                                            const std::optional<LeaseRef>& lease) = 0;
  // Replaces a reservation by the tokens actually billed (the total never goes below 0).
  // Returns the usage after.
  virtual Result<Usage> settleTokens(std::string_view userId, std::int64_t reserved,
                                     std::int64_t billed) = 0;

  // ---- generations ---------------------------------------------------------------------
  // Takes the chat's generation lease until `leaseUntil` unless another live lease holds it
  // (Errc::generation_in_progress). Errc::not_found when the chat is missing or another
  // user's. Atomic across processes.
  virtual Result<void> claimGeneration(std::string_view userId, std::string_view chatId,
                                       std::string_view generationId, TimePoint now,
                                       TimePoint leaseUntil) = 0;
  // In one transaction: saves the user message (the chat's current one from now), titles the
  // chat with `title` when it has none yet (empty: leave it), and writes the generation's
  // first checkpoint — from here a crash leaves an incomplete reply. Undone by abandonReply
  // when the provider then refuses.
  virtual Result<void> beginReply(const Message& userMessage, std::string_view title,
                                  std::string_view generationId,
                                  const GenerationCheckpoint& checkpoint, TimePoint leaseUntil) = 0;
  // Regenerating: like beginReply for a user message that is already saved (it becomes the
  // chat's current message again while its new reply is written).
  virtual Result<void> beginRegeneration(std::string_view chatId, std::string_view userMessageId,
                                         std::string_view generationId,
                                         const GenerationCheckpoint& checkpoint, TimePoint now,
                                         TimePoint leaseUntil) = 0;
  // Extends the lease and records what the generation would leave behind if it died now.
  // Says whether this generation still holds the lease, and whether a stop was asked for
  // (requestStop, possibly through another instance).
  virtual Result<LeaseState> checkpointGeneration(std::string_view chatId,
                                                  std::string_view generationId,
                                                  const GenerationCheckpoint& checkpoint,
                                                  TimePoint leaseUntil) = 0;
  // In one transaction: saves the reply (when any), replaces the reservation by the billed
  // tokens and gives the lease up. Returns the usage after; Errc::not_found, with nothing
  // saved or billed, when the lease is no longer this generation's (it was recovered);
  // Errc::unavailable when the database could not be reached (worth trying again).
  virtual Result<Usage> finishGeneration(const FinishedGeneration& finished) = 0;
  // Every lease expired by `now` (its instance died): the checkpointed reply is saved with
  // metadata.status "incomplete" at `now`, the reservation settled to the checkpoint's
  // billed tokens, the lease cleared — each chat once even when instances race. Returns how
  // many generations were recovered.
  virtual Result<int> recoverGenerations(TimePoint now) = 0;
  // The same for one chat, when its lease has expired by `now`. False when there was none.
  virtual Result<bool> recoverGeneration(std::string_view chatId, TimePoint now) = 0;
  // The provider refused a reply that beginReply or beginRegeneration started: in one
  // transaction, the reservation returned, the lease given up, the new user message deleted,
  // and the chat's current message, updated_at and title put back where nothing else changed
  // them since. A no-op when the lease is no longer this generation's (whoever recovered it
  // settled it).
  virtual Result<void> abandonReply(const AbandonedReply& a) = 0;
  // Gives the lease up (no-op when this generation does not hold it).
  virtual Result<void> releaseGeneration(std::string_view chatId,
                                         std::string_view generationId) = 0;
  // The generation holding a live lease on the chat, if any.
  virtual Result<std::optional<std::string>> activeGeneration(std::string_view chatId,
                                                              TimePoint now) = 0;
  // Asks the generation holding a live lease on the user's chat to stop, wherever it runs:
  // marks the lease (its owner sees the mark at the next renewal) and, on PostgreSQL,
  // notifies kStopChannel with "<chat_id>:<generation_id>" when the mark commits. The
  // generation's id, or nullopt when none runs there (or the chat is not the user's).
  virtual Result<std::optional<std::string>> requestStop(std::string_view userId,
                                                         std::string_view chatId,
                                                         TimePoint now) = 0;
  // Sends `payload` (valid UTF-8, at most kMaxNotifyPayload bytes) on a PostgreSQL channel
  // to every session listening on it. Errc::unavailable on SQLite, which has none.
  virtual Result<void> notify(std::string_view channel, std::string_view payload) = 0;

  // ---- rate windows ----------------------------------------------------------------------
  // Counts one hit of `key` against `limit` per `period` in a window every instance shares
  // (a sliding window over two fixed ones). 0 when the hit is allowed, else the seconds until
  // one would be; a refused hit is not counted.
  virtual Result<int> hitRateWindow(std::string_view key, std::uint32_t limit,
                                    std::chrono::seconds period, TimePoint now) = 0;
  // Forgets the windows not hit since `before`.
  virtual Result<std::int64_t> pruneRateWindows(TimePoint before) = 0;

  // ---- uploads ---------------------------------------------------------------------------
  virtual Result<void> insertUpload(const Upload& u) = 0;
  // The upload if it exists and belongs to userId.
  virtual Result<std::optional<Upload>> findUpload(std::string_view userId,
                                                   std::string_view uploadId) = 0;
  // The user's upload stored under `objectKey`, if any (resolves an attachment's url).
  virtual Result<std::optional<Upload>> findUploadByKey(std::string_view userId,
                                                        std::string_view objectKey) = 0;
  // Deletes the row; false when missing or another user's.
  virtual Result<bool> deleteUpload(std::string_view userId, std::string_view uploadId) = 0;
};

// branchMessages: every message of the branch.
inline constexpr std::int64_t kWholeBranch = std::numeric_limits<std::int64_t>::max();

struct StoreOptions {
  // PostgreSQL: connections in the pool (also the most concurrent queries).
  int poolSize = 8;
  // How long a call waits for a free connection before Errc::unavailable.
  std::chrono::milliseconds acquireTimeout{5000};
  // SQLite: busy timeout for a locked database.
  std::chrono::milliseconds busyTimeout{5000};
};

// Opens the store named by a DATABASE_URL: "sqlite://<path>" (relative to the working
// directory; parent directories are created) or "postgres://…"/"postgresql://…".
// Does not migrate. Errc::unavailable when the database cannot be opened/reached.
Result<std::unique_ptr<Store>> openStore(std::string_view databaseUrl, const StoreOptions& options);

}  // namespace atelier::store
