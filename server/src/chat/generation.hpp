// One reply being generated: the provider stream feeds it, any number of SSE responses read
// it. The two are decoupled — a client that goes away does not stop the generation, and the
// reply is saved once, at the end.
//
// Thread-safety: append/close/requestStop may be called from any thread; readers wait with
// waitBeyond() on their own executor.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace atelier::chat {

class Generation {
 public:
  enum class StopReason { none, user, shutdown };

  Generation(std::string id, std::string chatId, std::string userId,
             std::string assistantMessageId);

  const std::string& id() const { return id_; }
  const std::string& chatId() const { return chatId_; }
  const std::string& userId() const { return userId_; }
  const std::string& assistantMessageId() const { return assistantMessageId_; }

  // Adds a complete SSE frame (writer side); it is copied.
  void append(std::string_view frame) { add(frame, false); }
  // Adds the closing frame; nothing follows.
  void close(std::string_view frame) { add(frame, true); }
  std::size_t frameCount() const;

  struct Progress {
    std::size_t frames = 0;  // frames appended to `out`
    bool closed = false;     // the closing frame is among what has been read: no more will come
  };
  // Appends the frames after the first `seen` to `out`; waits up to `timeout` for one when
  // there are none yet, on `timer` (the reader's own, reused from call to call). No frames
  // and not closed means the timeout passed (time for a keep-alive comment).
  boost::asio::awaitable<Progress> waitBeyond(
      std::size_t seen, std::string& out, const std::shared_ptr<boost::asio::steady_timer>& timer,
      std::chrono::milliseconds timeout);

  // Asks the producer to stop; `onStop` (set by the producer) cancels the provider stream.
  void requestStop(StopReason reason);
  StopReason stopReason() const { return stop_.load(); }
  void onStop(std::function<void()> cancel);

 private:
  void add(std::string_view frame, bool last);
  void wakeAll();  // REQUIRES: mu_ held

  std::string id_, chatId_, userId_, assistantMessageId_;
  std::atomic<StopReason> stop_{StopReason::none};
  mutable std::mutex mu_;
  // Every frame so far, one after the other in one buffer (no allocation per frame), and where
  // each ends.
  std::string frames_;
  std::vector<std::size_t> ends_;
  bool closed_ = false;
  std::function<void()> cancel_;
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::weak_ptr<boost::asio::steady_timer> timer;
  };
  std::vector<Waiter> waiters_;
};

// The generations running in this process, by chat.
class GenerationRegistry {
 public:
  void add(std::shared_ptr<Generation> g);
  void remove(const std::string& chatId, const std::string& generationId);
  std::shared_ptr<Generation> find(const std::string& chatId) const;
  // Stops every generation (server shutdown).
  void stopAll(Generation::StopReason reason);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Generation>> byChat_;
};

}  // namespace atelier::chat
