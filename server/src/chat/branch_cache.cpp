#include "chat/branch_cache.hpp"

namespace atelier::chat {

namespace {

std::size_t messageBytes(const store::Message& m) {
  return sizeof(BranchNode) + m.messageId.capacity() + m.chatId.capacity() +
         (m.parentMessageId ? m.parentMessageId->capacity() : 0) + m.role.capacity() +
         m.content.capacity() + m.metadataJson.capacity();
}

}  // namespace

Branch extendBranch(Branch parent, store::Message m) {
  auto node = std::make_shared<BranchNode>();
  node->bytes = messageBytes(m) + (parent ? parent->bytes : 0);
  node->length = 1 + (parent ? parent->length : 0);
  node->whole = parent ? parent->whole : !m.parentMessageId.has_value();
  node->message = std::move(m);
  node->parent = std::move(parent);
  return node;
}

Branch branchOf(std::vector<store::Message> oldestFirst) {
  Branch b;
  for (auto& m : oldestFirst)
    b = extendBranch(std::move(b), std::move(m));
  return b;
}

Branch newestOf(const Branch& b, std::size_t n) {
  if (!b || b->length <= n) return b;
  std::vector<const BranchNode*> newestFirst;
  newestFirst.reserve(n);
  for (const BranchNode* node = b.get(); node != nullptr && newestFirst.size() < n;
       node = node->parent.get())
    newestFirst.push_back(node);
  Branch out;
  for (auto it = newestFirst.rbegin(); it != newestFirst.rend(); ++it)
    out = extendBranch(std::move(out), (*it)->message);
  return out;
}

Branch BranchCache::find(std::string_view chatId) {
  const std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(chatId));
  if (it == entries_.end()) return nullptr;
  recent_.splice(recent_.begin(), recent_, it->second.recent);
  return it->second.branch;
}

void BranchCache::remember(const std::string& chatId, Branch branch) {
  keep(chatId, std::move(branch), nullptr);
}

void BranchCache::extend(const std::string& chatId, store::Message m) {
  Branch kept;
  {
    const std::lock_guard lock(mu_);
    auto it = entries_.find(chatId);
    if (it == entries_.end() || !m.parentMessageId ||
        it->second.branch->message.messageId != *m.parentMessageId) {
      return;
    }
    kept = it->second.branch;
  }
  const BranchNode* expected = kept.get();
  keep(chatId, extendBranch(std::move(kept), std::move(m)), expected);
}

void BranchCache::keep(const std::string& chatId, Branch branch, const BranchNode* expected) {
  // Copying a long branch's newest messages happens here, outside the lock.
  if (branch && branch->length > kMaxKeptMessages) branch = newestOf(branch, kTrimmedMessages);
  const bool fits = branch && branch->bytes <= maxBytes_ / 8;
  const std::lock_guard lock(mu_);
  auto it = entries_.find(chatId);
  if (expected != nullptr && (it == entries_.end() || it->second.branch.get() != expected)) {
    return;  // the chat's entry changed meanwhile: that one is newer
  }
  if (it != entries_.end()) eraseLocked(it);
  if (!fits) return;
  bytes_ += branch->bytes;
  recent_.push_front(chatId);
  entries_.emplace(chatId, Entry{std::move(branch), recent_.begin()});
  while (bytes_ > maxBytes_ && !recent_.empty())
    eraseLocked(entries_.find(recent_.back()));
}

void BranchCache::forget(std::string_view chatId) {
  const std::lock_guard lock(mu_);
  if (auto it = entries_.find(std::string(chatId)); it != entries_.end()) eraseLocked(it);
}

void BranchCache::eraseLocked(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.branch->bytes;
  recent_.erase(it->second.recent);
  entries_.erase(it);
}

std::size_t BranchCache::bytes() const {
  const std::lock_guard lock(mu_);
  return bytes_;
}

std::size_t BranchCache::size() const {
  const std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace atelier::chat
