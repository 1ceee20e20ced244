// A fake OpenAI-compatible chat server for tests: POST /v1/chat/completions answered with
// real chat.completion.chunk frames, a usage chunk and `data: [DONE]`, in one of a few
// scripted ways; every request is recorded.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "support/scripted_server.hpp"

namespace atelier::test {

// What the fake does with the next request.
enum class OpenAiMode { normal, http429, dropMidStream, errorFrame, noDone };

class FakeOpenAi {
 public:
  FakeOpenAi();
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  void mode(OpenAiMode m);
  std::vector<ScriptedRequest> requests() const;

 private:
  void handle(ScriptedConnection& c, const ScriptedRequest& r);

  mutable std::mutex mu_;
  OpenAiMode mode_ = OpenAiMode::normal;
  std::vector<ScriptedRequest> requests_;
  ScriptedServer server_;  // last: stops before the members it uses
};

}  // namespace atelier::test
