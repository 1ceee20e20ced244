// What relaying one chunk of a reply costs in allocations, counted on the thread that relays
// it: the provider's bytes read from the socket, parsed as Server-Sent Events, the frame
// decoded (Gemini's, OpenAI's), its text handed out, then stored in the reply's Generation and read
// back by a subscriber. Once the stream is under way none of that may allocate per chunk (only the
// Generation's buffers grow, doubling, as the reply gets longer).
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <memory>
#include <optional>
#include <string>

#include "alloc/counting_new.hpp"
#include "chat/generation.hpp"
#include "llm/gemini_provider.hpp"
#include "llm/openai_provider.hpp"
#include "net/http_client.hpp"
#include "support/fake_gemini.hpp"
#include "support/fake_openai.hpp"
#include "support/io_loop.hpp"

namespace atelier {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::size_t kChunks = 200;
constexpr std::size_t kFrom = 40, kTo = 180;  // the chunks counted: the stream under way

struct Counts {
  std::size_t chunks = 0;      // chunks in the counted window
  std::size_t provider = 0;    // allocations while the provider's stream gave them
  std::size_t generation = 0;  // allocations while they were stored and read back
  std::size_t relayed = 0;     // chunks with text that went through
  std::string text;            // the whole reply as the subscriber read it
  std::optional<Error> error;
};

enum class Provider { gemini, openai };

template <class P, class Options>
std::unique_ptr<llm::ModelProvider> makeProvider(const std::string& baseUrl, const char* key,
                                                 const char* model, net::HttpClient& http) {
  Options o;
  o.baseUrl = baseUrl;
  o.apiKey = key;
  o.model = model;
  o.idleTimeout = 5s;
  return std::make_unique<P>(std::move(o), http);
}

class RelayAllocationTest : public ::testing::TestWithParam<Provider> {};

TEST_P(RelayAllocationTest, AChunkOnceTheStreamIsUnderWayAllocatesNothing) {
  const bool gemini = GetParam() == Provider::gemini;
  std::unique_ptr<test::FakeModel> fake;
  if (gemini) {
    fake = std::make_unique<test::FakeGemini>();
  } else {
    fake = std::make_unique<test::FakeOpenAi>();
  }
  // 16 bytes a chunk (too long for a string's inline buffer), 1 ms apart: a read a frame.
  fake->script(test::ModelScript::paced(kChunks, "sixteen bytes ok", 1ms));
  test::IoLoop loop(1);                // one thread: everything the relay does is counted on it
  net::HttpClientOptions httpOptions;  // as the server has it: our own HTTP/1.1, one thread each
  httpOptions.serialExecutors = true;
  httpOptions.ownHttp1 = true;
  net::HttpClient http(loop.executor(), httpOptions);
  std::unique_ptr<llm::ModelProvider> provider =
      gemini ? makeProvider<llm::GeminiProvider, llm::GeminiOptions>(
                   fake->baseUrl(), test::FakeGemini::kApiKey, "gemini-test", http)
             : makeProvider<llm::OpenAiProvider, llm::OpenAiOptions>(
                   fake->baseUrl(), test::FakeOpenAi::kApiKey, "local-model", http);
  chat::Generation generation("generation", "chat", "user", "reply");

  const Counts counts = loop.run<Counts>([&]() -> asio::awaitable<Counts> {
    Counts c;
    llm::GenerationRequest request;
    request.contents = {{llm::Turn::Role::user, "Paint me a sunset", {}}};
    auto started = co_await provider->start(std::move(request));
    if (!started) {
      c.error = started.error();
      co_return c;
    }
    auto& stream = *started.value();
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    std::string frame, out;
    std::size_t seen = 0;
    for (std::size_t i = 0;; ++i) {
      const bool counted = i >= kFrom && i < kTo;
      std::size_t before = test::allocationsOnThisThread();
      auto chunk = co_await stream.next();
      if (counted) {
        c.provider += test::allocationsOnThisThread() - before;
        ++c.chunks;
      }
      if (!chunk) {
        c.error = chunk.error();
        break;
      }
      if (chunk->done) break;
      if (chunk->text.empty()) continue;
      before = test::allocationsOnThisThread();
      frame.assign("data: ").append(chunk->text).append("\n\n");
      generation.append(frame);
      out.clear();
      const auto progress = co_await generation.waitBeyond(seen, out, timer, 1s);
      seen += progress.frames;
      if (counted) c.generation += test::allocationsOnThisThread() - before;
      c.text += out;
      ++c.relayed;
    }
    co_return c;
  });

  ASSERT_FALSE(counts.error) << counts.error->message;
  EXPECT_EQ(counts.relayed, kChunks);
  std::string expected;
  for (std::size_t i = 0; i < kChunks; ++i)
    expected += "data: sixteen bytes ok\n\n";
  EXPECT_EQ(counts.text, expected);
  ASSERT_EQ(counts.chunks, kTo - kFrom);
  // Reading, parsing, decoding and handing out a chunk: nothing allocated. (On a loaded
  // machine a read can bring more frames at once than any before it, and the parser then adds
  // an event slot or two, once: a few allocations in all, against one or more a chunk.)
  EXPECT_LE(counts.provider, 4u);
  // Storing and reading it back: the reply's buffer and its frame index double now and then
  // as the reply grows (from 40 to 180 frames: at most three times each), never once a chunk.
  EXPECT_LE(counts.generation, 6u);
}

INSTANTIATE_TEST_SUITE_P(Providers, RelayAllocationTest,
                         ::testing::Values(Provider::gemini, Provider::openai),
                         [](const auto& info) {
                           return info.param == Provider::gemini ? "Gemini" : "Openai";
                         });

}  // namespace
}  // namespace atelier
