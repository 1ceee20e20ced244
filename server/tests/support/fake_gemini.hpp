// A fake Gemini API for tests: POST /v1beta/models/{model}:streamGenerateContent?alt=sse
// answered with real SSE frames (GenerateContentResponse JSON), scripted per request, and
// every request recorded so tests can assert what was sent.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_model.hpp"
#include "support/scripted_server.hpp"

namespace atelier::test {

using GeminiScript = ModelScript;

struct RecordedGeminiRequest {
  std::string path;
  std::string apiKey;
  boost::json::value body;
};

class FakeGemini final : public FakeModel {
 public:
  static constexpr const char* kApiKey = "fake-gemini-key";

  FakeGemini();
  std::string baseUrl() const override {
    return "http://127.0.0.1:" + std::to_string(server_.port());
  }
  std::map<std::string, std::string> envWithBaseUrl(const std::string& baseUrl) const override;
  // The script for requests from now on (or a function choosing one per request).
  void script(GeminiScript s) override;
  void scriptBy(std::function<GeminiScript(const RecordedGeminiRequest&)> chooser);
  std::vector<RecordedGeminiRequest> requests() const;
  std::vector<ModelRequest> modelRequests() const override;
  // A recorded request in the neutral terms.
  static ModelRequest decode(const RecordedGeminiRequest& r);

 private:
  void handle(ScriptedConnection& c, const ScriptedRequest& r);

  mutable std::mutex mu_;
  std::function<GeminiScript(const RecordedGeminiRequest&)> chooser_;
  std::vector<RecordedGeminiRequest> requests_;
  ScriptedServer server_;  // last: stops before the members it uses
};

}  // namespace atelier::test
