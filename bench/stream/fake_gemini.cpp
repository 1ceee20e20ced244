// A paced Gemini stand-in for the streaming benchmark: answers every
// POST …:streamGenerateContent?alt=sse with real `alt=sse` frames (GenerateContentResponse
// JSON), FRAMES of them, one every PACE_MS, on keep-alive connections. Each frame's text is
// "t=<CLOCK_MONOTONIC ns> " taken just before the write, so a client on this machine can
// tell how long every chunk took to reach it, directly or through a proxy.
//
//   bench_fake_gemini PORT [FRAMES=64] [PACE_MS=20] [THREADS=1]
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

int gFrames = 64;
std::chrono::milliseconds gPace{20};

long long monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string chunked(const std::string& payload) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  return size + payload + "\r\n";
}

std::string frame(int i) {
  std::string text = "t=" + std::to_string(monoNs()) + " ";
  std::string f = R"(data: {"candidates":[{"content":{"parts":[{"text":")" + text +
                  R"("}],"role":"model"},"index":0)";
  if (i + 1 == gFrames) {
    f +=
        R"(,"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":)" +
        std::to_string(gFrames * 8) + R"(,"totalTokenCount":)" + std::to_string(100 + gFrames * 8) +
        "}";
  } else {
    f += "}]";
  }
  f += R"(,"modelVersion":"bench-fake"})";
  f += "\r\n\r\n";
  return chunked(f);
}

asio::awaitable<void> serve(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  std::string buf;
  asio::steady_timer timer(socket.get_executor());
  try {
    for (;;) {
      // The request head, then a Content-Length body.
      std::size_t headEnd;
      while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
        char tmp[8192];
        const std::size_t n =
            co_await socket.async_read_some(asio::buffer(tmp), asio::use_awaitable);
        buf.append(tmp, n);
        if (buf.size() > (1 << 20)) co_return;
      }
      std::size_t length = 0;
      for (std::size_t at = 0; at < headEnd;) {
        const std::size_t eol = buf.find("\r\n", at);
        std::string line = buf.substr(at, eol - at);
        for (auto& c : line)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (line.rfind("content-length:", 0) == 0)
          length = std::strtoul(line.c_str() + 15, nullptr, 10);
        at = eol + 2;
      }
      const std::size_t total = headEnd + 4 + length;
      while (buf.size() < total) {
        char tmp[65536];
        const std::size_t n =
            co_await socket.async_read_some(asio::buffer(tmp), asio::use_awaitable);
        buf.append(tmp, n);
      }
      buf.erase(0, total);
      const std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
          "chunked\r\n\r\n";
      co_await asio::async_write(socket, asio::buffer(head), asio::use_awaitable);
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < gFrames; ++i) {
        timer.expires_at(start + i * gPace);
        co_await timer.async_wait(asio::use_awaitable);
        std::string f = frame(i);
        if (i + 1 == gFrames) f += "0\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(f), asio::use_awaitable);
      }
    }
  } catch (const std::exception&) {
    // the peer went away
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    auto ex = s.get_executor();
    asio::co_spawn(ex, serve(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [FRAMES] [PACE_MS] [THREADS]\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  if (argc > 2) gFrames = std::atoi(argv[2]);
  if (argc > 3) gPace = std::chrono::milliseconds(std::atoi(argv[3]));
  const int threads = argc > 4 ? std::atoi(argv[4]) : 1;
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  asio::co_spawn(io, listen(acceptor), asio::detached);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool)
    t.join();
}
