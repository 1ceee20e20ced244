#include "util/worker_pool.hpp"

#include <pthread.h>

#include "util/log.hpp"

namespace atelier {

WorkerPool::WorkerPool(std::string name, std::size_t threads, std::size_t maxQueued)
    : name_(std::move(name)), maxQueued_(maxQueued) {
  if (threads == 0) threads = 1;
  prepareLogging();
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { loop(); });
    const std::string tname = (name_ + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), tname.c_str());
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool WorkerPool::push(std::unique_ptr<JobBase> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= maxQueued_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::loop() {
  for (;;) {
    std::unique_ptr<JobBase> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    (*job)();
  }
}

}  // namespace atelier
