// Token reservations and generation leases: the invariants the message route relies on,
// on SQLite and PostgreSQL alike.
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

class QuotaLeaseTest : public ::testing::TestWithParam<DbKind> {
 protected:
  void SetUp() override {
    initCrypto();
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    ATELIER_REQUIRE_DATABASE(*db_);
    auto opened = openStore(db_->url(), StoreOptions{});
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_->migrate().ok());
    NewUser u{newUuidV7(), "q" + newUuidV7().substr(24) + "@example.com", "h", "", 1000, kT0};
    ASSERT_TRUE(store_->createUser(u).ok());
    userId_ = u.userId;
    as_.emplace(userId_);  // the chat-id methods act as the caller's user
  }
  std::int64_t used() { return (*store_->getUsage(userId_, kT0, 0s))->totalTokensUsed; }

  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string userId_;
  std::optional<ActingAs> as_;
};

TEST_P(QuotaLeaseTest, AReservationCapsTheOutputByWhatRemains) {
  auto a = store_->reserveTokens(userId_, 100, 2048, kT0, 0s, std::nullopt);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->maxOutputTokens, 900);  // 1000 − 100 of prompt
  EXPECT_EQ(a->reserved, 1000);
  EXPECT_EQ(a->remainingAfter, 0);
  EXPECT_EQ(used(), 1000);
  auto none = store_->reserveTokens(userId_, 1, 2048, kT0, 0s, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::token_limit_exceeded);
  // Settled with what was billed, the rest comes back.
  auto after = store_->settleTokens(userId_, a->reserved, 130);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->totalTokensUsed, 130);
  auto b = store_->reserveTokens(userId_, 50, 200, kT0, 0s, std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->maxOutputTokens, 200);
  EXPECT_EQ(b->reserved, 250);
  EXPECT_EQ(b->remainingAfter, 620);
}

TEST_P(QuotaLeaseTest, ThePromptAloneCannotFitIntoWhatRemains) {
  auto r = store_->reserveTokens(userId_, 1000, 2048, kT0, 0s, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::token_limit_exceeded);
  EXPECT_EQ(used(), 0);
}

TEST_P(QuotaLeaseTest, SettlingNeverGoesBelowZero) {
  auto s = store_->settleTokens(userId_, 500, 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->totalTokensUsed, 20);
}

TEST_P(QuotaLeaseTest, AReservationAfterTheIntervalStartsFromZero) {
  ASSERT_TRUE(store_->reserveTokens(userId_, 100, 900, kT0, 24h, std::nullopt).ok());
  EXPECT_FALSE(store_->reserveTokens(userId_, 10, 10, kT0 + 1h, 24h, std::nullopt).ok());
  auto fresh = store_->reserveTokens(userId_, 10, 10, kT0 + 25h, 24h, std::nullopt);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->remainingAfter, 980);
  EXPECT_EQ((*store_->getUsage(userId_, kT0 + 25h, 24h))->lastResetAt, kT0 + 25h);
}

TEST_P(QuotaLeaseTest, TenParallelReservationsNeverPassTheLimit) {
  std::barrier sync(10);
  std::atomic<std::int64_t> granted{0};
  std::atomic<int> refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      sync.arrive_and_wait();
      auto r = store_->reserveTokens(userId_, 60, 200, kT0, 0s, std::nullopt);
      if (r.ok()) {
        granted += r->reserved;
      } else if (r.error().code == Errc::token_limit_exceeded) {
        ++refused;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(granted.load(), 1000);
  EXPECT_EQ(used(), granted.load());
  EXPECT_GT(refused.load(), 0);
}

TEST_P(QuotaLeaseTest, OneGenerationPerChatUntilReleasedOrExpired) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  ASSERT_TRUE(chat.ok());
  const std::string g1 = newUuidV7(), g2 = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g1, kT0, kT0 + 30s).ok());
  EXPECT_EQ(*store_->activeGeneration(chat->chatId, kT0 + 1s), g1);
  auto busy = store_->claimGeneration(userId_, chat->chatId, g2, kT0 + 1s, kT0 + 31s);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, Errc::generation_in_progress);
  EXPECT_EQ(*store_->checkpointGeneration(chat->chatId, g1, GenerationCheckpoint{}, kT0 + 60s),
            LeaseState::held);
  EXPECT_FALSE(store_->claimGeneration(userId_, chat->chatId, g2, kT0 + 45s, kT0 + 75s).ok());
  // The owner died: once its lease has expired the chat is free again.
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g2, kT0 + 61s, kT0 + 91s).ok());
  EXPECT_EQ(*store_->checkpointGeneration(chat->chatId, g1, GenerationCheckpoint{}, kT0 + 120s),
            LeaseState::lost);                                    // g1 lost it
  ASSERT_TRUE(store_->releaseGeneration(chat->chatId, g1).ok());  // a no-op for g1
  EXPECT_EQ(*store_->activeGeneration(chat->chatId, kT0 + 62s), g2);
  ASSERT_TRUE(store_->releaseGeneration(chat->chatId, g2).ok());
  EXPECT_FALSE(store_->activeGeneration(chat->chatId, kT0 + 62s)->has_value());
}

// A stop asked for through any instance marks the live lease; its owner reads the mark at
// its next renewal. The mark goes with the lease.
TEST_P(QuotaLeaseTest, AStopRequestMarksTheLiveLeaseUntilItIsReleased) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  ASSERT_TRUE(chat.ok());
  EXPECT_FALSE(store_->requestStop(userId_, chat->chatId, kT0)->has_value());  // nothing runs
  const std::string g = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  EXPECT_FALSE(store_->requestStop(newUuidV7(), chat->chatId, kT0)->has_value());  // not theirs
  EXPECT_EQ(*store_->checkpointGeneration(chat->chatId, g, GenerationCheckpoint{}, kT0 + 30s),
            LeaseState::held);
  auto asked = store_->requestStop(userId_, chat->chatId, kT0 + 1s);
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(*asked, g);
  EXPECT_EQ(*store_->checkpointGeneration(chat->chatId, g, GenerationCheckpoint{}, kT0 + 31s),
            LeaseState::stopRequested);
  ASSERT_TRUE(store_->releaseGeneration(chat->chatId, g).ok());
  // The next generation starts unmarked; an expired lease cannot be asked to stop.
  const std::string g2 = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g2, kT0 + 2s, kT0 + 32s).ok());
  EXPECT_EQ(*store_->checkpointGeneration(chat->chatId, g2, GenerationCheckpoint{}, kT0 + 32s),
            LeaseState::held);
  EXPECT_FALSE(store_->requestStop(userId_, chat->chatId, kT0 + 33s)->has_value());
}

// The per-user message limit every instance shares: counted in the database, refused hits
// not counted, the previous minute weighing as it slides out.
TEST_P(QuotaLeaseTest, RateWindowsCountHitsAcrossCallersAndSlide) {
  const std::string key = "messages:" + userId_;
  const TimePoint start = fromUnixMillis(1'790'000'020'000);  // 40 s into a minute
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(*store_->hitRateWindow(key, 5, 60s, start), 0) << i;
  const int wait = *store_->hitRateWindow(key, 5, 60s, start);
  EXPECT_EQ(wait, 20 + 12);  // the next minute, once these 5 weigh 4
  EXPECT_EQ(*store_->hitRateWindow(key, 5, 60s, start + 1s), 19 + 12);  // not counted
  // Another key is not affected.
  EXPECT_EQ(*store_->hitRateWindow("messages:other", 5, 60s, start), 0);
  // 32 s later (12 s into the next minute): the 5 weigh 4, one more fits.
  EXPECT_EQ(*store_->hitRateWindow(key, 5, 60s, start + 32s), 0);
  EXPECT_GT(*store_->hitRateWindow(key, 5, 60s, start + 32s), 0);
  // Two minutes on, all forgotten.
  EXPECT_EQ(*store_->hitRateWindow(key, 5, 60s, start + 140s), 0);
  // Pruning drops only windows older than the cut.
  EXPECT_EQ(*store_->pruneRateWindows(start + 60s), 1);  // "messages:other"
  EXPECT_EQ(*store_->pruneRateWindows(start + 60s), 0);
}

TEST_P(QuotaLeaseTest, ConcurrentHitsNeverPassTheLimit) {
  const std::string key = "burst:" + userId_;
  std::barrier sync(8);
  std::atomic<int> allowed{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      sync.arrive_and_wait();
      for (int j = 0; j < 10; ++j) {
        auto r = store_->hitRateWindow(key, 20, 60s, kT0);
        if (!r.ok()) {
          ++failed;
        } else if (*r == 0) {
          ++allowed;
        } else {
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), 20);
  EXPECT_EQ(refused.load(), 60);
}

TEST_P(QuotaLeaseTest, AnotherUsersChatCannotBeClaimed) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  auto r = store_->claimGeneration(newUuidV7(), chat->chatId, newUuidV7(), kT0, kT0 + 30s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST_P(QuotaLeaseTest, ConcurrentClaimsLetExactlyOneThrough) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  ASSERT_TRUE(chat.ok());
  std::barrier sync(8);
  std::atomic<int> won{0}, busy{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      sync.arrive_and_wait();
      auto r = store_->claimGeneration(userId_, chat->chatId, newUuidV7(), kT0, kT0 + 30s);
      if (r.ok()) ++won;
      if (!r.ok() && r.error().code == Errc::generation_in_progress) ++busy;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(busy.load(), 7);
}

// A generation whose instance died: its checkpoint becomes an incomplete reply and its
// reservation is settled to what the checkpoint billed — once, however many recover it.
TEST_P(QuotaLeaseTest, AnExpiredLeaseIsRecoveredIntoAnIncompleteReplyOnce) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  ASSERT_TRUE(chat.ok());
  const std::string g = newUuidV7(), replyId = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  auto r = store_->reserveTokens(userId_, 100, 400, kT0, 0s, LeaseRef{chat->chatId, g});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(used(), 500);
  Message user{newUuidV7(), chat->chatId, std::nullopt, "user", "tell me a story", "{}", 0, kT0};
  ASSERT_TRUE(store_->appendMessage(user).ok());
  ASSERT_EQ(*store_->checkpointGeneration(
                chat->chatId, g, GenerationCheckpoint{replyId, user.messageId, "Once upon", 120},
                kT0 + 40s),
            LeaseState::held);
  // Alive: nothing to recover yet.
  EXPECT_EQ(*store_->recoverGenerations(kT0 + 39s), 0);
  // Two instances sweep at once after expiry: exactly one recovers it.
  std::atomic<int> recovered{0};
  std::vector<std::thread> sweepers;
  for (int i = 0; i < 4; ++i) {
    sweepers.emplace_back([&] {
      auto n = store_->recoverGenerations(kT0 + 41s);
      ASSERT_TRUE(n.ok()) << n.error().message;
      recovered += *n;
    });
  }
  for (auto& t : sweepers)
    t.join();
  EXPECT_EQ(recovered.load(), 1);
  EXPECT_EQ(used(), 120);
  auto page = store_->listMessages(chat->chatId, 10, std::nullopt);
  ASSERT_EQ(page->messages.size(), 2u);
  const auto& reply = page->messages[1];
  EXPECT_EQ(reply.messageId, replyId);
  EXPECT_EQ(reply.parentMessageId, user.messageId);
  EXPECT_EQ(reply.content, "Once upon");
  EXPECT_NE(reply.metadataJson.find("incomplete"), std::string::npos);
  EXPECT_EQ(reply.tokensConsumed, 120);
  EXPECT_EQ((*store_->findChat(userId_, chat->chatId))->currentMessageId, replyId);
  // The dead generation cannot finish afterwards: no second reply, no second bill.
  FinishedGeneration late{userId_, chat->chatId, g, std::nullopt, r->reserved, 200};
  late.reply =
      Message{replyId, chat->chatId, user.messageId, "assistant", "late", "{}", 200, kT0 + 50s};
  EXPECT_FALSE(store_->finishGeneration(late).ok());
  EXPECT_EQ(used(), 120);
  EXPECT_EQ(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.size(), 2u);
  // And the chat is free.
  EXPECT_TRUE(
      store_->claimGeneration(userId_, chat->chatId, newUuidV7(), kT0 + 42s, kT0 + 72s).ok());
}

TEST_P(QuotaLeaseTest, ClaimingAChatWithADeadLeaseRecoversItFirst) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  const std::string g = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  ASSERT_TRUE(store_->reserveTokens(userId_, 50, 100, kT0, 0s, LeaseRef{chat->chatId, g}).ok());
  EXPECT_EQ(used(), 150);
  // It died before the provider answered: no reply, nothing billed, the reservation returned.
  ASSERT_TRUE(
      store_->claimGeneration(userId_, chat->chatId, newUuidV7(), kT0 + 31s, kT0 + 61s).ok());
  EXPECT_EQ(used(), 0);
  EXPECT_TRUE(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.empty());
}

TEST_P(QuotaLeaseTest, BeginningAReplySavesTheMessageTitlesOnceAndCheckpoints) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  const std::string g = newUuidV7(), replyId = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  Message user{newUuidV7(), chat->chatId, std::nullopt, "user", "first words", "{}", 0, kT0 + 1s};
  ASSERT_TRUE(
      store_->beginReply(user, "First words", g, {replyId, user.messageId, "", 77}, kT0 + 40s)
          .ok());
  const auto after = store_->findChat(userId_, chat->chatId);
  EXPECT_EQ((*after)->title, "First words");
  EXPECT_EQ((*after)->currentMessageId, user.messageId);
  EXPECT_EQ((*after)->updatedAt, kT0 + 1s);
  // A title is only given to an untitled chat.
  Message second{newUuidV7(), chat->chatId, user.messageId, "user", "more", "{}", 0, kT0 + 2s};
  ASSERT_TRUE(
      store_->beginReply(second, "More", g, {replyId, second.messageId, "", 80}, kT0 + 40s).ok());
  EXPECT_EQ((*store_->findChat(userId_, chat->chatId))->title, "First words");
  // The checkpoint is live: still held at 39 s, recovered after 40 s as an empty reply.
  EXPECT_EQ(*store_->recoverGenerations(kT0 + 39s), 0);
  EXPECT_EQ(*store_->recoverGenerations(kT0 + 41s), 1);
  const auto page = store_->listMessages(chat->chatId, 10, std::nullopt);
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages[2].messageId, replyId);
  EXPECT_EQ(page->messages[2].parentMessageId, second.messageId);
  EXPECT_EQ(page->messages[2].tokensConsumed, 80);
}

TEST_P(QuotaLeaseTest, FinishingSavesSettlesAndReleasesTogether) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  const std::string g = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  auto r = store_->reserveTokens(userId_, 100, 400, kT0, 0s, LeaseRef{chat->chatId, g});
  ASSERT_TRUE(r.ok());
  FinishedGeneration f{userId_, chat->chatId, g, std::nullopt, r->reserved, 180};
  f.reply = Message{newUuidV7(), chat->chatId, std::nullopt,
                    "assistant", "done",       R"({"status":"complete"})",
                    180,         kT0};
  auto usage = store_->finishGeneration(f);
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_EQ(usage->totalTokensUsed, 180);
  EXPECT_FALSE(store_->activeGeneration(chat->chatId, kT0)->has_value());
  EXPECT_EQ(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.size(), 1u);
  EXPECT_EQ(*store_->recoverGenerations(kT0 + 1h), 0);
  EXPECT_EQ(used(), 180);
}

// A reservation recorded against a lease someone else now holds is refused, not leaked.
TEST_P(QuotaLeaseTest, AReservationNeedsTheLease) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  auto r = store_->reserveTokens(userId_, 10, 10, kT0, 0s, LeaseRef{chat->chatId, newUuidV7()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(used(), 0);
}

// The message route's one transaction: every step joins it, so a refusal at the end (here the
// reservation) leaves nothing of the steps before, and a success commits them all.
TEST_P(QuotaLeaseTest, AtomicallyKeepsAllOrNothing) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  const std::string g = newUuidV7();
  Message user{newUuidV7(), chat->chatId, std::nullopt, "user", "words", "{}", 0, kT0 + 1s};
  auto start = [&](std::int64_t prompt) {
    return store_->atomically([&]() -> Result<void> {
      // A service-scoped step inside a user's transaction (the rate window) switches and back.
      if (auto hit = store_->hitRateWindow("messages:" + userId_, 100, 60s, kT0); !hit)
        return std::move(hit).error();
      if (auto c = store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s); !c) return c;
      // Reads inside see the transaction's own writes.
      if (!store_->activeGeneration(chat->chatId, kT0).value().has_value())
        return Error::make(Errc::internal, "the claim is not visible inside");
      auto r = store_->reserveTokens(userId_, prompt, 100, kT0, 0s, LeaseRef{chat->chatId, g});
      if (!r) return std::move(r).error();
      return store_->beginReply(user, "Words", g, {newUuidV7(), user.messageId, "", prompt},
                                kT0 + 30s);
    });
  };
  auto refused = start(5000);  // more than the quota: refused at the last step
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::token_limit_exceeded);
  EXPECT_FALSE(store_->activeGeneration(chat->chatId, kT0)->has_value());
  EXPECT_EQ(used(), 0);
  EXPECT_TRUE(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.empty());
  EXPECT_EQ((*store_->findChat(userId_, chat->chatId))->title, "");
  EXPECT_EQ(*store_->hitRateWindow("messages:" + userId_, 1, 60s, kT0), 0);  // rolled back too

  auto begun = start(50);
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_TRUE(store_->activeGeneration(chat->chatId, kT0)->has_value());
  EXPECT_EQ(used(), 150);
  EXPECT_EQ(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.size(), 1u);
  EXPECT_EQ((*store_->findChat(userId_, chat->chatId))->title, "Words");
}

// The provider refused what a send started: the question goes, the chat is as it was, the
// reservation comes back, the chat is free — and a second undo (or one after a recovery)
// changes nothing.
TEST_P(QuotaLeaseTest, AbandoningAReplyUndoesItsStart) {
  auto chat = store_->createChatIfUnderLimit(NewChat{newUuidV7(), userId_, "", kT0}, 5);
  Message first{newUuidV7(), chat->chatId, std::nullopt, "user", "hello", "{}", 0, kT0 + 1s};
  ASSERT_TRUE(store_->appendMessage(first).ok());
  const auto before = **store_->findChat(userId_, chat->chatId);
  const std::string g = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g, kT0, kT0 + 30s).ok());
  auto r = store_->reserveTokens(userId_, 40, 100, kT0, 0s, LeaseRef{chat->chatId, g});
  ASSERT_TRUE(r.ok());
  Message user{newUuidV7(), chat->chatId, first.messageId, "user", "words", "{}", 0, kT0 + 5s};
  ASSERT_TRUE(
      store_->beginReply(user, "Words", g, {newUuidV7(), user.messageId, "", 40}, kT0 + 30s).ok());
  const AbandonedReply a{userId_,
                         chat->chatId,
                         g,
                         r->reserved,
                         user.messageId,
                         true,
                         before.currentMessageId,
                         kT0 + 5s,
                         before.updatedAt,
                         "Words"};
  ASSERT_TRUE(store_->abandonReply(a).ok());
  const auto after = **store_->findChat(userId_, chat->chatId);
  EXPECT_EQ(after.title, "");
  EXPECT_EQ(after.currentMessageId, first.messageId);
  EXPECT_EQ(after.updatedAt, before.updatedAt);
  EXPECT_EQ(store_->listMessages(chat->chatId, 10, std::nullopt)->messages.size(), 1u);
  EXPECT_FALSE(store_->activeGeneration(chat->chatId, kT0)->has_value());
  EXPECT_EQ(used(), 0);
  ASSERT_TRUE(store_->abandonReply(a).ok());  // the lease is gone: nothing happens twice
  EXPECT_EQ(used(), 0);

  // What changed meanwhile stays: a rename is kept.
  const std::string g2 = newUuidV7();
  ASSERT_TRUE(store_->claimGeneration(userId_, chat->chatId, g2, kT0, kT0 + 30s).ok());
  auto r2 = store_->reserveTokens(userId_, 40, 100, kT0, 0s, LeaseRef{chat->chatId, g2});
  Message again{newUuidV7(), chat->chatId, first.messageId, "user", "again", "{}", 0, kT0 + 6s};
  ASSERT_TRUE(
      store_->beginReply(again, "Again", g2, {newUuidV7(), again.messageId, "", 40}, kT0 + 30s)
          .ok());
  ChatPatch rename;
  rename.title = "Mine";
  ASSERT_TRUE(store_->updateChat(userId_, chat->chatId, rename, 5, kT0 + 7s).ok());
  ASSERT_TRUE(store_
                  ->abandonReply({userId_, chat->chatId, g2, r2->reserved, again.messageId, true,
                                  before.currentMessageId, kT0 + 6s, before.updatedAt, "Again"})
                  .ok());
  const auto renamed = **store_->findChat(userId_, chat->chatId);
  EXPECT_EQ(renamed.title, "Mine");
  EXPECT_EQ(renamed.currentMessageId, first.messageId);
  EXPECT_EQ(renamed.updatedAt, kT0 + 7s);  // the rename's, not put back
  EXPECT_EQ(used(), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, QuotaLeaseTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::store
