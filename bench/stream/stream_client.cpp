// Streaming benchmark client: STREAMS concurrent connections, each sending one streaming
// request after another for SECONDS, either straight to the paced fake Gemini (or a proxy in
// front of it) or through Atelier's POST /api/chat/:id/message. Every chunk carries the
// fake's send time ("t=<CLOCK_MONOTONIC ns>"), so per chunk the client knows how long it took
// to arrive. Prints one JSON object:
//   ttfc_ms: request written → first text chunk; chunk_ms: fake wrote it → client read it;
//   gap_ms: between consecutive chunks of one stream.
//
//   bench_stream_client gemini  PORT STREAMS SECONDS
//   bench_stream_client atelier PORT STREAMS SECONDS TOKEN CHATS_FILE
// CHATS_FILE has one chat id per line, optionally followed by a space and the access token of
// its owner (then TOKEN is only the default), so that the load can come from many users.
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Samples {
  std::vector<double> ttfc, chunk, gap;
  long streams = 0, chunks = 0, errors = 0;
};

long long monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Target {
  bool atelier = false;
  unsigned short port = 0;
  std::string token;
};

struct Chat {
  std::string id, token;
};

std::string requestFor(const Target& t, const Chat& chat) {
  std::string body, path;
  if (t.atelier) {
    body = R"({"message":"Suggest a palette for a generative NFT series"})";
    path = "/api/chat/" + chat.id + "/message";
  } else {
    body = R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})";
    path = "/v1beta/models/bench:streamGenerateContent?alt=sse";
  }
  std::string r =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (t.atelier) r += "Authorization: Bearer " + chat.token + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

// One stream: returns false when the connection must be reopened.
asio::awaitable<bool> oneStream(tcp::socket& s, const Target& t, const Chat& chat, Samples& out) {
  const std::string req = requestFor(t, chat);
  const auto sent = Clock::now();
  co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
  std::string buf;
  char tmp[16384];
  std::size_t headEnd;
  while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
    const std::size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    buf.append(tmp, n);
  }
  if (buf.compare(0, 12, "HTTP/1.1 200") != 0) {
    ++out.errors;
    co_return false;
  }
  buf.erase(0, headEnd + 4);
  // The body is chunked: decode it, and scan the decoded text for "t=<ns>".
  std::string body;
  std::size_t scanned = 0;
  bool first = true;
  Clock::time_point last{};
  bool ended = false;
  for (;;) {
    // Decode whole chunks from buf.
    for (;;) {
      const std::size_t eol = buf.find("\r\n");
      if (eol == std::string::npos) break;
      const std::size_t size = std::strtoul(buf.c_str(), nullptr, 16);
      if (buf.size() < eol + 2 + size + 2) break;
      if (size == 0) {
        ended = true;
        buf.erase(0, eol + 4);
        break;
      }
      body.append(buf, eol + 2, size);
      buf.erase(0, eol + 2 + size + 2);
    }
    const auto now = Clock::now();
    const long long nowNs = monoNs();
    for (std::size_t at; (at = body.find("t=", scanned)) != std::string::npos;) {
      std::size_t end = at + 2;
      while (end < body.size() && body[end] >= '0' && body[end] <= '9')
        ++end;
      if (end == body.size()) break;  // the number may continue in the next read
      scanned = end;
      // Only a text part counts (Atelier's `done` repeats the whole reply as "content").
      if (at < 8 || body.compare(at - 8, 8, "\"text\":\"") != 0) continue;
      const long long sentNs = std::stoll(body.substr(at + 2, end - at - 2));
      out.chunk.push_back(static_cast<double>(nowNs - sentNs) / 1e6);
      ++out.chunks;
      if (first) {
        out.ttfc.push_back(ms(now - sent));
        first = false;
      } else {
        out.gap.push_back(ms(now - last));
      }
      last = now;
    }
    if (ended) break;
    const std::size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    buf.append(tmp, n);
  }
  ++out.streams;
  co_return true;
}

asio::awaitable<void> worker(Target t, Chat chat, Clock::time_point until, Samples& out) {
  auto ex = co_await asio::this_coro::executor;
  while (Clock::now() < until) {
    tcp::socket s(ex);
    try {
      const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), t.port);
      co_await s.async_connect(ep, asio::use_awaitable);
      s.set_option(tcp::no_delay(true));
      while (Clock::now() < until) {
        if (!co_await oneStream(s, t, chat, out)) break;
      }
    } catch (const std::exception&) {
      ++out.errors;
    }
  }
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s gemini|atelier PORT STREAMS SECONDS [TOKEN CHATS_FILE]\n",
                 argv[0]);
    return 2;
  }
  Target t;
  t.atelier = std::string(argv[1]) == "atelier";
  t.port = static_cast<unsigned short>(std::atoi(argv[2]));
  const int streams = std::atoi(argv[3]);
  const int seconds = std::atoi(argv[4]);
  std::vector<Chat> chats(static_cast<std::size_t>(streams));
  if (t.atelier) {
    if (argc < 7) return 2;
    t.token = argv[5];
    std::ifstream in(argv[6]);
    for (auto& c : chats) {
      std::string line;
      std::getline(in, line);
      const auto space = line.find(' ');
      c.id = line.substr(0, space);
      c.token = space == std::string::npos ? t.token : line.substr(space + 1);
    }
  }
  asio::io_context io(1);
  Samples out;
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  for (int i = 0; i < streams; ++i)
    asio::co_spawn(io, worker(t, chats[static_cast<std::size_t>(i)], until, out), asio::detached);
  io.run();
  std::printf(
      "{\"streams\": %ld, \"chunks\": %ld, \"errors\": %ld, "
      "\"ttfc_ms\": {\"p50\": %.3f, \"p99\": %.3f}, "
      "\"chunk_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, "
      "\"gap_ms\": {\"p50\": %.3f, \"p99\": %.3f}}\n",
      out.streams, out.chunks, out.errors, pct(out.ttfc, 50), pct(out.ttfc, 99), pct(out.chunk, 50),
      pct(out.chunk, 99), pct(out.chunk, 99.9), pct(out.gap, 50), pct(out.gap, 99));
  return out.streams > 0 ? 0 : 1;
}
