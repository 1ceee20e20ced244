#include "util/worker_pool.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <latch>

namespace atelier {
namespace {

namespace asio = boost::asio;

TEST(WorkerPool, RunsJobsOffTheCallerThreadAndResumesOnItsExecutor) {
  asio::io_context ioc;
  WorkerPool pool("test", 2, 16);
  std::thread::id ioThread, jobThread, resumedThread;
  int value = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        ioThread = std::this_thread::get_id();
        auto r = co_await pool.run([&]() -> Result<int> {
          jobThread = std::this_thread::get_id();
          return 42;
        });
        resumedThread = std::this_thread::get_id();
        value = r.ok() ? *r : -1;
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(value, 42);
  EXPECT_NE(jobThread, ioThread);
  EXPECT_EQ(resumedThread, ioThread);
}

TEST(WorkerPool, AFullQueueAnswersUnavailableAtOnce) {
  asio::io_context ioc;
  WorkerPool pool("tiny", 1, 1);
  std::latch release(1);
  std::atomic<int> started{0};
  // Occupy the only worker, then fill the one queue slot.
  ASSERT_TRUE(pool.trySubmit([&] {
    ++started;
    release.wait();
  }));
  while (started.load() == 0)
    std::this_thread::yield();
  ASSERT_TRUE(pool.trySubmit([] {}));
  Errc code = Errc::internal;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto r = co_await pool.run([]() -> Result<int> { return 1; });
        code = r.ok() ? Errc::internal : r.error().code;
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(code, Errc::unavailable);
  release.count_down();
}

TEST(WorkerPool, ManyConcurrentJobsAllComplete) {
  asio::io_context ioc;
  WorkerPool pool("many", 4, 1024);
  std::atomic<int> sum{0};
  for (int i = 0; i < 500; ++i) {
    asio::co_spawn(
        asio::make_strand(ioc),
        [&, i]() -> asio::awaitable<void> {
          auto r = co_await pool.run([i]() -> Result<int> { return i; });
          if (r) sum += *r;
        },
        asio::detached);
  }
  std::thread t2([&] { ioc.run(); });
  ioc.run();
  t2.join();
  EXPECT_EQ(sum.load(), 500 * 499 / 2);
}

// Each test runs in a process of its own, so spdlog's default logger does not exist yet. The
// first worker creates it by logging, the second then logs, and nothing orders the two but
// relaxed flags (no happens-before). Without the pool creating the logger before its threads,
// ThreadSanitizer reports the second use as racing with the creation (libspdlog.so's
// first-use guard is invisible to it).
TEST(WorkerPool, WorkersWhoseFirstLogLinesComeUnorderedDoNotRaceOnTheLogger) {
  std::atomic<bool> secondStarted{false};
  std::atomic<bool> firstLogged{false};
  std::atomic<bool> secondLogged{false};
  {
    WorkerPool pool("log", 2, 4);
    ASSERT_TRUE(pool.trySubmit([&] {
      while (!secondStarted.load(std::memory_order_relaxed))
        std::this_thread::yield();
      spdlog::debug("first worker");
      firstLogged.store(true, std::memory_order_relaxed);
    }));
    ASSERT_TRUE(pool.trySubmit([&] {
      secondStarted.store(true, std::memory_order_relaxed);
      while (!firstLogged.load(std::memory_order_relaxed))
        std::this_thread::yield();
      spdlog::debug("second worker");
      secondLogged.store(true, std::memory_order_relaxed);
    }));
  }
  EXPECT_TRUE(secondLogged.load());
}

}  // namespace
}  // namespace atelier
