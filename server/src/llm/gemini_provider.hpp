// Gemini over its REST API: POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse
// with x-goog-api-key, read as Server-Sent Events while it arrives.
#pragma once

#include <chrono>
#include <string>

#include "llm/provider.hpp"
#include "net/http_client.hpp"

namespace atelier::llm {

struct GeminiOptions {
  std::string baseUrl = "https://generativelanguage.googleapis.com";
  std::string apiKey;
  std::string model = "gemini-2.5-flash";
  std::chrono::milliseconds idleTimeout{60'000};  // UPSTREAM_TIMEOUT
  std::chrono::milliseconds connectTimeout{10'000};
  std::size_t maxFrameBytes = 1 << 20;
};

class GeminiProvider final : public ModelProvider {
 public:
  GeminiProvider(GeminiOptions options, net::HttpClient& http);
  std::string_view name() const noexcept override { return "gemini"; }
  std::string_view model() const noexcept override { return options_.model; }
  boost::asio::awaitable<Result<std::unique_ptr<GenerationStream>>> start(
      GenerationRequest request) override;

  // The JSON body sent for `request` (exposed for tests).
  static std::string requestBody(const GenerationRequest& request);

 private:
  GeminiOptions options_;
  net::HttpClient& http_;
};

}  // namespace atelier::llm
