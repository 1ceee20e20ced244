// SQLite's write-ahead log is copied back into the database file by the pool's own
// checkpointer thread, never inside a commit on the writer (store/connection_source.hpp): the
// log must still not grow without bound under a stream of writes.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace atelier::store
