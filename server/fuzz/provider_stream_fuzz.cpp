// libFuzzer target for what a model provider sends back: the Server-Sent Events parser
// (llm/sse_parser.cpp) and both frame decoders (Gemini's and OpenAI's).
//
// Input: the first byte chooses how the rest is cut into reads (1–64 bytes each); the rest is
// the response body. Checks that the parser gives exactly the same events, or the same
// failure, whether the body arrives whole or in pieces; that no event exceeds the limit; and
// that decoding any event's data never crashes.
//
//   ./dev fuzz provider_stream 60
//
// The seeds in corpus/provider_stream also run on every `./dev test` (llm_tests).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "llm/gemini_frame.hpp"
#include "llm/openai_frame.hpp"
#include "llm/sse_parser.hpp"

namespace {

constexpr std::size_t kMaxEvent = 4096;

struct Parsed {
  std::vector<atelier::llm::SseEvent> events;
  bool failed = false;
};

Parsed parse(std::string_view body, std::size_t piece) {
  atelier::llm::SseParser parser(kMaxEvent);
  Parsed p;
  for (std::size_t at = 0; at < body.size() && !p.failed; at += piece) {
    if (!parser.feed(body.substr(at, piece), p.events)) p.failed = true;
  }
  return p;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Parsed whole = parse(body, body.size() + 1);
  const Parsed split = parse(body, piece);
  if (whole.failed != split.failed) std::abort();
  if (!whole.failed) {
    if (whole.events.size() != split.events.size()) std::abort();
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      const auto& a = whole.events[i];
      const auto& b = split.events[i];
      if (a.event != b.event || a.data != b.data || a.id != b.id) std::abort();
    }
  }
  for (const auto& e : split.events) {
    if (e.data.size() > kMaxEvent) std::abort();
    (void)atelier::llm::parseGeminiFrame(e.data);
    (void)atelier::llm::parseOpenAiFrame(e.data);
  }
  return 0;
}
