#include "util/rate_window.hpp"

#include <gtest/gtest.h>

namespace atelier {
namespace {

using namespace std::chrono_literals;

TEST(RateWindowTest, WindowAtSplitsTimeIntoFixedWindows) {
  EXPECT_EQ(windowAt(125'000ms, 60s).startMs, 120'000);
  EXPECT_EQ(windowAt(125'000ms, 60s).into, 5'000ms);
  EXPECT_EQ(windowAt(120'000ms, 60s).into, 0ms);
  EXPECT_EQ(windowAt(-1'000ms, 60s).startMs, -60'000);
}

TEST(RateWindowTest, AllowsUpToTheLimitInAFreshWindow) {
  for (int n = 1; n <= 20; ++n)
    EXPECT_EQ(slidingWindowWait({n, 0}, 20, 60s, 10s), 0) << n;
  EXPECT_GT(slidingWindowWait({21, 0}, 20, 60s, 10s), 0);
}

TEST(RateWindowTest, ThePreviousWindowWeighsByItsOverlap) {
  // 20 hits in the previous minute, a quarter into this one: 15 of them still count.
  EXPECT_EQ(slidingWindowWait({5, 20}, 20, 60s, 15s), 0);
  EXPECT_GT(slidingWindowWait({6, 20}, 20, 60s, 15s), 0);
  // Half-way: 10 still count.
  EXPECT_EQ(slidingWindowWait({10, 20}, 20, 60s, 30s), 0);
  EXPECT_GT(slidingWindowWait({11, 20}, 20, 60s, 30s), 0);
}

TEST(RateWindowTest, TheWaitIsWhenTheNextHitFits) {
  // 5 kept + 1 more needs the previous 20 to weigh 14: at 18 s into the window (3 s from 15).
  EXPECT_EQ(slidingWindowWait({6, 20}, 20, 60s, 15s), 3);
  // The current window is full: wait for the next one, then until these 20 weigh 19.
  EXPECT_EQ(slidingWindowWait({21, 0}, 20, 60s, 10s), 50 + 3);
  // Never less than a second.
  EXPECT_EQ(slidingWindowWait({10, 20}, 20, 60s, 29'500ms), 1);
}

TEST(RateWindowTest, ALimitOfOneAllowsOnePerPeriod) {
  EXPECT_EQ(slidingWindowWait({1, 0}, 1, 60s, 0s), 0);
  // The approximation spreads a window's hits evenly: the one hit here still weighs until
  // the end of the next window.
  EXPECT_EQ(slidingWindowWait({2, 0}, 1, 60s, 20s), 100);
  EXPECT_EQ(slidingWindowWait({1, 1}, 1, 60s, 20s), 40);
}

}  // namespace
}  // namespace atelier
