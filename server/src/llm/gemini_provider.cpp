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

Result<DecodedFrame> decodeGemini(std::string_view data) {
  auto frame = parseGeminiFrame(data);
  if (!frame) return std::move(frame).error();
  DecodedFrame d;
  d.text = std::move(frame->text);
  d.finishReason = !frame->finishReason.empty() ? frame->finishReason : frame->blockReason;
  d.usage = frame->usage;
  if (frame->errorCode) d.failure = std::to_string(*frame->errorCode) + " " + frame->errorStatus;
  return d;
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
      std::move(stream).value(), options_.maxFrameBytes, "gemini", decodeGemini));
}

}  // namespace atelier::llm
