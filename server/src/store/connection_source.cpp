#include "store/connection_source.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "store/postgres/pg_connection.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "util/log.hpp"

namespace atelier::store {

// ---- SQLite ----------------------------------------------------------------------------

Result<std::unique_ptr<SqlitePool>> SqlitePool::open(const std::string& path, int readers,
                                                     std::chrono::milliseconds busyTimeout) {
  const bool memory = path == ":memory:";
  if (!memory) {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      spdlog::error("sqlite: cannot create the directory of {}: {}", path, ec.message());
      return Error::make(Errc::unavailable, "the database directory cannot be created");
    }
  }
  std::unique_ptr<SqlitePool> pool(new SqlitePool());
  auto writer = SqliteConnection::open(path, false, busyTimeout);
  if (!writer) return std::move(writer).error();
  if (!memory) {
    auto checkpointer = SqliteConnection::open(path, false, busyTimeout);
    if (!checkpointer) return std::move(checkpointer).error();
    pool->checkpointer_ = std::move(checkpointer).value();
    (*writer)->onWalCommit([p = pool.get(), w = writer->get()](int pages) {
      // Writes faster than the checkpointer copies (it can only start the log over once it has
      // caught up): the writer checkpoints itself, as SQLite would, so the log stays bounded.
      if (pages >= kForcedCheckpointPages) {
        const std::lock_guard one(p->checkpointRunMu_);  // after the checkpointer's pass, if any
        (void)w->checkpointPassive();
        return;
      }
      if (pages < kCheckpointPages) return;
      {
        std::lock_guard lock(p->checkpointMu_);
        p->checkpointDue_ = true;
      }
      p->checkpointCv_.notify_one();
    });
    prepareLogging();
    pool->checkpointThread_ = std::thread([p = pool.get()] { p->checkpointLoop(); });
  }
  pool->writer_ = std::move(writer).value();
  // An in-memory database is private to its connection: everything goes through the writer.
  for (int i = 0; i < (memory ? 0 : readers); ++i) {
    auto reader = SqliteConnection::open(path, true, busyTimeout);
    if (!reader) return std::move(reader).error();
    pool->freeReaders_.push_back(reader->get());
    pool->readers_.push_back(std::move(reader).value());
  }
  return pool;
}

SqlitePool::~SqlitePool() {
  {
    std::lock_guard lock(checkpointMu_);
    stopping_ = true;
  }
  checkpointCv_.notify_one();
  if (checkpointThread_.joinable()) checkpointThread_.join();
}

void SqlitePool::checkpointLoop() {
  std::unique_lock lock(checkpointMu_);
  for (;;) {
    checkpointCv_.wait(lock, [this] { return checkpointDue_ || stopping_; });
    if (stopping_) return;
    checkpointDue_ = false;
    lock.unlock();
    Result<bool> done = false;
    {
      const std::lock_guard one(checkpointRunMu_);  // one checkpoint at a time (SQLite's rule)
      done = checkpointer_->checkpointPassive();    // a failure is logged by the call
    }
    lock.lock();
    // At most one a moment: while a reader still holds an old snapshot the WAL cannot start
    // over, and every commit reports it over the mark again.
    const auto pause = done ? std::chrono::milliseconds(50) : std::chrono::milliseconds(1000);
    checkpointCv_.wait_for(lock, pause, [this] { return stopping_; });
  }
}

Result<Lease> SqlitePool::acquire(bool write) {
  if (write || readers_.empty()) {
    writerMu_.lock();
    return Lease(writer_.get(), [this] { writerMu_.unlock(); });
  }
  std::unique_lock lock(readersMu_);
  readersCv_.wait(lock, [this] { return !freeReaders_.empty(); });
  SqlConnection* conn = freeReaders_.back();
  freeReaders_.pop_back();
  return Lease(conn, [this, conn] {
    {
      std::lock_guard l(readersMu_);
      freeReaders_.push_back(conn);
    }
    readersCv_.notify_one();
  });
}

// ---- PostgreSQL --------------------------------------------------------------------------

struct PgPool::Slot {
  std::unique_ptr<PgConnection> conn;
};

// libpq takes URIs; add a connect timeout (so an unreachable server fails promptly) and
// our application name unless the URL sets them.
std::string conninfoFor(std::string url) {
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) return url;
  const char sep = url.find('?') == std::string::npos ? '?' : '&';
  std::string extra;
  if (url.find("connect_timeout=") == std::string::npos) extra += "connect_timeout=5";
  if (url.find("application_name=") == std::string::npos) {
    extra += (extra.empty() ? "" : "&") + std::string("application_name=atelier");
  }
  if (!extra.empty()) url += sep + extra;
  return url;
}

PgPool::PgPool(std::string url, int size, std::chrono::milliseconds acquireTimeout)
    : conninfo_(conninfoFor(std::move(url))), acquireTimeout_(acquireTimeout) {
  for (int i = 0; i < std::max(1, size); ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
}

PgPool::~PgPool() = default;

Result<Lease> PgPool::acquire(bool) {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, acquireTimeout_, [this] { return !free_.empty(); })) {
      spdlog::warn("postgres: no free connection within {} ms", acquireTimeout_.count());
      return Error::make(Errc::unavailable, "the database is busy, try again");
    }
    // Prefer a slot that is already connected.
    auto it = std::find_if(free_.rbegin(), free_.rend(),
                           [](Slot* s) { return s->conn && s->conn->healthy(); });
    auto pick = it != free_.rend() ? std::prev(it.base()) : std::prev(free_.end());
    slot = *pick;
    free_.erase(pick);
  }
  auto giveBack = [this, slot] {
    {
      std::lock_guard l(mu_);
      free_.push_back(slot);
    }
    cv_.notify_one();
  };
  if (!slot->conn || !slot->conn->healthy()) {
    slot->conn.reset();
    auto fresh = PgConnection::connect(conninfo_);
    if (!fresh) {
      giveBack();
      return std::move(fresh).error();
    }
    slot->conn = std::move(fresh).value();
  }
  return Lease(slot->conn.get(), [slot, giveBack] {
    // A connection that broke during use is dropped; the next user reconnects.
    if (slot->conn && !slot->conn->healthy()) slot->conn.reset();
    giveBack();
  });
}

}  // namespace atelier::store
