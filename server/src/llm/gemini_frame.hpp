// One frame of Gemini's streamGenerateContent (alt=sse): a GenerateContentResponse as JSON.
// https://ai.google.dev/api/generate-content — candidates[].content.parts[].text (parts
// marked "thought" are reasoning, not reply), candidates[].finishReason, usageMetadata,
// promptFeedback.blockReason; or an error object {"error":{"code","message","status"}}.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace boost::json {
class object;
}  // namespace boost::json

namespace atelier::llm {

// An integer field of a provider's JSON (token counts, codes): 0 when absent or not an integer.
std::int64_t intField(const boost::json::object& o, std::string_view key);

struct TokenUsage {
  std::int64_t prompt = 0;      // promptTokenCount
  std::int64_t completion = 0;  // candidatesTokenCount + thoughtsTokenCount
  std::int64_t total = 0;       // totalTokenCount (what is billed)
};

struct GeminiFrame {
  std::string text;                 // the reply text in this frame (thought parts skipped)
  std::string finishReason;         // "STOP", "MAX_TOKENS", "SAFETY", … or ""
  std::optional<TokenUsage> usage;  // when the frame reports it
  std::string blockReason;          // promptFeedback.blockReason, or ""
  std::optional<int> errorCode;     // an {"error":…} frame
  std::string errorStatus;          // e.g. "RESOURCE_EXHAUSTED" (never the provider's message)
};

// Reads frame after frame of one stream into the caller's GeminiFrame, reusing the JSON
// parser and every string's capacity: once the first frames have sized them, a frame costs no
// allocation.
class GeminiFrameParser {
 public:
  GeminiFrameParser();
  ~GeminiFrameParser();
  GeminiFrameParser(const GeminiFrameParser&) = delete;
  GeminiFrameParser& operator=(const GeminiFrameParser&) = delete;

  // Every field of `out` is set (its strings assigned, not replaced). Errc::upstream_error
  // when the frame is not a JSON object of that shape; `out` is then unspecified.
  Result<void> parse(std::string_view json, GeminiFrame& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One frame on its own (a parser of its own). Errc::upstream_error as above.
Result<GeminiFrame> parseGeminiFrame(std::string_view json);

// The status of an error body {"error":{"code","status"}} for logs, e.g. "429 RESOURCE_EXHAUSTED";
// "" when the body is not one. The provider's free-text message is never passed on.
std::string describeGeminiError(std::string_view body);

}  // namespace atelier::llm
