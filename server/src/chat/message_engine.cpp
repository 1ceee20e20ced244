#include "chat/message_engine.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

#include "chat/views.hpp"
#include "http/errors.hpp"
#include "http/json_body.hpp"
#include "store/acting.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"

namespace atelier::chat {

namespace asio = boost::asio;
namespace json = boost::json;

const char* const kDefaultSystemPrompt =
    "You are the AI Assistant for the AI-NFT Platform, a creative hub for digital artists and "
    "collectors. Your "
    "goal is to assist users in generating ideas for NFT collections, refining art prompts, and "
    "understanding "
    "blockchain concepts. Guidelines: 1. Be creative, concise, and helpful. 2. If asked about "
    "image generation, "
    "guide users on how to describe their vision (future capability). 3. Maintain a professional "
    "yet innovative "
    "tone. 4. Do not provide financial advice regarding crypto trading. 5. Support future "
    "multi-modal "
    "interactions (images will be analyzed/generated).";

namespace {

constexpr std::size_t kMaxReplyBytes = 1 << 20;  // far above any MAX_OUTPUT_TOKENS reply
constexpr std::size_t kTitleChars = 60;
// Images of earlier messages resent with a new one, newest first, at most.
constexpr std::size_t kMaxHistoryImages = 8;
// Messages of the branch read for the history, newest first (the context budget ends it
// sooner in practice).
constexpr std::size_t kMaxHistoryMessages = BranchCache::kMaxBranchMessages;

// The first line of `text`, at most `maxChars` code points, trimmed.
std::string titleFrom(std::string_view text, std::size_t maxChars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') break;
    const std::size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    if (chars == maxChars) {
      out += "…";
      break;
    }
    out.append(text.substr(i, len));
    i += len;
    ++chars;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t'))
    out.pop_back();
  return out;
}

std::string frame(std::string_view id, std::string_view event, const json::value& data) {
  std::string f;
  if (!id.empty()) f.append("id: ").append(id).append("\n");
  if (!event.empty()) f.append("event: ").append(event).append("\n");
  f.append("data: ").append(json::serialize(data)).append("\n\n");
  return f;
}

// The frame of one piece of reply text — `id: <reply id>:<n>` and `data: {"text":"…"}` —
// written straight into `f` (cleared first): this runs for every chunk, into one string
// reused from chunk to chunk.
void writeTextFrame(std::string& f, std::string_view replyId, std::uint64_t seq,
                    std::string_view text) {
  f.clear();
  f.append("id: ").append(replyId).push_back(':');
  std::array<char, 20> digits{};
  const char* end = std::to_chars(digits.data(), digits.data() + digits.size(), seq).ptr;
  f.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
  f.append("\ndata: {\"text\":\"");
  appendJsonEscaped(f, text);
  f.append("\"}\n\n");
}

}  // namespace

std::int64_t estimateTokens(std::string_view text) {
  return static_cast<std::int64_t>(
      std::ceil(static_cast<double>(http::utf8Length(text)) / 4.0 * 1.3));
}

MessageEngine::MessageEngine(EngineSettings settings, store::Store& store, WorkerPool& dbPool,
                             const Clock& clock, llm::ModelProvider* provider,
                             GenerationRegistry& registry, MetricsRegistry& metrics,
                             uploads::UploadService& uploads, RateWindows& rateWindows)
    : settings_(std::move(settings)),
      store_(store),
      dbPool_(dbPool),
      clock_(clock),
      provider_(provider),
      uploads_(uploads),
      registry_(registry),
      rateWindows_(rateWindows),
      activeStreams_(
          metrics.gauge("atelier_active_streams", "Replies being generated and streamed now.")),
      tokensBilled_(metrics.counter("atelier_tokens_billed_total", "Tokens billed to users.")),
      providerErrors_(metrics.counterFamily("atelier_provider_errors_total",
                                            "Model provider failures, by kind.", {"kind"})),
      timeToFirstToken_(metrics.histogram("atelier_time_to_first_token_seconds",
                                          "From the provider call to the first reply text.",
                                          latencyBuckets())),
      branchesKept_(metrics.counter("atelier_history_branches_kept_total",
                                    "Message histories continued from the branch kept in memory.")),
      branchesRead_(metrics.counter("atelier_history_branches_read_total",
                                    "Message histories read from the database.")) {}

Result<MessageEngine::Prepared> MessageEngine::prepare(const SendRequest& request,
                                                       const std::string& generationId,
                                                       TimePoint now,
                                                       const std::shared_ptr<EarlyCall>& early) {
  const std::string& userId = request.userId;
  const std::string& chatId = request.chatId;
  // the sender's account (the route checked the token only: auth::requireToken)
  if (auto sender = senderAllowed(userId); !sender) return std::move(sender).error();
  // 0. the attachments (part of the body's validation)
  auto attached = resolveAttachments(request);
  if (!attached) return std::move(attached).error();
  // 1. the chat, and where in it the message goes
  auto chat = store_.findChat(userId, chatId);
  if (!chat) return std::move(chat).error();
  if (!chat->has_value()) return Error::make(Errc::not_found, "no such chat");
  if (const auto& until = (*chat)->generationExpiresAt; until && *until <= now) {
    // The instance generating here died. Its reply, saved as incomplete, comes first: the new
    // message follows it rather than becoming its sibling.
    auto recovered = store_.recoverGeneration(chatId, now);
    if (!recovered) return std::move(recovered).error();
    chat = store_.findChat(userId, chatId);
    if (!chat) return std::move(chat).error();
    if (!chat->has_value()) return Error::make(Errc::not_found, "no such chat");
  }
  auto anchor = resolveAnchor(request, **chat);
  if (!anchor) return std::move(anchor).error();
  // 2. the per-user message rate
  if (settings_.messagesPerMinute > 0) {
    // Shared by every instance: the window lives in the database (or Redis).
    auto wait = rateWindows_.hit("messages:" + userId, settings_.messagesPerMinute,
                                 kMessageRateWindow, now);
    if (!wait) return std::move(wait).error();
    if (*wait > 0) {
      Error e = Error::make(Errc::rate_limited, "too many messages; slow down");
      e.retryAfterSeconds = *wait;
      return e;
    }
  }
  // 3. the token limit (the reservation below is the atomic check)
  auto usage = store_.getUsage(userId, now, settings_.tokenResetInterval);
  if (!usage) return std::move(usage).error();
  if (!usage->has_value() || (*usage)->totalTokensUsed >= (*usage)->tokenLimit) {
    return Error::make(Errc::token_limit_exceeded,
                       "your token quota is used up; it resets at the next interval");
  }
  // 4. one generation per chat (from here an error rolls the claim back with the rest)
  auto claimed = store_.claimGeneration(userId, chatId, generationId, now, now + settings_.lease);
  if (!claimed) return std::move(claimed).error();
  // 5. a configured provider
  if (provider_ == nullptr) {
    return Error::make(Errc::provider_not_configured,
                       "no model provider is configured on this server");
  }
  Prepared p;
  p.chat = std::move(**chat);
  // The new turn: the request's text as a new message, or the saved message that is answered
  // again (with the images it carried, those still there).
  p.regenerating = anchor->userMessage.has_value();
  if (p.regenerating) {
    p.userMessage = std::move(*anchor->userMessage);
    *attached = historyImages(userId, p.userMessage, kMaxAttachments);
  } else {
    p.userMessage.messageId = newUuidV7();
    p.userMessage.chatId = chatId;
    p.userMessage.parentMessageId = std::move(anchor->parentId);
    p.userMessage.role = "user";
    p.userMessage.content = request.message;
    p.userMessage.createdAt = now;
  }
  const std::string& text = p.userMessage.content;
  // The history: the branch that leads to the new message, newest messages first while they
  // fit the context budget.
  const std::optional<std::string>& historyLeaf = p.userMessage.parentMessageId;
  if (historyLeaf) {
    auto loaded = loadBranch(chatId, *historyLeaf);
    if (!loaded) return std::move(loaded).error();
    p.history = std::move(loaded).value();
  }
  p.gen.systemInstruction = settings_.systemPrompt;
  p.promptEstimate = estimateTokens(p.gen.systemInstruction) + estimateTokens(text) +
                     kImageTokens * static_cast<std::int64_t>(attached->size());
  std::int64_t inlineBytes = 0;
  for (const auto& u : *attached)
    inlineBytes += u.sizeBytes;
  // Newest first: each message's text, and its images while they fit the inline budget (the
  // first that does not fit ends the images: no lookups for ones that could not go).
  std::vector<llm::Turn> history;
  std::vector<TurnImage> historyImagesAt;  // `turn` counted from the newest for now
  bool moreImages = true;
  std::size_t walked = 0;
  for (const BranchNode* node = p.history.get(); node != nullptr && walked < kMaxHistoryMessages;
       node = node->parent.get(), ++walked) {
    const store::Message* it = &node->message;
    if (it->role == "system" || it->content.empty()) continue;
    const auto cost = estimateTokens(it->content);
    if (p.promptEstimate + cost > settings_.maxContextTokens) break;
    p.promptEstimate += cost;
    if (it->role == "user" && moreImages) {
      for (auto& u : historyImages(userId, *it, kMaxHistoryImages - historyImagesAt.size())) {
        if (inlineBytes + u.sizeBytes > kMaxInlineImageBytes ||
            p.promptEstimate + kImageTokens > settings_.maxContextTokens) {
          moreImages = false;
          break;
        }
        inlineBytes += u.sizeBytes;
        p.promptEstimate += kImageTokens;
        historyImagesAt.push_back({history.size(), std::move(u), false});
      }
      moreImages = moreImages && historyImagesAt.size() < kMaxHistoryImages;
    }
    history.push_back(
        {it->role == "user" ? llm::Turn::Role::user : llm::Turn::Role::model, it->content, {}});
  }
  const std::size_t turns = history.size();
  for (auto& image : historyImagesAt) {
    image.turn = turns - 1 - image.turn;  // oldest first, as the contents go
    p.images.push_back(std::move(image));
  }
  p.gen.contents.assign(std::make_move_iterator(history.rbegin()),
                        std::make_move_iterator(history.rend()));
  p.gen.contents.push_back({llm::Turn::Role::user, text, {}});
  if (!attached->empty() && p.regenerating) {
    for (auto& u : *attached)
      p.images.push_back({turns, std::move(u), false});  // a deleted one is left out
  } else if (!attached->empty()) {
    json::array items;
    for (auto& u : *attached) {
      items.push_back(json::object{{"type", "image"},
                                   {"upload_id", u.uploadId},
                                   {"url", uploads_.urlOf(u)},
                                   {"mime_type", u.mimeType},
                                   {"size_bytes", u.sizeBytes},
                                   {"generated", false},
                                   {"model", provider_->model()}});
      p.images.push_back({turns, std::move(u), true});
    }
    p.userMessage.metadataJson = json::serialize(json::object{{"attachments", std::move(items)}});
  }
  // Tokens set aside before the call, recorded on the lease so a crash cannot leak them.
  auto reservation =
      store_.reserveTokens(userId, p.promptEstimate, settings_.maxOutputTokens, now,
                           settings_.tokenResetInterval, store::LeaseRef{chatId, generationId});
  if (!reservation) return std::move(reservation).error();
  p.reservation = *reservation;
  p.gen.maxOutputTokens = reservation->maxOutputTokens;
  // Reserved, and the transaction holds the write lock (SQLite) or the user's rows
  // (PostgreSQL), so nothing can take the tokens back: the provider is asked now, while the
  // question is saved and the transaction commits. Should the commit fail, the call is
  // cancelled and nothing was kept.
  if (early && p.images.empty()) callEarly(early, std::move(p.gen));
  // The start of the reply: the user message saved (a regenerate answers the one saved
  // already), the chat titled, the lease's first checkpoint. From here a crash leaves an
  // incomplete reply billed for the prompt; a provider that refuses has it undone
  // (abandonReply), as the contract keeps no message the provider did not accept.
  p.assistantMessageId = newUuidV7();
  if (p.chat.title.empty()) p.title = titleFrom(p.userMessage.content, kTitleChars);
  const store::GenerationCheckpoint cp{p.assistantMessageId, p.userMessage.messageId, "",
                                       p.promptEstimate};
  const auto leaseUntil = now + settings_.lease;
  auto begun = p.regenerating
                   ? store_.beginRegeneration(chatId, p.userMessage.messageId, generationId, cp,
                                              now, leaseUntil)
                   : store_.beginReply(p.userMessage, p.title, generationId, cp, leaseUntil);
  if (!begun) return std::move(begun).error();
  return p;
}

Result<Branch> MessageEngine::loadBranch(const std::string& chatId, const std::string& leafId) {
  // A kept branch serves a prompt when it holds all its messages or as many as one reads.
  const auto enough = [](const Branch& b) {
    return b && (b->whole || b->length >= kMaxHistoryMessages);
  };
  Branch kept = branches_.find(chatId);
  if (!enough(kept)) kept = nullptr;
  // The leaf on the branch kept — its end (most often the reply this instance saved last), the
  // question a regenerate answers again, the message an edit goes under: the branch up to it.
  for (const Branch* node = &kept; *node; node = &(*node)->parent) {
    if ((*node)->message.messageId != leafId) continue;
    if (!enough(*node)) break;
    branchesKept_.inc();
    return *node;
  }
  if (kept) {
    // Most often the leaf is the reply to the message kept: one row instead of the branch.
    auto leaf = store_.messagesByIds(chatId, {leafId});
    if (!leaf) return std::move(leaf).error();
    if (leaf->empty()) return Branch{};
    if (leaf->front().parentMessageId == kept->message.messageId) {
      branchesKept_.inc();
      return extendBranch(std::move(kept), std::move(leaf->front()));
    }
  }
  branchesRead_.inc();
  auto loaded = store_.branchMessages(chatId, leafId, kMaxHistoryMessages);
  if (!loaded) return std::move(loaded).error();
  return branchOf(std::move(loaded).value());
}

Result<MessageEngine::Anchor> MessageEngine::resolveAnchor(const SendRequest& request,
                                                           const store::Chat& chat) {
  // One message of this chat, by id (nullopt when it is not one).
  auto messageOf = [&](const std::string& id) -> Result<std::optional<store::Message>> {
    auto found = store_.messagesByIds(chat.chatId, {id});
    if (!found) return std::move(found).error();
    if (found->empty()) return std::optional<store::Message>();
    return std::optional<store::Message>(std::move(found->front()));
  };
  Anchor a;
  if (request.regenerate) {
    const std::string target =
        request.regenerate->empty() ? chat.currentMessageId.value_or("") : *request.regenerate;
    auto reply =
        target.empty() ? Result<std::optional<store::Message>>(std::nullopt) : messageOf(target);
    if (!reply) return std::move(reply).error();
    if (!reply->has_value() || (*reply)->role != "assistant" || !(*reply)->parentMessageId) {
      return Error::make(Errc::invalid_request,
                         request.regenerate->empty()
                             ? "the chat's current message is not a reply to regenerate"
                             : "message_id is not a reply in this chat",
                         "message_id");
    }
    auto user = messageOf(*(*reply)->parentMessageId);
    if (!user) return std::move(user).error();
    if (!user->has_value() || (*user)->role != "user") {
      return Error::make(Errc::invalid_request, "that reply answers no message of yours",
                         "message_id");
    }
    a.parentId = (*user)->messageId;
    a.userMessage = std::move(*user);
    return a;
  }
  if (!request.parentMessageId) {
    a.parentId = chat.currentMessageId;
    return a;
  }
  if (request.parentMessageId->empty()) return a;  // a new first message
  auto parent = messageOf(*request.parentMessageId);
  if (!parent) return std::move(parent).error();
  if (!parent->has_value() || (*parent)->role != "assistant") {
    return Error::make(Errc::invalid_request,
                       "parent_message_id is not a reply in this chat (or null for a new first "
                       "message)",
                       "parent_message_id");
  }
  a.parentId = *request.parentMessageId;
  return a;
}

Result<std::vector<store::Upload>> MessageEngine::resolveAttachments(const SendRequest& request) {
  std::vector<store::Upload> out;
  if (request.attachmentUrls.empty()) return out;
  std::int64_t bytes = 0;
  for (std::size_t i = 0; i < request.attachmentUrls.size(); ++i) {
    auto found = uploads_.resolveNow(request.userId, request.attachmentUrls[i]);
    if (!found) return std::move(found).error();
    if (!found->has_value()) {
      return invalidAttachment("attachments[" + std::to_string(i) +
                               "].url is not an image you uploaded to this server");
    }
    bytes += (*found)->sizeBytes;
    out.push_back(std::move(**found));
  }
  if (bytes > kMaxInlineImageBytes) {
    return invalidAttachment("the images of one message may total at most " +
                             std::to_string(kMaxInlineImageBytes >> 20) + " MiB");
  }
  return out;
}

std::vector<store::Upload> MessageEngine::historyImages(const std::string& userId,
                                                        const store::Message& m, std::size_t max) {
  std::vector<store::Upload> out;
  if (max == 0 || m.metadataJson.find("\"attachments\"") == std::string::npos) return out;
  boost::system::error_code ec;
  const json::value meta = json::parse(m.metadataJson, ec);
  const auto* items =
      ec || !meta.is_object() ? nullptr : meta.as_object().if_contains("attachments");
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& item : items->as_array()) {
    if (out.size() == max) break;
    const auto* url = item.is_object() ? item.as_object().if_contains("url") : nullptr;
    if (url == nullptr || !url->is_string()) continue;
    const std::string_view u = url->as_string();
    auto found = uploads_.resolveNow(userId, u);
    if (!found) {
      spdlog::warn("an image of message {} is left out: {}", m.messageId, found.error().message);
      continue;
    }
    if (found->has_value()) out.push_back(std::move(**found));  // deleted since: left out
  }
  return out;
}

asio::awaitable<Result<void>> MessageEngine::attachImages(Prepared& p) {
  std::vector<store::Upload> uploads;
  uploads.reserve(p.images.size());
  for (const auto& i : p.images)
    uploads.push_back(i.upload);
  auto loaded = co_await uploads_.loadInline(uploads);
  if (!loaded) co_return std::move(loaded).error();
  for (std::size_t i = 0; i < p.images.size(); ++i) {
    auto& data = (*loaded)[i];
    if (!data) {
      if (p.images[i].attached) {
        co_return invalidAttachment("an attached image was deleted while the message was sent");
      }
      continue;  // an image of an earlier message, gone since: the text goes alone
    }
    p.gen.contents[p.images[i].turn].images.push_back(
        llm::InlineImage{std::move(data->mimeType), std::move(data->base64)});
  }
  co_return Result<void>{};
}

struct MessageEngine::EarlyCall {
  explicit EarlyCall(const asio::any_io_executor& ex)
      : ready(ex, asio::steady_timer::time_point::max()) {}
  // On the request's executor (the call runs there); cancelled when `result` is set.
  asio::steady_timer ready;
  // Set on the database thread, read on the request's after the hop back.
  bool started = false;
  std::chrono::steady_clock::time_point calledAt;
  bool abandoned = false;  // the transaction failed: the stream is cancelled as it comes
  std::optional<Result<std::unique_ptr<llm::GenerationStream>>> result;
};

void MessageEngine::callEarly(const std::shared_ptr<EarlyCall>& early, llm::GenerationRequest gen) {
  early->started = true;
  early->calledAt = std::chrono::steady_clock::now();
  auto call = [](llm::ModelProvider* provider, std::shared_ptr<EarlyCall> early,
                 llm::GenerationRequest gen) -> asio::awaitable<void> {
    auto stream = co_await provider->start(std::move(gen));
    if (early->abandoned) {
      if (stream && *stream) (*stream)->cancel();
      co_return;
    }
    early->result = std::move(stream);
    early->ready.cancel();
  };
  // Posted: the coroutine starts on the request's thread, never on this one.
  asio::co_spawn(
      early->ready.get_executor(),
      [call, provider = provider_, early, g = std::move(gen)]() mutable {
        return call(provider, early, std::move(g));
      },
      asio::detached);
}

asio::awaitable<Result<std::shared_ptr<Generation>>> MessageEngine::send(
    SendRequest request, asio::any_io_executor executor) {
  const std::string userId = request.userId, chatId = request.chatId;
  const std::string generationId = newUuidV7();
  const auto now = clock_.now();
  // (No co_await inside a conditional expression: g++ 12 miscompiles it.)
  const auto self = co_await asio::this_coro::executor;
  std::shared_ptr<EarlyCall> early;
  if (provider_ != nullptr) early = std::make_shared<EarlyCall>(self);
  // One hop to a database thread and one transaction for all of it (each hop is a queue and
  // two context switches; each SQLite commit a WAL write).
  auto prepared = co_await dbPool_.run([&]() -> Result<Prepared> {
    const store::ActingAs as(userId);
    std::optional<Prepared> out;
    auto done = store_.atomically([&]() -> Result<void> {
      auto p = prepare(request, generationId, now, early);
      if (!p) return std::move(p).error();
      out = std::move(p).value();
      return {};
    });
    if (!done) return std::move(done).error();
    return std::move(*out);
  });
  if (!prepared) {
    if (early && early->started) {
      early->abandoned = true;  // the call made before the failed commit goes unanswered
      if (early->result && *early->result) (**early->result)->cancel();
    }
    co_return std::move(prepared).error();
  }
  // Committed: the next message of the chat continues this branch (forgotten if abandoned).
  branches_.remember(chatId, extendBranch(prepared->history, prepared->userMessage));
  const store::Chat& chat = prepared->chat;
  const std::int64_t promptEstimate = prepared->promptEstimate;
  const store::Reservation& reservation = prepared->reservation;
  const bool regenerating = prepared->regenerating;
  const store::Message& userMessage = prepared->userMessage;
  // The provider refused: nothing billed, the reservation returned, the chat as it was.
  auto abandon = [&]() -> asio::awaitable<void> {
    branches_.forget(chatId);  // before the new message is deleted, for no moment of doubt
    const store::AbandonedReply a{userId,
                                  chatId,
                                  generationId,
                                  reservation.reserved,
                                  userMessage.messageId,
                                  !regenerating,
                                  chat.currentMessageId,
                                  now,
                                  chat.updatedAt,
                                  prepared->title};
    auto r = co_await dbPool_.run([&] { return store_.abandonReply(a); });
    if (!r) {
      spdlog::error("could not undo the start of the reply in chat {}: {}", chatId,
                    r.error().message);
    }
  };
  std::optional<Result<std::unique_ptr<llm::GenerationStream>>> called;
  std::chrono::steady_clock::time_point calledAt;
  if (early && early->started) {
    calledAt = early->calledAt;
    while (!early->result) {
      (void)co_await early->ready.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    called = std::move(early->result);
  } else {
    if (!prepared->images.empty()) {
      if (auto loaded = co_await attachImages(*prepared); !loaded) {
        co_await abandon();
        co_return std::move(loaded).error();
      }
    }
    llm::GenerationRequest gen = std::move(prepared->gen);
    calledAt = std::chrono::steady_clock::now();  // (after the images: the call itself)
    called = co_await provider_->start(std::move(gen));
  }
  auto& stream = *called;
  if (!stream) {
    providerErrors_
        .with({stream.error().code == Errc::upstream_timeout ? "timeout" : "before_stream"})
        .inc();
    co_await abandon();
    co_return std::move(stream).error();
  }
  std::shared_ptr<llm::GenerationStream> providerStream = std::move(stream).value();
  const std::string& assistantMessageId = prepared->assistantMessageId;
  auto g = std::make_shared<Generation>(generationId, chatId, userId, assistantMessageId);
  g->append(
      frame("", "start",
            json::object{{"user_message", regenerating ? json::value(nullptr)
                                                       : json::value(messageJson(userMessage))},
                         {"assistant_message_id", g->assistantMessageId()}}));
  std::weak_ptr<llm::GenerationStream> weak = providerStream;
  g->onStop([weak] {
    if (auto s = weak.lock()) s->cancel();
  });
  registry_.add(g);
  activeStreams_.inc();
  asio::co_spawn(
      executor,
      [this, g, providerStream, r = reservation, promptEstimate, parent = userMessage.messageId,
       calledAt]() mutable { return run(g, providerStream, r, promptEstimate, parent, calledAt); },
      asio::detached);
  co_return g;
}

asio::awaitable<void> MessageEngine::run(std::shared_ptr<Generation> g,
                                         std::shared_ptr<llm::GenerationStream> stream,
                                         store::Reservation reservation,
                                         std::int64_t promptEstimate, std::string parentMessageId,
                                         std::chrono::steady_clock::time_point calledAt) {
  auto checkpointed = std::chrono::steady_clock::now();
  auto checkpoints = std::make_shared<CheckpointState>();
  const auto executor = co_await asio::this_coro::executor;
  const auto checkpointEvery = std::min<std::chrono::steady_clock::duration>(
      settings_.checkpointInterval, settings_.lease / 3);
  std::string text, finishReason, textFrame;
  std::optional<llm::TokenUsage> usage;
  std::optional<Error> failure;
  bool complete = false;
  std::uint64_t seq = 0;
  const std::string& aid = g->assistantMessageId();
  auto nextId = [&] { return aid + ":" + std::to_string(++seq); };
  for (;;) {
    auto chunk = co_await stream->next();
    if (!chunk) {
      if (g->stopReason() == Generation::StopReason::none) failure = chunk.error();
      break;
    }
    if (!chunk->text.empty()) {
      if (text.empty()) {
        timeToFirstToken_.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - calledAt).count());
      }
      text += chunk->text;
      writeTextFrame(textFrame, aid, ++seq, chunk->text);
      g->append(textFrame);
      if (text.size() > kMaxReplyBytes) {
        stream->cancel();
        failure = Error::make(Errc::upstream_error, "the reply is too long");
        break;
      }
    }
    if (!chunk->finishReason.empty()) finishReason = chunk->finishReason;
    if (chunk->usage) usage = chunk->usage;
    if (chunk->done) {
      complete = true;
      break;
    }
    if (checkpoints->lost) {
      stream->cancel();
      failure = Error::make(Errc::unavailable, "the reply was given up after its lease expired");
      break;
    }
    if (std::chrono::steady_clock::now() - checkpointed >= checkpointEvery &&
        !checkpoints->inFlight.exchange(true)) {
      // Renew the lease and record the text so far, so a crash loses at most one interval —
      // beside the stream, never in its way.
      checkpointed = std::chrono::steady_clock::now();
      store::GenerationCheckpoint cp{aid, parentMessageId, text,
                                     promptEstimate + estimateTokens(text)};
      asio::co_spawn(executor, checkpoint(g, checkpoints, std::move(cp)), asio::detached);
    }
  }
  const auto stop = g->stopReason();
  if (stop == Generation::StopReason::shutdown && !failure) {
    failure = Error::make(Errc::unavailable, "the server is shutting down");
  }
  if (failure) {
    providerErrors_.with({failure->code == Errc::upstream_timeout ? "timeout" : "mid_stream"})
        .inc();
  }
  const std::string status = failure                                ? "incomplete"
                             : stop == Generation::StopReason::user ? "stopped"
                                                                    : "complete";
  // Billing: the provider's figure for a finished reply, else the estimate of what was
  // sent and received.
  const bool reported = complete && usage.has_value() && usage->total > 0;
  const std::int64_t promptTokens = reported ? usage->prompt : promptEstimate;
  const std::int64_t completionTokens =
      reported ? usage->total - usage->prompt : estimateTokens(text);
  const std::int64_t billed = reported ? usage->total : promptEstimate + estimateTokens(text);

  std::optional<store::Message> reply;
  if (!(failure && text.empty())) {
    store::Message m;
    m.messageId = aid;
    m.chatId = g->chatId();
    m.parentMessageId = parentMessageId;
    m.role = "assistant";
    m.content = text;
    json::object meta{{"status", status}};
    if (!finishReason.empty()) meta["finish_reason"] = finishReason;
    m.metadataJson = json::serialize(meta);
    m.tokensConsumed = billed;
    m.createdAt = clock_.now();
    reply = m;
  }
  const std::string userId = g->userId(), chatId = g->chatId(), generationId = g->id();
  const store::FinishedGeneration fin{userId, chatId, generationId, reply, reservation.reserved,
                                      billed};
  const auto save = [&] { return dbPool_.run([&] { return store_.finishGeneration(fin); }); };
  auto finished = co_await save();
  // The database may be away for a moment (a restart, a failover). The reply has been streamed
  // already: keep trying to save it for as long as its lease would have held (after that,
  // whoever recovers the lease saves the last checkpoint), unless the server is stopping.
  const auto saveBy = std::chrono::steady_clock::now() + settings_.lease;
  asio::steady_timer retry(executor);
  for (auto wait = std::chrono::milliseconds(250);
       !finished && finished.error().code == Errc::unavailable &&
       g->stopReason() != Generation::StopReason::shutdown &&
       std::chrono::steady_clock::now() + wait < saveBy;
       wait = std::min(wait * 2, std::chrono::milliseconds(4000))) {
    spdlog::warn("the reply {} to chat {} is not saved yet ({}); retrying in {} ms", aid, chatId,
                 finished.error().message, wait.count());
    retry.expires_after(wait);
    (void)co_await retry.async_wait(asio::as_tuple(asio::use_awaitable));
    finished = co_await save();
    if (finished) spdlog::info("the reply {} to chat {} is saved", aid, chatId);
  }
  if (!finished) {
    // Ids and size only: the text is the user's, and stays out of the log.
    spdlog::error("the reply {} to chat {} ({} bytes, {}) could not be saved: {}", aid, chatId,
                  text.size(), status, finished.error().message);
    if (finished.error().code == Errc::not_found)  // the lease: recovered by someone else
      finished = Error::make(Errc::unavailable, std::string(finished.error().message));
  }
  // Saved: the chat's next message continues from the reply without reading it back.
  if (finished && reply) branches_.extend(chatId, *reply);
  tokensBilled_.inc(static_cast<std::uint64_t>(std::max<std::int64_t>(0, billed)));
  const json::value message = reply ? json::value(messageJson(*reply)) : json::value(nullptr);
  if (!finished) {
    failure = finished.error();
  }
  if (failure) {
    g->close(frame(nextId(), "error",
                   json::object{{"error", json::object{{"code", errcName(failure->code)},
                                                       {"message", failure->message}}},
                                {"message", message}}));
  } else {
    const std::int64_t remaining =
        std::max<std::int64_t>(0, finished->tokenLimit - finished->totalTokensUsed);
    g->close(frame(nextId(), "done",
                   json::object{{"message", message},
                                {"usage", json::object{{"prompt_tokens", promptTokens},
                                                       {"completion_tokens", completionTokens},
                                                       {"total_tokens", billed}}},
                                {"remaining_tokens", remaining}}));
  }
  g->onStop(nullptr);
  registry_.remove(chatId, generationId);
  activeStreams_.dec();
}

asio::awaitable<void> MessageEngine::checkpoint(std::shared_ptr<Generation> g,
                                                std::shared_ptr<CheckpointState> state,
                                                store::GenerationCheckpoint cp) {
  const auto until = clock_.now() + settings_.lease;
  auto held = co_await dbPool_.run([&] {
    const store::ActingAs as(g->userId());
    return store_.checkpointGeneration(g->chatId(), g->id(), cp, until);
  });
  if (!held) {
    spdlog::warn("could not checkpoint the reply to chat {}: {}", g->chatId(),
                 held.error().message);
  } else if (*held == store::LeaseState::lost) {
    state->lost = true;
  } else if (*held == store::LeaseState::stopRequested) {
    // Asked through another instance, and its notification did not reach us (or came first).
    g->requestStop(Generation::StopReason::user);
  }
  state->inFlight = false;
}

Result<void> MessageEngine::senderAllowed(const std::string& userId) {
  auto user = store_.findUserById(userId);
  if (!user) return std::move(user).error();
  if (!user->has_value() || (*user)->disabled) return accessTokenRequired();
  return {};
}

asio::awaitable<Result<void>> MessageEngine::checkSender(std::string userId) {
  co_return co_await dbPool_.run([&] { return senderAllowed(userId); });
}

asio::awaitable<Result<std::shared_ptr<Generation>>> MessageEngine::running(std::string userId,
                                                                            std::string chatId) {
  auto chat = co_await dbPool_.run([&] { return store_.findChat(userId, chatId); });
  if (!chat) co_return std::move(chat).error();
  if (!chat->has_value()) co_return Error::make(Errc::not_found, "no such chat");
  if (auto g = registry_.find(chatId); g && g->userId() == userId) co_return g;
  // Maybe being written by another instance.
  auto active = co_await dbPool_.run([&] {
    const store::ActingAs as(userId);
    return store_.activeGeneration(chatId, clock_.now());
  });
  if (!active) co_return std::move(active).error();
  if (!active->has_value()) co_return std::shared_ptr<Generation>();
  if (auto g = registry_.find(chatId); g && g->id() == **active) co_return g;  // started here
  if (relay_ == nullptr) {
    co_return Error::make(Errc::generation_in_progress,
                          "the reply is being written by another server process; it will be in "
                          "the chat when it is done");
  }
  std::string generationId = **active;
  co_return co_await relay_->attach(std::move(userId), std::move(chatId), std::move(generationId));
}

asio::awaitable<Result<void>> MessageEngine::stop(std::string userId, std::string chatId) {
  auto chat = co_await dbPool_.run([&] { return store_.findChat(userId, chatId); });
  if (!chat) co_return std::move(chat).error();
  if (!chat->has_value()) co_return Error::make(Errc::not_found, "no such chat");
  if (auto g = registry_.find(chatId); g && g->userId() == userId) {
    g->requestStop(Generation::StopReason::user);
    co_return Result<void>{};
  }
  // Maybe running on another instance: mark its lease and notify it.
  auto elsewhere =
      co_await dbPool_.run([&] { return store_.requestStop(userId, chatId, clock_.now()); });
  if (!elsewhere) co_return std::move(elsewhere).error();
  if (!elsewhere->has_value())
    co_return Error::make(Errc::not_found, "no reply is being generated in this chat");
  // It may have been this instance's after all (it started meanwhile).
  if (auto g = registry_.find(chatId); g && g->id() == **elsewhere) {
    g->requestStop(Generation::StopReason::user);
  }
  co_return Result<void>{};
}

void MessageEngine::stopRequested(std::string_view notification) {
  const auto colon = notification.find(':');
  if (colon == std::string_view::npos) return;
  const std::string chatId(notification.substr(0, colon));
  const auto generationId = notification.substr(colon + 1);
  if (auto g = registry_.find(chatId); g && g->id() == generationId) {
    spdlog::info("stopping the reply in chat {}: asked through another instance", chatId);
    g->requestStop(Generation::StopReason::user);
  }
}

}  // namespace atelier::chat
