// GeminiProvider against a fake that speaks Gemini's real streaming wire format.
#include "llm/gemini_provider.hpp"

#include <gtest/gtest.h>

#include "support/fake_gemini.hpp"
#include "support/io_loop.hpp"
#include "support/provider_outcome.hpp"
#include "support/server_process.hpp"

namespace atelier::llm {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeGemini;
using test::GeminiScript;

using Outcome = test::ProviderOutcome;

class GeminiProviderTest : public ::testing::Test {
 protected:
  GeminiProviderTest() : http_(std::make_unique<net::HttpClient>(loop_.executor())) {}
  ~GeminiProviderTest() override { http_.reset(); }

  GeminiOptions options(std::string baseUrl) {
    GeminiOptions o;
    o.baseUrl = std::move(baseUrl);
    o.apiKey = FakeGemini::kApiKey;
    o.model = "gemini-test";
    o.idleTimeout = 2s;
    return o;
  }

  Outcome generate(GeminiOptions o, GenerationRequest request = defaultRequest()) {
    GeminiProvider provider(std::move(o), *http_);
    return test::runToEnd(loop_, provider, std::move(request));
  }

  static GenerationRequest defaultRequest() {
    GenerationRequest r;
    r.systemInstruction = "You are Atelier's assistant.";
    r.contents = {{Turn::Role::user, "Paint me a sunset", {}},
                  {Turn::Role::model, "Warm oranges…", {}},
                  {Turn::Role::user, "More purple", {{"image/png", "iVBORw0KGgo="}}}};
    r.maxOutputTokens = 321;
    return r;
  }

  test::IoLoop loop_;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(GeminiProviderTest, StreamsTheReplyAndSendsTheRealRequest) {
  FakeGemini fake;
  auto out = generate(options(fake.baseUrl()));
  ASSERT_FALSE(out.startError) << out.startError->message;
  ASSERT_FALSE(out.streamError) << out.streamError->message;
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"Hello", ", ", "world!"}));
  EXPECT_EQ(out.finishReason, "STOP");
  ASSERT_TRUE(out.usage);
  EXPECT_EQ(out.usage->prompt, 10);
  EXPECT_EQ(out.usage->completion, 3);
  EXPECT_EQ(out.usage->total, 13);

  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
  EXPECT_EQ(reqs[0].apiKey, FakeGemini::kApiKey);
  const auto& body = reqs[0].body.as_object();
  const auto& contents = body.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(contents[0].at("role"), "user");
  EXPECT_EQ(contents[1].at("role"), "model");
  EXPECT_EQ(contents[0].at("parts").at(0).at("text"), "Paint me a sunset");
  EXPECT_EQ(contents[2].at("parts").at(1).at("inlineData").at("mimeType"), "image/png");
  EXPECT_EQ(contents[2].at("parts").at(1).at("inlineData").at("data"), "iVBORw0KGgo=");
  EXPECT_EQ(body.at("systemInstruction").at("parts").at(0).at("text"),
            "You are Atelier's assistant.");
  EXPECT_EQ(body.at("generationConfig").at("maxOutputTokens"), 321);
}

TEST_F(GeminiProviderTest, UnicodeSplitAcrossFramesArrivesIntact) {
  FakeGemini fake;
  GeminiScript s;
  s.chunks = {"🎨 ", "海の", "絵 e", "\u0301", "👩‍🎨!"};
  fake.script(s);
  auto out = generate(options(fake.baseUrl()));
  ASSERT_FALSE(out.streamError);
  EXPECT_EQ(out.text, "🎨 海の絵 e\u0301👩‍🎨!");
}

TEST_F(GeminiProviderTest, AnHttpErrorBeforeStreamingCarriesTheProviderStatusOnly) {
  FakeGemini fake;
  for (int status : {400, 401, 403, 429, 500, 503}) {
    GeminiScript s;
    s.httpError = status;
    fake.script(s);
    auto out = generate(options(fake.baseUrl()));
    ASSERT_TRUE(out.startError) << status;
    EXPECT_EQ(out.startError->code, Errc::upstream_error);
    EXPECT_EQ(out.startError->providerStatus, status);
    EXPECT_EQ(out.startError->message.find("simulated"),
              std::string::npos);  // never the provider's text
  }
  auto badKey = options(fake.baseUrl());
  badKey.apiKey = "wrong";
  auto out = generate(badKey);
  ASSERT_TRUE(out.startError);
  EXPECT_EQ(out.startError->providerStatus, 400);
  EXPECT_EQ(out.startError->message.find("wrong"), std::string::npos);
}

TEST_F(GeminiProviderTest, NobodyListeningIsAnUpstreamError) {
  auto out = generate(options("http://127.0.0.1:" + std::to_string(test::freePort())));
  ASSERT_TRUE(out.startError);
  EXPECT_EQ(out.startError->code, Errc::upstream_error);
  EXPECT_FALSE(out.startError->providerStatus);
}

TEST_F(GeminiProviderTest, ADropMidStreamKeepsWhatArrived) {
  FakeGemini fake;
  GeminiScript s;
  s.chunks = {"one ", "two ", "three"};
  s.dropAfter = 2;
  fake.script(s);
  auto out = generate(options(fake.baseUrl()));
  EXPECT_EQ(out.text, "one two ");
  ASSERT_TRUE(out.streamError);
  EXPECT_EQ(out.streamError->code, Errc::upstream_error);
}

TEST_F(GeminiProviderTest, AStallMidStreamTimesOut) {
  FakeGemini fake;
  GeminiScript s;
  s.chunks = {"one ", "two"};
  s.stallAfter = 1;
  fake.script(s);
  auto o = options(fake.baseUrl());
  o.idleTimeout = 300ms;
  auto out = generate(o);
  EXPECT_EQ(out.text, "one ");
  ASSERT_TRUE(out.streamError);
  EXPECT_EQ(out.streamError->code, Errc::upstream_timeout);
}

TEST_F(GeminiProviderTest, ABlockedPromptEndsWithItsReason) {
  FakeGemini fake;
  GeminiScript s;
  s.blockReason = "SAFETY";
  fake.script(s);
  auto out = generate(options(fake.baseUrl()));
  ASSERT_FALSE(out.streamError);
  EXPECT_EQ(out.text, "");
  EXPECT_EQ(out.finishReason, "SAFETY");
}

TEST_F(GeminiProviderTest, MalformedAndEndlessFramesAreErrors) {
  FakeGemini fake;
  GeminiScript malformed;
  malformed.rawFrame = "{not json";
  fake.script(malformed);
  auto a = generate(options(fake.baseUrl()));
  ASSERT_TRUE(a.streamError);
  EXPECT_EQ(a.streamError->code, Errc::upstream_error);
  GeminiScript endless;
  endless.endlessFrameBytes = 8 << 20;
  fake.script(endless);
  auto o = options(fake.baseUrl());
  o.maxFrameBytes = 256 * 1024;
  auto b = generate(o);
  ASSERT_TRUE(b.streamError);
  EXPECT_EQ(b.streamError->code, Errc::upstream_error);
}

TEST_F(GeminiProviderTest, AStreamWithoutAFinishReasonWasCutShort) {
  FakeGemini fake;
  GeminiScript s;
  s.finishReason = "";
  s.chunks = {"only"};
  fake.script(s);
  auto out = generate(options(fake.baseUrl()));
  EXPECT_EQ(out.text, "only");
  ASSERT_TRUE(out.streamError);
}

}  // namespace
}  // namespace atelier::llm
