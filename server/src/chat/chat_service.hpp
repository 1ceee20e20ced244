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
  store::MessagePage page;                         // along the current branch
  std::vector<std::vector<std::string>> siblings;  // per message of the page
};

struct ChatBranch {
  store::Chat chat;
  std::vector<store::Message> messages;
};

struct SearchResult {
  std::string chatId;
  std::string chatTitle;
  std::string messageId;  // empty for a title
  std::string snippet;
  TimePoint createdAt;
};

class ChatService {
 public:
  ChatService(ChatSettings settings, store::Store& store, WorkerPool& dbPool, const Clock& clock);

  boost::asio::awaitable<Result<store::Chat>> create(std::string userId, std::string title);
  boost::asio::awaitable<Result<std::vector<store::Chat>>> list(std::string userId);
  // The chat and, along its current branch, the newest `limit` messages before `before`
  // (a message of that branch), oldest first, each with its siblings.
  boost::asio::awaitable<Result<ChatPage>> read(std::string userId, std::string chatId, int limit,
                                                std::optional<std::string> before);
  // Renames, (de)activates, and with `currentMessageId` shows the branch through that message
  // (down its newest children to a leaf).
  boost::asio::awaitable<Result<store::Chat>> update(std::string userId, std::string chatId,
                                                     store::ChatPatch patch,
                                                     std::optional<std::string> currentMessageId);
  boost::asio::awaitable<Result<void>> remove(std::string userId, std::string chatId);
  // The caller's chat titles and message texts containing every word of `q`, newest first.
  boost::asio::awaitable<Result<std::vector<SearchResult>>> search(std::string userId,
                                                                   std::string q, int limit);
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
