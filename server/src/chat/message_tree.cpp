#include "chat/message_tree.hpp"

#include <algorithm>

namespace atelier::chat {

MessageTree::MessageTree(std::vector<store::TreeNode> nodes) : nodes_(std::move(nodes)) {
  index_.reserve(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    index_.emplace(nodes_[i].messageId, i);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& parent = nodes_[i].parentId;
    kids_[parent ? std::string_view(*parent) : std::string_view()].push_back(i);
  }
}

const store::TreeNode* MessageTree::find(std::string_view messageId) const {
  auto it = index_.find(messageId);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

std::vector<std::string> MessageTree::pathTo(std::string_view leafId) const {
  std::vector<std::string> path;
  const store::TreeNode* n = find(leafId);
  // Bounded by the node count: a cycle (impossible by construction) cannot loop forever.
  while (n != nullptr && path.size() <= nodes_.size()) {
    path.push_back(n->messageId);
    n = n->parentId ? find(*n->parentId) : nullptr;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::vector<std::string> MessageTree::siblingsOf(std::string_view messageId) const {
  std::vector<std::string> out;
  const store::TreeNode* n = find(messageId);
  if (n == nullptr) return out;
  auto it = kids_.find(n->parentId ? std::string_view(*n->parentId) : std::string_view());
  if (it == kids_.end()) return out;
  out.reserve(it->second.size());
  for (const std::size_t i : it->second)
    out.push_back(nodes_[i].messageId);
  return out;
}

std::string MessageTree::newestLeafBelow(std::string_view messageId) const {
  const store::TreeNode* n = find(messageId);
  if (n == nullptr) return {};
  for (std::size_t steps = 0; steps <= nodes_.size(); ++steps) {
    auto it = kids_.find(n->messageId);
    if (it == kids_.end() || it->second.empty()) break;
    n = &nodes_[it->second.back()];  // oldest first: the newest child is the last
  }
  return n->messageId;
}

}  // namespace atelier::chat
