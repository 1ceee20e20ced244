// A bounded pool of threads for blocking work (database calls, password hashing, file I/O).
//
// I/O threads never block: a coroutine hands a job to the pool with `co_await pool.run(fn)`
// and is resumed on its own executor with the job's result. The queue is bounded; when it is
// full the job is not queued and the caller gets Errc::unavailable at once (back-pressure
// instead of an unbounded backlog).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "util/result.hpp"

namespace atelier {

class WorkerPool {
 public:
  // `threads` workers, at most `maxQueued` jobs waiting. `name` appears in thread names/logs.
  WorkerPool(std::string name, std::size_t threads, std::size_t maxQueued);
  ~WorkerPool();  // stops and joins; queued jobs still run first
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `fn` (returning some Result<T>) on a worker and resumes the caller on its own
  // executor with that result. A full queue or a stopped pool yields Errc::unavailable.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F>> run(F fn);

  // Synchronous submit; false when the queue is full or the pool stopped.
  template <class F>
  bool trySubmit(F fn) {
    return push(std::make_unique<Job<F>>(std::move(fn)));
  }

  // Finishes queued jobs, then joins the threads. Idempotent.
  void stop();

  std::size_t queued() const;
  std::size_t threadCount() const noexcept { return threads_.size(); }

 private:
  struct JobBase {
    virtual ~JobBase() = default;
    virtual void operator()() = 0;
  };
  template <class F>
  struct Job final : JobBase {
    explicit Job(F f) : fn(std::move(f)) {}
    void operator()() override { fn(); }
    F fn;
  };

  bool push(std::unique_ptr<JobBase> job);
  void loop();

  std::string name_;
  std::size_t maxQueued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<JobBase>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> WorkerPool::run(F fn) {
  using R = std::invoke_result_t<F>;
  static_assert(IsResult<R>::value, "WorkerPool::run jobs return a Result<T>");
  namespace asio = boost::asio;
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [this](auto handler, F job) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        using Handler = decltype(handler);
        using Work = decltype(work);
        struct State {
          F job;
          Handler handler;
          Work work;
        };
        auto state =
            std::make_shared<State>(State{std::move(job), std::move(handler), std::move(work)});
        const bool queued = push(std::make_unique<Job<std::function<void()>>>([state]() mutable {
          R result = state->job();
          auto ex = state->work.get_executor();
          asio::post(ex, [state, r = std::move(result)]() mutable {
            std::move(state->handler)(std::move(r));
            state->work.reset();
          });
        }));
        if (!queued) {
          auto ex = state->work.get_executor();
          asio::post(ex, [state]() mutable {
            std::move(state->handler)(
                R(Error::make(Errc::unavailable, "the server is busy, try again")));
            state->work.reset();
          });
        }
      },
      asio::use_awaitable, std::move(fn));
}

}  // namespace atelier
