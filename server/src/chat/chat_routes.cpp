#include "chat/chat_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "chat/views.hpp"
#include "http/json_body.hpp"
#include "util/crypto.hpp"

namespace atelier::chat {

namespace asio = boost::asio;
namespace json = boost::json;
using http::jsonResponse;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxTitleChars = 200;
constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 500;

Result<std::optional<std::string>> readTitle(const json::object& body) {
  auto title = http::optionalString(body, "title");
  if (!title) return std::move(title).error();
  if (*title && http::utf8Length(**title) > kMaxTitleChars) {
    return Error::make(Errc::invalid_request, "title is at most 200 characters", "title");
  }
  return title;
}

Result<int> readLimit(const Request& req) {
  auto raw = req.queryParam("limit");
  if (!raw) return kDefaultPage;
  int n = 0;
  const auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), n);
  if (ec != std::errc() || end != raw->data() + raw->size() || n < 1 || n > kMaxPage) {
    return Error::make(Errc::invalid_request, "limit must be a number from 1 to 500", "limit");
  }
  return n;
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
        auto body = http::parseJsonObject(req.body);
        if (!body) co_return std::move(body).error();
        auto title = readTitle(*body);
        if (!title) co_return std::move(title).error();
        auto chat = co_await service.create(req.userId, title->value_or(""));
        if (!chat) co_return std::move(chat).error();
        co_return jsonResponse(201, chatJson(*chat));
      },
      authed);

  router.add(
      "GET", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto limit = readLimit(req);
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
        for (const auto& m : page->page.messages)
          messages.push_back(messageJson(m));
        co_return jsonResponse(200, {{"chat_id", chatId},
                                     {"chat", chatJson(page->chat)},
                                     {"messages", std::move(messages)},
                                     {"has_more", page->page.hasMore}});
      },
      authed);

  router.add(
      "PATCH", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto body = http::parseJsonObject(req.body);
        if (!body) co_return std::move(body).error();
        store::ChatPatch patch;
        auto title = readTitle(*body);
        if (!title) co_return std::move(title).error();
        patch.title = std::move(title).value();
        auto active = http::optionalBool(*body, "is_active");
        if (!active) co_return std::move(active).error();
        patch.isActive = *active;
        if (!patch.title && !patch.isActive) {
          co_return Error::make(Errc::invalid_request, "nothing to change: give title or is_active",
                                "title");
        }
        auto chat = co_await service.update(req.userId, chatId, std::move(patch));
        if (!chat) co_return std::move(chat).error();
        co_return jsonResponse(200, chatJson(*chat));
      },
      authed);

  router.add(
      "DELETE", "/api/chat/:chatId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string chatId(req.param("chatId"));
        if (!isUuid(chatId)) co_return chatNotFound();
        auto done = co_await service.remove(req.userId, std::string(chatId));
        if (!done) co_return std::move(done).error();
        co_return Response::empty(204);
      },
      authed);
}

}  // namespace atelier::chat
