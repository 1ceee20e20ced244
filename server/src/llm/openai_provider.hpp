// Any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp server, Ollama, …):
// POST {OPENAI_BASE_URL}/chat/completions with stream: true and
// stream_options.include_usage, read as Server-Sent Events until `data: [DONE]`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "llm/provider.hpp"
#include "net/http_client.hpp"

namespace atelier::llm {

struct OpenAiOptions {
  std::string baseUrl;  // ends in /v1 (or not: then /v1 is added)
  std::string apiKey;   // optional for local servers
  std::string model;
  std::chrono::milliseconds idleTimeout{60'000};  // UPSTREAM_TIMEOUT
  std::chrono::milliseconds connectTimeout{10'000};
  std::size_t maxFrameBytes = 1 << 20;
};

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
// "type: message" of an error body, for the log ("" when it is not one).
std::string describeOpenAiError(std::string_view body);
// The URL requests go to: `{base}/chat/completions`, with /v1 added when base has no /v1.
std::string openAiCompletionsUrl(std::string_view baseUrl);

class OpenAiProvider final : public ModelProvider {
 public:
  OpenAiProvider(OpenAiOptions options, net::HttpClient& http);
  std::string_view name() const noexcept override { return "openai"; }
  std::string_view model() const noexcept override { return options_.model; }
  boost::asio::awaitable<Result<std::unique_ptr<GenerationStream>>> start(
      GenerationRequest request) override;
  // The JSON body sent for `request` (exposed for tests).
  std::string requestBody(const GenerationRequest& request) const;

 private:
  OpenAiOptions options_;
  std::string url_;
  net::HttpClient& http_;
};

}  // namespace atelier::llm
