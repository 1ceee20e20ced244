// LISTEN on PostgreSQL channels from a thread of its own: one connection, kept up for the
// life of the process (reconnecting with backoff after an outage, and listening again on
// every channel), and a handler called for each notification on that thread. Channels are
// a fixed set given at construction plus any added and removed later (store::Notifications).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/notifications.hpp"

struct pg_conn;

namespace atelier::store {

class PgListener final : public Notifications {
 public:
  using Handler = std::function<void(std::string_view channel, std::string_view payload)>;
  // Starts listening at once; `conninfo` as libpq takes it.
  PgListener(std::string conninfo, std::vector<std::string> channels, Handler handler);
  ~PgListener() override;  // stops and joins the thread
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  void listen(std::string channel, std::function<void(bool ready)> ready) override;
  void unlisten(std::string channel) override;

  // True while the connection is up and LISTENing (for tests and the log).
  bool listening() const { return listening_.load(); }

 private:
  struct Change {
    std::string channel;
    bool add = true;
    std::function<void(bool)> ready;
  };

  void loop();
  void wake();
  // Waits until `fd` is readable, the timeout passes, a change is queued or stop is asked
  // for. False on stop.
  bool waitReadable(int fd, int timeoutMs);
  // One connected session: LISTEN, then deliver notifications until the connection fails.
  void serve(pg_conn* conn);
  // Runs LISTEN or UNLISTEN for one channel; false when the connection failed.
  bool command(pg_conn* conn, std::string_view verb, const std::string& channel);
  // Applies the queued changes on `conn` and answers their `ready`; with no connection (null)
  // every subscription is refused. False when the connection is (or turned out) dead.
  bool settleChanges(pg_conn* conn);
  // Hands every notification received so far to the handler; false when there was none.
  bool deliver(pg_conn* conn);

  std::string conninfo_;
  Handler handler_;
  std::mutex mu_;
  std::set<std::string> channels_;  // listened to on every (re)connection
  std::vector<Change> changes_;     // queued by listen/unlisten, applied by the thread
  int wakeFd_ = -1;                 // eventfd: written on a change and to stop the thread
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;  // last: started once the members it uses exist
};

}  // namespace atelier::store
