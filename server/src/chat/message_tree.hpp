// A chat's messages as a tree (each message's parent is the one it follows), for walking
// branches in memory: the chat's nodes are loaded once (ids, parents, roles; no content).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/types.hpp"

namespace atelier::chat {

class MessageTree {
 public:
  // `nodes` oldest first, as Store::messageTree gives them.
  explicit MessageTree(std::vector<store::TreeNode> nodes);
  MessageTree(const MessageTree&) = delete;  // the indexes point into nodes_
  MessageTree& operator=(const MessageTree&) = delete;

  const store::TreeNode* find(std::string_view messageId) const;
  // The ids from the root down to `leafId`, oldest first; empty when it is not in the tree.
  std::vector<std::string> pathTo(std::string_view leafId) const;
  // The ids of the messages that share `messageId`'s parent (itself included), oldest first.
  std::vector<std::string> siblingsOf(std::string_view messageId) const;
  // From `messageId` down its newest children to a leaf (itself when it has none).
  std::string newestLeafBelow(std::string_view messageId) const;

 private:
  std::vector<store::TreeNode> nodes_;
  std::unordered_map<std::string_view, std::size_t> index_;              // id -> node
  std::unordered_map<std::string_view, std::vector<std::size_t>> kids_;  // parent id ("" = root)
};

}  // namespace atelier::chat
