#include "chat/generation.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
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

void Generation::add(std::string_view frame, bool last) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  frames_.append(frame);
  ends_.push_back(frames_.size());
  closed_ = last;
  wakeAll();
}

std::size_t Generation::frameCount() const {
  const std::lock_guard lock(mu_);
  return ends_.size();
}

asio::awaitable<Generation::Progress> Generation::waitBeyond(
    std::size_t seen, std::string& out, const std::shared_ptr<asio::steady_timer>& timer,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (ends_.size() > seen || closed_) {
        Progress p;
        if (ends_.size() > seen) {
          out.append(frames_, seen == 0 ? 0 : ends_[seen - 1]);
          p.frames = ends_.size() - seen;
        }
        p.closed = closed_;
        co_return p;
      }
      // A cancel posted by an earlier wake-up may still arrive: only the deadline ends the wait.
      if (std::chrono::steady_clock::now() >= deadline) co_return Progress{};
      timer->expires_at(deadline);
      waiters_.push_back(Waiter{timer->get_executor(), timer});
    }
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
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
