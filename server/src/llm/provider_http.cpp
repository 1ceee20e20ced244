#include "llm/provider_http.hpp"

#include <spdlog/spdlog.h>

namespace atelier::llm {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;
}  // namespace

asio::awaitable<Result<std::unique_ptr<net::HttpStream>>> openProviderStream(
    net::HttpClient& http, net::HttpRequest request, std::string_view provider,
    std::string (*describeError)(std::string_view)) {
  auto stream = http.start(std::move(request));
  auto head = co_await stream->head();
  if (!head) {
    spdlog::warn("{}: request failed before a response: {}", provider, head.error().message);
    co_return std::move(head).error();
  }
  if (head->status != 200) {
    std::string body;
    for (;;) {
      auto piece = co_await stream->read();
      if (!piece || piece->empty() || body.size() > kMaxErrorBody) break;
      body += *piece;
    }
    const std::string described = describeError(body);
    spdlog::warn("{}: HTTP {} ({})", provider, head->status,
                 described.empty() ? "no error body" : described);
    Error e = Error::make(Errc::upstream_error, "the model provider refused the request (HTTP " +
                                                    std::to_string(head->status) + ")");
    e.providerStatus = head->status;
    co_return e;
  }
  co_return std::move(stream);
}

SseGenerationStream::SseGenerationStream(std::unique_ptr<net::HttpStream> http,
                                         std::size_t maxFrameBytes, std::string provider,
                                         FrameDecoder decode)
    : http_(std::move(http)),
      parser_(maxFrameBytes),
      provider_(std::move(provider)),
      decode_(std::move(decode)) {}

asio::awaitable<Result<StreamChunk>> SseGenerationStream::next() {
  for (;;) {
    if (const auto events = parser_.events(); nextEvent_ < events.size()) {
      if (auto decoded = decode_(events[nextEvent_++].data, frame_); !decoded)
        co_return std::move(decoded).error();
      if (!frame_.failure.empty()) {
        spdlog::warn("{}: error frame mid-stream: {}", provider_, frame_.failure);
        co_return Error::make(Errc::upstream_error, "the model provider failed during the reply");
      }
      if (frame_.end) {
        sawEnd_ = true;
        continue;  // the body ends next
      }
      if (frame_.usage) usage_ = frame_.usage;
      if (!frame_.finishReason.empty()) finishReason_ = frame_.finishReason;
      StreamChunk chunk;
      chunk.text = frame_.text;
      chunk.finishReason = finishReason_;
      chunk.usage = usage_;
      co_return chunk;
    }
    // The bytes stay in the connection's read buffer: the parser takes them from there.
    auto bytes = co_await http_->read();
    if (!bytes) co_return std::move(bytes).error();
    if (bytes->empty()) {
      // End of body: a clean end needs the last event complete and a reason to stop.
      if (parser_.midEvent() || (finishReason_.empty() && !sawEnd_)) {
        co_return Error::make(Errc::upstream_error, "the model provider ended the reply early");
      }
      StreamChunk last;
      last.done = true;
      last.finishReason = finishReason_.empty() ? "STOP" : finishReason_;
      last.usage = usage_;
      co_return last;
    }
    // Every event handed out: the parser refills its events in place.
    nextEvent_ = 0;
    if (auto fed = parser_.feed(*bytes); !fed) co_return std::move(fed).error();
  }
}

}  // namespace atelier::llm
