// The model provider seam: one interface, Gemini behind it today (OpenAI-compatible later).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/gemini_frame.hpp"
#include "util/result.hpp"

namespace atelier::llm {

struct InlineImage {
  std::string mimeType;
  std::string base64Data;
};

struct Turn {
  enum class Role { user, model };
  Role role = Role::user;
  std::string text;
  std::vector<InlineImage> images;
};

struct GenerationRequest {
  std::string systemInstruction;
  std::vector<Turn> contents;  // oldest first; the last one is the user's new message
  int maxOutputTokens = 2048;
};

// One step of a reply stream.
struct StreamChunk {
  std::string_view text;            // reply text in this step (may be empty), valid until the
                                    // stream's next call: it is not copied out of its buffer
  std::string finishReason;         // once the provider says why it stopped ("STOP", "SAFETY", …)
  std::optional<TokenUsage> usage;  // the latest usage the provider reported
  bool done = false;                // the stream ended normally; nothing follows
};

class GenerationStream {
 public:
  virtual ~GenerationStream() = default;
  // The next step. Errors after the start: Errc::upstream_error (dropped connection,
  // malformed or oversized frame, error frame) or Errc::upstream_timeout (silence longer
  // than the configured timeout). After `done` or an error, do not call again.
  virtual boost::asio::awaitable<Result<StreamChunk>> next() = 0;
  // Ends the request (thread-safe); a pending next() fails.
  virtual void cancel() = 0;
};

class ModelProvider {
 public:
  virtual ~ModelProvider() = default;
  virtual std::string_view name() const noexcept = 0;
  // The model that answers ("gemini-2.5-flash"), recorded with the images it analyses.
  virtual std::string_view model() const noexcept = 0;
  // Sends the request and returns once the provider has accepted it (status 200). A failure
  // before that is Errc::upstream_error (with providerStatus when it answered with an HTTP
  // error) or Errc::upstream_timeout. The provider's own error text and our key never appear
  // in the Error.
  virtual boost::asio::awaitable<Result<std::unique_ptr<GenerationStream>>> start(
      GenerationRequest request) = 0;
};

}  // namespace atelier::llm
