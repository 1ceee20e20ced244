// Sending a message: every check of the contract in its order, the token reservation, the
// per-chat generation lease, the provider call, then a detached generation task that saves
// the reply once at the end and settles the tokens.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "chat/bodies.hpp"  // kMaxAttachments, invalidAttachment
#include "chat/branch_cache.hpp"
#include "chat/generation.hpp"
#include "chat/generation_relay.hpp"
#include "http/middleware.hpp"
#include "llm/provider.hpp"
#include "store/store.hpp"
#include "uploads/upload_service.hpp"
#include "util/metrics.hpp"
#include "util/rate_window.hpp"
#include "util/result.hpp"
#include "util/time.hpp"
#include "util/worker_pool.hpp"

namespace atelier::chat {

// The platform's assistant persona (SYSTEM_PROMPT_FILE replaces it).
extern const char* const kDefaultSystemPrompt;

// The contract's estimate: ceil(characters / 4 × 1.3).
std::int64_t estimateTokens(std::string_view text);

struct EngineSettings {
  int maxOutputTokens = 2048;
  int maxMessageChars = 16000;
  int maxContextTokens = 32000;
  std::string systemPrompt = kDefaultSystemPrompt;
  std::chrono::seconds tokenResetInterval{30 * 86400};
  std::chrono::seconds lease{120};  // generation lease; renewed while the reply streams
  std::chrono::seconds checkpointInterval{
      10};  // how often the text so far is recorded (at most lease/3)
  std::uint32_t messagesPerMinute = 20;
};

struct SendRequest {
  std::string userId;
  std::string chatId;
  std::string message;
  std::vector<std::string> attachmentUrls;  // at most kMaxAttachments, checked by the route
  // Where the new user message goes: unset, after the chat's current message; empty, a new
  // first message; else after that assistant message of the chat (editing a message is
  // sending the new text under the edited one's parent).
  std::optional<std::string> parentMessageId;
  // Set: regenerate instead of send. A new reply, as a sibling, to the user message that this
  // assistant message answers (empty: the chat's current message). `message` and
  // `attachmentUrls` are then unused: the user message is the saved one.
  std::optional<std::string> regenerate;
};

// RATE_LIMIT_MESSAGES_PER_MINUTE's window.
inline constexpr std::chrono::seconds kMessageRateWindow{60};
// Images travel inline (base64) in the provider request, whose size Gemini caps at 20 MB:
// the raw bytes of the images in one request stay under this.
inline constexpr std::int64_t kMaxInlineImageBytes = std::int64_t{15} << 20;
// The estimate of one image in the prompt (the contract's 258 tokens).
inline constexpr std::int64_t kImageTokens = 258;

// The memory the engine keeps chats' latest branches in (BranchCache).
inline constexpr std::size_t kBranchCacheBytes = std::size_t{32} << 20;

class MessageEngine {
 public:
  // `provider` may be null: sending then answers 503 provider_not_configured.
  MessageEngine(EngineSettings settings, store::Store& store, WorkerPool& dbPool,
                const Clock& clock, llm::ModelProvider* provider, GenerationRegistry& registry,
                MetricsRegistry& metrics, uploads::UploadService& uploads,
                RateWindows& rateWindows);

  // Checks, reserves, calls the provider; on success the generation runs on `executor` and
  // its first frame (`start`) is ready. Errors are the contract's plain JSON errors.
  boost::asio::awaitable<Result<std::shared_ptr<Generation>>> send(
      SendRequest request, boost::asio::any_io_executor executor);
  // The generation running in the user's chat (null when none; 404 when the chat is not the
  // user's): this instance's, or a mirror of another instance's through the relay (409
  // generation_in_progress when there is none, as on SQLite).
  void useRelay(GenerationRelay* relay) { relay_ = relay; }
  boost::asio::awaitable<Result<std::shared_ptr<Generation>>> running(std::string userId,
                                                                      std::string chatId);
  // The account of a sender whose token was checked without the database
  // (auth::requireToken): Errc::unauthorized when it is gone or disabled. send() checks it
  // itself; this is for a request refused before it gets there.
  boost::asio::awaitable<Result<void>> checkSender(std::string userId);
  // Stops the generation running in the chat, on this instance or another one (404 when
  // none, or another user's chat).
  boost::asio::awaitable<Result<void>> stop(std::string userId, std::string chatId);
  // A stop asked for through another instance ("<chat_id>:<generation_id>", from
  // store::kStopChannel): stops that generation if it runs here. Any thread.
  void stopRequested(std::string_view notification);

  GenerationRegistry& registry() { return registry_; }
  Gauge& activeStreams() { return activeStreams_; }

 private:
  // An image to send inline with the turn at `turn` of the request's contents.
  struct TurnImage {
    std::size_t turn = 0;
    store::Upload upload;
    bool attached = false;  // one of the new message's attachments (not from the history)
  };
  struct Prepared {
    store::Chat chat;
    llm::GenerationRequest gen;
    std::int64_t promptEstimate = 0;
    store::Reservation reservation;
    std::vector<TurnImage> images;
    // The user message the reply answers: a new one, or (regenerating) one saved before.
    store::Message userMessage;
    bool regenerating = false;
    std::string assistantMessageId;
    std::string title;  // what the chat was titled ("" when it had a title)
    Branch history;     // the branch the user message continues (null: a first message)
  };
  // The provider call of a message without images, made from the database thread as soon as
  // its tokens are reserved, so that it overlaps the rest of the transaction (saving the
  // question, the commit). Its result comes on the request's thread.
  struct EarlyCall;
  void callEarly(const std::shared_ptr<EarlyCall>& early, llm::GenerationRequest gen);
  // Where a send puts its message, or which user message a regenerate answers.
  struct Anchor {
    std::optional<std::string> parentId;        // the new user message's parent
    std::optional<store::Message> userMessage;  // regenerate: the message to answer again
  };
  Result<void> senderAllowed(const std::string& userId);
  // The chat's branch that ends at `leafId`, from what branches_ kept when it can be.
  Result<Branch> loadBranch(const std::string& chatId, const std::string& leafId);
  Result<Anchor> resolveAnchor(const SendRequest& request, const store::Chat& chat);
  // The new message's attachments as uploads of this user (Errc::invalid_attachment else).
  Result<std::vector<store::Upload>> resolveAttachments(const SendRequest& request);
  // The uploads a history message carried, still there (at most `max`).
  std::vector<store::Upload> historyImages(const std::string& userId, const store::Message& m,
                                           std::size_t max);
  // Loads the images' bytes into the request's turns. Errc::invalid_attachment when one of
  // the new message's images is gone meanwhile.
  boost::asio::awaitable<Result<void>> attachImages(Prepared& p);
  struct CheckpointState {
    std::atomic<bool> inFlight{false};
    std::atomic<bool> lost{false};  // another instance recovered the lease: give the reply up
  };
  boost::asio::awaitable<void> checkpoint(std::shared_ptr<Generation> g,
                                          std::shared_ptr<CheckpointState> state,
                                          store::GenerationCheckpoint cp);
  // Every check, the reservation and the start of the reply (the user message saved, the
  // lease's first checkpoint), in the contract's order, for one Store::atomically: any
  // refusal leaves nothing behind.
  // With `early`, a message without images is sent to the provider once its tokens are
  // reserved (Prepared::gen is then empty).
  Result<Prepared> prepare(const SendRequest& request, const std::string& generationId,
                           TimePoint now, const std::shared_ptr<EarlyCall>& early);
  boost::asio::awaitable<void> run(std::shared_ptr<Generation> g,
                                   std::shared_ptr<llm::GenerationStream> stream,
                                   store::Reservation reservation, std::int64_t promptEstimate,
                                   std::string parentMessageId,
                                   std::chrono::steady_clock::time_point calledAt);

  EngineSettings settings_;
  store::Store& store_;
  WorkerPool& dbPool_;
  const Clock& clock_;
  llm::ModelProvider* provider_;
  uploads::UploadService& uploads_;
  GenerationRegistry& registry_;
  RateWindows& rateWindows_;
  GenerationRelay* relay_ = nullptr;
  Gauge& activeStreams_;
  Counter& tokensBilled_;
  Family<Counter>& providerErrors_;
  Histogram& timeToFirstToken_;
  Counter& branchesKept_;  // histories taken from branches_, not walked in the database
  Counter& branchesRead_;
  BranchCache branches_{kBranchCacheBytes};
};

}  // namespace atelier::chat
