// Chats and their history: create under the active-chat limit, list, read with paging,
// rename, (de)activate, delete. Every method takes the caller's user id: another user's chat
// is reported exactly as a missing one (Errc::not_found).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "util/result.hpp"
#include "util/time.hpp"
#include "util/worker_pool.hpp"

namespace atelier::chat {

struct ChatSettings {
  int maxChatsPerUser = 5;
};

struct ChatPage {
  store::Chat chat;
  store::MessagePage page;
};

struct ChatBranch {
  store::Chat chat;
  std::vector<store::Message> messages;
};

class ChatService {
 public:
  ChatService(ChatSettings settings, store::Store& store, WorkerPool& dbPool, const Clock& clock);

  boost::asio::awaitable<Result<store::Chat>> create(std::string userId, std::string title);
  boost::asio::awaitable<Result<std::vector<store::Chat>>> list(std::string userId);
  // The chat and the newest `limit` messages older than `before`, oldest first.
  boost::asio::awaitable<Result<ChatPage>> read(std::string userId, std::string chatId, int limit,
                                                std::optional<std::string> before);
  boost::asio::awaitable<Result<store::Chat>> update(std::string userId, std::string chatId,
                                                     store::ChatPatch patch);
  boost::asio::awaitable<Result<void>> remove(std::string userId, std::string chatId);
  // The chat and its current branch (root to current_message_id), oldest first.
  boost::asio::awaitable<Result<ChatBranch>> currentBranch(std::string userId, std::string chatId);

 private:
  ChatSettings settings_;
  store::Store& store_;
  WorkerPool& dbPool_;
  const Clock& clock_;
};

Error chatNotFound();

}  // namespace atelier::chat
