// Streaming load generator: STREAMS concurrent HTTP/1.1 keep-alive connections, each sending
// one streaming request after another, either straight to the paced fake Gemini (or a proxy
// in front of it) or through Atelier's POST /api/chat/:id/message. Every text chunk carries
// the fake's send time ("t=<CLOCK_MONOTONIC ns, hex>"), so per chunk the
// client knows exactly how long it took to arrive.
//
//   bench_stream_client gemini  PORT STREAMS SECONDS [options]
//   bench_stream_client atelier PORT STREAMS SECONDS TOKEN CHATS_FILE [options]
//
// CHATS_FILE has one chat id per line, optionally followed by a space and the access token of
// its owner (then TOKEN is only the default), so that the load can come from many users; it
// needs at least STREAMS lines (one chat per connection: a chat runs one generation at a time).
//
// Options:
//   --ramp S       open the connections evenly over S seconds (default STREAMS / 2000, at most 3)
//                  so that thousands of them do not arrive as one SYN flood
//   --drain S      after the window, wait at most S seconds for streams in flight (default 30)
//   --threads N    I/O threads, connections split between them (default 1)
//   --fresh        (atelier) every message starts a new branch of its chat ("parent_message_id":
//                  null): no history is loaded or sent, so each costs the same however long
//                  the run
//   --count K      a fixed load instead of a timed one: every connection sends K requests (SECONDS
//                  is then only the longest it may take); all of them are recorded
//   --pids P,P,..  server processes to watch: idle RSS before the first connection, RSS every
//                  250 ms in the window (summed over the pids), CPU (every thread's time on
//                  a CPU, from schedstat, to the ns) over the window, open descriptors at the end
//                  of the window. The same samples count the requests in flight and the open
//                  streams (200 head read, not ended).
// The window also reports the client's own CPU and the whole machine's busy share (/proc/stat):
// above ~0.9 the figures measure a saturated machine, not the path.
//
// Timeline: connect ramp, then the measurement window of SECONDS, then the drain. Streams
// whose request is written in the window are the ones recorded (per stream: time to first
// byte of the response, time to first text chunk, every gap between text chunks, each
// chunk's delay from the fake, the total); "window" counts every chunk and stream that
// completed inside the window, whichever stream it belongs to, to match the CPU figure.
//
// Prints one JSON object on one line; latency histograms are log-linear (exact to 1 µs below 2 ms,
// then < 0.1 % relative error) with count, mean, p50, p90, p99, p99.9 and max in ms.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// ---- histogram -------------------------------------------------------------------------------

// HdrHistogram-like: values in µs; below 2 × kSub exact, then kSub linear sub-buckets per
// power of two (relative error < 1 / kSub: 16 µs at 20 ms).
class Histogram {
 public:
  static constexpr int kSubBits = 10;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kExact = 2 * kSub;
  static constexpr int kMaxShift = 30;  // up to 2^41 µs

  Histogram() : counts_(static_cast<std::size_t>(kExact + kMaxShift * kSub), 0) {}

  void record(long long ns) {
    if (ns < 0) ns = 0;
    const auto us = static_cast<std::uint64_t>((ns + 500) / 1000);
    ++counts_[index(us)];
    ++count_;
    sum_ += static_cast<double>(ns) / 1e3;
    max_ = std::max(max_, us);
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  std::uint64_t count() const { return count_; }
  // The value (µs) at percentile p: the middle of the bucket that holds it.
  double percentile(double p) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(
        std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(middle(i), static_cast<double>(max_));
    }
    return static_cast<double>(max_);
  }
  std::string json() const {
    char b[256];
    std::snprintf(b, sizeof b,
                  "{\"count\": %llu, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
                  "\"p999\": %.3f, \"max\": %.3f}",
                  static_cast<unsigned long long>(count_),
                  count_ ? sum_ / static_cast<double>(count_) / 1e3 : 0.0, percentile(50) / 1e3,
                  percentile(90) / 1e3, percentile(99) / 1e3, percentile(99.9) / 1e3,
                  static_cast<double>(max_) / 1e3);
    return b;
  }

 private:
  static std::size_t index(std::uint64_t us) {
    if (us < static_cast<std::uint64_t>(kExact)) return static_cast<std::size_t>(us);
    const int msb = 63 - __builtin_clzll(us);  // > kSubBits
    const int shift = msb - kSubBits;          // (us >> shift) in [kSub, 2 kSub)
    if (shift > kMaxShift) return static_cast<std::size_t>(kExact + kMaxShift * kSub - 1);
    return static_cast<std::size_t>(kExact + (shift - 1) * kSub +
                                    static_cast<int>((us >> shift) - kSub));
  }
  static double middle(std::size_t i) {
    if (i < static_cast<std::size_t>(kExact)) return static_cast<double>(i);
    const int shift = static_cast<int>((i - kExact) / kSub) + 1;
    const auto sub = static_cast<std::uint64_t>((i - kExact) % kSub) + kSub;
    const double lo = static_cast<double>(sub << shift);
    return lo + static_cast<double>((std::uint64_t{1} << shift) - 1) / 2.0;
  }
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0, max_ = 0;
  double sum_ = 0;
};

// ---- configuration ---------------------------------------------------------------------------

struct Chat {
  std::string id, token;
};

struct Config {
  bool atelier = false;
  bool fresh = false;  // every message a new first message of its chat: no history to load
  unsigned short port = 0;
  int streams = 0;
  double seconds = 0, ramp = -1, drain = 30;
  int threads = 1;
  int count = 0;  // > 0: K requests per connection
  std::vector<int> pids;
  std::vector<Chat> chats;
};

long long nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string requestFor(const Config& c, const Chat& chat) {
  std::string body, path;
  if (c.atelier) {
    body = c.fresh ? R"({"message":"Suggest a palette for a generative NFT series",)"
                     R"("parent_message_id":null})"
                   : R"({"message":"Suggest a palette for a generative NFT series"})";
    path = "/api/chat/" + chat.id + "/message";
  } else {
    body = R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})";
    path = "/v1beta/models/bench:streamGenerateContent?alt=sse";
  }
  std::string r =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (c.atelier) r += "Authorization: Bearer " + chat.token + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

// ---- /proc -----------------------------------------------------------------------------------

struct ProcSample {
  long long rssKb = 0;
  double cpuSeconds = 0;
  bool ok = true;
};

// The time every thread of `pid` has spent on a CPU (user and kernel), in ns, from
// /proc/<pid>/task/*/schedstat; -1 when the kernel does not keep it.
double threadsOnCpuNs(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  double total = 0;
  bool any = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/schedstat");
    unsigned long long ns = 0;
    if (in >> ns) {
      total += static_cast<double>(ns);
      any = true;
    }
  }
  closedir(d);
  return any ? total : -1;
}

ProcSample readProcs(const std::vector<int>& pids) {
  static const long page = sysconf(_SC_PAGESIZE);
  static const long hz = sysconf(_SC_CLK_TCK);
  ProcSample s;
  for (int pid : pids) {
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    long long size = 0, resident = 0;
    if (!(statm >> size >> resident)) {
      s.ok = false;
      continue;
    }
    s.rssKb += resident * page / 1024;
    // CPU time to the nanosecond: every thread's time on a CPU from schedstat (utime and
    // stime count 10 ms ticks: too coarse for a quiet server over a few seconds).
    if (const double ns = threadsOnCpuNs(pid); ns >= 0) {
      s.cpuSeconds += ns / 1e9;
      continue;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields 3..13 after the name, then utime (14) and stime (15).
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    rest >> utime >> stime;
    s.cpuSeconds += static_cast<double>(utime + stime) / static_cast<double>(hz);
  }
  return s;
}

long long openFds(const std::vector<int>& pids) {
  long long n = 0;
  for (int pid : pids) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
      closedir(d);
    }
  }
  return n;
}

// The whole machine's busy share between two reads of /proc/stat (all cores).
struct MachineTicks {
  unsigned long long busy = 0, total = 0;
};
MachineTicks machineTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  MachineTicks t;
  in >> cpu;
  unsigned long long v[10] = {};
  for (auto& x : v)
    in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
  const unsigned long long idle = v[3] + v[4];
  t.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  t.busy = t.total - idle;
  return t;
}

double selfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---- the load --------------------------------------------------------------------------------

struct Stats {
  Histogram ttfb, ttfc, gap, chunk, total;
  long long streams = 0, chunks = 0;              // recorded streams (started in the window)
  long long windowChunks = 0, windowStreams = 0;  // completed inside the window, any stream
  long long started = 0, completed = 0, errors = 0;
  std::map<std::string, long long> errorKinds;
  void error(const std::string& kind) {
    ++errors;
    ++errorKinds[kind];
  }
};

struct Timeline {
  Clock::time_point t0, windowStart, windowEnd, deadline;
};

std::atomic<int> gInFlight{0};      // requests written, response not complete
std::atomic<int> gStreaming{0};     // 200 head read, response not complete: open streams
std::atomic<int> gLoggedErrors{0};  // non-200 answers shown on stderr (the first few)

struct Shard {
  asio::io_context io{1};
  Stats stats;
  std::unordered_set<tcp::socket*> sockets;
  int workers = 0;
  asio::steady_timer deadlineTimer{io};
  std::vector<char> readBuf = std::vector<char>(65536);
};

// Reads what the socket has now into `buf` (waits for readability first).
asio::awaitable<std::size_t> readMore(Shard& sh, tcp::socket& s, std::string& buf) {
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = s.read_some(asio::buffer(sh.readBuf), ec);
    if (!ec) {
      buf.append(sh.readBuf.data(), n);
      co_return n;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again)
      throw boost::system::system_error(ec);
    co_await s.async_wait(tcp::socket::wait_read, asio::use_awaitable);
  }
}

// Parses "t=<hex>" at `at` (pointing at the 't'); false if the number may go on.
bool stamp(const std::string& body, std::size_t at, long long& ns, std::size_t& end) {
  std::size_t i = at + 2;
  unsigned long long v = 0;
  for (; i < body.size(); ++i) {
    const char c = body[i];
    if (c >= '0' && c <= '9') {
      v = v * 16 + static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = v * 16 + static_cast<unsigned>(c - 'a' + 10);
    } else {
      break;
    }
  }
  if (i == body.size()) return false;
  end = i;
  ns = static_cast<long long>(v);
  return true;
}

// One stream on an open connection. Returns false when the connection must be reopened.
asio::awaitable<bool> oneStream(Shard& sh, tcp::socket& s, const std::string& req,
                                const Timeline& tl, bool record) {
  Stats& st = sh.stats;
  const auto sent = Clock::now();
  gInFlight.fetch_add(1, std::memory_order_relaxed);
  struct Done {
    ~Done() { gInFlight.fetch_sub(1, std::memory_order_relaxed); }
  } done;
  ++st.started;
  co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
  std::string buf;
  std::size_t headEnd;
  bool firstByte = true;
  while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
    if (co_await readMore(sh, s, buf) == 0) {
      st.error("closed_before_head");
      co_return false;
    }
    if (firstByte) {
      if (record) st.ttfb.record((Clock::now() - sent).count());
      firstByte = false;
    }
  }
  if (buf.compare(0, 12, "HTTP/1.1 200") != 0) {
    const std::string status = buf.size() >= 12 ? buf.substr(9, 3) : "???";
    st.error("http_" + status);
    if (gLoggedErrors.fetch_add(1) < 3) {
      std::fprintf(stderr, "stream_client: answer %s: %.300s\n", status.c_str(),
                   buf.substr(headEnd + 4).c_str());
    }
    co_return false;
  }
  buf.erase(0, headEnd + 4);
  gStreaming.fetch_add(1, std::memory_order_relaxed);
  struct Open {
    ~Open() { gStreaming.fetch_sub(1, std::memory_order_relaxed); }
  } open;
  std::string body;  // decoded chunked body not scanned yet
  bool first = true, ended = false;
  Clock::time_point last{};
  long long chunks = 0;
  std::vector<long long> gaps;  // recorded only when the stream completes
  long long ttfc = 0;
  for (;;) {
    for (;;) {  // whole chunks out of buf
      const std::size_t eol = buf.find("\r\n");
      if (eol == std::string::npos) break;
      const std::size_t size = std::strtoul(buf.c_str(), nullptr, 16);
      if (buf.size() < eol + 2 + size + 2) break;
      if (size == 0) {
        ended = true;
        break;
      }
      body.append(buf, eol + 2, size);
      buf.erase(0, eol + 2 + size + 2);
    }
    const auto now = Clock::now();
    const long long nowMono = nowNs();
    const bool inWindow = now >= tl.windowStart && now < tl.windowEnd;
    std::size_t scanned = 0;
    for (std::size_t at; (at = body.find("t=", scanned)) != std::string::npos;) {
      long long ns;
      std::size_t end;
      if (!stamp(body, at, ns, end)) break;  // the number may go on in the next read
      scanned = end;
      // Only a text part counts (Atelier's `done` repeats the whole reply as "content").
      if (at < 8 || body.compare(at - 8, 8, "\"text\":\"") != 0) continue;
      ++chunks;
      if (inWindow) ++st.windowChunks;
      if (record) st.chunk.record(nowMono - ns);
      if (first) {
        ttfc = (now - sent).count();
        first = false;
      } else if (record) {
        gaps.push_back((now - last).count());
      }
      last = now;
    }
    // Keep only what may still hold a stamp cut by the read.
    if (scanned > 0) {
      body.erase(0, scanned);
    } else if (body.size() > 64) {
      body.erase(0, body.size() - 64);
    }
    if (ended) break;
    if (co_await readMore(sh, s, buf) == 0) {
      st.error("closed_mid_stream");
      co_return false;
    }
  }
  const auto finished = Clock::now();
  ++st.completed;
  if (finished >= tl.windowStart && finished < tl.windowEnd) ++st.windowStreams;
  if (record) {
    ++st.streams;
    st.chunks += chunks;
    if (chunks > 0) st.ttfc.record(ttfc);
    for (long long g : gaps)
      st.gap.record(g);
    st.total.record((finished - sent).count());
    if (chunks == 0) st.error("no_text");
  }
  co_return true;
}

asio::awaitable<void> worker(Shard& sh, const Config& cfg, const Chat& chat, const Timeline& tl,
                             Clock::time_point startAt) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer pause(ex);
  pause.expires_at(startAt);
  co_await pause.async_wait(asio::use_awaitable);
  const std::string req = requestFor(cfg, chat);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), cfg.port);
  int done = 0;  // completed requests (--count)
  const auto more = [&] { return cfg.count == 0 || done < cfg.count; };
  while (Clock::now() < tl.windowEnd && more()) {
    tcp::socket s(ex);
    sh.sockets.insert(&s);
    bool failed = false, connecting = true;
    try {
      co_await s.async_connect(ep, asio::use_awaitable);
      connecting = false;
      s.set_option(tcp::no_delay(true));
      s.non_blocking(true);
      while (Clock::now() < tl.windowEnd && more()) {
        const bool record = Clock::now() >= tl.windowStart;
        if (!co_await oneStream(sh, s, req, tl, record)) {
          failed = true;
          break;
        }
        ++done;
      }
    } catch (const boost::system::system_error& e) {
      failed = true;
      if (connecting) {
        sh.stats.error("connect_" + e.code().message());
      } else if (e.code() == asio::error::operation_aborted ||
                 e.code() == asio::error::bad_descriptor) {
        sh.stats.error("cut_at_drain_deadline");
      } else if (e.code() == asio::error::eof || e.code() == asio::error::connection_reset) {
        sh.stats.error("closed_by_server");
      } else {
        sh.stats.error("io_" + e.code().message());
      }
    }
    sh.sockets.erase(&s);
    if (failed && Clock::now() < tl.windowEnd && more()) {
      // Back off a little: an overloaded or refusing server must not be hammered.
      pause.expires_after(100ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
  if (--sh.workers == 0) sh.deadlineTimer.cancel();
}

struct Watch {
  ProcSample idle, atStart, atEnd;
  double clientCpu0 = 0, clientCpu1 = 0;
  MachineTicks machine0, machine1;
  long long rssMax = 0, fdsAtEnd = 0;
  double rssSum = 0;
  int rssSamples = 0;
  int inFlightMin = 1 << 30, inFlightMax = 0, openMin = 1 << 30, openMax = 0;
  double inFlightSum = 0, openSum = 0;
};

asio::awaitable<void> watcher(const Config& cfg, const Timeline& tl, Watch& w) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  t.expires_at(tl.windowStart);
  co_await t.async_wait(asio::use_awaitable);
  w.atStart = readProcs(cfg.pids);
  w.clientCpu0 = selfCpu();
  w.machine0 = machineTicks();
  for (auto at = tl.windowStart + 250ms; at < tl.windowEnd; at += 250ms) {
    t.expires_at(at);
    co_await t.async_wait(asio::use_awaitable);
    const auto s = readProcs(cfg.pids);
    w.rssMax = std::max(w.rssMax, s.rssKb);
    w.rssSum += static_cast<double>(s.rssKb);
    ++w.rssSamples;
    const int f = gInFlight.load(std::memory_order_relaxed);
    w.inFlightMin = std::min(w.inFlightMin, f);
    w.inFlightMax = std::max(w.inFlightMax, f);
    w.inFlightSum += f;
    const int o = gStreaming.load(std::memory_order_relaxed);
    w.openMin = std::min(w.openMin, o);
    w.openMax = std::max(w.openMax, o);
    w.openSum += o;
  }
  t.expires_at(tl.windowEnd);
  co_await t.async_wait(asio::use_awaitable);
  w.atEnd = readProcs(cfg.pids);
  w.clientCpu1 = selfCpu();
  w.machine1 = machineTicks();
  if (!cfg.pids.empty()) w.fdsAtEnd = openFds(cfg.pids);
}

void raiseFileLimit(int needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < static_cast<rlim_t>(needed) + 64) {
    std::fprintf(stderr, "stream_client: RLIMIT_NOFILE %llu is below %d streams\n",
                 static_cast<unsigned long long>(rl.rlim_cur), needed);
  }
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s gemini PORT STREAMS SECONDS [options]\n"
               "       %s atelier PORT STREAMS SECONDS TOKEN CHATS_FILE [options]\n"
               "options: --ramp S --drain S --threads N --pids P,P,... --fresh\n",
               argv0, argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--ramp") {
      cfg.ramp = std::atof(value().c_str());
    } else if (a == "--drain") {
      cfg.drain = std::atof(value().c_str());
    } else if (a == "--count") {
      cfg.count = std::max(0, std::atoi(value().c_str()));
    } else if (a == "--fresh") {
      cfg.fresh = true;
    } else if (a == "--threads") {
      cfg.threads = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--pids") {
      std::stringstream ss(value());
      for (std::string p; std::getline(ss, p, ',');)
        if (!p.empty()) cfg.pids.push_back(std::atoi(p.c_str()));
    } else if (a.rfind("--", 0) == 0) {
      return usage(argv[0]);
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() < 4) return usage(argv[0]);
  cfg.atelier = pos[0] == "atelier";
  cfg.port = static_cast<unsigned short>(std::atoi(pos[1].c_str()));
  cfg.streams = std::max(1, std::atoi(pos[2].c_str()));
  cfg.seconds = std::atof(pos[3].c_str());
  if (cfg.ramp < 0) cfg.ramp = std::min(3.0, cfg.streams / 2000.0);
  cfg.chats.resize(static_cast<std::size_t>(cfg.streams));
  if (cfg.atelier) {
    if (pos.size() < 6) return usage(argv[0]);
    std::ifstream in(pos[5]);
    for (auto& c : cfg.chats) {
      std::string line;
      if (!std::getline(in, line) || line.empty()) {
        std::fprintf(stderr, "stream_client: %s has fewer than %d chats\n", pos[5].c_str(),
                     cfg.streams);
        return 2;
      }
      const auto space = line.find(' ');
      c.id = line.substr(0, space);
      c.token = space == std::string::npos ? pos[4] : line.substr(space + 1);
    }
  }
  raiseFileLimit(cfg.streams);

  Watch watch;
  watch.idle = readProcs(cfg.pids);
  Timeline tl;
  tl.t0 = Clock::now();
  const auto secs = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  tl.windowStart = tl.t0 + secs(cfg.ramp);
  tl.windowEnd = tl.windowStart + secs(cfg.seconds);
  if (cfg.count > 0) tl.windowStart = tl.t0;  // a fixed load: everything is recorded
  tl.deadline = tl.windowEnd + secs(cfg.drain);

  std::vector<std::unique_ptr<Shard>> shards;
  for (int i = 0; i < cfg.threads; ++i)
    shards.push_back(std::make_unique<Shard>());
  for (int i = 0; i < cfg.streams; ++i) {
    Shard& sh = *shards[static_cast<std::size_t>(i % cfg.threads)];
    ++sh.workers;
    const auto startAt = tl.t0 + secs(cfg.ramp * i / cfg.streams);
    asio::co_spawn(sh.io, worker(sh, cfg, cfg.chats[static_cast<std::size_t>(i)], tl, startAt),
                   asio::detached);
  }
  for (auto& shp : shards) {
    Shard& sh = *shp;
    if (sh.workers == 0) continue;  // more threads than connections
    sh.deadlineTimer.expires_at(tl.deadline);
    sh.deadlineTimer.async_wait([&sh](const boost::system::error_code& ec) {
      if (ec) return;
      for (tcp::socket* s : sh.sockets) {
        boost::system::error_code ignored;
        s->close(ignored);
      }
    });
  }
  if (cfg.count == 0) asio::co_spawn(shards[0]->io, watcher(cfg, tl, watch), asio::detached);
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < shards.size(); ++i)
    pool.emplace_back([&, i] { shards[i]->io.run(); });
  shards[0]->io.run();
  for (auto& t : pool)
    t.join();
  const auto ended = Clock::now();

  Stats all;
  for (auto& sh : shards) {
    Stats& s = sh->stats;
    all.ttfb.merge(s.ttfb);
    all.ttfc.merge(s.ttfc);
    all.gap.merge(s.gap);
    all.chunk.merge(s.chunk);
    all.total.merge(s.total);
    all.streams += s.streams;
    all.chunks += s.chunks;
    all.windowChunks += s.windowChunks;
    all.windowStreams += s.windowStreams;
    all.started += s.started;
    all.completed += s.completed;
    all.errors += s.errors;
    for (auto& [k, v] : s.errorKinds)
      all.errorKinds[k] += v;
  }
  std::string kinds = "{";
  for (auto& [k, v] : all.errorKinds) {
    if (kinds.size() > 1) kinds += ", ";
    kinds += "\"" + jsonEscape(k) + "\": " + std::to_string(v);
  }
  kinds += "}";
  const double window = cfg.seconds;
  std::printf(
      "{\"connections\": %d, \"seconds\": %.3f, \"ramp_s\": %.3f, \"drain_s\": %.3f, "
      "\"threads\": %d, \"streams\": %lld, \"chunks\": %lld, \"errors\": %lld, "
      "\"error_kinds\": %s, \"requests_started\": %lld, \"requests_completed\": %lld, "
      " \"window\": {\"chunks\": %lld, \"streams_completed\": %lld, \"chunks_per_s\": %.1f, "
      "\"streams_per_s\": %.2f, \"in_flight_min\": %d, \"in_flight_mean\": %.1f, "
      "\"in_flight_max\": %d, \"open_min\": %d, \"open_mean\": %.1f, \"open_max\": %d, "
      "\"client_cpu_s\": %.3f, \"machine_busy\": %.3f}, "
      " \"ttfb_ms\": %s, \"ttfc_ms\": %s, \"gap_ms\": %s, \"chunk_ms\": %s, "
      " \"total_ms\": %s, "
      " \"server\": {\"pids\": %zu, \"idle_rss_kb\": %lld, \"rss_kb_max\": %lld, "
      "\"rss_kb_mean\": %.0f, \"rss_samples\": %d, \"cpu_s\": %.3f, \"open_fds\": %lld, "
      "\"ok\": %s}, "
      " \"run_s\": %.3f}\n",
      cfg.streams, window, cfg.ramp, cfg.drain, cfg.threads, all.streams, all.chunks, all.errors,
      kinds.c_str(), all.started, all.completed, all.windowChunks, all.windowStreams,
      static_cast<double>(all.windowChunks) / window,
      static_cast<double>(all.windowStreams) / window, watch.rssSamples ? watch.inFlightMin : 0,
      watch.rssSamples ? watch.inFlightSum / watch.rssSamples : 0.0, watch.inFlightMax,
      watch.rssSamples ? watch.openMin : 0,
      watch.rssSamples ? watch.openSum / watch.rssSamples : 0.0, watch.openMax,
      watch.clientCpu1 - watch.clientCpu0,
      watch.machine1.total > watch.machine0.total
          ? static_cast<double>(watch.machine1.busy - watch.machine0.busy) /
                static_cast<double>(watch.machine1.total - watch.machine0.total)
          : 0.0,
      all.ttfb.json().c_str(), all.ttfc.json().c_str(), all.gap.json().c_str(),
      all.chunk.json().c_str(), all.total.json().c_str(), cfg.pids.size(), watch.idle.rssKb,
      watch.rssMax, watch.rssSamples ? watch.rssSum / watch.rssSamples : 0.0, watch.rssSamples,
      watch.atEnd.cpuSeconds - watch.atStart.cpuSeconds, watch.fdsAtEnd,
      (watch.idle.ok && watch.atEnd.ok) ? "true" : "false",
      std::chrono::duration<double>(ended - tl.t0).count());
  return all.streams > 0 ? 0 : 1;
}
