#include "chat/chat_service.hpp"

#include "util/crypto.hpp"

namespace atelier::chat {

namespace asio = boost::asio;

Error chatNotFound() {
  return Error::make(Errc::not_found, "no such chat");
}

ChatService::ChatService(ChatSettings settings, store::Store& store, WorkerPool& dbPool,
                         const Clock& clock)
    : settings_(settings), store_(store), dbPool_(dbPool), clock_(clock) {}

asio::awaitable<Result<store::Chat>> ChatService::create(std::string userId, std::string title) {
  store::NewChat c{newUuidV7(), std::move(userId), std::move(title), clock_.now()};
  co_return co_await dbPool_.run(
      [&] { return store_.createChatIfUnderLimit(c, settings_.maxChatsPerUser); });
}

asio::awaitable<Result<std::vector<store::Chat>>> ChatService::list(std::string userId) {
  co_return co_await dbPool_.run([&] { return store_.listChats(userId); });
}

asio::awaitable<Result<ChatPage>> ChatService::read(std::string userId, std::string chatId,
                                                    int limit, std::optional<std::string> before) {
  co_return co_await dbPool_.run([&]() -> Result<ChatPage> {
    auto chat = store_.findChat(userId, chatId);
    if (!chat) return std::move(chat).error();
    if (!chat->has_value()) return chatNotFound();
    auto page = store_.listMessages(
        chatId, limit, before ? std::optional<std::string_view>(*before) : std::nullopt);
    if (!page) return std::move(page).error();
    return ChatPage{std::move(**chat), std::move(page).value()};
  });
}

asio::awaitable<Result<store::Chat>> ChatService::update(std::string userId, std::string chatId,
                                                         store::ChatPatch patch) {
  const auto now = clock_.now();
  co_return co_await dbPool_.run(
      [&] { return store_.updateChat(userId, chatId, patch, settings_.maxChatsPerUser, now); });
}

asio::awaitable<Result<void>> ChatService::remove(std::string userId, std::string chatId) {
  auto deleted = co_await dbPool_.run([&] { return store_.deleteChat(userId, chatId); });
  if (!deleted) co_return std::move(deleted).error();
  if (!*deleted) co_return chatNotFound();
  co_return Result<void>{};
}

asio::awaitable<Result<ChatBranch>> ChatService::currentBranch(std::string userId,
                                                               std::string chatId) {
  co_return co_await dbPool_.run([&]() -> Result<ChatBranch> {
    auto chat = store_.findChat(userId, chatId);
    if (!chat) return std::move(chat).error();
    if (!chat->has_value()) return chatNotFound();
    ChatBranch b{std::move(**chat), {}};
    if (!b.chat.currentMessageId) return b;
    auto messages = store_.branchMessages(chatId, *b.chat.currentMessageId);
    if (!messages) return std::move(messages).error();
    b.messages = std::move(messages).value();
    return b;
  });
}

}  // namespace atelier::chat
