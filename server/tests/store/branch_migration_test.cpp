// Migration 007: chats written before branches become single branches, on both databases.
#include <gtest/gtest.h>

#include "store/acting.hpp"
#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

using test::DbKind;

class BranchMigration : public ::testing::TestWithParam<DbKind> {};

TEST_P(BranchMigration, MessagesWithoutParentsBecomeOneBranch) {
  initCrypto();
  test::TestDatabase db(GetParam());
  ATELIER_REQUIRE_DATABASE(db);
  const auto t0 = fromUnixMillis(1'795'000'000'000);
  std::string userId, chatA, chatB, onlyB;
  std::vector<std::string> ids;
  {
    auto opened = openStore(db.url(), StoreOptions{});
    ASSERT_TRUE(opened.ok());
    auto& st = *opened;
    ASSERT_TRUE(st->migrate().ok());
    NewUser u{newUuidV7(), "legacy@example.com", "h", "", 10, t0};
    ASSERT_TRUE(st->createUser(u).ok());
    userId = u.userId;
    const ActingAs as(userId);  // appendMessage takes the chat's owner from the caller
    for (auto* chat : {&chatA, &chatB}) {
      NewChat c{newUuidV7(), u.userId, "old", t0};
      ASSERT_TRUE(st->createChatIfUnderLimit(c, 10).ok());
      *chat = c.chatId;
    }
    // Four messages without parents in A (two with the same time), one in B.
    for (int i = 0; i < 4; ++i) {
      Message m;
      m.messageId = newUuidV7();
      m.chatId = chatA;
      m.role = i % 2 ? "assistant" : "user";
      m.content = "m" + std::to_string(i);
      m.createdAt = t0 + std::chrono::milliseconds(i == 3 ? 2 : i);
      ASSERT_TRUE(st->appendMessage(m).ok());
      ids.push_back(m.messageId);
    }
    Message b;
    b.messageId = newUuidV7();
    b.chatId = chatB;
    b.role = "user";
    b.content = "only";
    b.createdAt = t0;
    ASSERT_TRUE(st->appendMessage(b).ok());
    onlyB = b.messageId;
  }
  // As an old version left them: no current message, and 007 not applied yet.
  ASSERT_EQ(test::databaseExec(db.url(),
                               "UPDATE chats SET current_message_id = NULL; "
                               "DELETE FROM schema_migrations WHERE name = '007_single_branches'"),
            "");

  auto opened = openStore(db.url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  auto& st = *opened;
  auto applied = st->migrate();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 1);
  const ActingAs as(userId);
  auto tree = st->messageTree(chatA);
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->size(), 4u);
  EXPECT_FALSE((*tree)[0].parentId);
  for (std::size_t i = 1; i < tree->size(); ++i) {
    ASSERT_TRUE((*tree)[i].parentId);
    EXPECT_EQ(*(*tree)[i].parentId, (*tree)[i - 1].messageId);
  }
  // m3 has m1's time but a later id: it comes last.
  EXPECT_EQ((*tree)[3].messageId, ids[3]);
  for (const auto& [chat, leaf] : {std::pair{chatA, ids[3]}, {chatB, onlyB}}) {
    auto c = st->findChat(userId, chat);
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->currentMessageId, std::optional<std::string>(leaf));
  }
  auto branch = st->branchMessages(chatA, (*tree)[3].messageId, kWholeBranch);
  ASSERT_TRUE(branch.ok());
  EXPECT_EQ(branch->size(), 4u);
  auto treeB = st->messageTree(chatB);
  ASSERT_TRUE(treeB.ok());
  ASSERT_EQ(treeB->size(), 1u);
  EXPECT_FALSE((*treeB)[0].parentId);
}

INSTANTIATE_TEST_SUITE_P(Databases, BranchMigration,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::store
