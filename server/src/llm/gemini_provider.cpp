#include "llm/gemini_provider.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <deque>

#include "llm/sse_parser.hpp"

namespace atelier::llm {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

class GeminiStream final : public GenerationStream {
 public:
  GeminiStream(std::unique_ptr<net::HttpStream> http, std::size_t maxFrameBytes)
      : http_(std::move(http)), parser_(maxFrameBytes) {}

  asio::awaitable<Result<StreamChunk>> next() override {
    for (;;) {
      if (!events_.empty()) {
        SseEvent ev = std::move(events_.front());
        events_.pop_front();
        auto frame = parseGeminiFrame(ev.data);
        if (!frame) co_return std::move(frame).error();
        if (frame->errorCode) {
          spdlog::warn("gemini: error frame mid-stream: {} {}", *frame->errorCode,
                       frame->errorStatus);
          co_return Error::make(Errc::upstream_error, "the model provider failed during the reply");
        }
        if (frame->usage) usage_ = frame->usage;
        if (!frame->blockReason.empty()) finishReason_ = frame->blockReason;
        if (!frame->finishReason.empty()) finishReason_ = frame->finishReason;
        StreamChunk chunk;
        chunk.text = std::move(frame->text);
        chunk.finishReason = finishReason_;
        chunk.usage = usage_;
        co_return chunk;
      }
      auto bytes = co_await http_->read();
      if (!bytes) co_return std::move(bytes).error();
      if (bytes->empty()) {
        // End of body: a clean end needs the last event complete and a finish reason.
        if (parser_.midEvent() || finishReason_.empty()) {
          co_return Error::make(Errc::upstream_error, "the model provider ended the reply early");
        }
        StreamChunk last;
        last.done = true;
        last.finishReason = finishReason_;
        last.usage = usage_;
        co_return last;
      }
      std::vector<SseEvent> parsed;
      if (auto fed = parser_.feed(*bytes, parsed); !fed) co_return std::move(fed).error();
      for (auto& e : parsed)
        events_.push_back(std::move(e));
    }
  }

  void cancel() override { http_->cancel(); }

 private:
  std::unique_ptr<net::HttpStream> http_;
  SseParser parser_;
  std::deque<SseEvent> events_;
  std::string finishReason_;
  std::optional<TokenUsage> usage_;
};

}  // namespace

GeminiProvider::GeminiProvider(GeminiOptions options, net::HttpClient& http)
    : options_(std::move(options)), http_(http) {}

std::string GeminiProvider::requestBody(const GenerationRequest& request) {
  json::array contents;
  for (const auto& turn : request.contents) {
    json::array parts;
    if (!turn.text.empty()) parts.push_back(json::object{{"text", turn.text}});
    for (const auto& img : turn.images) {
      parts.push_back(json::object{
          {"inlineData", json::object{{"mimeType", img.mimeType}, {"data", img.base64Data}}}});
    }
    if (parts.empty()) parts.push_back(json::object{{"text", ""}});
    contents.push_back(json::object{{"role", turn.role == Turn::Role::user ? "user" : "model"},
                                    {"parts", std::move(parts)}});
  }
  json::object body{
      {"contents", std::move(contents)},
      {"generationConfig", json::object{{"maxOutputTokens", request.maxOutputTokens}}}};
  if (!request.systemInstruction.empty()) {
    body["systemInstruction"] =
        json::object{{"parts", json::array{json::object{{"text", request.systemInstruction}}}}};
  }
  return json::serialize(body);
}

asio::awaitable<Result<std::unique_ptr<GenerationStream>>> GeminiProvider::start(
    GenerationRequest request) {
  net::HttpRequest req;
  req.method = "POST";
  req.url =
      options_.baseUrl + "/v1beta/models/" + options_.model + ":streamGenerateContent?alt=sse";
  req.headers = {{"Content-Type", "application/json"},
                 {"Accept", "text/event-stream"},
                 {"x-goog-api-key", options_.apiKey}};
  req.body = requestBody(request);
  req.connectTimeout = options_.connectTimeout;
  req.idleTimeout = options_.idleTimeout;
  auto stream = http_.start(std::move(req));
  auto head = co_await stream->head();
  if (!head) {
    spdlog::warn("gemini: request failed before a response: {}", head.error().message);
    co_return std::move(head).error();
  }
  if (head->status != 200) {
    std::string body;
    for (;;) {
      auto piece = co_await stream->read();
      if (!piece || piece->empty() || body.size() > kMaxErrorBody) break;
      body += *piece;
    }
    const std::string described = describeGeminiError(body);
    spdlog::warn("gemini: HTTP {} ({})", head->status,
                 described.empty() ? "no error body" : described);
    Error e = Error::make(Errc::upstream_error, "the model provider refused the request (HTTP " +
                                                    std::to_string(head->status) + ")");
    e.providerStatus = head->status;
    co_return e;
  }
  co_return std::unique_ptr<GenerationStream>(
      std::make_unique<GeminiStream>(std::move(stream), options_.maxFrameBytes));
}

}  // namespace atelier::llm
