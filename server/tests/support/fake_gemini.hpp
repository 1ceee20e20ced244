// A fake Gemini API for tests: POST /v1beta/models/{model}:streamGenerateContent?alt=sse
// answered with real SSE frames (GenerateContentResponse JSON), scripted per request, and
// every request recorded so tests can assert what was sent.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/scripted_server.hpp"

namespace atelier::test {

struct GeminiScript {
  std::vector<std::string> chunks{"Hello", ", ", "world!"};  // reply text, one frame each
  std::chrono::milliseconds delay{0};                        // between frames
  int httpError = 0;                                         // answer this status before streaming
  int dropAfter = -1;                                        // close the connection after N frames
  int stallAfter = -1;                                       // go silent after N frames
  bool stallBeforeHead = false;                              // never answer at all
  std::string blockReason;                                   // answer a blocked prompt
  std::string finishReason = "STOP";
  std::int64_t promptTokens = 10;  // -1: Atelier's own estimate of the request (exact billing)
  bool fillMaxOutput = false;      // bill the request's whole maxOutputTokens as the reply
  std::size_t splitWrites = 0;     // write each frame in pieces this small (split code points)
  bool reportUsage = true;
  std::string rawFrame;  // sent verbatim as the first frame's data (malformed-frame tests)
  std::size_t endlessFrameBytes = 0;  // send one frame this long with no end (oversize tests)
};

struct RecordedGeminiRequest {
  std::string path;
  std::string apiKey;
  boost::json::value body;
};

class FakeGemini {
 public:
  static constexpr const char* kApiKey = "fake-gemini-key";

  FakeGemini();
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  // The script for requests from now on (or a function choosing one per request).
  void script(GeminiScript s);
  void scriptBy(std::function<GeminiScript(const RecordedGeminiRequest&)> chooser);
  std::vector<RecordedGeminiRequest> requests() const;
  // Atelier's token estimate of a request body (system instruction + every text part).
  static std::int64_t estimateOf(const boost::json::value& body);

 private:
  void handle(ScriptedConnection& c, const ScriptedRequest& r);

  mutable std::mutex mu_;
  std::function<GeminiScript(const RecordedGeminiRequest&)> chooser_;
  std::vector<RecordedGeminiRequest> requests_;
  ScriptedServer server_;  // last: stops before the members it uses
};

}  // namespace atelier::test
