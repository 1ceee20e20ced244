#include "llm/openai_frame.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "llm/frame_json.hpp"
#include "util/text.hpp"

namespace atelier::llm {

namespace json = boost::json;

namespace {

// Into `out` (assigned: its capacity kept).
void mapFinishReason(std::string_view r, std::string& out) {
  if (r == "stop") {
    out.assign("STOP");
  } else if (r == "length") {
    out.assign("MAX_TOKENS");
  } else if (r == "content_filter") {
    out.assign("SAFETY");
  } else {
    out.assign(r);
    for (char& c : out)
      c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
}

}  // namespace

Result<OpenAiFrame> parseOpenAiFrame(std::string_view data) {
  OpenAiFrame f;
  if (auto parsed = parseOpenAiFrame(data, f); !parsed) return std::move(parsed).error();
  return f;
}

Result<void> parseOpenAiFrame(std::string_view data, OpenAiFrame& f) {
  f.done = false;
  f.text.clear();
  f.finishReason.clear();
  f.usage.reset();
  f.error.reset();
  if (trim(data) == "[DONE]") {
    f.done = true;
    return {};
  }
  boost::system::error_code ec;
  FrameJson doc;
  const json::value v = doc.parse(data, ec);
  if (ec || !v.is_object()) {
    return Error::make(Errc::upstream_error, "the model provider sent a malformed frame");
  }
  const auto& o = v.as_object();
  if (const auto* err = o.if_contains("error"); err && !err->is_null()) {
    std::string what = "error";
    if (err->is_object()) {
      const auto& e = err->as_object();
      if (const auto* t = e.if_contains("type"); t && t->is_string()) what = t->as_string();
      if (const auto* c = e.if_contains("code"); c && c->is_string())
        what.append(": ").append(c->as_string());
    }
    f.error = what;
    return {};
  }
  if (const auto* choices = o.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& ch : choices->as_array()) {
      if (!ch.is_object()) continue;
      const auto& c = ch.as_object();
      if (const auto* index = c.if_contains("index");
          index && index->is_int64() && index->as_int64() != 0)
        continue;  // one reply only
      if (const auto* delta = c.if_contains("delta"); delta && delta->is_object()) {
        if (const auto* content = delta->as_object().if_contains("content");
            content && content->is_string()) {
          f.text += content->as_string();
        }
      }
      if (const auto* fr = c.if_contains("finish_reason"); fr && fr->is_string())
        mapFinishReason(fr->as_string(), f.finishReason);
    }
  } else if (!o.contains("usage")) {
    return Error::make(Errc::upstream_error, "the model provider sent a frame that is no chunk");
  }
  if (const auto* u = o.if_contains("usage"); u && u->is_object()) {
    const auto& usage = u->as_object();
    TokenUsage t;
    t.prompt = intField(usage, "prompt_tokens");
    t.completion = intField(usage, "completion_tokens");
    t.total = intField(usage, "total_tokens");
    if (t.total == 0) t.total = t.prompt + t.completion;
    f.usage = t;
  }
  return {};
}

std::string describeOpenAiError(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const auto* err = !ec && v.is_object() ? v.as_object().if_contains("error") : nullptr;
  if (err == nullptr || !err->is_object()) return {};
  std::string out;
  if (const auto* t = err->as_object().if_contains("type"); t && t->is_string())
    out = t->as_string();
  if (const auto* m = err->as_object().if_contains("message"); m && m->is_string()) {
    if (!out.empty()) out += ": ";
    out += std::string_view(m->as_string()).substr(0, 200);
  }
  return out;
}

std::string openAiCompletionsUrl(std::string_view baseUrl) {
  std::string base(baseUrl);
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  const bool hasV1 = base.size() >= 3 && base.substr(base.size() - 3) == "/v1";
  if (!hasV1) base += "/v1";
  base += "/chat/completions";
  return base;
}

}  // namespace atelier::llm
