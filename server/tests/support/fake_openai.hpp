// A fake OpenAI-compatible chat server for tests: POST /v1/chat/completions answered with
// real chat.completion.chunk frames, a usage chunk and `data: [DONE]`, as a ModelScript
// says; every request is recorded.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "support/fake_model.hpp"
#include "support/scripted_server.hpp"

namespace atelier::test {

class FakeOpenAi final : public FakeModel {
 public:
  static constexpr const char* kApiKey = "sk-local";

  FakeOpenAi();
  std::string baseUrl() const override {
    return "http://127.0.0.1:" + std::to_string(server_.port());
  }
  // OPENAI_BASE_URL is the base with /v1, as operators write it.
  std::map<std::string, std::string> envWithBaseUrl(const std::string& baseUrl) const override;
  void script(ModelScript s) override;
  std::vector<ScriptedRequest> requests() const;
  std::vector<ModelRequest> modelRequests() const override;
  static ModelRequest decode(const ScriptedRequest& r);

 private:
  void handle(ScriptedConnection& c, const ScriptedRequest& r);

  mutable std::mutex mu_;
  ModelScript script_;
  std::vector<ScriptedRequest> requests_;
  ScriptedServer server_;  // last: stops before the members it uses
};

}  // namespace atelier::test
