#include "llm/gemini_frame.hpp"

#include <gtest/gtest.h>

namespace atelier::llm {
namespace {

TEST(GeminiFrame, TextFromEveryNonThoughtPart) {
  auto f = parseGeminiFrame(R"({"candidates":[{"content":{"role":"model","parts":[
      {"text":"thinking…","thought":true},{"text":"Hello, "},{"thoughtSignature":"abc"},{"text":"world ✨"}]},
      "index":0}],"modelVersion":"gemini-2.5-flash"})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "Hello, world ✨");
  EXPECT_EQ(f->finishReason, "");
  EXPECT_FALSE(f->usage);
}

TEST(GeminiFrame, FinishReasonAndUsageIncludingThoughts) {
  auto f = parseGeminiFrame(
      R"({"candidates":[{"content":{"parts":[{"text":"."}]},"finishReason":"MAX_TOKENS"}],
      "usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":30,"thoughtsTokenCount":8,"totalTokenCount":50}})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->finishReason, "MAX_TOKENS");
  ASSERT_TRUE(f->usage);
  EXPECT_EQ(f->usage->prompt, 12);
  EXPECT_EQ(f->usage->completion, 38);
  EXPECT_EQ(f->usage->total, 50);
}

TEST(GeminiFrame, ABlockedPrompt) {
  auto f = parseGeminiFrame(
      R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->blockReason, "SAFETY");
  EXPECT_EQ(f->text, "");
  EXPECT_EQ(f->usage->total, 9);
}

TEST(GeminiFrame, AnErrorObjectKeepsCodeAndStatusOnly) {
  const std::string body =
      R"({"error":{"code":429,"message":"Quota exceeded for key AIza-secret","status":"RESOURCE_EXHAUSTED"}})";
  auto f = parseGeminiFrame(body);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->errorCode, 429);
  EXPECT_EQ(f->errorStatus, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(describeGeminiError(body), "429 RESOURCE_EXHAUSTED");
  EXPECT_EQ(describeGeminiError(body).find("secret"), std::string::npos);
  EXPECT_EQ(describeGeminiError("<html>bad gateway</html>"), "");
}

// Read in one pass, the frame is what the parsed document says: a key given twice counts
// with its last value, an error object outranks everything else, wrong types are ignored or
// malformed exactly where the document reading ignores or refuses them.
TEST(GeminiFrame, RepeatedKeysCountWithTheirLastValue) {
  auto f = parseGeminiFrame(
      R"({"candidates":[{"content":{"parts":[{"text":"a"}]},"content":{"parts":[
      {"text":"b","text":"c"},{"text":"d","thought":true,"thought":false},7,{"text":{"x":1}}]},
      "finishReason":1,"finishReason":"STOP"},{"ignored":true},3],
      "usageMetadata":{"promptTokenCount":3,"promptTokenCount":4.5,"candidatesTokenCount":2}})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "cd");
  EXPECT_EQ(f->finishReason, "STOP");
  ASSERT_TRUE(f->usage);
  EXPECT_EQ(f->usage->prompt, 0);  // 4.5 is not an integer
  EXPECT_EQ(f->usage->completion, 2);
  EXPECT_EQ(f->usage->total, 2);
  auto later = parseGeminiFrame(
      R"({"candidates":{},"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":{"totalTokenCount":5},"usageMetadata":1})");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->text, "x");
  EXPECT_FALSE(later->usage);
}

TEST(GeminiFrame, AnErrorObjectOutranksTheRestOfTheFrame) {
  auto f = parseGeminiFrame(
      R"({"candidates":{},"error":{"code":503,"status":"UNAVAILABLE"},"promptFeedback":{"blockReason":"OTHER"}})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->errorCode, 503);
  EXPECT_EQ(f->errorStatus, "UNAVAILABLE");
  EXPECT_EQ(f->blockReason, "");
  EXPECT_FALSE(parseGeminiFrame(R"({"error":{"code":1},"error":[]})").ok());
  auto nested = parseGeminiFrame(
      R"({"x":{"error":"no","candidates":[{"content":{"parts":[{"text":"deep"}]}}]},"candidates":[]})");
  ASSERT_TRUE(nested.ok());  // keys of the same names deeper down are someone else's
  EXPECT_FALSE(nested->errorCode);
  EXPECT_EQ(nested->text, "");
}

TEST(GeminiFrame, EscapedTextIsDecoded) {
  auto f = parseGeminiFrame(
      R"({"candidates":[{"content":{"parts":[{"text":"\u00e9\n\"q\" \ud83c\udfa8"},{"thought":true,"text":"hidden"}]},"finishReason":"MAX_\u0054OKENS"}]})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "é\n\"q\" 🎨");
  EXPECT_EQ(f->finishReason, "MAX_TOKENS");
}

TEST(GeminiFrame, MalformedFramesAreUpstreamErrors) {
  for (const char* bad :
       {"", "not json", "[1,2]", R"({"candidates":{}})", R"({"candidates":[1]})",
        R"({"error":"x"})", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"unterminated",
        R"("a string")", "42", "null", R"({"candidates":[[]]})", R"({"candidates":null})",
        R"({} {})", R"({"a":1} trailing)", R"({"a":/*c*/1})"}) {
    auto f = parseGeminiFrame(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, Errc::upstream_error);
  }
  // Deeper than the parser's 32 levels.
  const std::string deep = R"({"candidates":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_FALSE(parseGeminiFrame(deep).ok());
  const std::string fine = R"({"x":)" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(parseGeminiFrame(fine).ok());
}

}  // namespace
}  // namespace atelier::llm
