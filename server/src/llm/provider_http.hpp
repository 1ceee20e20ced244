// What the HTTP model providers share: opening the streaming request (a non-200 answer
// becomes upstream_error with the provider's status, its body described in the log only),
// and a GenerationStream over Server-Sent Events whose frames a provider decodes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/provider.hpp"
#include "llm/sse_parser.hpp"
#include "net/http_client.hpp"

namespace atelier::llm {

// Sends `request` and returns its stream once the head says 200. `describeError` turns an
// error body into a line for the log ("" when it is not the provider's error shape).
boost::asio::awaitable<Result<std::unique_ptr<net::HttpStream>>> openProviderStream(
    net::HttpClient& http, net::HttpRequest request, std::string_view provider,
    std::string (*describeError)(std::string_view));

// One decoded frame, in the provider-neutral form. A stream decodes every frame into the same
// one, so that its strings keep their capacity from frame to frame.
struct DecodedFrame {
  std::string text;
  std::string finishReason;  // "" when the frame says nothing about it
  std::optional<TokenUsage> usage;
  bool end = false;     // the provider's explicit end of stream (OpenAI's [DONE])
  std::string failure;  // an error reported inside the stream (for the log); "" when none
};
// Decodes one event's data into `out`, setting every field.
using FrameDecoder = std::function<Result<void>(std::string_view data, DecodedFrame& out)>;

// A reply read as Server-Sent Events, each event's data decoded by `decode`. The stream ends
// cleanly at the end of the body when the last event is complete and the provider said why it
// stopped (a finish reason or an explicit end); anything else is upstream_error.
class SseGenerationStream final : public GenerationStream {
 public:
  SseGenerationStream(std::unique_ptr<net::HttpStream> http, std::size_t maxFrameBytes,
                      std::string provider, FrameDecoder decode);
  boost::asio::awaitable<Result<StreamChunk>> next() override;
  void cancel() override { http_->cancel(); }

 private:
  std::unique_ptr<net::HttpStream> http_;
  SseParser parser_;
  std::string provider_;
  FrameDecoder decode_;
  std::size_t nextEvent_ = 0;  // the first of the parser's events() not handed out yet
  DecodedFrame frame_;         // the last event's, reused
  std::string finishReason_;
  std::optional<TokenUsage> usage_;
  bool sawEnd_ = false;
};

}  // namespace atelier::llm
