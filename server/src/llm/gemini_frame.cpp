#include "llm/gemini_frame.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "llm/frame_json.hpp"

namespace atelier::llm {

namespace json = boost::json;

std::int64_t intField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  return 0;
}

namespace {

Error malformed() {
  return Error::make(Errc::upstream_error, "the provider sent a malformed frame");
}

}  // namespace

Result<GeminiFrame> parseGeminiFrame(std::string_view text) {
  boost::system::error_code ec;
  FrameJson doc;
  const json::value v = doc.parse(text, ec);
  if (ec || !v.is_object()) return malformed();
  const auto& o = v.as_object();
  GeminiFrame f;
  if (auto it = o.find("error"); it != o.end()) {
    if (!it->value().is_object()) return malformed();
    const auto& e = it->value().as_object();
    f.errorCode = static_cast<int>(intField(e, "code"));
    if (auto s = e.find("status"); s != e.end() && s->value().is_string())
      f.errorStatus = s->value().as_string();
    return f;
  }
  if (auto it = o.find("candidates"); it != o.end()) {
    if (!it->value().is_array()) return malformed();
    const auto& cands = it->value().as_array();
    if (!cands.empty()) {
      if (!cands[0].is_object()) return malformed();
      const auto& cand = cands[0].as_object();
      if (auto c = cand.find("content"); c != cand.end() && c->value().is_object()) {
        const auto& content = c->value().as_object();
        if (auto p = content.find("parts"); p != content.end() && p->value().is_array()) {
          for (const auto& part : p->value().as_array()) {
            if (!part.is_object()) continue;
            const auto& po = part.as_object();
            if (auto th = po.find("thought");
                th != po.end() && th->value().is_bool() && th->value().as_bool())
              continue;
            if (auto t = po.find("text"); t != po.end() && t->value().is_string())
              f.text += t->value().as_string();
          }
        }
      }
      if (auto r = cand.find("finishReason"); r != cand.end() && r->value().is_string()) {
        f.finishReason = r->value().as_string();
      }
    }
  }
  if (auto it = o.find("usageMetadata"); it != o.end() && it->value().is_object()) {
    const auto& u = it->value().as_object();
    TokenUsage usage;
    usage.prompt = intField(u, "promptTokenCount");
    usage.completion = intField(u, "candidatesTokenCount") + intField(u, "thoughtsTokenCount");
    usage.total = intField(u, "totalTokenCount");
    if (usage.total == 0) usage.total = usage.prompt + usage.completion;
    f.usage = usage;
  }
  if (auto it = o.find("promptFeedback"); it != o.end() && it->value().is_object()) {
    const auto& pf = it->value().as_object();
    if (auto b = pf.find("blockReason"); b != pf.end() && b->value().is_string())
      f.blockReason = b->value().as_string();
  }
  return f;
}

std::string describeGeminiError(std::string_view body) {
  auto frame = parseGeminiFrame(body);
  if (!frame || !frame->errorCode) return "";
  return std::to_string(*frame->errorCode) +
         (frame->errorStatus.empty() ? "" : " " + frame->errorStatus);
}

}  // namespace atelier::llm
