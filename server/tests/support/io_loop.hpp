// An io_context run by a few threads, for tests of coroutine code: run() spawns a coroutine
// on a fresh strand and waits for its result. Declare it before the objects that use its
// executor, so that they are destroyed first.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "util/log.hpp"

namespace atelier::test {

class IoLoop {
 public:
  explicit IoLoop(int threads = 2) {
    prepareLogging();  // the code under test logs from these threads
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
  }
  ~IoLoop() {
    work_.reset();
    for (auto& t : threads_)
      t.join();
  }
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  boost::asio::io_context& context() { return ioc_; }
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

  // Runs `body` to completion and returns what it returned (fails the test after `timeout`).
  template <class T>
  T run(std::function<boost::asio::awaitable<T>()> body,
        std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::promise<T> p;
    auto f = p.get_future();
    boost::asio::co_spawn(
        boost::asio::make_strand(ioc_),
        [&]() -> boost::asio::awaitable<void> { p.set_value(co_await body()); },
        boost::asio::detached);
    EXPECT_EQ(f.wait_for(timeout), std::future_status::ready);
    return f.get();
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::vector<std::thread> threads_;
};

}  // namespace atelier::test
