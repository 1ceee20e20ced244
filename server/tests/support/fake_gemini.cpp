#include "support/fake_gemini.hpp"

#include <sys/socket.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
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

namespace {

std::int64_t utf8Chars(std::string_view s) {
  std::int64_t n = 0;
  for (const char c : s)
    n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::int64_t estimate(std::string_view text) {
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(utf8Chars(text)) / 4.0 * 1.3));
}

}  // namespace

// The contract's estimate over what was sent: the system instruction and every text part.
std::int64_t FakeGemini::estimateOf(const json::value& body) {
  std::int64_t total = 0;
  auto texts = [&](const json::value& content) {
    if (const auto* parts =
            content.is_object() ? content.as_object().if_contains("parts") : nullptr;
        parts && parts->is_array()) {
      for (const auto& p : parts->as_array()) {
        if (const auto* t = p.is_object() ? p.as_object().if_contains("text") : nullptr;
            t && t->is_string())
          total += estimate(t->as_string());
        if (p.is_object() && p.as_object().contains("inlineData")) total += 258;  // per image
      }
    }
  };
  if (!body.is_object()) return 0;
  if (const auto* si = body.as_object().if_contains("systemInstruction")) texts(*si);
  if (const auto* cs = body.as_object().if_contains("contents"); cs && cs->is_array()) {
    for (const auto& c : cs->as_array())
      texts(c);
  }
  return total;
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
  if (s.stallBeforeHead) {
    c.peerClosedWithin(std::chrono::seconds(30));
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
  if (s.promptTokens < 0) s.promptTokens = estimateOf(rec.body);
  c.startChunked(200, "text/event-stream");
  auto frame = [&c, &s](const json::object& o) {
    const std::string text = "data: " + json::serialize(o) + "\r\n\r\n";
    if (s.splitWrites == 0) return c.chunk(text);
    for (std::size_t at = 0; at < text.size(); at += s.splitWrites) {
      if (!c.chunk(text.substr(at, s.splitWrites))) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  };
  std::int64_t completion = static_cast<std::int64_t>(s.chunks.size());
  if (s.fillMaxOutput) {
    const auto* cfg =
        rec.body.is_object() ? rec.body.as_object().if_contains("generationConfig") : nullptr;
    const auto* max =
        cfg && cfg->is_object() ? cfg->as_object().if_contains("maxOutputTokens") : nullptr;
    if (max && max->is_int64()) completion = max->as_int64();
  }
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
