// SQLite specifics of the store: the write-ahead log is copied back into the database file by
// the pool's own checkpointer thread, never inside a commit on the writer
// (store/connection_source.hpp), and must still not grow without bound under a stream of
// writes; the full-text index is written in batches (migration sqlite/009) and must stay
// exact and consistent.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/acting.hpp"
#include "store/connection_source.hpp"
#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

namespace fs = std::filesystem;

TEST(SqliteWal, TheCheckpointerKeepsTheLogBounded) {
  initCrypto();
  test::TestDatabase db(test::DbKind::sqlite);
  auto opened = openStore(db.url(), StoreOptions{});
  ASSERT_TRUE(opened.ok());
  auto store = std::move(opened).value();
  ASSERT_TRUE(store->migrate().ok());
  const TimePoint t0 = fromUnixMillis(1'790'000'000'000);
  NewUser u{newUuidV7(), "wal@example.com", "h", "", 1000, t0};
  ASSERT_TRUE(store->createUser(u).ok());
  const ActingAs as(u.userId);
  auto chat = store->createChatIfUnderLimit(NewChat{newUuidV7(), u.userId, "", t0}, 5);
  ASSERT_TRUE(chat.ok());

  const std::string path = db.url().substr(std::string("sqlite://").size());
  const std::string wal = path + "-wal";
  // Each message writes tens of pages (its text overflows, the full-text index), 600
  // transactions back to back: far more through the log than the mark at which the writer
  // checkpoints itself, faster than the checkpointer thread can catch up.
  const std::string text(20'000, 'x');
  std::uintmax_t largest = 0;
  std::optional<std::string> parent;
  for (int i = 0; i < 600; ++i) {
    Message m{newUuidV7(), chat->chatId, parent, "user", text, "{}", 0, t0};
    ASSERT_TRUE(store->appendMessage(m).ok()) << i;
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
  EXPECT_EQ(store->listMessages(chat->chatId, 1000, std::nullopt)->messages.size(), 600u);
}

// Rows wait for the index until a reply is saved or a search runs; a search still finds them,
// and rows deleted or changed while waiting, or after, leave an index that FTS5's own check
// finds consistent.
TEST(SqliteSearchIndex, PendingRowsAreFoundAndTheIndexStaysConsistent) {
  initCrypto();
  test::TestDatabase db(test::DbKind::sqlite);
  auto store = std::move(openStore(db.url(), StoreOptions{})).value();
  ASSERT_TRUE(store->migrate().ok());
  using namespace std::chrono_literals;
  const TimePoint t0 = fromUnixMillis(1'790'000'000'000);
  NewUser u{newUuidV7(), "fts@example.com", "h", "", 100000, t0};
  ASSERT_TRUE(store->createUser(u).ok());
  const ActingAs as(u.userId);
  auto chat = store->createChatIfUnderLimit(NewChat{newUuidV7(), u.userId, "", t0}, 5);
  ASSERT_TRUE(chat.ok());
  auto hits = [&](const std::string& word) {
    return store->search(u.userId, {word}, 10).value().size();
  };
  // A question whose reply is being written: not indexed yet, found all the same.
  const std::string g = newUuidV7();
  ASSERT_TRUE(store->claimGeneration(u.userId, chat->chatId, g, t0, t0 + 30s).ok());
  Message q{newUuidV7(), chat->chatId, std::nullopt, "user", "koi lanterns", "{}", 0, t0};
  ASSERT_TRUE(store->beginReply(q, "Koi", g, {newUuidV7(), q.messageId, "", 5}, t0 + 30s).ok());
  EXPECT_EQ(hits("lanterns"), 1u);
  EXPECT_EQ(hits("koi"), 2u);  // the message and the title
  // The reply saved (and indexed with what waits) in the finishing transaction.
  Message reply{newUuidV7(), chat->chatId, q.messageId, "assistant", "obsidian koi", "{}", 5, t0};
  ASSERT_TRUE(store->finishGeneration({u.userId, chat->chatId, g, reply, 0, 5}).ok());
  EXPECT_EQ(hits("obsidian"), 1u);
  // A question taken back while waiting, a rename of an indexed title, a whole chat deleted.
  const std::string g2 = newUuidV7();
  ASSERT_TRUE(store->claimGeneration(u.userId, chat->chatId, g2, t0, t0 + 30s).ok());
  Message q2{newUuidV7(), chat->chatId, reply.messageId, "user", "vermilion", "{}", 0, t0 + 1s};
  ASSERT_TRUE(store->beginReply(q2, "", g2, {newUuidV7(), q2.messageId, "", 5}, t0 + 30s).ok());
  ASSERT_TRUE(store
                  ->abandonReply({u.userId, chat->chatId, g2, 0, q2.messageId, q2.messageId,
                                  reply.messageId, t0 + 1s, t0, ""})
                  .ok());
  EXPECT_EQ(hits("vermilion"), 0u);
  ChatPatch rename;
  rename.title = "Neon harbour";
  ASSERT_TRUE(store->updateChat(u.userId, chat->chatId, rename, 5, t0 + 2s).ok());
  EXPECT_EQ(hits("harbour"), 1u);
  EXPECT_EQ(hits("koi"), 2u);  // the two messages; the old title is gone from the index
  auto other = store->createChatIfUnderLimit(NewChat{newUuidV7(), u.userId, "", t0}, 5);
  ASSERT_TRUE(store
                  ->appendMessage(
                      {newUuidV7(), other->chatId, std::nullopt, "user", "saffron", "{}", 0, t0})
                  .ok());
  ASSERT_TRUE(store->deleteChat(u.userId, other->chatId).value());  // its rows still waiting
  ASSERT_TRUE(store->deleteChat(u.userId, chat->chatId).value());   // its rows indexed
  EXPECT_EQ(hits("koi"), 0u);
  EXPECT_EQ(hits("saffron"), 0u);

  sqlite3* raw = nullptr;
  const std::string path = db.url().substr(std::string("sqlite://").size());
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* err = nullptr;
  const int rc =
      sqlite3_exec(raw, "INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)",
                   nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(raw);
}

}  // namespace
}  // namespace atelier::store
