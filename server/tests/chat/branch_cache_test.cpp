#include "chat/branch_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace atelier::chat {
namespace {

store::Message message(const std::string& id, const std::string& content,
                       std::optional<std::string> parent = std::nullopt) {
  store::Message m;
  m.messageId = id;
  m.chatId = "chat";
  m.parentMessageId = std::move(parent);
  m.role = "user";
  m.content = content;
  return m;
}

// The messages of a branch, oldest first.
std::vector<std::string> idsOf(const Branch& b) {
  std::vector<std::string> out;
  for (const BranchNode* n = b.get(); n != nullptr; n = n->parent.get())
    out.insert(out.begin(), n->message.messageId);
  return out;
}

TEST(BranchCache, ABranchIsItsMessagesAndExtendingItSharesThem) {
  const Branch two = branchOf({message("m1", "one"), message("m2", "two", "m1")});
  ASSERT_TRUE(two);
  EXPECT_EQ(idsOf(two), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(two->length, 2u);
  const Branch three = extendBranch(two, message("m3", "three", "m2"));
  EXPECT_EQ(idsOf(three), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(three->length, 3u);
  EXPECT_EQ(three->parent, two);  // shared, not copied
  EXPECT_GT(three->bytes, two->bytes);
  EXPECT_EQ(idsOf(two), (std::vector<std::string>{"m1", "m2"}));  // unchanged
  EXPECT_FALSE(branchOf({}));
}

TEST(BranchCache, KeepsOneBranchPerChatUntilForgotten) {
  BranchCache cache(1 << 20);
  EXPECT_FALSE(cache.find("chat"));
  const Branch b = branchOf({message("m1", "one")});
  cache.remember("chat", b);
  EXPECT_EQ(cache.find("chat"), b);
  EXPECT_FALSE(cache.find("other"));
  const Branch c = extendBranch(b, message("m2", "two", "m1"));
  cache.remember("chat", c);
  EXPECT_EQ(cache.find("chat"), c);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), c->bytes);
  cache.forget("chat");
  EXPECT_FALSE(cache.find("chat"));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.forget("chat");  // twice is fine
  EXPECT_EQ(cache.size(), 0u);
}

TEST(BranchCache, TheLeastRecentlyUsedChatsGoWhenTheBudgetIsFull) {
  const std::string text(1000, 'x');
  const std::size_t each = branchOf({message("m", text)})->bytes;
  BranchCache cache(each * 8 + each / 2);  // room for eight
  for (int i = 0; i < 8; ++i)
    cache.remember("chat" + std::to_string(i), branchOf({message("m", text)}));
  EXPECT_EQ(cache.size(), 8u);
  ASSERT_TRUE(cache.find("chat0"));  // now the most recently used
  cache.remember("chat8", branchOf({message("m", text)}));
  EXPECT_EQ(cache.size(), 8u);
  EXPECT_TRUE(cache.find("chat0"));
  EXPECT_FALSE(cache.find("chat1"));  // the least recently used went
  EXPECT_TRUE(cache.find("chat8"));
  EXPECT_LE(cache.bytes(), each * 8 + each / 2);
}

TEST(BranchCache, BranchesTooBigAreNotKept) {
  BranchCache cache(80'000);
  cache.remember("big", branchOf({message("m", std::string(20'000, 'x'))}));  // > budget / 8
  EXPECT_FALSE(cache.find("big"));
  // Replacing a kept branch by one that is not kept leaves nothing stale behind.
  cache.remember("chat", branchOf({message("m1", "one")}));
  cache.remember("chat", branchOf({message("m2", std::string(20'000, 'x'))}));
  EXPECT_FALSE(cache.find("chat"));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.remember("none", nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(BranchCache, ALongBranchIsKeptAsItsNewestMessages) {
  BranchCache cache(std::size_t{64} << 20);
  std::vector<store::Message> all;
  all.push_back(message("m0", "x"));
  for (std::size_t i = 1; i < BranchCache::kMaxKeptMessages; ++i)
    all.push_back(message("m" + std::to_string(i), "x", "m" + std::to_string(i - 1)));
  Branch b = branchOf(all);
  ASSERT_TRUE(b->whole);
  cache.remember("chat", b);
  EXPECT_EQ(cache.find("chat"), b);  // up to kMaxKeptMessages: kept as it is, shared
  // One more: cut back to the newest kTrimmedMessages, copied once.
  const std::string next = "m" + std::to_string(BranchCache::kMaxKeptMessages);
  cache.extend("chat", message(next, "x", b->message.messageId));
  const Branch kept = cache.find("chat");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->length, BranchCache::kTrimmedMessages);
  EXPECT_FALSE(kept->whole);
  EXPECT_EQ(kept->message.messageId, next);
  const auto ids = idsOf(kept);
  EXPECT_EQ(ids.front(), "m" + std::to_string(BranchCache::kMaxKeptMessages + 1 -
                                              BranchCache::kTrimmedMessages));
  EXPECT_EQ(cache.bytes(), kept->bytes);
  // A branch read from its newest messages only (its oldest has a parent) is not whole.
  EXPECT_FALSE(branchOf({message("m5", "x", "m4"), message("m6", "x", "m5")})->whole);
  EXPECT_EQ(newestOf(kept, 3)->length, 3u);
  EXPECT_EQ(idsOf(newestOf(kept, 3)).back(), next);
}

TEST(BranchCache, AReplyExtendsOnlyTheBranchItAnswers) {
  BranchCache cache(1 << 20);
  cache.extend("chat", message("r0", "reply", "q0"));  // nothing kept: nothing to extend
  EXPECT_FALSE(cache.find("chat"));
  const Branch q = branchOf({message("q1", "question")});
  cache.remember("chat", q);
  cache.extend("chat", message("r9", "a reply elsewhere", "q9"));
  EXPECT_EQ(cache.find("chat"), q);
  cache.extend("chat", message("r1", "the reply", "q1"));
  const Branch r = cache.find("chat");
  EXPECT_EQ(idsOf(r), (std::vector<std::string>{"q1", "r1"}));
  EXPECT_EQ(r->parent, q);
  EXPECT_EQ(cache.bytes(), r->bytes);
}

TEST(BranchCache, ConcurrentUseKeepsTheAccountsRight) {
  BranchCache cache(std::size_t{64} * 1024);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string chat = "chat" + std::to_string((i + t) % 50);
        Branch b = cache.find(chat);
        cache.remember(chat, extendBranch(b && b->length < 20 ? b : nullptr,
                                          message("m" + std::to_string(i), "text")));
        if (b && i % 3 == 0) {
          cache.extend(chat, message("r" + std::to_string(i), "reply", b->message.messageId));
        }
        if (i % 7 == 0) cache.forget(chat);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  std::size_t sum = 0;
  for (int c = 0; c < 50; ++c) {
    if (auto b = cache.find("chat" + std::to_string(c))) sum += b->bytes;
  }
  EXPECT_EQ(cache.bytes(), sum);
  EXPECT_LE(cache.bytes(), 64u * 1024);
}

}  // namespace
}  // namespace atelier::chat
