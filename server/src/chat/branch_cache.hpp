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
// One entry per chat (its latest branch), evicted least recently used beyond a byte budget.
// A long branch is kept as its newest messages: at least kMaxBranchMessages (what a prompt
// reads), cut back to kTrimmedMessages when it passes kMaxKeptMessages, so that a long chat
// costs one copy every few hundred messages. Thread-safe.
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
  std::size_t length = 1;  // messages from the oldest one held to here
  std::size_t bytes = 0;   // memory of the messages from the oldest one held to here (about)
  // The oldest message held is the chat's first: the branch is whole, not its newest part.
  bool whole = true;
};
// The newest message of a branch (null: no messages).
using Branch = std::shared_ptr<const BranchNode>;

// `parent` continued by `m` (m's parent is parent's message).
Branch extendBranch(Branch parent, store::Message m);
// A branch from its messages, oldest first (not whole when the oldest has a parent).
Branch branchOf(std::vector<store::Message> oldestFirst);
// The newest `n` messages of `b` (copied when `b` holds more).
Branch newestOf(const Branch& b, std::size_t n);

class BranchCache {
 public:
  // A kept branch holds at least this many of its newest messages (or all of them): the
  // most a prompt's history reads.
  static constexpr std::size_t kMaxBranchMessages = 500;
  static constexpr std::size_t kMaxKeptMessages = 2 * kMaxBranchMessages;
  static constexpr std::size_t kTrimmedMessages = kMaxBranchMessages + 100;

  explicit BranchCache(std::size_t maxBytes) : maxBytes_(maxBytes) {}
  BranchCache(const BranchCache&) = delete;
  BranchCache& operator=(const BranchCache&) = delete;

  // The branch kept for the chat (null when none).
  Branch find(std::string_view chatId);
  // Keeps `branch` as the chat's (replacing what was kept for it); one longer than
  // kMaxKeptMessages as its newest kTrimmedMessages. A branch bigger than an eighth of the
  // budget is not kept (and the chat's is dropped).
  void remember(const std::string& chatId, Branch branch);
  // Continues the chat's branch by `m` if the branch kept ends with m's parent (a reply just
  // saved); anything else is left as it is.
  void extend(const std::string& chatId, store::Message m);
  void forget(std::string_view chatId);

  std::size_t bytes() const;
  std::size_t size() const;

 private:
  struct Entry {
    Branch branch;
    std::list<std::string>::iterator recent;
  };
  void eraseLocked(std::unordered_map<std::string, Entry>::iterator it);
  // remember(), only while the chat's entry is still `expected` (null: whatever it is).
  void keep(const std::string& chatId, Branch branch, const BranchNode* expected);

  const std::size_t maxBytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recent_;  // chat ids, most recently used first
  std::size_t bytes_ = 0;
};

}  // namespace atelier::chat
