// Subscriptions to database notifications (PostgreSQL LISTEN), for what one instance must
// tell another at once: a /stop, a request to relay a reply's events, the events themselves.
// Notifications sent while a subscriber's connection is down are lost; whoever relies on
// them also has a slower way to learn the same thing, or detects the gap.
#pragma once

#include <functional>
#include <string>

namespace atelier::store {

class Notifications {
 public:
  virtual ~Notifications() = default;
  // Starts delivering `channel`'s notifications to the subscriber's handler. `ready` is
  // called once, on the listener's thread: true when notifications sent from now on will
  // arrive, false when they cannot now (the database is unreachable). From any thread.
  virtual void listen(std::string channel, std::function<void(bool ready)> ready) = 0;
  // Stops delivering `channel`. From any thread.
  virtual void unlisten(std::string channel) = 0;
};

}  // namespace atelier::store
