#include "support/fake_gemini.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace atelier::test {

namespace json = boost::json;

namespace {

// Gemini's streamGenerateContent frames.
class GeminiWire final : public ModelWire {
 public:
  std::string errorBody(int status) const override {
    return json::serialize(json::object{{"error", json::object{{"code", status},
                                                               {"message", "simulated failure"},
                                                               {"status", "SIMULATED"}}}});
  }
  std::string textFrame(const ModelScript& s, const std::string& text, bool last,
                        Billing b) const override {
    json::object cand{{"content", json::object{{"parts", json::array{json::object{{"text", text}}}},
                                               {"role", "model"}}},
                      {"index", 0}};
    if (last) cand["finishReason"] = s.finishReason;
    json::object o{{"candidates", json::array{cand}}, {"modelVersion", "fake-gemini"}};
    if (s.reportUsage) o["usageMetadata"] = usage(b, last);
    return json::serialize(o);
  }
  std::vector<std::string> closing(const ModelScript&, Billing) const override { return {}; }
  std::vector<std::string> blocked(const ModelScript& s, Billing b) const override {
    return {json::serialize(
        json::object{{"promptFeedback", json::object{{"blockReason", s.blockReason}}},
                     {"usageMetadata", usage(b, false)}})};
  }
  std::string endlessTextPrefix() const override {
    return R"({"candidates":[{"content":{"parts":[{"text":")";
  }
  std::string separator() const override { return "\r\n\r\n"; }

 private:
  // Gemini repeats the running usage in every frame; the reply's share comes with the last.
  static json::object usage(Billing b, bool done) {
    const std::int64_t completion = done ? b.completion : 0;
    return {{"promptTokenCount", b.prompt},
            {"candidatesTokenCount", completion},
            {"totalTokenCount", b.prompt + completion}};
  }
};

std::string joinedTexts(const json::value& content, int* images) {
  std::string out;
  const auto* parts = content.is_object() ? content.as_object().if_contains("parts") : nullptr;
  if (parts == nullptr || !parts->is_array()) return out;
  for (const auto& p : parts->as_array()) {
    if (!p.is_object()) continue;
    if (const auto* t = p.as_object().if_contains("text"); t && t->is_string())
      out += std::string(t->as_string());
    if (images != nullptr && p.as_object().contains("inlineData")) ++*images;
  }
  return out;
}

}  // namespace

FakeGemini::FakeGemini()
    : chooser_([](const RecordedGeminiRequest&) { return GeminiScript{}; }),
      server_([this](ScriptedConnection& c, const ScriptedRequest& r) { handle(c, r); }) {}

std::map<std::string, std::string> FakeGemini::envWithBaseUrl(const std::string& baseUrl) const {
  return {
      {"GEMINI_API_KEY", kApiKey}, {"GEMINI_BASE_URL", baseUrl}, {"GEMINI_MODEL", "gemini-test"}};
}

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

ModelRequest FakeGemini::decode(const RecordedGeminiRequest& r) {
  ModelRequest m;
  m.credential = r.apiKey;
  if (!r.body.is_object()) return m;
  const auto& body = r.body.as_object();
  if (const auto* si = body.if_contains("systemInstruction")) m.system = joinedTexts(*si, nullptr);
  if (const auto* cs = body.if_contains("contents"); cs && cs->is_array()) {
    for (const auto& c : cs->as_array()) {
      ModelTurn t;
      if (const auto* role = c.is_object() ? c.as_object().if_contains("role") : nullptr;
          role && role->is_string())
        t.role = std::string(role->as_string());
      t.text = joinedTexts(c, &t.images);
      m.turns.push_back(std::move(t));
    }
  }
  if (const auto* cfg = body.if_contains("generationConfig"); cfg && cfg->is_object()) {
    if (const auto* max = cfg->as_object().if_contains("maxOutputTokens"); max && max->is_int64())
      m.maxOutputTokens = max->as_int64();
  }
  return m;
}

std::vector<ModelRequest> FakeGemini::modelRequests() const {
  std::vector<ModelRequest> out;
  for (const auto& r : requests())
    out.push_back(decode(r));
  return out;
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
  if (playScript(c, s, GeminiWire{}, decode(rec))) ++cutShort_;
}

}  // namespace atelier::test
