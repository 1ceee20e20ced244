#include "store/postgres/pg_listener.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace atelier::store {

namespace {

// How long a quiet connection goes unchecked: a dead peer that sent no FIN is noticed by
// the next round trip.
constexpr int kIdleCheckMs = 30'000;
constexpr int kFirstBackoffMs = 500;
constexpr int kMaxBackoffMs = 15'000;

std::string oneLine(const char* msg) {
  std::string s = msg ? msg : "";
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

}  // namespace

PgListener::PgListener(std::string conninfo, std::vector<std::string> channels, Handler handler)
    : conninfo_(std::move(conninfo)),
      handler_(std::move(handler)),
      channels_(channels.begin(), channels.end()),
      wakeFd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this] { loop(); }) {}

PgListener::~PgListener() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

void PgListener::wake() {
  if (wakeFd_ < 0) return;
  const std::uint64_t one = 1;
  (void)!::write(wakeFd_, &one, sizeof one);
}

void PgListener::listen(std::string channel, std::function<void(bool ready)> ready) {
  {
    std::lock_guard lock(mu_);
    changes_.push_back({std::move(channel), true, std::move(ready)});
  }
  wake();
}

void PgListener::unlisten(std::string channel) {
  {
    std::lock_guard lock(mu_);
    changes_.push_back({std::move(channel), false, {}});
  }
  wake();
}

bool PgListener::waitReadable(int fd, int timeoutMs) {
  pollfd fds[2] = {{wakeFd_, POLLIN, 0}, {fd, POLLIN, 0}};
  const nfds_t n = fd >= 0 ? 2 : 1;
  for (;;) {
    if (stopping_) return false;
    const int r = ::poll(fds, n, timeoutMs);
    if (r < 0 && errno == EINTR) continue;
    if ((fds[0].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)!::read(wakeFd_, &count, sizeof count);
    }
    return !stopping_;
  }
}

void PgListener::loop() {
  pthread_setname_np(pthread_self(), "pg-listen");
  int backoffMs = kFirstBackoffMs;
  bool warned = false;
  while (!stopping_) {
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) {
      if (warned) spdlog::info("postgres: listening for notifications again");
      warned = false;
      backoffMs = kFirstBackoffMs;
      serve(conn);
      listening_ = false;
    } else if (!warned) {
      spdlog::warn("postgres: cannot listen for notifications (retrying): {}",
                   oneLine(conn ? PQerrorMessage(conn) : "out of memory"));
      warned = true;
    }
    PQfinish(conn);
    // Until the next attempt, a subscription cannot be honoured: say so at once.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoffMs);
    for (;;) {
      settleChanges(nullptr);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            until - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0 || !waitReadable(-1, static_cast<int>(left))) break;
    }
    if (stopping_) break;
    backoffMs = std::min(backoffMs * 2, kMaxBackoffMs);
  }
  settleChanges(nullptr);
}

bool PgListener::command(PGconn* conn, std::string_view verb, const std::string& channel) {
  char* quoted = PQescapeIdentifier(conn, channel.data(), channel.size());
  if (quoted == nullptr) return false;
  const std::string sql = std::string(verb) + " " + quoted;
  PQfreemem(quoted);
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    spdlog::warn("postgres: {} {} failed: {}", verb, channel, oneLine(PQerrorMessage(conn)));
  }
  return ok;
}

bool PgListener::settleChanges(PGconn* conn) {
  std::vector<Change> changes;
  {
    std::lock_guard lock(mu_);
    changes.swap(changes_);
  }
  bool alive = conn != nullptr;
  for (auto& c : changes) {
    // After a failed command the connection is gone: the rest cannot be honoured now.
    const bool done = alive && command(conn, c.add ? "LISTEN" : "UNLISTEN", c.channel);
    alive = alive && done;
    {
      std::lock_guard lock(mu_);
      if (!c.add) {
        channels_.erase(c.channel);
      } else if (done) {
        channels_.insert(c.channel);
      }
    }
    if (c.ready) c.ready(done);
  }
  return alive;
}

bool PgListener::deliver(PGconn* conn) {
  bool any = false;
  while (PGnotify* n = PQnotifies(conn)) {
    any = true;
    handler_(n->relname ? std::string_view(n->relname) : std::string_view(),
             n->extra ? std::string_view(n->extra) : std::string_view());
    PQfreemem(n);
  }
  return any;
}

void PgListener::serve(PGconn* conn) {
  std::vector<std::string> channels;
  {
    std::lock_guard lock(mu_);
    channels.assign(channels_.begin(), channels_.end());
  }
  for (const auto& c : channels) {
    if (!command(conn, "LISTEN", c)) return;
  }
  if (!settleChanges(conn)) return;
  listening_ = true;
  spdlog::debug("postgres: listening on {} channel(s)", channels.size());
  const int fd = PQsocket(conn);
  auto lastHeard = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!waitReadable(fd, kIdleCheckMs)) return;
    if (!settleChanges(conn)) return;
    // libpq keeps its socket non-blocking: this reads what has arrived, never waits.
    if (PQconsumeInput(conn) == 0) {
      spdlog::warn("postgres: the connection listening for notifications was lost: {}",
                   oneLine(PQerrorMessage(conn)));
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (deliver(conn)) {
      lastHeard = now;
    } else if (now - lastHeard >= std::chrono::milliseconds(kIdleCheckMs)) {
      // Quiet for a while: a round trip tells a live connection from a dead one.
      PGresult* ping = PQexec(conn, "SELECT 1");
      const bool alive = PQresultStatus(ping) == PGRES_TUPLES_OK;
      PQclear(ping);
      if (!alive) {
        spdlog::warn("postgres: the connection listening for notifications was lost");
        return;
      }
      lastHeard = now;
    }
    deliver(conn);  // what arrived with the answers to the commands above
  }
}

}  // namespace atelier::store
