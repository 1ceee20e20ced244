// One specification for every Store: run against SQLite and PostgreSQL alike.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "store/acting.hpp"
#include "store/store.hpp"
#include "support/test_database.hpp"
#include "util/crypto.hpp"

namespace atelier::store {
namespace {

using namespace std::chrono_literals;
using test::DbKind;

const TimePoint kT0 = fromUnixMillis(1'790'000'000'000);

class StoreTest : public ::testing::TestWithParam<DbKind> {
 protected:
  void SetUp() override {
    initCrypto();
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    ATELIER_REQUIRE_DATABASE(*db_);
    auto opened = openStore(db_->url(), StoreOptions{});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    auto m = store_->migrate();
    ASSERT_TRUE(m.ok()) << m.error().message;
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  User makeUser(const std::string& email = "") {
    NewUser u;
    u.userId = newUuidV7();
    u.email = email.empty() ? "u" + u.userId.substr(24) + "@example.com" : email;
    u.passwordHash = "hash";
    u.displayName = "Ada";
    u.tokenLimit = 1000;
    u.now = kT0;
    auto r = store_->createUser(u);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : User{};
  }

  Chat makeChat(const std::string& userId, int max = 5, TimePoint now = kT0) {
    auto r = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId, "title", now}, max);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Chat{};
  }

  Message message(const Chat& c, std::string role, std::string text, TimePoint at,
                  std::optional<std::string> parent = std::nullopt) {
    Message m;
    m.messageId = newUuidV7();
    m.chatId = c.chatId;
    m.parentMessageId = std::move(parent);
    m.role = std::move(role);
    m.content = std::move(text);
    m.createdAt = at;
    return m;
  }

  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigrationsAreRecordedAndIdempotent) {
  auto again = store_->migrate();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_TRUE(store_->ping().ok());
}

TEST_P(StoreTest, CreatesAndFindsUsers) {
  const User u = makeUser("ada@example.com");
  auto byEmail = store_->findUserByEmail("ada@example.com");
  ASSERT_TRUE(byEmail.ok());
  ASSERT_TRUE(byEmail->has_value());
  EXPECT_EQ((*byEmail)->userId, u.userId);
  EXPECT_EQ((*byEmail)->displayName, "Ada");
  EXPECT_FALSE((*byEmail)->emailVerified);
  EXPECT_EQ((*byEmail)->createdAt, kT0);
  auto byId = store_->findUserById(u.userId);
  ASSERT_TRUE(byId.ok() && byId->has_value());
  EXPECT_EQ((*byId)->email, "ada@example.com");
  EXPECT_FALSE(store_->findUserById(newUuidV7())->has_value());
  EXPECT_FALSE(store_->findUserById("not-a-uuid")->has_value());
}

TEST_P(StoreTest, DuplicateEmailIsEmailTaken) {
  makeUser("dup@example.com");
  NewUser again{newUuidV7(), "dup@example.com", "h", "", 10, kT0};
  auto r = store_->createUser(again);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::email_taken);
}

TEST_P(StoreTest, UserFlagsAndPasswordChange) {
  const User u = makeUser();
  EXPECT_TRUE(*store_->markEmailVerified(u.userId, kT0 + 1s));
  EXPECT_TRUE(*store_->setPasswordHash(u.userId, "new-hash", kT0 + 2s));
  EXPECT_TRUE(*store_->setUserDisabled(u.userId, true, kT0 + 3s));
  auto got = store_->findUserById(u.userId);
  EXPECT_TRUE((*got)->emailVerified);
  EXPECT_TRUE((*got)->disabled);
  EXPECT_EQ((*got)->passwordHash, "new-hash");
  EXPECT_EQ((*got)->updatedAt, kT0 + 3s);
  EXPECT_FALSE(*store_->markEmailVerified(newUuidV7(), kT0));
}

TEST_P(StoreTest, EmailCodeIsRateLimitedPerEmailAndPurpose) {
  const auto p = CodePurpose::verifyEmail;
  EXPECT_TRUE(*store_->issueEmailCode("a@x.io", p, "h1", kT0, kT0 + 10min, 60s));
  EXPECT_FALSE(*store_->issueEmailCode("a@x.io", p, "h2", kT0 + 30s, kT0 + 10min, 60s));
  EXPECT_TRUE(*store_->issueEmailCode("a@x.io", CodePurpose::resetPassword, "h3", kT0 + 30s,
                                      kT0 + 10min, 60s));
  EXPECT_TRUE(*store_->issueEmailCode("a@x.io", p, "h4", kT0 + 61s, kT0 + 11min, 60s));
  // The newest code replaced the old one.
  EXPECT_EQ(*store_->consumeEmailCode("a@x.io", p, "h1", kT0 + 62s, 5), CodeCheck::wrong);
  EXPECT_EQ(*store_->consumeEmailCode("a@x.io", p, "h4", kT0 + 62s, 5), CodeCheck::ok);
}

TEST_P(StoreTest, EmailCodeIsSingleUse) {
  const auto p = CodePurpose::verifyEmail;
  ASSERT_TRUE(*store_->issueEmailCode("b@x.io", p, "good", kT0, kT0 + 10min, 60s));
  EXPECT_EQ(*store_->consumeEmailCode("b@x.io", p, "good", kT0 + 1s, 5), CodeCheck::ok);
  EXPECT_EQ(*store_->consumeEmailCode("b@x.io", p, "good", kT0 + 2s, 5), CodeCheck::expired);
}

TEST_P(StoreTest, EmailCodeExpires) {
  const auto p = CodePurpose::resetPassword;
  ASSERT_TRUE(*store_->issueEmailCode("c@x.io", p, "good", kT0, kT0 + 10min, 60s));
  EXPECT_EQ(*store_->consumeEmailCode("c@x.io", p, "good", kT0 + 10min, 5), CodeCheck::expired);
  EXPECT_EQ(*store_->consumeEmailCode("none@x.io", p, "good", kT0, 5), CodeCheck::expired);
}

TEST_P(StoreTest, EmailCodeDiesAfterTooManyWrongAttempts) {
  const auto p = CodePurpose::verifyEmail;
  ASSERT_TRUE(*store_->issueEmailCode("d@x.io", p, "good", kT0, kT0 + 10min, 60s));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(*store_->consumeEmailCode("d@x.io", p, "bad", kT0, 5), CodeCheck::wrong);
  EXPECT_EQ(*store_->consumeEmailCode("d@x.io", p, "good", kT0, 5), CodeCheck::expired);
}

TEST_P(StoreTest, RefreshTokenRotatesOnce) {
  const User u = makeUser();
  const std::string family = newUuidV7();
  ASSERT_TRUE(store_->insertRefreshToken({"t1", u.userId, family, kT0 + 30 * 24h, kT0}).ok());
  auto r = store_->rotateRefreshToken("t1", {"t2", "", "", kT0 + 31 * 24h, kT0 + 1s}, kT0 + 1s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, RotateOutcome::rotated);
  EXPECT_EQ(r->userId, u.userId);
  auto r2 = store_->rotateRefreshToken("t2", {"t3", "", "", kT0 + 31 * 24h, kT0 + 2s}, kT0 + 2s);
  EXPECT_EQ(r2->outcome, RotateOutcome::rotated);
}

TEST_P(StoreTest, ReusedRefreshTokenRevokesTheWholeFamily) {
  const User u = makeUser();
  const std::string family = newUuidV7();
  ASSERT_TRUE(store_->insertRefreshToken({"a1", u.userId, family, kT0 + 24h, kT0}).ok());
  ASSERT_EQ(store_->rotateRefreshToken("a1", {"a2", "", "", kT0 + 24h, kT0}, kT0)->outcome,
            RotateOutcome::rotated);
  auto reuse = store_->rotateRefreshToken("a1", {"a3", "", "", kT0 + 24h, kT0}, kT0);
  EXPECT_EQ(reuse->outcome, RotateOutcome::reused);
  EXPECT_EQ(reuse->userId, u.userId);
  // a2 (the live one) was revoked with its family.
  EXPECT_EQ(store_->rotateRefreshToken("a2", {"a4", "", "", kT0 + 24h, kT0}, kT0)->outcome,
            RotateOutcome::reused);
}

TEST_P(StoreTest, UnknownOrExpiredRefreshTokenIsInvalid) {
  const User u = makeUser();
  ASSERT_TRUE(store_->insertRefreshToken({"e1", u.userId, newUuidV7(), kT0 + 1h, kT0}).ok());
  EXPECT_EQ(store_->rotateRefreshToken("nope", {"x", "", "", kT0, kT0}, kT0)->outcome,
            RotateOutcome::invalid);
  EXPECT_EQ(store_->rotateRefreshToken("e1", {"x", "", "", kT0 + 2h, kT0 + 1h}, kT0 + 1h)->outcome,
            RotateOutcome::invalid);
}

TEST_P(StoreTest, RevokeOneAndAllRefreshTokens) {
  const User u = makeUser();
  ASSERT_TRUE(store_->insertRefreshToken({"r1", u.userId, newUuidV7(), kT0 + 1h, kT0}).ok());
  ASSERT_TRUE(store_->insertRefreshToken({"r2", u.userId, newUuidV7(), kT0 + 1h, kT0}).ok());
  ASSERT_TRUE(store_->insertRefreshToken({"r3", u.userId, newUuidV7(), kT0 + 1h, kT0}).ok());
  EXPECT_TRUE(*store_->revokeRefreshToken("r1", kT0));
  EXPECT_FALSE(*store_->revokeRefreshToken("r1", kT0));
  ASSERT_TRUE(store_->revokeUserRefreshTokens(u.userId, kT0).ok());
  EXPECT_NE(store_->rotateRefreshToken("r2", {"x2", "", "", kT0 + 1h, kT0}, kT0)->outcome,
            RotateOutcome::rotated);
  EXPECT_NE(store_->rotateRefreshToken("r3", {"x3", "", "", kT0 + 1h, kT0}, kT0)->outcome,
            RotateOutcome::rotated);
}

TEST_P(StoreTest, ConcurrentRotationsOfOneTokenRotateOnce) {
  const User u = makeUser();
  ASSERT_TRUE(store_->insertRefreshToken({"c1", u.userId, newUuidV7(), kT0 + 1h, kT0}).ok());
  std::atomic<int> rotated{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r =
          store_->rotateRefreshToken("c1", {"n" + std::to_string(i), "", "", kT0 + 1h, kT0}, kT0);
      if (r.ok() && r->outcome == RotateOutcome::rotated) ++rotated;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(rotated.load(), 1);
}

TEST_P(StoreTest, ChatsListedMostRecentFirstAndPrivate) {
  const User a = makeUser();
  const User b = makeUser();
  const Chat c1 = makeChat(a.userId, 5, kT0);
  const Chat c2 = makeChat(a.userId, 5, kT0 + 1s);
  makeChat(b.userId);
  auto list = store_->listChats(a.userId);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].chatId, c2.chatId);
  EXPECT_EQ((*list)[1].chatId, c1.chatId);
  EXPECT_TRUE(store_->findChat(a.userId, c1.chatId)->has_value());
  EXPECT_FALSE(store_->findChat(b.userId, c1.chatId)->has_value());
  EXPECT_FALSE(*store_->deleteChat(b.userId, c1.chatId));
  auto other = store_->updateChat(b.userId, c1.chatId, ChatPatch{"x", std::nullopt}, 5, kT0);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Errc::not_found);
}

TEST_P(StoreTest, ChatLimitHoldsAndReactivationCounts) {
  const User u = makeUser();
  std::vector<Chat> chats;
  for (int i = 0; i < 3; ++i)
    chats.push_back(makeChat(u.userId, 3));
  auto over = store_->createChatIfUnderLimit(NewChat{newUuidV7(), u.userId, "", kT0}, 3);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::chat_limit_reached);
  auto off =
      store_->updateChat(u.userId, chats[0].chatId, ChatPatch{std::nullopt, false}, 3, kT0 + 1s);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->isActive);
  EXPECT_EQ(off->title, "title");
  makeChat(u.userId, 3);
  auto on =
      store_->updateChat(u.userId, chats[0].chatId, ChatPatch{std::nullopt, true}, 3, kT0 + 2s);
  ASSERT_FALSE(on.ok());
  EXPECT_EQ(on.error().code, Errc::chat_limit_reached);
  auto renamed = store_->updateChat(u.userId, chats[1].chatId, ChatPatch{"renamed", std::nullopt},
                                    3, kT0 + 3s);
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->title, "renamed");
  EXPECT_EQ(renamed->updatedAt, kT0 + 3s);
}

TEST_P(StoreTest, TwentyConcurrentCreatesLeaveExactlyFive) {
  const User u = makeUser();
  std::atomic<int> created{0}, refused{0}, failed{0};
  std::barrier sync(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      sync.arrive_and_wait();
      auto r = store_->createChatIfUnderLimit(NewChat{newUuidV7(), u.userId, "", kT0}, 5);
      if (r.ok()) {
        ++created;
      } else if (r.error().code == Errc::chat_limit_reached) {
        ++refused;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(store_->listChats(u.userId)->size(), 5u);
}

TEST_P(StoreTest, MessagesPageOldestFirstWithHasMore) {
  const User u = makeUser();
  const ActingAs as(u.userId);
  const Chat c = makeChat(u.userId);
  std::vector<Message> all;
  std::optional<std::string> parent;
  for (int i = 0; i < 7; ++i) {
    // Two messages share each millisecond: the order must still be stable.
    auto m = message(c, i % 2 ? "assistant" : "user", "m" + std::to_string(i),
                     kT0 + std::chrono::milliseconds(i / 2), parent);
    ASSERT_TRUE(store_->appendMessage(m).ok());
    parent = m.messageId;
    all.push_back(m);
  }
  auto newest = store_->listMessages(c.chatId, 3, std::nullopt);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->messages.size(), 3u);
  EXPECT_TRUE(newest->hasMore);
  EXPECT_EQ(newest->messages[0].content, "m4");
  EXPECT_EQ(newest->messages[2].content, "m6");
  EXPECT_EQ(newest->messages[2].parentMessageId, all[5].messageId);
  auto older = store_->listMessages(c.chatId, 3, std::string_view(newest->messages[0].messageId));
  ASSERT_TRUE(older.ok());
  ASSERT_EQ(older->messages.size(), 3u);
  EXPECT_EQ(older->messages[0].content, "m1");
  EXPECT_TRUE(older->hasMore);
  auto oldest = store_->listMessages(c.chatId, 3, std::string_view(older->messages[0].messageId));
  ASSERT_EQ(oldest->messages.size(), 1u);
  EXPECT_EQ(oldest->messages[0].content, "m0");
  EXPECT_FALSE(oldest->messages[0].parentMessageId.has_value());
  EXPECT_FALSE(oldest->hasMore);
}

TEST_P(StoreTest, BeforeMustBeAMessageOfTheChat) {
  const User u = makeUser();
  const ActingAs as(u.userId);
  const Chat c = makeChat(u.userId);
  const Chat other = makeChat(u.userId);
  auto m = message(other, "user", "elsewhere", kT0);
  ASSERT_TRUE(store_->appendMessage(m).ok());
  for (std::string before : {m.messageId, newUuidV7(), std::string("garbage")}) {
    auto r = store_->listMessages(c.chatId, 10, std::string_view(before));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_request);
    EXPECT_EQ(r.error().field, "before");
  }
}

TEST_P(StoreTest, AppendingMovesTheChatForwardAndKeepsMetadata) {
  const User u = makeUser();
  const ActingAs as(u.userId);
  const Chat c = makeChat(u.userId, 5, kT0);
  auto m = message(c, "assistant", "hello", kT0 + 5s);
  m.metadataJson = R"({"status":"stopped"})";
  m.tokensConsumed = 42;
  ASSERT_TRUE(store_->appendMessage(m).ok());
  auto chat = store_->findChat(u.userId, c.chatId);
  EXPECT_EQ((*chat)->updatedAt, kT0 + 5s);
  EXPECT_EQ((*chat)->currentMessageId, m.messageId);
  auto page = store_->listMessages(c.chatId, 10, std::nullopt);
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0].tokensConsumed, 42);
  EXPECT_NE(page->messages[0].metadataJson.find("stopped"), std::string::npos);
  auto gone = store_->appendMessage(message(Chat{newUuidV7()}, "user", "x", kT0));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::not_found);
}

TEST_P(StoreTest, DeletingAChatDeletesItsMessages) {
  const User u = makeUser();
  const ActingAs as(u.userId);
  const Chat c = makeChat(u.userId);
  ASSERT_TRUE(store_->appendMessage(message(c, "user", "bye", kT0)).ok());
  EXPECT_TRUE(*store_->deleteChat(u.userId, c.chatId));
  EXPECT_FALSE(store_->findChat(u.userId, c.chatId)->has_value());
  EXPECT_TRUE(store_->listMessages(c.chatId, 10, std::nullopt)->messages.empty());
}

TEST_P(StoreTest, UsageResetsAfterTheInterval) {
  const User u = makeUser();
  auto usage = store_->getUsage(u.userId, kT0 + 1h, 24h);
  ASSERT_TRUE(usage.ok() && usage->has_value());
  EXPECT_EQ((*usage)->tokenLimit, 1000);
  EXPECT_EQ((*usage)->totalTokensUsed, 0);
  EXPECT_EQ((*usage)->lastResetAt, kT0);
  auto later = store_->getUsage(u.userId, kT0 + 25h, 24h);
  EXPECT_EQ((*later)->lastResetAt, kT0 + 25h);
  auto never = store_->getUsage(u.userId, kT0 + 1000h, 0s);
  EXPECT_EQ((*never)->lastResetAt, kT0 + 25h);
  EXPECT_FALSE(store_->getUsage(newUuidV7(), kT0, 24h)->has_value());
}

TEST_P(StoreTest, ABranchIsThePathFromTheRootToItsLeaf) {
  const auto u = makeUser();
  const ActingAs as(u.userId);
  const auto chat = makeChat(u.userId);
  const auto other = makeChat(u.userId);
  //  q1 ─ a1 ─ q2 ─ a2
  //          └ q2' ─ a2'
  std::vector<Message> m;
  m.push_back(message(chat, "user", "q1", kT0 + 1s));
  m.push_back(message(chat, "assistant", "a1", kT0 + 2s, m[0].messageId));
  m.push_back(message(chat, "user", "q2", kT0 + 3s, m[1].messageId));
  m.push_back(message(chat, "assistant", "a2", kT0 + 4s, m[2].messageId));
  m.push_back(message(chat, "user", "q2'", kT0 + 5s, m[1].messageId));
  m.push_back(message(chat, "assistant", "a2'", kT0 + 6s, m[4].messageId));
  for (const auto& x : m)
    ASSERT_TRUE(store_->appendMessage(x).ok());
  auto texts = [&](std::string_view leaf) {
    std::vector<std::string> out;
    const auto branch = store_->branchMessages(chat.chatId, leaf, kWholeBranch);
    EXPECT_TRUE(branch.ok());
    for (const auto& x : branch.value())
      out.push_back(x.content);
    return out;
  };
  EXPECT_EQ(texts(m[3].messageId), (std::vector<std::string>{"q1", "a1", "q2", "a2"}));
  EXPECT_EQ(texts(m[5].messageId), (std::vector<std::string>{"q1", "a1", "q2'", "a2'"}));
  EXPECT_EQ(texts(m[1].messageId), (std::vector<std::string>{"q1", "a1"}));
  // A leaf of another chat, or no message at all: nothing.
  EXPECT_TRUE(store_->branchMessages(other.chatId, m[3].messageId, kWholeBranch)->empty());
  EXPECT_TRUE(store_->branchMessages(chat.chatId, newUuidV7(), kWholeBranch)->empty());
  EXPECT_TRUE(store_->branchMessages(chat.chatId, "not-a-uuid", kWholeBranch)->empty());
}

TEST_P(StoreTest, UploadsBelongToTheirOwner) {
  const auto owner = makeUser();
  const auto other = makeUser();
  Upload u;
  u.uploadId = newUuidV7();
  u.userId = owner.userId;
  u.objectKey = "users/" + owner.userId + "/uploads/" + u.uploadId + ".png";
  u.mimeType = "image/png";
  u.sizeBytes = 1234;
  u.sha256 = std::string(64, 'a');
  u.createdAt = kT0;
  ASSERT_TRUE(store_->insertUpload(u).ok());

  auto found = store_->findUpload(owner.userId, u.uploadId);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->objectKey, u.objectKey);
  EXPECT_EQ((*found)->mimeType, "image/png");
  EXPECT_EQ((*found)->sizeBytes, 1234);
  EXPECT_EQ((*found)->sha256, u.sha256);
  EXPECT_EQ((*found)->createdAt, kT0);
  EXPECT_TRUE(store_->findUploadByKey(owner.userId, u.objectKey)->has_value());

  // Another user sees nothing, by id or by key, and cannot delete it.
  EXPECT_FALSE(store_->findUpload(other.userId, u.uploadId)->has_value());
  EXPECT_FALSE(store_->findUploadByKey(other.userId, u.objectKey)->has_value());
  EXPECT_FALSE(store_->deleteUpload(other.userId, u.uploadId).value());
  EXPECT_FALSE(store_->findUpload(owner.userId, "not-a-uuid")->has_value());

  // The database refuses what the service never writes: a second row for one object, a
  // type that is not one of the four images, an empty file.
  Upload dup = u;
  dup.uploadId = newUuidV7();
  EXPECT_FALSE(store_->insertUpload(dup).ok());
  Upload svg = u;
  svg.uploadId = newUuidV7();
  svg.objectKey += ".svg";
  svg.mimeType = "image/svg+xml";
  EXPECT_FALSE(store_->insertUpload(svg).ok());
  Upload empty = u;
  empty.uploadId = newUuidV7();
  empty.objectKey += ".empty";
  empty.sizeBytes = 0;
  EXPECT_FALSE(store_->insertUpload(empty).ok());

  EXPECT_TRUE(store_->deleteUpload(owner.userId, u.uploadId).value());
  EXPECT_FALSE(store_->findUpload(owner.userId, u.uploadId)->has_value());
  EXPECT_FALSE(store_->deleteUpload(owner.userId, u.uploadId).value());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

TEST(PostgresStore, UnreachableServerIsUnavailableQuickly) {
  const auto start = std::chrono::steady_clock::now();
  StoreOptions o;
  o.acquireTimeout = 1s;
  auto r = openStore("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message.find("127.0.0.1"), std::string::npos);  // no connection details leak
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace atelier::store
