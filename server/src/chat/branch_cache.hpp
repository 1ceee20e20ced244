// The branch of a chat that its last message was sent on, kept so that the next message of
// the chat reads one message from the database instead of walking the whole branch again.
//
// A branch read once stays true: a message is never changed once its generation is over (an
// edit or a regenerate adds a sibling), and a message is only deleted with its chat or when
// the reply it started is abandoned, which forget() is told of. So an entry is valid on any
// instance whatever the others do; at worst it is not the branch asked for, and the caller
// reads the database. The engine asks for a branch only inside the transaction that holds the
// chat's generation claim, so no message of the chat is being written meanwhile.
//
// One entry per chat (its latest branch), at most kMaxBranchMessages messages each, evicted
// least recently used beyond a byte budget. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/types.hpp"

namespace atelier::chat {

// One message of a branch and, through `parent`, the older ones (shared between branches
// that continue one another, so extending a branch copies nothing).
struct BranchNode {
  store::Message message;
  std::shared_ptr<const BranchNode> parent;
  std::size_t length = 1;  // messages from the root to here
  std::size_t bytes = 0;   // memory of the messages from the root to here (about)
};
// The newest message of a branch (null: no messages).
using Branch = std::shared_ptr<const BranchNode>;

// `parent` continued by `m` (m's parent is parent's message).
Branch extendBranch(Branch parent, store::Message m);
// A branch from its messages, oldest first.
Branch branchOf(std::vector<store::Message> oldestFirst);

class BranchCache {
 public:
  // Longer branches are not kept (the history reads at most this many messages anyway).
  static constexpr std::size_t kMaxBranchMessages = 500;

  explicit BranchCache(std::size_t maxBytes) : maxBytes_(maxBytes) {}
  BranchCache(const BranchCache&) = delete;
  BranchCache& operator=(const BranchCache&) = delete;

  // The branch kept for the chat (null when none).
  Branch find(std::string_view chatId);
  // Keeps `branch` as the chat's (replacing what was kept for it). A branch longer than
  // kMaxBranchMessages or bigger than an eighth of the budget is not kept.
  void remember(const std::string& chatId, Branch branch);
  void forget(std::string_view chatId);

  std::size_t bytes() const;
  std::size_t size() const;

 private:
  struct Entry {
    Branch branch;
    std::list<std::string>::iterator recent;
  };
  void eraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  const std::size_t maxBytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recent_;  // chat ids, most recently used first
  std::size_t bytes_ = 0;
};

}  // namespace atelier::chat
