// SQLite specifics of the store: the write-ahead log is copied back into the database file by
// the pool's own checkpointer thread, never inside a commit on the writer
// (store/connection_source.hpp), and must still not grow without bound under a stream of
// writes; the full-text index is written in batches (migration sqlite/009) and must stay
// exact and consistent.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/acting.hpp"
#include "store/connection_source.hpp"
#include "store/sql_store.hpp"
#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const TimePoint kT0 = fromUnixMillis(1'790'000'000'000);

// A fresh SQLite store (a file) with one user acting and one of their chats.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    initCrypto();
    auto opened = openStore(db_.url(), StoreOptions{});
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_->migrate().ok());
    user_ = NewUser{newUuidV7(), "sqlite@example.com", "h", "", 100000, kT0};
    ASSERT_TRUE(store_->createUser(user_).ok());
    as_.emplace(user_.userId);
    auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), user_.userId, "", kT0}, 5);
    ASSERT_TRUE(chat.ok());
    chat_ = std::move(chat).value();
  }
  std::string path() const { return db_.url().substr(std::string("sqlite://").size()); }
  std::string sqlite(const std::string& sql, std::string* value = nullptr) const {
    return test::sqliteExec(db_.url(), sql, value);
  }
  // Rows of search_docs waiting for the full-text index.
  std::int64_t waiting() const {
    std::string n;
    EXPECT_EQ(sqlite("SELECT count(*) FROM search_pending", &n), "");
    return n.empty() ? -1 : std::stoll(n);
  }

  test::TestDatabase db_{test::DbKind::sqlite};
  std::unique_ptr<Store> store_;
  NewUser user_;
  std::optional<ActingAs> as_;
  Chat chat_;
};
class SqliteWal : public SqliteStoreTest {};
class SqliteSearchIndex : public SqliteStoreTest {};

TEST_F(SqliteWal, TheCheckpointerKeepsTheLogBounded) {
  const std::string path = this->path();
  const std::string wal = path + "-wal";
  // Each message writes tens of pages (its text overflows, the full-text index), 600
  // transactions back to back: far more through the log than the mark at which the writer
  // checkpoints itself, faster than the checkpointer thread can catch up.
  const std::string text(20'000, 'x');
  std::uintmax_t largest = 0;
  std::optional<std::string> parent;
  for (int i = 0; i < 600; ++i) {
    Message m{newUuidV7(), chat_.chatId, parent, "user", text, "{}", 0, kT0};
    ASSERT_TRUE(store_->appendMessage(m).ok()) << i;
    parent = m.messageId;
    std::error_code ec;
    largest = std::max(largest, fs::file_size(wal, ec));
  }
  const auto written = std::uintmax_t{600} * text.size();
  // The mark, one transaction's pages beyond it, and 4 KiB pages.
  const std::uintmax_t bound = std::uintmax_t{SqlitePool::kForcedCheckpointPages + 200} * 4096;
  EXPECT_LT(largest, bound) << "the log was never started over";
  std::error_code ec;
  EXPECT_GT(fs::file_size(path, ec), written / 2) << "nothing was copied into the database file";
  // And everything is there.
  EXPECT_EQ(store_->listMessages(chat_.chatId, 1000, std::nullopt)->messages.size(), 600u);
}

// Rows wait for the index until a reply is saved or a search runs; a search still finds them,
// and rows deleted or changed while waiting, or after, leave an index that FTS5's own check
// finds consistent.
TEST_F(SqliteSearchIndex, PendingRowsAreFoundAndTheIndexStaysConsistent) {
  auto hits = [&](const std::string& word) {
    return store_->search(user_.userId, {word}, 10).value().size();
  };
  // A question whose reply is being written: not indexed yet, found all the same.
  const std::string g = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(user_.userId, chat_.chatId, g, kT0, kT0 + 30s).ok());
  Message q{newUuidV7(), chat_.chatId, std::nullopt, "user", "koi lanterns", "{}", 0, kT0};
  ASSERT_TRUE(store_->beginReply(q, "Koi", g, {newUuidV7(), q.messageId, "", 5}, kT0 + 30s).ok());
  EXPECT_EQ(hits("lanterns"), 1u);
  EXPECT_EQ(hits("koi"), 2u);  // the message and the title
  // The reply saved; it waits beside its question until enough rows do.
  Message reply{newUuidV7(), chat_.chatId, q.messageId, "assistant", "obsidian koi", "{}", 5, kT0};
  ASSERT_TRUE(store_->finishGeneration({user_.userId, chat_.chatId, g, reply, 0, 5}).ok());
  EXPECT_GT(waiting(), 0);
  EXPECT_EQ(hits("obsidian"), 1u);
  EXPECT_EQ(waiting(), 0);  // the search indexed them
  // A question taken back while waiting, a rename of an indexed title, a whole chat deleted.
  const std::string g2 = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(user_.userId, chat_.chatId, g2, kT0, kT0 + 30s).ok());
  Message q2{newUuidV7(), chat_.chatId, reply.messageId, "user", "vermilion", "{}", 0, kT0 + 1s};
  ASSERT_TRUE(store_->beginReply(q2, "", g2, {newUuidV7(), q2.messageId, "", 5}, kT0 + 30s).ok());
  ASSERT_TRUE(store_
                  ->abandonReply({user_.userId, chat_.chatId, g2, 0, q2.messageId, true,
                                  reply.messageId, kT0 + 1s, kT0, ""})
                  .ok());
  EXPECT_EQ(hits("vermilion"), 0u);
  ChatPatch rename;
  rename.title = "Neon harbour";
  ASSERT_TRUE(store_->updateChat(user_.userId, chat_.chatId, rename, 5, kT0 + 2s).ok());
  EXPECT_EQ(hits("harbour"), 1u);
  EXPECT_EQ(hits("koi"), 2u);  // the two messages; the old title is gone from the index
  auto other = store_->createChatIfUnderLimit(NewChat{newUuidV7(), user_.userId, "", kT0}, 5);
  ASSERT_TRUE(store_
                  ->appendMessage(
                      {newUuidV7(), other->chatId, std::nullopt, "user", "saffron", "{}", 0, kT0})
                  .ok());
  ASSERT_TRUE(store_->deleteChat(user_.userId, other->chatId).value());  // its rows still waiting
  ASSERT_TRUE(store_->deleteChat(user_.userId, chat_.chatId).value());   // its rows indexed
  EXPECT_EQ(hits("koi"), 0u);
  EXPECT_EQ(hits("saffron"), 0u);

  // Replies saved one after another index what waits whenever a batch has gathered: the
  // queue stays short, and every reply is found.
  auto third = store_->createChatIfUnderLimit(NewChat{newUuidV7(), user_.userId, "", kT0}, 5);
  std::optional<std::string> parent;
  std::int64_t longest = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string gi = newUuidV7();
    ASSERT_TRUE(store_->claimGeneration(user_.userId, third->chatId, gi, kT0, kT0 + 30s).ok());
    Message qi{newUuidV7(), third->chatId, parent, "user", "amber " + std::to_string(i), "{}", 0,
               kT0};
    ASSERT_TRUE(store_->beginReply(qi, "", gi, {newUuidV7(), qi.messageId, "", 5}, kT0 + 30s).ok());
    Message ri{newUuidV7(), third->chatId, qi.messageId, "assistant", "teal", "{}", 5, kT0};
    ASSERT_TRUE(store_->finishGeneration({user_.userId, third->chatId, gi, ri, 0, 5}).ok());
    parent = ri.messageId;
    longest = std::max(longest, waiting());
  }
  EXPECT_GE(longest, SqlStore::kSearchBatchRows - 2);
  EXPECT_LT(longest, SqlStore::kSearchBatchRows + 2);  // a question and its reply past the mark
  EXPECT_EQ(hits("amber"), 10u);                       // the limit
  EXPECT_EQ(store_->search(user_.userId, {"teal"}, 200).value().size(), 100u);

  EXPECT_EQ(sqlite("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)"), "");
}

}  // namespace
}  // namespace atelier::store
