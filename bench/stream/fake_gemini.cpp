// A paced Gemini stand-in for the streaming benchmarks: answers every
// POST …:streamGenerateContent?alt=sse with real `alt=sse` frames (GenerateContentResponse
// JSON), FRAMES of them, one every PACE_MS, on keep-alive connections. Each frame's text is
// TEXT_BYTES long (default 16): "t=<CLOCK_MONOTONIC ns, hex>" taken just before the write,
// padded with dots, so a client on this machine can tell how long every chunk took to reach
// it, directly or through a proxy.
//
//   bench_fake_gemini PORT [FRAMES=64] [PACE_MS=20] [THREADS=1] [TEXT_BYTES=16]
//
// Built to hold 10,000 paced streams on one thread: the frames are not driven by a timer
// per stream but by one ticker per thread (1 ms) over a timing wheel, and a frame is written
// with one non-blocking send() (Asio's async_write only when the socket's buffer is full).
// The soft RLIMIT_NOFILE is raised to the hard one and the listen backlog is the kernel's
// maximum (net.core.somaxconn). Frame 0 is written with the response head, at once; frame i
// at request + i × PACE_MS (rounded up to the next millisecond tick). PACE_MS 0 writes all
// frames at once (the one-chunk "messages" load uses FRAMES=1).
//
// POST /bench/frames/N (any method) answers 204 and makes later replies N frames long: the
// callgrind scenario measures one process with long and with one-frame replies. Send it on a
// connection of its own (on one that is streaming, it takes effect but gets no answer).
//
// On SIGTERM/SIGINT it prints one line of JSON to stderr when FAKE_STATS=1: streams
// served, frames written, most streams open at once, sends that found the socket full.
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<int> gFrames{64};
long long gPaceNs = 20'000'000;
int gTextBytes = 16;
constexpr long long kTickNs = 1'000'000;

std::atomic<long long> gStreams{0}, gFramesWritten{0}, gFullSends{0}, gOpen{0}, gMaxOpen{0};

long long monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Appends frame i of n (chunked-encoded; the last one also ends the body) to out.
void appendFrame(std::string& out, int i, int n_frames) {
  char text[64];
  int n = std::snprintf(text, sizeof text, "t=%llx", static_cast<unsigned long long>(monoNs()));
  while (n < gTextBytes && n < static_cast<int>(sizeof text) - 1)
    text[n++] = '.';
  text[n] = '\0';
  char payload[512];
  int len;
  if (i + 1 == n_frames) {
    len = std::snprintf(
        payload, sizeof payload,
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"}],\"role\":\"model\"},"
        "\"index\":0,\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":100,"
        "\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},\"modelVersion\":\"bench-fake\"}"
        "\r\n\r\n",
        text, n_frames * 8, 100 + n_frames * 8);
  } else {
    len = std::snprintf(
        payload, sizeof payload,
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"}],\"role\":\"model\"},"
        "\"index\":0}],\"modelVersion\":\"bench-fake\"}\r\n\r\n",
        text);
  }
  char size[24];
  const int sn = std::snprintf(size, sizeof size, "%x\r\n", len);
  out.append(size, static_cast<std::size_t>(sn));
  out.append(payload, static_cast<std::size_t>(len));
  out.append("\r\n");
  if (i + 1 == n_frames) out.append("0\r\n\r\n");
}

struct Shard;

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(Shard& sh, tcp::socket s) : shard(sh), socket(std::move(s)) {}
  Shard& shard;
  tcp::socket socket;
  std::string in;       // bytes of requests not consumed yet
  std::string pending;  // bytes a send could not take; written by async_write
  std::string writing;  // the buffer async_write is working on
  bool asyncWriting = false;
  bool closed = false;
  bool streaming = false;
  int queued = 0;         // complete requests waiting (pipelining)
  int frame = 0;          // next frame to write
  int frames = 0;         // of this reply
  long long startNs = 0;  // when the current request arrived
  char rbuf[8192];

  void close() {
    if (closed) return;
    closed = true;
    if (streaming) gOpen.fetch_sub(1, std::memory_order_relaxed);
    streaming = false;
    boost::system::error_code ec;
    socket.close(ec);
  }
  void startRead();
  void onRequest();
  void startStream();
  void send(const std::string& data);
  void flush();
  void writeDueFrame();
};

struct Shard {
  asio::io_context io{1};
  asio::steady_timer ticker{io};
  // wheel[t % size] holds the connections due at tick t (t = ceil(ns / 1 ms)).
  std::vector<std::vector<std::shared_ptr<Conn>>> wheel;
  long long lastTick = 0;  // every tick up to this one has been processed
  long long scheduled = 0;
  bool ticking = false;  // a wait is armed (or the due entries are being written)
  bool inTick = false;
  long long armedTick = 0;

  Shard() {
    std::size_t size = 64;
    while (static_cast<long long>(size) * kTickNs < gPaceNs * 2 + 8 * kTickNs)
      size *= 2;
    wheel.resize(size);
    lastTick = monoNs() / kTickNs;
  }

  void schedule(std::shared_ptr<Conn> c, long long dueNs) {
    // Idle: nothing is in the wheel, so it may start again from the current tick (keeps
    // every entry within one turn of lastTick).
    if (scheduled == 0 && !ticking) lastTick = std::max(lastTick, monoNs() / kTickNs);
    long long tick = (dueNs + kTickNs - 1) / kTickNs;
    if (tick <= lastTick) tick = lastTick + 1;
    wheel[static_cast<std::size_t>(tick) % wheel.size()].push_back(std::move(c));
    ++scheduled;
    if (!ticking || (!inTick && tick < armedTick)) arm(tick);
  }

  void arm(long long tick) {
    ticking = true;
    armedTick = tick;
    ticker.expires_at(Clock::time_point(std::chrono::nanoseconds(tick * kTickNs)));
    ticker.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      onTick();
    });
  }

  void onTick() {
    ticking = true;  // no arming from schedule() while the due entries are written
    inTick = true;
    const long long now = monoNs() / kTickNs;
    std::vector<std::shared_ptr<Conn>> due;
    for (long long t = lastTick + 1; t <= now; ++t) {
      auto& slot = wheel[static_cast<std::size_t>(t) % wheel.size()];
      if (slot.empty()) continue;
      if (due.empty()) {
        due.swap(slot);
      } else {
        due.insert(due.end(), slot.begin(), slot.end());
        slot.clear();
      }
      // Slots hold only ticks in (lastTick, lastTick + size): every entry here is due.
    }
    lastTick = now;
    scheduled -= static_cast<long long>(due.size());
    for (auto& c : due)
      c->writeDueFrame();
    ticking = false;
    inTick = false;
    if (scheduled > 0) arm(now + 1);
  }
};

void Conn::startRead() {
  socket.async_read_some(
      asio::buffer(rbuf),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec || self->closed) {
          self->close();
          return;
        }
        self->in.append(self->rbuf, n);
        if (self->in.size() > (1u << 20)) {
          self->close();
          return;
        }
        self->onRequest();
        if (!self->closed) self->startRead();
      });
}

// Consumes every complete request in `in` (a head, then a Content-Length body).
void Conn::onRequest() {
  for (;;) {
    const std::size_t headEnd = in.find("\r\n\r\n");
    if (headEnd == std::string::npos) return;
    std::size_t length = 0;
    for (std::size_t at = 0; at < headEnd;) {
      std::size_t eol = in.find("\r\n", at);
      if (eol == std::string::npos || eol > headEnd) eol = headEnd;
      if (eol - at > 15 && strncasecmp(in.data() + at, "content-length:", 15) == 0)
        length = std::strtoul(in.c_str() + at + 15, nullptr, 10);
      at = eol + 2;
    }
    const std::size_t total = headEnd + 4 + length;
    if (in.size() < total) return;
    const std::size_t path = in.find(' ');
    if (path != std::string::npos && in.compare(path + 1, 14, "/bench/frames/") == 0) {
      gFrames = std::max(1, std::atoi(in.c_str() + path + 15));
      in.erase(0, total);
      if (!streaming && queued == 0) {
        send("HTTP/1.1 204 No Content\r\n\r\n");
        if (closed) return;
      }
      continue;
    }
    in.erase(0, total);
    ++queued;
    if (!streaming) startStream();
  }
}

void Conn::startStream() {
  --queued;
  streaming = true;
  gStreams.fetch_add(1, std::memory_order_relaxed);
  const long long open = gOpen.fetch_add(1, std::memory_order_relaxed) + 1;
  long long seen = gMaxOpen.load(std::memory_order_relaxed);
  while (open > seen && !gMaxOpen.compare_exchange_weak(seen, open)) {
  }
  startNs = monoNs();
  frame = 0;
  frames = gFrames.load(std::memory_order_relaxed);
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Frame 0 goes with the head; with no pacing, every frame does.
  do {
    appendFrame(out, frame++, frames);
  } while (gPaceNs == 0 && frame < frames);
  gFramesWritten.fetch_add(frame, std::memory_order_relaxed);
  send(out);
  if (closed) return;
  if (frame < frames) {
    shard.schedule(shared_from_this(), startNs + frame * gPaceNs);
  } else {
    streaming = false;
    gOpen.fetch_sub(1, std::memory_order_relaxed);
    if (queued > 0) startStream();
  }
}

void Conn::writeDueFrame() {
  if (closed) return;
  std::string out;
  out.reserve(320);
  appendFrame(out, frame++, frames);
  gFramesWritten.fetch_add(1, std::memory_order_relaxed);
  send(out);
  if (closed) return;
  if (frame < frames) {
    shard.schedule(shared_from_this(), startNs + frame * gPaceNs);
    return;
  }
  streaming = false;
  gOpen.fetch_sub(1, std::memory_order_relaxed);
  if (queued > 0) startStream();
}

// One non-blocking send; what the socket cannot take now goes out by async_write, in order.
void Conn::send(const std::string& data) {
  if (closed) return;
  if (asyncWriting) {
    pending += data;
    return;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(socket.native_handle(), data.data() + off, data.size() - off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      gFullSends.fetch_add(1, std::memory_order_relaxed);
      pending.assign(data, off, std::string::npos);
      flush();
      return;
    } else {
      close();
      return;
    }
  }
}

void Conn::flush() {
  if (pending.empty() || closed) {
    asyncWriting = false;
    return;
  }
  asyncWriting = true;
  writing.swap(pending);
  pending.clear();
  asio::async_write(socket, asio::buffer(writing),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->writing.clear();
                      self->flush();
                    });
}

void raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void acceptLoop(tcp::acceptor& acceptor, std::vector<std::unique_ptr<Shard>>& shards,
                std::size_t& next) {
  Shard& target = *shards[next++ % shards.size()];
  acceptor.async_accept(target.io, [&acceptor, &shards, &next, &target](
                                       const boost::system::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      boost::system::error_code opt;
      s.set_option(tcp::no_delay(true), opt);
      s.non_blocking(true, opt);
      auto c = std::make_shared<Conn>(target, std::move(s));
      asio::post(target.io, [c] { c->startRead(); });
      acceptLoop(acceptor, shards, next);
    } else {
      // Out of descriptors and the like: breathe, then go on.
      std::fprintf(stderr, "fake_gemini: accept: %s\n", ec.message().c_str());
      auto t = std::make_shared<asio::steady_timer>(acceptor.get_executor(),
                                                    std::chrono::milliseconds(50));
      t->async_wait([t, &acceptor, &shards, &next](const boost::system::error_code&) {
        acceptLoop(acceptor, shards, next);
      });
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [FRAMES] [PACE_MS] [THREADS] [TEXT_BYTES]\n", argv[0]);
    return 2;
  }
  raiseFileLimit();
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  if (argc > 2) gFrames = std::max(1, std::atoi(argv[2]));
  if (argc > 3) gPaceNs = std::max(0LL, std::atoll(argv[3]) * 1'000'000LL);
  const int threads = argc > 4 ? std::max(1, std::atoi(argv[4])) : 1;
  if (argc > 5) gTextBytes = std::clamp(std::atoi(argv[5]), 1, 48);

  std::vector<std::unique_ptr<Shard>> shards;
  for (int i = 0; i < threads; ++i)
    shards.push_back(std::make_unique<Shard>());
  asio::io_context& main = shards[0]->io;
  tcp::acceptor acceptor(main);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(65535);  // the kernel caps it at net.core.somaxconn
  std::size_t next = 0;
  acceptLoop(acceptor, shards, next);

  asio::signal_set signals(main, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (const char* s = std::getenv("FAKE_STATS"); s && std::string(s) == "1") {
      std::fprintf(stderr,
                   "{\"fake_streams\": %lld, \"fake_frames\": %lld, \"fake_max_open\": %lld, "
                   "\"fake_full_sends\": %lld}\n",
                   gStreams.load(), gFramesWritten.load(), gMaxOpen.load(), gFullSends.load());
    }
    for (auto& sh : shards)
      sh->io.stop();
  });

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& sh : shards)
    guards.push_back(asio::make_work_guard(sh->io));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&, i] { shards[static_cast<std::size_t>(i)]->io.run(); });
  main.run();
  for (auto& sh : shards)
    sh->io.stop();
  for (auto& t : pool)
    t.join();
  std::_Exit(0);  // skip tearing down thousands of connections
}
