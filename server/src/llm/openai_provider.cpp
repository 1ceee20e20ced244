#include "llm/openai_provider.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "llm/openai_frame.hpp"
#include "llm/provider_http.hpp"
#include "util/text.hpp"

namespace atelier::llm {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// OpenAI's frames, decoded into one frame kept for the whole stream: its strings and the
// decoded frame's are reused from chunk to chunk.
FrameDecoder openAiDecoder() {
  return [frame = std::make_shared<OpenAiFrame>()](std::string_view data,
                                                   DecodedFrame& d) -> Result<void> {
    OpenAiFrame& f = *frame;
    if (auto parsed = parseOpenAiFrame(data, f); !parsed) return parsed;
    std::swap(d.text, f.text);  // swapped, not moved: both keep their capacity
    d.finishReason = f.finishReason;
    d.usage = f.usage;
    d.end = f.done;
    d.failure.clear();
    if (f.error) d.failure = *f.error;
    return {};
  };
}

}  // namespace

OpenAiProvider::OpenAiProvider(OpenAiOptions options, net::HttpClient& http)
    : options_(std::move(options)), url_(openAiCompletionsUrl(options_.baseUrl)), http_(http) {}

std::string OpenAiProvider::requestBody(const GenerationRequest& request) const {
  json::array messages;
  if (!request.systemInstruction.empty())
    messages.push_back(json::object{{"role", "system"}, {"content", request.systemInstruction}});
  for (const auto& turn : request.contents) {
    const char* role = turn.role == Turn::Role::user ? "user" : "assistant";
    if (turn.images.empty()) {
      messages.push_back(json::object{{"role", role}, {"content", turn.text}});
      continue;
    }
    json::array parts;
    if (!turn.text.empty()) parts.push_back(json::object{{"type", "text"}, {"text", turn.text}});
    for (const auto& img : turn.images) {
      parts.push_back(json::object{
          {"type", "image_url"},
          {"image_url",
           json::object{{"url", "data:" + img.mimeType + ";base64," + img.base64Data}}}});
    }
    messages.push_back(json::object{{"role", role}, {"content", std::move(parts)}});
  }
  json::object body{{"model", options_.model},
                    {"messages", std::move(messages)},
                    {"stream", true},
                    {"stream_options", json::object{{"include_usage", true}}},
                    {"max_tokens", request.maxOutputTokens}};
  return json::serialize(body);
}

asio::awaitable<Result<std::unique_ptr<GenerationStream>>> OpenAiProvider::start(
    GenerationRequest request) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!options_.apiKey.empty())
    req.headers.emplace_back("Authorization", "Bearer " + options_.apiKey);
  req.body = requestBody(request);
  req.connectTimeout = options_.connectTimeout;
  req.idleTimeout = options_.idleTimeout;
  auto stream = co_await openProviderStream(http_, std::move(req), "openai", describeOpenAiError);
  if (!stream) co_return std::move(stream).error();
  co_return std::unique_ptr<GenerationStream>(std::make_unique<SseGenerationStream>(
      std::move(stream).value(), options_.maxFrameBytes, "openai", openAiDecoder()));
}

}  // namespace atelier::llm
