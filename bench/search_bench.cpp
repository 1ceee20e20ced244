// Search latency for a user with 10,000 messages (plus another user's 10,000 as noise), on
// the real store (SQLite, and PostgreSQL when a URL is given), against a baseline measured in
// the same run: scanning the same user's texts in memory for the same words (what a search
// without an index must at least do).
//
//   bench_search <sqlite-dir> [postgres-url]      prints JSON on stdout
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "chat/search.hpp"
#include "store/store.hpp"
#include "util/crypto.hpp"
#include "util/time.hpp"

using namespace atelier;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kMessages = 10'000;
constexpr int kChats = 20;
constexpr int kRepeats = 200;

struct Query {
  const char* name;
  const char* q;
};
constexpr Query kQueries[] = {
    {"common word", "koi"},
    {"two words", "neon lanterns"},
    {"rare word", "obsidian"},
    {"accented", "café"},
    {"CJK", "猫"},
    {"no match", "zeppelin"},
};

std::string sentence(std::mt19937& rng, const std::vector<std::string>& vocab, int i) {
  std::uniform_int_distribution<std::size_t> word(0, vocab.size() - 1);
  std::uniform_int_distribution<int> len(20, 80);
  std::string s;
  const int n = len(rng);
  for (int k = 0; k < n; ++k)
    s += vocab[word(rng)] + ' ';
  if (i % 50 == 0) s += "koi ";
  if (i % 97 == 0) s += "neon lanterns ";
  if (i % 1000 == 0) s += "obsidian ";
  if (i % 200 == 0) s += "un café crème ";
  if (i % 300 == 0) s += "水墨画の猫 ";
  return s;
}

struct Dataset {
  std::string userId;
  std::vector<std::string> texts;  // the user's, for the baseline
};

Dataset fill(store::Store& st, std::mt19937& rng, const std::vector<std::string>& vocab,
             const std::string& tag) {
  Dataset d;
  d.userId = newUuidV7();
  auto now = fromUnixMillis(1'795'000'000'000);
  store::NewUser u{d.userId, tag + "@bench.test", "x", "", 1'000'000'000, now};
  if (!st.createUser(u)) std::abort();
  std::vector<std::string> chats;
  for (int c = 0; c < kChats; ++c) {
    store::NewChat nc{newUuidV7(), d.userId, "Series " + std::to_string(c), now};
    auto made = st.createChatIfUnderLimit(nc, 1'000'000);
    if (!made) std::abort();
    chats.push_back(nc.chatId);
  }
  std::vector<std::optional<std::string>> last(kChats);
  for (int i = 0; i < kMessages; ++i) {
    store::Message m;
    m.messageId = newUuidV7();
    m.chatId = chats[static_cast<std::size_t>(i % kChats)];
    m.parentMessageId = last[static_cast<std::size_t>(i % kChats)];
    m.role = i % 2 ? "assistant" : "user";
    m.content = sentence(rng, vocab, i);
    m.createdAt = now + std::chrono::milliseconds(i);
    if (!st.appendMessage(m)) std::abort();
    last[static_cast<std::size_t>(i % kChats)] = m.messageId;
    d.texts.push_back(m.content);
  }
  return d;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Times kRepeats runs of `f`; returns {p50, p99} in milliseconds.
template <typename F>
std::pair<double, double> timeIt(F f) {
  std::vector<double> ms;
  for (int r = 0; r < kRepeats; ++r) {
    const auto t0 = Steady::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
  }
  return {percentile(ms, 0.5), percentile(ms, 0.99)};
}

std::string run(const std::string& label, const std::string& url) {
  store::StoreOptions options;
  auto opened = store::openStore(url, options);
  if (!opened) {
    std::fprintf(stderr, "bench_search: %s: %s\n", url.c_str(), opened.error().message.c_str());
    std::exit(1);
  }
  auto& st = **opened;
  if (!st.migrate()) std::abort();
  std::mt19937 rng(42);
  std::vector<std::string> vocab;
  for (int i = 0; i < 3000; ++i)
    vocab.push_back("w" + std::to_string(i * 7919 % 100'000));
  const auto t0 = Steady::now();
  const Dataset me = fill(st, rng, vocab, label + "-me");
  fill(st, rng, vocab, label + "-other");
  const double fillSeconds = std::chrono::duration<double>(Steady::now() - t0).count();
  std::fprintf(stderr, "%s: %d messages stored in %.1f s\n", label.c_str(), 2 * kMessages,
               fillSeconds);
  std::string json = "{\"store\": \"" + label + "\", \"queries\": [";
  bool first = true;
  for (const auto& q : kQueries) {
    const auto words = chat::queryWords(q.q);
    std::size_t hits = 0;
    const auto [p50, p99] = timeIt([&] {
      auto r = st.search(me.userId, words, 20);
      if (!r) std::abort();
      hits = r->size();
    });
    // The baseline: every text of the user scanned for every word (ASCII case folded).
    std::size_t scanHits = 0;
    const auto [b50, b99] = timeIt([&] {
      scanHits = 0;
      for (const auto& t : me.texts) {
        bool all = true;
        for (const auto& w : words) {
          const auto found = std::search(
              t.begin(), t.end(), w.begin(), w.end(),
              [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
          if (found == t.end()) {
            all = false;
            break;
          }
        }
        scanHits += all;
      }
    });
    std::fprintf(stderr, "  %-12s p50 %7.3f ms  p99 %7.3f ms  (scan p99 %7.3f ms)  %zu hits\n",
                 q.name, p50, p99, b99, hits);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s{\"query\": \"%s\", \"words\": %zu, \"results\": %zu, \"p50_ms\": %.3f, "
                  "\"p99_ms\": %.3f, \"scan_p50_ms\": %.3f, \"scan_p99_ms\": %.3f, "
                  "\"scan_matches\": %zu, \"p99_vs_scan\": %.3f}",
                  first ? "" : ", ", q.name, words.size(), hits, p50, p99, b50, b99, scanHits,
                  p99 / b99);
    json += buf;
    first = false;
  }
  json += "]}";
  return json;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_search <sqlite-dir> [postgres-url]\n");
    return 2;
  }
  initCrypto();
  spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON
  std::string out = "[" + run("sqlite", std::string("sqlite://") + argv[1] + "/search.db");
  if (argc > 2) out += ", " + run("postgres", argv[2]);
  out += "]";
  std::printf("%s\n", out.c_str());
  return 0;
}
