#include "llm/gemini_provider.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <deque>

#include "llm/provider_http.hpp"

namespace atelier::llm {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Gemini's frames, read by one parser for the whole stream: its buffers, the frame's and the
// decoded frame's strings are reused from chunk to chunk.
FrameDecoder geminiDecoder() {
  struct State {
    GeminiFrameParser parser;
    GeminiFrame frame;
  };
  return
      [state = std::make_shared<State>()](std::string_view data, DecodedFrame& d) -> Result<void> {
        GeminiFrame& f = state->frame;
        if (auto parsed = state->parser.parse(data, f); !parsed) return parsed;
        std::swap(d.text, f.text);  // swapped, not moved: both keep their capacity
        d.finishReason = !f.finishReason.empty() ? f.finishReason : f.blockReason;
        d.usage = f.usage;
        d.end = false;
        d.failure.clear();
        if (f.errorCode) d.failure = std::to_string(*f.errorCode) + " " + f.errorStatus;
        return {};
      };
}

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
  auto stream = co_await openProviderStream(http_, std::move(req), "gemini", describeGeminiError);
  if (!stream) co_return std::move(stream).error();
  co_return std::unique_ptr<GenerationStream>(std::make_unique<SseGenerationStream>(
      std::move(stream).value(), options_.maxFrameBytes, "gemini", geminiDecoder()));
}

}  // namespace atelier::llm
