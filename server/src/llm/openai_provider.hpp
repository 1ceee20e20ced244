// Any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp server, Ollama, …):
// POST {OPENAI_BASE_URL}/chat/completions with stream: true and
// stream_options.include_usage, read as Server-Sent Events until `data: [DONE]`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "llm/openai_frame.hpp"
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
