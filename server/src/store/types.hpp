// Records the Store reads and writes. Plain values; no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.hpp"

namespace atelier::store {

struct User {
  std::string userId;
  std::string email;  // trimmed, lower-case
  std::string passwordHash;
  std::string displayName;
  bool emailVerified = false;
  bool disabled = false;
  TimePoint createdAt;
  TimePoint updatedAt;
};

struct NewUser {
  std::string userId;  // UUIDv7 chosen by the caller
  std::string email;
  std::string passwordHash;
  std::string displayName;
  std::int64_t tokenLimit = 0;  // the user_usage row is created with it
  TimePoint now;
};

enum class CodePurpose { verifyEmail, resetPassword };

enum class CodeCheck {
  ok,       // the code matched and is now used up
  wrong,    // a live code exists but this is not it; one attempt was counted
  expired,  // no live code: none issued, expired, used, or dead after too many attempts
};

struct RefreshToken {
  std::string tokenHash;  // SHA-256 hex of the opaque token; the token itself is never stored
  std::string userId;
  std::string familyId;  // one login; reuse of a rotated token revokes the whole family
  TimePoint expiresAt;
  TimePoint createdAt;
};

enum class RotateOutcome {
  rotated,  // old token revoked, the new one stored in the same family
  invalid,  // unknown or expired token: nothing changed
  reused,   // the token had already been rotated or revoked: its whole family is now revoked
};

struct RotateResult {
  RotateOutcome outcome = RotateOutcome::invalid;
  std::string userId;  // set when rotated or reused
};

struct Chat {
  std::string chatId;
  std::string userId;
  std::string title;
  bool isActive = true;
  std::optional<std::string> currentMessageId;
  TimePoint createdAt;
  TimePoint updatedAt;
  // When the lease of the generation holding the chat ends (none: no generation).
  std::optional<TimePoint> generationExpiresAt;
};

struct NewChat {
  std::string chatId;
  std::string userId;
  std::string title;
  TimePoint now;
};

struct ChatPatch {
  std::optional<std::string> title;
  std::optional<bool> isActive;
};

struct Message {
  std::string messageId;
  std::string chatId;
  std::optional<std::string> parentMessageId;
  std::string role;  // "user" | "assistant" | "system"
  std::string content;
  std::string metadataJson = "{}";  // a JSON object, stored as JSONB / TEXT
  std::int64_t tokensConsumed = 0;
  TimePoint createdAt;
};

// A message's place in its chat's tree (no content): enough to walk branches.
struct TreeNode {
  std::string messageId;
  std::optional<std::string> parentId;
  std::string role;
};

// A search result: a chat title (messageId empty) or a message text containing every word.
struct SearchHit {
  std::string chatId;
  std::string chatTitle;
  std::string messageId;  // empty for a title
  std::string text;       // the title or the message content
  TimePoint createdAt;
};

struct MessagePage {
  std::vector<Message> messages;  // oldest first
  bool hasMore = false;           // older messages exist before messages.front()
};

struct Usage {
  std::string userId;
  std::int64_t totalTokensUsed = 0;
  std::int64_t tokenLimit = 0;
  TimePoint lastResetAt;
};

// Tokens set aside for one generation before the provider is called.
struct Reservation {
  std::int64_t reserved = 0;  // prompt estimate + output budget, counted as used
  int maxOutputTokens =
      0;  // what the provider may produce: min(MAX_OUTPUT_TOKENS, remaining − prompt)
  std::int64_t remainingAfter = 0;  // the user's remaining tokens with the reservation counted
};

// The chat's generation lease, to record a reservation against (see Store::reserveTokens).
struct LeaseRef {
  std::string chatId;
  std::string generationId;
};

// What a running generation leaves behind if its instance dies: recovery turns it into an
// assistant message with metadata.status "incomplete" and bills `billed` for it.
struct GenerationCheckpoint {
  std::string replyId;   // the assistant message's id
  std::string parentId;  // the user message it answers
  std::string text;      // the reply so far
  std::int64_t billed = 0;
};

// What renewing a generation's lease found.
enum class LeaseState {
  held,           // still this generation's
  lost,           // recovered by another instance after it expired: give the reply up
  stopRequested,  // still held, and a stop was asked for (possibly through another instance)
};

// The PostgreSQL channel on which requestStop notifies the instance running the generation.
inline constexpr std::string_view kStopChannel = "atelier_stop";
// The channel on which an instance asks the one running a generation to relay its events
// ("<chat_id>:<generation_id>:<subscription>"), and the prefix of the channel each relay
// answers on ("atelier_relay_<subscription>"). See chat/generation_relay.hpp.
inline constexpr std::string_view kRelayRequestChannel = "atelier_relay";
inline constexpr std::string_view kRelayChannelPrefix = "atelier_relay_";
// PostgreSQL refuses a notification payload of 8,000 bytes or more.
inline constexpr std::size_t kMaxNotifyPayload = 7999;

// A finished generation: its reply (if any text or a status worth keeping), saved together
// with the settlement of its reservation and the release of its lease.
struct FinishedGeneration {
  std::string userId;
  std::string chatId;
  std::string generationId;
  std::optional<Message> reply;
  std::int64_t reserved = 0;
  std::int64_t billed = 0;
};

// A start of a reply that the provider then refused (nothing was streamed): what
// Store::abandonReply undoes.
struct AbandonedReply {
  std::string userId;
  std::string chatId;
  std::string generationId;
  std::int64_t reserved = 0;
  // The user message the start made the chat's current one: saved by beginReply (deleted
  // again, `newMessage`) or, regenerating, one that was there before.
  std::string userMessageId;
  bool newMessage = true;
  // The chat's current message and updated_at as they were before the start, and its time.
  std::optional<std::string> previousCurrentId;
  TimePoint startedAt;
  TimePoint previousUpdatedAt;
  std::string title;  // the title the start gave the chat ("" when it gave none)
};

// An uploaded image: the row that makes the object at objectKey this user's.
struct Upload {
  std::string uploadId;
  std::string userId;
  std::string objectKey;  // "users/<user_id>/uploads/<upload_id>.<ext>"
  std::string mimeType;   // image/png | image/jpeg | image/webp | image/gif
  std::int64_t sizeBytes = 0;
  std::string sha256;  // hex of the bytes
  TimePoint createdAt;
};

}  // namespace atelier::store
