#include "llm/sse_parser.hpp"

#include <gtest/gtest.h>

namespace atelier::llm {
namespace {

std::vector<SseEvent> parseAll(std::string_view text, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    EXPECT_TRUE(p.feed(text.substr(i, piece)).ok());
    out.insert(out.end(), p.events().begin(), p.events().end());
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
  ASSERT_TRUE(p.feed("data: {\"partial\"").ok());
  EXPECT_TRUE(p.events().empty());
  EXPECT_TRUE(p.midEvent());
  ASSERT_TRUE(p.feed(":1}\n\n").ok());
  EXPECT_FALSE(p.midEvent());
  ASSERT_EQ(p.events().size(), 1u);
  EXPECT_EQ(p.events()[0].data, "{\"partial\":1}");
}

// The events' strings are reused from feed to feed: nothing of an earlier event may show
// through in a later one that lacks the field, however the events fall into reads.
TEST(SseParser, ReusedEventsCarryNothingOfTheEarlierOnes) {
  SseParser p;
  ASSERT_TRUE(p.feed("event: start\nid: 1\ndata: a much longer first payload\n\n"
                     "event: other\ndata: b\n\n")
                  .ok());
  ASSERT_EQ(p.events().size(), 2u);
  ASSERT_TRUE(p.feed("data: c\n\n").ok());
  ASSERT_EQ(p.events().size(), 1u);
  EXPECT_EQ(p.events()[0].data, "c");
  EXPECT_EQ(p.events()[0].event, "");
  EXPECT_EQ(p.events()[0].id, "");
  ASSERT_TRUE(p.feed("data: d\n\ndata: e\ndata: f\n\nid: 9\ndata: g\n\n").ok());
  ASSERT_EQ(p.events().size(), 3u);
  EXPECT_EQ(p.events()[0].data, "d");
  EXPECT_EQ(p.events()[0].event, "");
  EXPECT_EQ(p.events()[1].data, "e\nf");
  EXPECT_EQ(p.events()[1].id, "");
  EXPECT_EQ(p.events()[2].data, "g");
  EXPECT_EQ(p.events()[2].id, "9");
  ASSERT_TRUE(p.feed(": only a comment\n\n").ok());
  EXPECT_TRUE(p.events().empty());
}

TEST(SseParser, AnEndlessEventIsAnErrorNotAGrowingBuffer) {
  SseParser p(1024);
  const std::string chunk(100, 'x');
  Result<void> r;
  ASSERT_TRUE(p.feed("data: ").ok());
  for (int i = 0; i < 20 && r.ok(); ++i)
    r = p.feed(chunk);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream_error);
  EXPECT_FALSE(p.feed("\n\n").ok());  // stays failed
}

}  // namespace
}  // namespace atelier::llm
