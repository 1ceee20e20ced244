#include "support/fake_openai.hpp"

#include <sys/socket.h>

#include <boost/json.hpp>

namespace atelier::test {

namespace json = boost::json;

namespace {

std::string chunk(const std::string& content, const std::string& finish = "") {
  json::object delta;
  if (!content.empty()) delta["content"] = content;
  json::object choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish.empty() ? json::value(nullptr) : json::value(finish);
  return "data: " +
         json::serialize(json::object{{"id", "chatcmpl-1"},
                                      {"object", "chat.completion.chunk"},
                                      {"model", "local-model"},
                                      {"choices", json::array{std::move(choice)}}}) +
         "\n\n";
}

}  // namespace

FakeOpenAi::FakeOpenAi()
    : server_([this](ScriptedConnection& c, const ScriptedRequest& r) { handle(c, r); }) {}

void FakeOpenAi::mode(OpenAiMode m) {
  std::lock_guard lock(mu_);
  mode_ = m;
}

std::vector<ScriptedRequest> FakeOpenAi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeOpenAi::handle(ScriptedConnection& c, const ScriptedRequest& r) {
  OpenAiMode m;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    m = mode_;
  }
  if (m == OpenAiMode::http429) {
    c.respond(
        429,
        R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})",
        "application/json");
    return;
  }
  c.startChunked(200, "text/event-stream");
  c.chunk("data: " +
          json::serialize(json::object{
              {"choices", json::array{json::object{
                              {"index", 0}, {"delta", json::object{{"role", "assistant"}}}}}}}) +
          "\n\n");
  c.chunk(chunk("Neon "));
  if (m == OpenAiMode::dropMidStream) {
    ::shutdown(c.fd(), SHUT_RDWR);
    return;
  }
  if (m == OpenAiMode::errorFrame) {
    c.chunk(R"(data: {"error":{"message":"overloaded","type":"server_error"}})"
            "\n\n");
    c.endChunked();
    return;
  }
  c.chunk(chunk("koi."));
  c.chunk(chunk("", "length"));
  if (m == OpenAiMode::noDone) {
    c.endChunked();  // a server that ends without [DONE] after a finish reason
    return;
  }
  c.chunk(
      R"(data: {"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":2,"total_tokens":23}})"
      "\n\n");
  c.chunk("data: [DONE]\n\n");
  c.endChunked();
}

}  // namespace atelier::test
