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

TEST(GeminiFrame, MalformedFramesAreUpstreamErrors) {
  for (const char* bad :
       {"", "not json", "[1,2]", R"({"candidates":{}})", R"({"candidates":[1]})",
        R"({"error":"x"})", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"unterminated"}) {
    auto f = parseGeminiFrame(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, Errc::upstream_error);
  }
}

}  // namespace
}  // namespace atelier::llm
