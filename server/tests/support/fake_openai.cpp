#include "support/fake_openai.hpp"

#include <boost/json.hpp>

namespace atelier::test {

namespace json = boost::json;

namespace {

// The OpenAI word for one of Gemini's finish reasons.
std::string openAiFinish(const std::string& gemini) {
  if (gemini == "MAX_TOKENS") return "length";
  if (gemini == "SAFETY") return "content_filter";
  return "stop";
}

std::string chunk(const std::string& content, const std::string& finish = "") {
  json::object delta;
  if (!content.empty()) delta["content"] = content;
  json::object choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish.empty() ? json::value(nullptr) : json::value(finish);
  return json::serialize(json::object{{"id", "chatcmpl-1"},
                                      {"object", "chat.completion.chunk"},
                                      {"model", "local-model"},
                                      {"choices", json::array{std::move(choice)}}});
}

std::string usage(std::int64_t prompt, std::int64_t completion) {
  return json::serialize(
      json::object{{"choices", json::array{}},
                   {"usage", json::object{{"prompt_tokens", prompt},
                                          {"completion_tokens", completion},
                                          {"total_tokens", prompt + completion}}}});
}

// The chat-completions streaming format (with stream_options.include_usage).
class OpenAiWire final : public ModelWire {
 public:
  std::string errorBody(int status) const override {
    return json::serialize(json::object{{"error", json::object{{"message", "simulated failure"},
                                                               {"type", "server_error"},
                                                               {"code", status}}}});
  }
  std::vector<std::string> opening() const override {
    return {json::serialize(json::object{
        {"choices", json::array{json::object{{"index", 0},
                                             {"delta", json::object{{"role", "assistant"}}}}}}})};
  }
  std::string textFrame(const ModelScript&, const std::string& text, bool, Billing) const override {
    return chunk(text);
  }
  std::vector<std::string> closing(const ModelScript& s, Billing b) const override {
    std::vector<std::string> out{chunk("", openAiFinish(s.finishReason))};
    if (s.reportUsage) out.push_back(usage(b.prompt, b.completion));
    if (!s.omitEndMarker) out.emplace_back("[DONE]");
    return out;
  }
  std::vector<std::string> blocked(const ModelScript&, Billing b) const override {
    return {chunk("", "content_filter"), usage(b.prompt, 0), "[DONE]"};
  }
  std::string endlessTextPrefix() const override {
    return R"({"choices":[{"index":0,"delta":{"content":")";
  }
};

void addContent(ModelTurn& t, const json::value& content) {
  if (content.is_string()) {
    t.text += std::string(content.as_string());
    return;
  }
  if (!content.is_array()) return;
  for (const auto& part : content.as_array()) {
    if (!part.is_object()) continue;
    const auto& p = part.as_object();
    if (const auto* text = p.if_contains("text"); text && text->is_string())
      t.text += std::string(text->as_string());
    if (p.contains("image_url")) ++t.images;
  }
}

}  // namespace

FakeOpenAi::FakeOpenAi()
    : server_([this](ScriptedConnection& c, const ScriptedRequest& r) { handle(c, r); }) {}

std::map<std::string, std::string> FakeOpenAi::envWithBaseUrl(const std::string& baseUrl) const {
  return {{"LLM_PROVIDER", "openai"},
          {"OPENAI_BASE_URL", baseUrl + "/v1"},
          {"OPENAI_API_KEY", kApiKey},
          {"OPENAI_MODEL", "local-model"}};
}

void FakeOpenAi::script(ModelScript s) {
  std::lock_guard lock(mu_);
  script_ = std::move(s);
}

std::vector<ScriptedRequest> FakeOpenAi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

ModelRequest FakeOpenAi::decode(const ScriptedRequest& r) {
  ModelRequest m;
  if (auto it = r.headers.find("authorization");
      it != r.headers.end() && it->second.rfind("Bearer ", 0) == 0) {
    m.credential = it->second.substr(7);
  }
  boost::system::error_code ec;
  const auto body = json::parse(r.body, ec);
  if (ec || !body.is_object()) return m;
  if (const auto* messages = body.as_object().if_contains("messages");
      messages && messages->is_array()) {
    for (const auto& msg : messages->as_array()) {
      if (!msg.is_object()) continue;
      const auto* role = msg.as_object().if_contains("role");
      const auto* content = msg.as_object().if_contains("content");
      if (role == nullptr || !role->is_string() || content == nullptr) continue;
      if (role->as_string() == "system") {
        ModelTurn t;
        addContent(t, *content);
        m.system += t.text;
        continue;
      }
      ModelTurn t;
      t.role = role->as_string() == "assistant" ? "model" : std::string(role->as_string());
      addContent(t, *content);
      m.turns.push_back(std::move(t));
    }
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (const auto* max = body.as_object().if_contains(key); max && max->is_int64())
      m.maxOutputTokens = max->as_int64();
  }
  return m;
}

std::vector<ModelRequest> FakeOpenAi::modelRequests() const {
  std::vector<ModelRequest> out;
  for (const auto& r : requests())
    out.push_back(decode(r));
  return out;
}

void FakeOpenAi::handle(ScriptedConnection& c, const ScriptedRequest& r) {
  ModelScript s;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    s = script_;
  }
  if (playScript(c, s, OpenAiWire{}, decode(r))) ++cutShort_;
}

}  // namespace atelier::test
