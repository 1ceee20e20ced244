// The relay's wire format between instances (chat/generation_relay.hpp): numbered pieces,
// cut within PostgreSQL's payload limit without splitting a UTF-8 sequence, reassembled into
// whole SSE frames.
#include <gtest/gtest.h>

#include "chat/generation_relay.hpp"

namespace atelier::chat::relay {
namespace {

TEST(RelayWire, PiecesRoundTripAndGarbageIsRefused) {
  const std::string payload = encode(42, 'D', "data: {\"text\":\"hi\"}\n\n");
  const auto p = decode(payload);  // views into `payload`
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, 42u);
  EXPECT_EQ(p->kind, 'D');
  EXPECT_EQ(p->data, "data: {\"text\":\"hi\"}\n\n");
  const std::string beat = encode(7, 'K');
  const auto k = decode(beat);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, 'K');
  EXPECT_TRUE(k->data.empty());
  for (const char* bad : {"", "x D a", "1", "1 ", "1 Z", "1 Dx", "-1 D a", "1  D"})
    EXPECT_FALSE(decode(bad)) << bad;
}

TEST(RelayWire, SplitsNeverCutACodePoint) {
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += i % 3 == 0 ? "猫" : (i % 3 == 1 ? "é" : "🎨");
  for (const std::size_t max : {4u, 5u, 7u, 100u, 7967u}) {
    const auto pieces = splitUtf8(text, max);
    std::string joined;
    for (const auto piece : pieces) {
      EXPECT_LE(piece.size(), max);
      EXPECT_FALSE(piece.empty());
      // Each piece starts on a code point (not a continuation byte).
      EXPECT_NE(static_cast<unsigned char>(piece.front()) & 0xc0, 0x80) << max;
      joined.append(piece);
    }
    EXPECT_EQ(joined, text) << max;
  }
}

TEST(RelayWire, FramesAreTakenWholeAcrossPieces) {
  std::string buffer = "id: a:1\ndata: {\"text\":\"x\"}\n\nid: a:2\nda";
  auto frames = takeFrames(buffer);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "id: a:1\ndata: {\"text\":\"x\"}\n\n");
  EXPECT_EQ(buffer, "id: a:2\nda");
  buffer += "ta: {\"text\":\"y\"}\n\nevent: done\ndata: {}\n\n";
  frames = takeFrames(buffer);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], "event: done\ndata: {}\n\n");
  EXPECT_TRUE(buffer.empty());
}

}  // namespace
}  // namespace atelier::chat::relay
