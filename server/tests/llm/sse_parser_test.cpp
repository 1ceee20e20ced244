#include "llm/sse_parser.hpp"

#include <gtest/gtest.h>

namespace atelier::llm {
namespace {

std::vector<SseEvent> parseAll(std::string_view text, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    EXPECT_TRUE(p.feed(text.substr(i, piece), out).ok());
  }
  return out;
}

TEST(SseParser, EventsEndWithABlankLineWhateverTheLineEnding) {
  for (const char* text :
       {"data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\n\r\n", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n",
        "data: {\"a\":1}\r\rdata: {\"b\":2}\r\r"}) {
    auto events = parseAll(text, 1000);
    ASSERT_EQ(events.size(), 2u) << text;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].data, "{\"b\":2}");
  }
}

TEST(SseParser, AFrameSplitAtEveryByteBoundaryIsReassembled) {
  const std::string text =
      "event: start\r\nid: 7\r\ndata: héllo 🎨\r\ndata: second line\r\n\r\n: "
      "keep-alive\r\n\r\ndata: x\n\n";
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    auto events = parseAll(text, piece);
    ASSERT_EQ(events.size(), 2u) << "piece " << piece;
    EXPECT_EQ(events[0].event, "start");
    EXPECT_EQ(events[0].id, "7");
    EXPECT_EQ(events[0].data, "héllo 🎨\nsecond line");
    EXPECT_EQ(events[1].data, "x");
  }
}

TEST(SseParser, CommentsAndFieldlessBlocksProduceNoEvent) {
  auto events = parseAll(": ping\n\n:\n\nretry: 100\n\n", 3);
  EXPECT_TRUE(events.empty());
}

TEST(SseParser, AnUnfinishedEventIsVisible) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("data: {\"partial\"", out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(p.midEvent());
  ASSERT_TRUE(p.feed(":1}\n\n", out).ok());
  EXPECT_FALSE(p.midEvent());
  EXPECT_EQ(out.size(), 1u);
}

TEST(SseParser, AnEndlessEventIsAnErrorNotAGrowingBuffer) {
  SseParser p(1024);
  std::vector<SseEvent> out;
  const std::string chunk(100, 'x');
  Result<void> r;
  ASSERT_TRUE(p.feed("data: ", out).ok());
  for (int i = 0; i < 20 && r.ok(); ++i)
    r = p.feed(chunk, out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_FALSE(p.feed("\n\n", out).ok());  // stays failed
}

}  // namespace
}  // namespace atelier::llm
