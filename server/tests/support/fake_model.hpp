// What every fake model provider offers the tests, in terms of no provider in particular: a
// script for the next replies (text chunks, pacing, faults, usage) and the requests Atelier
// sent, decoded from the provider's own wire format. The streaming suite runs once per
// provider through this interface (app/provider_app_fixture.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/scripted_server.hpp"

namespace atelier::test {

// How the fake answers. Finish reasons are Gemini's words (STOP, MAX_TOKENS, SAFETY); each
// fake sends its provider's equivalent.
struct ModelScript {
  std::vector<std::string> chunks{"Hello", ", ", "world!"};  // reply text, one frame each
  std::chrono::milliseconds delay{0};                        // between frames
  int httpError = 0;             // answer this status (with the provider's error body) first
  int dropAfter = -1;            // close the connection after N frames
  int stallAfter = -1;           // go silent after N frames
  bool stallBeforeHead = false;  // never answer at all
  std::string blockReason;       // refuse the prompt for safety (no text)
  std::string finishReason = "STOP";
  std::int64_t promptTokens = 10;  // -1: Atelier's own estimate of the request (exact billing)
  bool fillMaxOutput = false;      // bill the request's whole output budget as the reply
  std::size_t splitWrites = 0;     // write each frame in pieces this small (split code points)
  bool reportUsage = true;
  std::string rawFrame;               // sent verbatim as the first frame's data
  std::string rawFrameAfterChunks;    // sent verbatim after the chunks, instead of the end
  std::size_t endlessFrameBytes = 0;  // send one text frame this long with no end
  bool omitEndMarker = false;         // end without the provider's end marker (OpenAI's [DONE])

  // `n` frames of `piece`, one every `delay`: a reply that takes its time.
  static ModelScript paced(std::size_t n, const std::string& piece,
                           std::chrono::milliseconds delay) {
    ModelScript s;
    s.chunks.assign(n, piece);
    s.delay = delay;
    return s;
  }
};

struct ModelTurn {
  std::string role;  // "user" or "model"
  std::string text;  // the text parts, joined
  int images = 0;
};

// A request as the model saw it.
struct ModelRequest {
  std::string credential;  // the API key sent, however the provider carries it
  std::string system;      // the system instruction / message
  std::vector<ModelTurn> turns;
  std::int64_t maxOutputTokens = 0;  // 0 when none was sent
};

class FakeModel {
 public:
  virtual ~FakeModel() = default;
  virtual std::string baseUrl() const = 0;
  // The server's variables that select this provider with its base URL at `baseUrl`.
  virtual std::map<std::string, std::string> envWithBaseUrl(const std::string& baseUrl) const = 0;
  std::map<std::string, std::string> env() const { return envWithBaseUrl(baseUrl()); }
  // The script for requests from now on.
  virtual void script(ModelScript s) = 0;
  virtual std::vector<ModelRequest> modelRequests() const = 0;
  // Replies whose connection the caller closed before they ended.
  int repliesCutShort() const { return cutShort_.load(); }

 protected:
  std::atomic<int> cutShort_{0};
};

// A provider's streaming wire format, for playScript: the `data:` payloads it sends.
struct Billing {
  std::int64_t prompt = 0;
  std::int64_t completion = 0;  // of the whole reply
};
class ModelWire {
 public:
  virtual ~ModelWire() = default;
  virtual std::string errorBody(int status) const = 0;
  virtual std::vector<std::string> opening() const { return {}; }
  virtual std::string textFrame(const ModelScript& s, const std::string& text, bool last,
                                Billing b) const = 0;
  virtual std::vector<std::string> closing(const ModelScript& s, Billing b) const = 0;
  virtual std::vector<std::string> blocked(const ModelScript& s, Billing b) const = 0;
  // The start of a text frame that the endless-frame fault never finishes.
  virtual std::string endlessTextPrefix() const = 0;
  virtual std::string separator() const { return "\n\n"; }
};

// Answers one request on `c` as `s` says, in `wire`'s format; `request` is what was sent
// (for an exact prompt estimate and the output budget). True when the peer closed the
// connection before the reply ended.
bool playScript(ScriptedConnection& c, const ModelScript& s, const ModelWire& wire,
                const ModelRequest& request);

// Atelier's token estimate of a text (the contract's: ceil(code points / 4 × 1.3)), and what
// an image adds.
std::int64_t estimateTokens(std::string_view text);
constexpr std::int64_t kImageTokens = 258;
// The estimate of a whole request: the system text, every turn's text and images.
std::int64_t estimateOf(const ModelRequest& r);

}  // namespace atelier::test
