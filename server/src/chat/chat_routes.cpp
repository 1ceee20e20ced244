#include "chat/chat_routes.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <charconv>

#include "chat/bodies.hpp"
#include "chat/search.hpp"
#include "chat/views.hpp"
#include "http/json_body.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

namespace atelier::chat {

namespace asio = boost::asio;
namespace json = boost::json;
using http::jsonResponse;
using http::Request;
using http::Response;

namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 500;

// `limit`: `fallback` when absent, else a number from 1 to `max`.
Result<int> readLimit(const Request& req, int fallback, int max) {
  auto raw = req.queryParam("limit");
  if (!raw) return fallback;
  int n = 0;
  const auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), n);
  if (ec != std::errc() || end != raw->data() + raw->size() || n < 1 || n > max) {
    return Error::make(Errc::invalid_request,
                       "limit must be a number from 1 to " + std::to_string(max), "limit");
  }
  return n;
}

// A file name for Content-Disposition: the title's safe characters (others become '_'), at
// most 80, "chat" when nothing is left; the whole title goes in filename* (RFC 6266/8187).
std::string contentDisposition(std::string_view title, std::string_view extension) {
  std::string safe;
  for (const char c : title.substr(0, 80)) {
    const bool ok = isAsciiAlnum(c) || c == '-' || c == '_' || c == '.' || c == ' ';
    safe.push_back(ok ? c : '_');
  }
  const auto trimmed = trim(safe, " ._");
  safe = trimmed.empty() ? std::string("chat") : std::string(trimmed);
  // RFC 8187 attr-chars include every URL-unreserved character.
  const std::string encoded =
      boost::urls::encode(title.substr(0, 200), boost::urls::unreserved_chars);
  std::string out = "attachment; filename=\"" + safe + "." + std::string(extension) + "\"";
  if (!encoded.empty()) out += "; filename*=UTF-8''" + encoded + "." + std::string(extension);
  return out;
}

std::string roleHeading(std::string_view role) {
  if (role == "user") return "User";
  if (role == "assistant") return "Assistant";
  return "System";
}

// The generation's frames as the response body, from frame `from` (0: `start`) to the closing
// event, with a keep-alive comment after every `keepAlive` of silence.
Response streamResponse(std::shared_ptr<Generation> generation, std::chrono::milliseconds keepAlive,
                        std::size_t from = 0) {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "text/event-stream"},
               {"Cache-Control", "no-cache"},
               {"X-Accel-Buffering", "no"}};
  // Frames waiting already (a new reply's `start`): the head goes out with them.
  r.headWithFirstWrite = generation->frameCount() > from;
  r.stream = [g = std::move(generation), keepAlive,
              from](http::ResponseWriter& w) -> asio::awaitable<void> {
    // One timer and one buffer for the whole stream: nothing is allocated per chunk.
    const auto executor = co_await asio::this_coro::executor;
    const auto timer = std::make_shared<asio::steady_timer>(executor);
    std::string batch;
    std::size_t seen = from;
    if (from == 0 && g->frameCount() < 2) {
      // Only `start` so far: one turn of the loop first, for a new reply's producer to append
      // the first text it has in hand, so that the head, `start` and that text leave in one
      // write. (Most often it has: the producer runs inline from its spawn up to its first
      // wait, and the provider's head came with the first bytes of its body.)
      co_await asio::post(executor, asio::use_awaitable);
    }
    for (;;) {
      batch.clear();
      const auto got = co_await g->waitBeyond(seen, batch, timer, keepAlive);
      if (got.frames == 0 && !got.closed) {
        if (!co_await w.write(": keep-alive\n\n"))
          co_return;  // the client is gone; the reply goes on
        continue;
      }
      seen += got.frames;
      if (!batch.empty() && !co_await w.write(batch)) co_return;
      if (got.closed) co_return;
    }
  };
  return r;
}

// The branch as Markdown: the title, then a heading per message with its role and time.
std::string exportMarkdown(const ChatBranch& b) {
  std::string md = "# " + (b.chat.title.empty() ? std::string("Chat") : b.chat.title) + "\n\n";
  md += "_Exported from Atelier: " + std::to_string(b.messages.size()) + " messages, created " +
        formatRfc3339(b.chat.createdAt) + "._\n";
  for (const auto& m : b.messages) {
    md += "\n## " + roleHeading(m.role) + " — " + formatRfc3339(m.createdAt) + "\n\n";
    md += m.content;
    if (!m.content.empty() && m.content.back() != '\n') md += '\n';
  }
  return md;
}

}  // namespace

void registerChatRoutes(http::Router& router, ChatService& service, http::Middleware requireUser) {
  http::RouteOptions authed;
  authed.middleware.push_back(std::move(requireUser));

  router.add(
      "GET", "/api/chat",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto chats = co_await service.list(req.userId);
        if (!chats) co_return std::move(chats).error();
        json::array arr;
        arr.reserve(chats->size());
        for (const auto& c : *chats)
          arr.push_back(chatJson(c));
        const auto total = static_cast<std::int64_t>(arr.size());
        co_return jsonResponse(200, {{"chats", std::move(arr)}, {"total", total}});
      },
      authed);

  router.add(
      "POST", "/api/chat",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto b = decodeCreateChat(req.body);
        if (!b) co_return std::move(b).error();
        auto chat = co_await service.create(req.userId, std::move(b->title));
        if (!chat) co_return std::move(chat).error();
        co_return jsonResponse(201, chatJson(*chat));
      },
      authed);

  router.add(
      "GET", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto limit = readLimit(req, kDefaultPage, kMaxPage);
        if (!limit) co_return std::move(limit).error();
        auto before = req.queryParam("before");
        if (before && !isUuid(*before)) {
          co_return Error::make(Errc::invalid_request, "before is not a message of this chat",
                                "before");
        }
        auto page = co_await service.read(req.userId, chatId, *limit, std::move(before));
        if (!page) co_return std::move(page).error();
        json::array messages;
        messages.reserve(page->page.messages.size());
        for (std::size_t i = 0; i < page->page.messages.size(); ++i) {
          json::object m = messageJson(page->page.messages[i]);
          json::array siblings;
          for (auto& id : page->siblings[i])
            siblings.emplace_back(std::move(id));
          m["siblings"] = std::move(siblings);
          messages.push_back(std::move(m));
        }
        co_return jsonResponse(200, {{"chat_id", chatId},
                                     {"chat", chatJson(page->chat)},
                                     {"messages", std::move(messages)},
                                     {"has_more", page->page.hasMore}});
      },
      authed);

  router.add(
      "GET", "/api/search",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const auto q = req.queryParam("q");
        if (!q || trim(*q, kWhiteSpace).empty() || !validUtf8(*q) ||
            http::utf8Length(*q) > kMaxQueryChars || q->find('\0') != std::string::npos) {
          co_return Error::make(Errc::invalid_request,
                                "q is 1 to 200 characters of text to search for", "q");
        }
        auto limit = readLimit(req, 20, 50);
        if (!limit) co_return std::move(limit).error();
        auto results = co_await service.search(req.userId, *q, *limit);
        if (!results) co_return std::move(results).error();
        json::array items;
        items.reserve(results->size());
        for (const auto& r : *results) {
          items.push_back(json::object{
              {"chat_id", r.chatId},
              {"chat_title", r.chatTitle},
              {"message_id", r.messageId.empty() ? json::value(nullptr) : json::value(r.messageId)},
              {"snippet", r.snippet},
              {"created_at", formatRfc3339(r.createdAt)}});
        }
        co_return jsonResponse(200, {{"results", std::move(items)}});
      },
      authed);

  router.add(
      "PATCH", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto b = decodePatchChat(req.body);
        if (!b) co_return std::move(b).error();
        auto chat = co_await service.update(req.userId, chatId, std::move(b->patch),
                                            std::move(b->currentMessageId));
        if (!chat) co_return std::move(chat).error();
        co_return jsonResponse(200, chatJson(*chat));
      },
      authed);

  router.add(
      "GET", "/api/chat/:chatId/export",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        const std::string format = req.queryParam("format").value_or("markdown");
        if (format != "markdown" && format != "json") {
          co_return Error::make(Errc::invalid_request, "format is markdown or json", "format");
        }
        auto branch = co_await service.currentBranch(req.userId, chatId);
        if (!branch) co_return std::move(branch).error();
        Response r;
        if (format == "json") {
          json::array messages;
          messages.reserve(branch->messages.size());
          for (const auto& m : branch->messages)
            messages.push_back(messageJson(m));
          r = jsonResponse(200,
                           {{"chat", chatJson(branch->chat)}, {"messages", std::move(messages)}});
          r.setHeader("Content-Disposition", contentDisposition(branch->chat.title, "json"));
        } else {
          r = Response::text(200, exportMarkdown(*branch), "text/markdown; charset=utf-8");
          r.setHeader("Content-Disposition", contentDisposition(branch->chat.title, "md"));
        }
        r.setHeader("Cache-Control", "no-store");
        co_return r;
      },
      authed);

  router.add(
      "DELETE", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto done = co_await service.remove(req.userId, chatId);
        if (!done) co_return std::move(done).error();
        co_return Response::empty(204);
      },
      authed);
}

void registerMessageRoutes(http::Router& router, MessageEngine& engine, int maxMessageChars,
                           http::Middleware requireUser, http::Middleware requireToken,
                           std::chrono::milliseconds keepAlive) {
  http::RouteOptions authed;
  authed.middleware.push_back(std::move(requireUser));
  // Sending: the engine checks the account in the transaction that starts the reply. A
  // request refused before that (a bad chat id, a bad body) checks it first, so that a gone
  // or disabled account still hears 401 before anything else.
  http::RouteOptions tokenOnly;
  tokenOnly.middleware.push_back(std::move(requireToken));
  auto refuse = [&engine](const std::string& userId, Error e) -> asio::awaitable<Error> {
    auto sender = co_await engine.checkSender(userId);
    co_return sender ? std::move(e) : std::move(sender).error();
  };

  router.add(
      "POST", "/api/chat/:chatId/message",
      [&engine, maxMessageChars, keepAlive,
       refuse](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) {
          co_return co_await refuse(req.userId, chatNotFound());
        }
        auto b = decodeMessage(req.body, static_cast<std::size_t>(maxMessageChars));
        if (!b) {
          co_return co_await refuse(req.userId, std::move(b).error());
        }
        auto executor = co_await asio::this_coro::executor;
        // Named, not a temporary: g++ 12 can destroy temporaries of a co_await expression twice.
        SendRequest send{req.userId,
                         chatId,
                         std::move(b->message),
                         std::move(b->attachmentUrls),
                         std::move(b->parentMessageId),
                         std::nullopt};
        auto g = co_await engine.send(std::move(send), executor);
        if (!g) co_return std::move(g).error();
        co_return streamResponse(std::move(g).value(), keepAlive);
      },
      tokenOnly);

  router.add(
      "POST", "/api/chat/:chatId/regenerate",
      [&engine, keepAlive, refuse](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) {
          co_return co_await refuse(req.userId, chatNotFound());
        }
        auto messageId = decodeRegenerate(req.body);
        if (!messageId) {
          co_return co_await refuse(req.userId, std::move(messageId).error());
        }
        auto executor = co_await asio::this_coro::executor;
        SendRequest send{req.userId, chatId, {}, {}, std::nullopt, std::move(messageId).value()};
        auto g = co_await engine.send(std::move(send), executor);
        if (!g) co_return std::move(g).error();
        co_return streamResponse(std::move(g).value(), keepAlive);
      },
      tokenOnly);

  // Re-attaches to the reply being written: after Last-Event-ID (`<assistant id>:<n>`, the
  // n-th frame after `start`) when it names this reply, else from `start`.
  router.add(
      "GET", "/api/chat/:chatId/stream",
      [&engine, keepAlive](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto g = co_await engine.running(req.userId, chatId);
        if (!g) co_return std::move(g).error();
        if (!*g) co_return Response::empty(204);
        std::size_t from = 0;
        if (const auto last = req.header("Last-Event-ID")) {
          const std::string& aid = (*g)->assistantMessageId();
          std::size_t n = 0;
          const auto tail = last->substr(std::min(last->size(), aid.size() + 1));
          const auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), n);
          if (last->size() > aid.size() && last->starts_with(aid) && (*last)[aid.size()] == ':' &&
              ec == std::errc() && end == tail.data() + tail.size()) {
            from = n + 1;
          }
        }
        co_return streamResponse(std::move(g).value(), keepAlive, from);
      },
      authed);

  router.add(
      "POST", "/api/chat/:chatId/stop",
      [&engine](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto stopped = co_await engine.stop(req.userId, chatId);
        if (!stopped) co_return std::move(stopped).error();
        co_return Response::empty(204);
      },
      authed);
}

}  // namespace atelier::chat
