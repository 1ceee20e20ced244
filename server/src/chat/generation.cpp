#include "chat/generation.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace atelier::chat {

namespace asio = boost::asio;

Generation::Generation(std::string id, std::string chatId, std::string userId,
                       std::string assistantMessageId)
    : id_(std::move(id)),
      chatId_(std::move(chatId)),
      userId_(std::move(userId)),
      assistantMessageId_(std::move(assistantMessageId)) {}

void Generation::wakeAll() {
  for (auto& w : waiters_) {
    // Timers are not thread-safe: cancel each on its own executor.
    asio::post(w.executor, [t = w.timer] {
      if (auto timer = t.lock()) timer->cancel();
    });
  }
  waiters_.clear();
}

void Generation::append(std::string frame) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  frames_.push_back(std::move(frame));
  wakeAll();
}

void Generation::close(std::string frame) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  frames_.push_back(std::move(frame));
  closed_ = true;
  wakeAll();
}

asio::awaitable<Generation::Snapshot> Generation::waitBeyond(std::size_t seen,
                                                             std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  {
    std::lock_guard lock(mu_);
    if (frames_.size() > seen || closed_) {
      Snapshot s;
      s.frames.assign(frames_.begin() + static_cast<std::ptrdiff_t>(std::min(seen, frames_.size())),
                      frames_.end());
      s.closed = closed_;
      co_return s;
    }
    timer->expires_after(timeout);
    waiters_.push_back(Waiter{ex, timer});
  }
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mu_);
  Snapshot s;
  if (frames_.size() > seen) {
    s.frames.assign(frames_.begin() + static_cast<std::ptrdiff_t>(seen), frames_.end());
  }
  s.closed = closed_ && frames_.size() <= seen + s.frames.size();
  co_return s;
}

void Generation::requestStop(StopReason reason) {
  StopReason expected = StopReason::none;
  if (!stop_.compare_exchange_strong(expected, reason)) return;
  std::function<void()> cancel;
  {
    std::lock_guard lock(mu_);
    cancel = cancel_;
  }
  if (cancel) cancel();
}

void Generation::onStop(std::function<void()> cancel) {
  std::lock_guard lock(mu_);
  cancel_ = std::move(cancel);
}

void GenerationRegistry::add(std::shared_ptr<Generation> g) {
  std::lock_guard lock(mu_);
  byChat_[g->chatId()] = std::move(g);
}

void GenerationRegistry::remove(const std::string& chatId, const std::string& generationId) {
  std::lock_guard lock(mu_);
  auto it = byChat_.find(chatId);
  if (it != byChat_.end() && it->second->id() == generationId) byChat_.erase(it);
}

std::shared_ptr<Generation> GenerationRegistry::find(const std::string& chatId) const {
  std::lock_guard lock(mu_);
  auto it = byChat_.find(chatId);
  return it == byChat_.end() ? nullptr : it->second;
}

void GenerationRegistry::stopAll(Generation::StopReason reason) {
  std::vector<std::shared_ptr<Generation>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [chat, g] : byChat_)
      all.push_back(g);
  }
  for (auto& g : all)
    g->requestStop(reason);
}

std::size_t GenerationRegistry::size() const {
  std::lock_guard lock(mu_);
  return byChat_.size();
}

}  // namespace atelier::chat
