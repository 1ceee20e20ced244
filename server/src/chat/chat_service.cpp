#include "chat/chat_service.hpp"

#include <algorithm>

#include "chat/message_tree.hpp"
#include "chat/search.hpp"
#include "store/acting.hpp"
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
    const store::ActingAs as(userId);
    auto chat = store_.findChat(userId, chatId);
    if (!chat) return std::move(chat).error();
    if (!chat->has_value()) return chatNotFound();
    ChatPage page{std::move(**chat), {}, {}};
    auto nodes = store_.messageTree(chatId);
    if (!nodes) return std::move(nodes).error();
    const MessageTree tree(std::move(nodes).value());
    const auto path = page.chat.currentMessageId ? tree.pathTo(*page.chat.currentMessageId)
                                                 : std::vector<std::string>{};
    std::size_t end = path.size();
    if (before) {
      const auto at = std::find(path.begin(), path.end(), *before);
      if (at == path.end()) {
        return Error::make(Errc::invalid_request,
                           "before is not a message of this chat's current branch", "before");
      }
      end = static_cast<std::size_t>(at - path.begin());
    }
    const std::size_t start = end > static_cast<std::size_t>(limit) ? end - limit : 0;
    const std::vector<std::string> ids(path.begin() + static_cast<std::ptrdiff_t>(start),
                                       path.begin() + static_cast<std::ptrdiff_t>(end));
    auto messages = store_.messagesByIds(chatId, ids);
    if (!messages) return std::move(messages).error();
    page.page.messages = std::move(messages).value();
    page.page.hasMore = start > 0;
    page.siblings.reserve(page.page.messages.size());
    for (const auto& m : page.page.messages)
      page.siblings.push_back(tree.siblingsOf(m.messageId));
    return page;
  });
}

asio::awaitable<Result<store::Chat>> ChatService::update(
    std::string userId, std::string chatId, store::ChatPatch patch,
    std::optional<std::string> currentMessageId) {
  const auto now = clock_.now();
  co_return co_await dbPool_.run([&]() -> Result<store::Chat> {
    const store::ActingAs as(userId);
    std::optional<store::Chat> chat;
    if (currentMessageId) {
      auto found = store_.findChat(userId, chatId);
      if (!found) return std::move(found).error();
      if (!found->has_value()) return chatNotFound();
      auto nodes = store_.messageTree(chatId);
      if (!nodes) return std::move(nodes).error();
      const MessageTree tree(std::move(nodes).value());
      if (tree.find(*currentMessageId) == nullptr) {
        return Error::make(Errc::invalid_request,
                           "current_message_id is not a message of this chat",
                           "current_message_id");
      }
      auto switched =
          store_.setCurrentMessage(userId, chatId, tree.newestLeafBelow(*currentMessageId));
      if (!switched) return std::move(switched).error();
      chat = std::move(switched).value();
    }
    if (patch.title || patch.isActive) {
      return store_.updateChat(userId, chatId, patch, settings_.maxChatsPerUser, now);
    }
    return std::move(chat).value();
  });
}

asio::awaitable<Result<void>> ChatService::remove(std::string userId, std::string chatId) {
  auto deleted = co_await dbPool_.run([&] { return store_.deleteChat(userId, chatId); });
  if (!deleted) co_return std::move(deleted).error();
  if (!*deleted) co_return chatNotFound();
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<SearchResult>>> ChatService::search(std::string userId,
                                                                       std::string q, int limit) {
  const auto words = queryWords(q);
  std::vector<SearchResult> out;
  if (words.empty()) co_return out;
  auto hits = co_await dbPool_.run([&] { return store_.search(userId, words, limit); });
  if (!hits) co_return std::move(hits).error();
  out.reserve(hits->size());
  for (auto& h : *hits) {
    out.push_back(SearchResult{std::move(h.chatId), std::move(h.chatTitle), std::move(h.messageId),
                               snippetOf(h.text, words), h.createdAt});
  }
  co_return out;
}

asio::awaitable<Result<ChatBranch>> ChatService::currentBranch(std::string userId,
                                                               std::string chatId) {
  co_return co_await dbPool_.run([&]() -> Result<ChatBranch> {
    const store::ActingAs as(userId);
    auto chat = store_.findChat(userId, chatId);
    if (!chat) return std::move(chat).error();
    if (!chat->has_value()) return chatNotFound();
    ChatBranch b{std::move(**chat), {}};
    if (!b.chat.currentMessageId) return b;
    auto messages = store_.branchMessages(chatId, *b.chat.currentMessageId, store::kWholeBranch);
    if (!messages) return std::move(messages).error();
    b.messages = std::move(messages).value();
    return b;
  });
}

}  // namespace atelier::chat
