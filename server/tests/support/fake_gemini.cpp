#include "support/fake_gemini.hpp"

#include <sys/socket.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

namespace atelier::test {

namespace json = boost::json;

FakeGemini::FakeGemini()
    : chooser_([](const RecordedGeminiRequest&) { return GeminiScript{}; }),
      server_([this](ScriptedConnection& c, const ScriptedRequest& r) { handle(c, r); }) {}

void FakeGemini::script(GeminiScript s) {
  std::lock_guard lock(mu_);
  chooser_ = [s](const RecordedGeminiRequest&) { return s; };
}

void FakeGemini::scriptBy(std::function<GeminiScript(const RecordedGeminiRequest&)> chooser) {
  std::lock_guard lock(mu_);
  chooser_ = std::move(chooser);
}

std::vector<RecordedGeminiRequest> FakeGemini::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeGemini::handle(ScriptedConnection& c, const ScriptedRequest& r) {
  RecordedGeminiRequest rec;
  rec.path = r.target;
  if (auto it = r.headers.find("x-goog-api-key"); it != r.headers.end()) rec.apiKey = it->second;
  boost::system::error_code ec;
  rec.body = json::parse(r.body, ec);
  GeminiScript s;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(rec);
    s = chooser_(rec);
  }
  if (rec.apiKey != kApiKey) {
    c.respond(
        400, R"({"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}})",
        "application/json");
    return;
  }
  if (s.httpError) {
    c.respond(s.httpError,
              json::serialize(json::object{{"error", json::object{{"code", s.httpError},
                                                                  {"message", "simulated failure"},
                                                                  {"status", "SIMULATED"}}}}),
              "application/json");
    return;
  }
  c.startChunked(200, "text/event-stream");
  auto frame = [&c](const json::object& o) {
    return c.chunk("data: " + json::serialize(o) + "\r\n\r\n");
  };
  const std::int64_t completion = static_cast<std::int64_t>(s.chunks.size());
  auto usage = [&](bool done) {
    return json::object{{"promptTokenCount", s.promptTokens},
                        {"candidatesTokenCount", done ? completion : 0},
                        {"totalTokenCount", s.promptTokens + (done ? completion : 0)}};
  };
  if (!s.blockReason.empty()) {
    frame({{"promptFeedback", json::object{{"blockReason", s.blockReason}}},
           {"usageMetadata", usage(false)}});
    c.endChunked();
    return;
  }
  if (!s.rawFrame.empty()) {
    c.chunk("data: " + s.rawFrame + "\r\n\r\n");
    c.endChunked();
    return;
  }
  if (s.endlessFrameBytes > 0) {
    c.chunk("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"");
    const std::string block(64 * 1024, 'x');
    for (std::size_t sent = 0; sent < s.endlessFrameBytes && c.chunk(block); sent += block.size()) {
    }
    c.endChunked();
    return;
  }
  for (std::size_t i = 0; i < s.chunks.size(); ++i) {
    if (static_cast<int>(i) == s.dropAfter) {
      ::shutdown(c.fd(), SHUT_RDWR);
      return;
    }
    if (static_cast<int>(i) == s.stallAfter) {
      c.peerClosedWithin(std::chrono::seconds(30));
      return;
    }
    if (s.delay.count() > 0) std::this_thread::sleep_for(s.delay);
    const bool last = i + 1 == s.chunks.size();
    json::object cand{
        {"content", json::object{{"parts", json::array{json::object{{"text", s.chunks[i]}}}},
                                 {"role", "model"}}},
        {"index", 0}};
    if (last) cand["finishReason"] = s.finishReason;
    json::object o{{"candidates", json::array{cand}}, {"modelVersion", "fake-gemini"}};
    if (s.reportUsage) o["usageMetadata"] = usage(last);
    if (!frame(o)) return;
  }
  c.endChunked();
}

}  // namespace atelier::test
