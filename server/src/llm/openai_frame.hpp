// The frames of an OpenAI-compatible chat-completions stream (chat.completion.chunk JSON,
// a usage chunk, `[DONE]`), decoded without I/O: pure, and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llm/gemini_frame.hpp"  // TokenUsage
#include "util/result.hpp"

namespace atelier::llm {

// One decoded `data:` frame of a chat.completion.chunk stream.
struct OpenAiFrame {
  bool done = false;         // `data: [DONE]`
  std::string text;          // choices[0].delta.content
  std::string finishReason;  // mapped to Gemini's words: STOP, MAX_TOKENS, SAFETY, …
  std::optional<TokenUsage> usage;
  std::optional<std::string> error;  // an error object in the stream (its type or code)
};

// Errc::upstream_error for a frame that is not JSON or not a chunk.
Result<OpenAiFrame> parseOpenAiFrame(std::string_view data);
// The same into `f`, every field set and its strings assigned rather than replaced: a stream
// that decodes every frame into one OpenAiFrame allocates nothing per frame. `f` is
// unspecified after an error.
Result<void> parseOpenAiFrame(std::string_view data, OpenAiFrame& f);
// "type: message" of an error body, for the log ("" when it is not one).
std::string describeOpenAiError(std::string_view body);
// The URL requests go to: `{base}/chat/completions`, with /v1 added when base has no /v1.
std::string openAiCompletionsUrl(std::string_view baseUrl);

}  // namespace atelier::llm
