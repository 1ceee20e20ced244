// libFuzzer target for what a model provider sends back: the Server-Sent Events parser
// (llm/sse_parser.cpp) and both frame decoders (Gemini's and OpenAI's).
//
// Input: the first byte chooses how the rest is cut into reads (1–64 bytes each); the rest is
// the response body. Checks that the parser gives exactly the same events, or the same
// failure, whether the body arrives whole or in pieces; that no event exceeds the limit; and
// that decoding any event's data never crashes; and that the Gemini frame reader (Boost.JSON's
// SAX parser, no document) reads every event's data — and the whole body taken as one frame —
// exactly as a reading of the parsed document does.
//
//   ./dev fuzz provider_stream 60
//
// The seeds in corpus/provider_stream also run on every `./dev test` (llm_tests).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
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

namespace json = boost::json;

// The frame as read from the whole document (what parseGeminiFrame did before it read the
// frame in one pass): the reference the reader must agree with.
atelier::Result<atelier::llm::GeminiFrame> referenceGeminiFrame(std::string_view text) {
  using atelier::llm::GeminiFrame;
  using atelier::llm::intField;
  const auto bad = atelier::Error::make(atelier::Errc::upstream_error, "malformed");
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad;
  const auto& o = v.as_object();
  GeminiFrame f;
  if (auto it = o.find("error"); it != o.end()) {
    if (!it->value().is_object()) return bad;
    const auto& e = it->value().as_object();
    f.errorCode = static_cast<int>(intField(e, "code"));
    if (auto s = e.find("status"); s != e.end() && s->value().is_string())
      f.errorStatus = s->value().as_string();
    return f;
  }
  if (auto it = o.find("candidates"); it != o.end()) {
    if (!it->value().is_array()) return bad;
    const auto& cands = it->value().as_array();
    if (!cands.empty()) {
      if (!cands[0].is_object()) return bad;
      const auto& cand = cands[0].as_object();
      if (auto c = cand.find("content"); c != cand.end() && c->value().is_object()) {
        const auto& content = c->value().as_object();
        if (auto p = content.find("parts"); p != content.end() && p->value().is_array()) {
          for (const auto& part : p->value().as_array()) {
            if (!part.is_object()) continue;
            const auto& po = part.as_object();
            if (auto th = po.find("thought");
                th != po.end() && th->value().is_bool() && th->value().as_bool())
              continue;
            if (auto t = po.find("text"); t != po.end() && t->value().is_string())
              f.text += t->value().as_string();
          }
        }
      }
      if (auto r = cand.find("finishReason"); r != cand.end() && r->value().is_string())
        f.finishReason = r->value().as_string();
    }
  }
  if (auto it = o.find("usageMetadata"); it != o.end() && it->value().is_object()) {
    const auto& u = it->value().as_object();
    atelier::llm::TokenUsage usage;
    usage.prompt = intField(u, "promptTokenCount");
    usage.completion = intField(u, "candidatesTokenCount") + intField(u, "thoughtsTokenCount");
    usage.total = intField(u, "totalTokenCount");
    if (usage.total == 0) usage.total = usage.prompt + usage.completion;
    f.usage = usage;
  }
  if (auto it = o.find("promptFeedback"); it != o.end() && it->value().is_object()) {
    const auto& pf = it->value().as_object();
    if (auto b = pf.find("blockReason"); b != pf.end() && b->value().is_string())
      f.blockReason = b->value().as_string();
  }
  return f;
}

bool sameUsage(const std::optional<atelier::llm::TokenUsage>& a,
               const std::optional<atelier::llm::TokenUsage>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->prompt == b->prompt && a->completion == b->completion && a->total == b->total);
}

// Aborts when the reader and the reference disagree about `text`.
void checkGeminiFrame(std::string_view text) {
  const auto read = atelier::llm::parseGeminiFrame(text);
  const auto reference = referenceGeminiFrame(text);
  if (read.ok() != reference.ok()) std::abort();
  if (!read.ok()) return;
  if (read->text != reference->text || read->finishReason != reference->finishReason ||
      read->blockReason != reference->blockReason || read->errorCode != reference->errorCode ||
      read->errorStatus != reference->errorStatus || !sameUsage(read->usage, reference->usage)) {
    std::abort();
  }
}

struct Parsed {
  std::vector<atelier::llm::SseEvent> events;
  bool failed = false;
};

Parsed parse(std::string_view body, std::size_t piece) {
  atelier::llm::SseParser parser(kMaxEvent);
  Parsed p;
  for (std::size_t at = 0; at < body.size() && !p.failed; at += piece) {
    if (!parser.feed(body.substr(at, piece))) p.failed = true;
    p.events.insert(p.events.end(), parser.events().begin(), parser.events().end());
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
    checkGeminiFrame(e.data);
    (void)atelier::llm::parseOpenAiFrame(e.data);
  }
  checkGeminiFrame(body);
  return 0;
}
