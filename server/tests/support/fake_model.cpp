#include "support/fake_model.hpp"

#include <sys/socket.h>

#include <cmath>
#include <thread>

namespace atelier::test {

std::int64_t estimateTokens(std::string_view text) {
  std::int64_t chars = 0;
  for (const char c : text)
    chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(chars) / 4.0 * 1.3));
}

std::int64_t estimateOf(const ModelRequest& r) {
  std::int64_t total = r.system.empty() ? 0 : estimateTokens(r.system);
  for (const auto& t : r.turns)
    total += (t.text.empty() ? 0 : estimateTokens(t.text)) + kImageTokens * t.images;
  return total;
}

bool playScript(ScriptedConnection& c, const ModelScript& s, const ModelWire& wire,
                const ModelRequest& request) {
  if (s.stallBeforeHead) return c.peerClosedWithin(std::chrono::seconds(30));
  if (s.httpError != 0)
    return !c.respond(s.httpError, wire.errorBody(s.httpError), "application/json");
  Billing b;
  b.prompt = s.promptTokens < 0 ? estimateOf(request) : s.promptTokens;
  b.completion = static_cast<std::int64_t>(s.chunks.size());
  if (s.fillMaxOutput && request.maxOutputTokens > 0) b.completion = request.maxOutputTokens;

  c.startChunked(200, "text/event-stream");
  auto frame = [&](const std::string& payload) {
    const std::string text = "data: " + payload + wire.separator();
    if (s.splitWrites == 0) return c.chunk(text);
    for (std::size_t at = 0; at < text.size(); at += s.splitWrites) {
      if (!c.chunk(text.substr(at, s.splitWrites))) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  };
  auto frames = [&](const std::vector<std::string>& payloads) {
    for (const auto& p : payloads) {
      if (!frame(p)) return false;
    }
    return true;
  };
  if (!s.rawFrame.empty()) return !frame(s.rawFrame) || !c.endChunked();
  if (!s.blockReason.empty()) return !frames(wire.blocked(s, b)) || !c.endChunked();
  if (s.endlessFrameBytes > 0) {
    c.chunk("data: " + wire.endlessTextPrefix());
    const std::string block(std::size_t{64} * 1024, 'x');
    for (std::size_t sent = 0; sent < s.endlessFrameBytes && c.chunk(block); sent += block.size()) {
    }
    return !c.endChunked();
  }
  for (std::size_t i = 0; i < s.chunks.size(); ++i) {
    if (static_cast<int>(i) == s.dropAfter) {
      ::shutdown(c.fd(), SHUT_RDWR);
      return false;
    }
    if (static_cast<int>(i) == s.stallAfter) return c.peerClosedWithin(std::chrono::seconds(30));
    if (i == 0 && !frames(wire.opening())) return true;
    if (s.delay.count() > 0) std::this_thread::sleep_for(s.delay);
    if (!frame(wire.textFrame(s, s.chunks[i], i + 1 == s.chunks.size(), b))) return true;
  }
  if (!s.rawFrameAfterChunks.empty()) {
    if (!frame(s.rawFrameAfterChunks)) return true;
  } else if (!frames(wire.closing(s, b))) {
    return true;
  }
  return !c.endChunked();
}

}  // namespace atelier::test
