// A reply's events relayed between instances, for a reader that re-attaches
// (GET /api/chat/:id/stream) through an instance other than the one generating the reply.
//
// The reader's instance (B) LISTENs on a channel of its own (kRelayChannelPrefix + a
// subscription id), asks on kRelayRequestChannel ("<chat>:<generation>:<subscription>"),
// and feeds a local mirror Generation from what arrives, so the SSE response is the same
// code as for a local reply. The owner (A) replays the generation's frames from the first and
// follows it live, as numbered notifications:
//   "<n> H <assistant message id>"  first
//   "<n> D <bytes>"                 a piece of the frames (each frame ends in a blank line)
//   "<n> C <bytes>"                 the last piece: the closing frame ends in it
//   "<n> K"                         nothing new for a while (the owner is alive)
// n counts from 0 without a gap. A gap (B's listening connection dropped) or a long silence
// ends the mirror with an `error` event; the reader may re-attach. PostgreSQL only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/generation.hpp"
#include "store/notifications.hpp"
#include "store/store.hpp"
#include "util/time.hpp"
#include "util/worker_pool.hpp"

namespace atelier::chat {

namespace relay {

struct Piece {
  std::uint64_t seq = 0;
  char kind = 0;  // 'H', 'D', 'C' or 'K'
  std::string_view data;
};
std::string encode(std::uint64_t seq, char kind, std::string_view data = {});
std::optional<Piece> decode(std::string_view payload);
// `bytes` cut into pieces of at most `max` bytes (max ≥ 4), never inside a UTF-8 sequence.
std::vector<std::string_view> splitUtf8(std::string_view bytes, std::size_t max);
// The complete frames at the front of `buffer` (each ending in "\n\n"), removed from it.
std::vector<std::string> takeFrames(std::string& buffer);

}  // namespace relay

struct RelaySettings {
  std::chrono::milliseconds heartbeat{15'000};  // the owner's "K" when nothing else is sent
  std::chrono::milliseconds silence{45'000};    // the reader's limit without a notification
  std::chrono::milliseconds answer{3'000};      // for the subscription and the owner's "H"
};

class GenerationRelay {
 public:
  GenerationRelay(RelaySettings settings, store::Store& store, WorkerPool& dbPool,
                  const Clock& clock, GenerationRegistry& registry);
  // Where the mirrors subscribe (the listener that also calls requested() and received()).
  // REQUIRES: before the first attach().
  void useNotifications(store::Notifications& notifications) { notifications_ = &notifications; }
  ~GenerationRelay();
  GenerationRelay(const GenerationRelay&) = delete;
  GenerationRelay& operator=(const GenerationRelay&) = delete;

  // B: a mirror of `generationId` (running elsewhere in the user's chat), fed from its owner;
  // null when the generation ended meanwhile; Errc::unavailable when its owner does not
  // answer. Resumes on the caller's executor.
  boost::asio::awaitable<Result<std::shared_ptr<Generation>>> attach(std::string userId,
                                                                     std::string chatId,
                                                                     std::string generationId);
  // A: a relay request (kRelayRequestChannel, on the listener's thread); relays from
  // `executor` if the generation runs here.
  void requested(std::string_view payload, const boost::asio::any_io_executor& executor);
  // B: a notification on one of the mirrors' channels (on the listener's thread).
  void received(std::string_view channel, std::string_view payload);

 private:
  struct Mirror;

  boost::asio::awaitable<void> relay(std::shared_ptr<Generation> g, std::string channel);
  boost::asio::awaitable<void> watch(std::shared_ptr<Mirror> m);
  boost::asio::awaitable<Result<void>> publish(const std::string& channel, std::string payload);
  void forget(const std::shared_ptr<Mirror>& m);

  RelaySettings settings_;
  store::Store& store_;
  WorkerPool& dbPool_;
  const Clock& clock_;
  GenerationRegistry& registry_;
  store::Notifications* notifications_ = nullptr;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Mirror>> mirrors_;  // by channel
};

}  // namespace atelier::chat
