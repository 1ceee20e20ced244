// OpenAiProvider against a scripted server that speaks the OpenAI chat-completions streaming
// wire format (chat.completion.chunk frames, a usage chunk, `data: [DONE]`).
#include "llm/openai_provider.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/fake_openai.hpp"
#include "support/io_loop.hpp"
#include "support/provider_outcome.hpp"

namespace atelier::llm {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::FakeOpenAi;
using test::ModelScript;

// "Neon koi.", cut by the output limit, billed 21 + 2.
ModelScript neonKoi() {
  ModelScript s;
  s.chunks = {"Neon ", "koi."};
  s.finishReason = "MAX_TOKENS";
  s.promptTokens = 21;
  return s;
}

using Outcome = test::ProviderOutcome;

class OpenAiProviderTest : public ::testing::Test {
 protected:
  OpenAiProviderTest() : http_(std::make_unique<net::HttpClient>(loop_.executor())) {}
  ~OpenAiProviderTest() override { http_.reset(); }

  Outcome generate(const std::string& baseUrl, const std::string& key = "sk-test") {
    OpenAiOptions o;
    o.baseUrl = baseUrl;
    o.apiKey = key;
    o.model = "local-model";
    o.idleTimeout = 2s;
    OpenAiProvider provider(std::move(o), *http_);
    GenerationRequest request;
    request.systemInstruction = "You are Atelier's assistant.";
    request.contents = {{Turn::Role::user, "Paint me a koi", {}},
                        {Turn::Role::model, "Which colours?", {}},
                        {Turn::Role::user, "Like this", {{"image/png", "iVBORw0KGgo="}}}};
    request.maxOutputTokens = 321;
    return test::runToEnd(loop_, provider, std::move(request));
  }

  test::IoLoop loop_;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(OpenAiProviderTest, StreamsTheReplyAndSendsTheRealRequest) {
  FakeOpenAi fake;
  fake.script(neonKoi());
  auto out = generate(fake.baseUrl() + "/v1");
  ASSERT_FALSE(out.startError) << out.startError->message;
  ASSERT_FALSE(out.streamError) << out.streamError->message;
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"Neon ", "koi."}));
  EXPECT_EQ(out.finishReason, "MAX_TOKENS");  // "length"
  ASSERT_TRUE(out.usage);
  EXPECT_EQ(out.usage->prompt, 21);
  EXPECT_EQ(out.usage->completion, 2);
  EXPECT_EQ(out.usage->total, 23);

  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].headers.at("authorization"), "Bearer sk-test");
  const auto body = json::parse(reqs[0].body).as_object();
  EXPECT_EQ(body.at("model"), "local-model");
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(body.at("max_tokens"), 321);
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[0].at("content"), "You are Atelier's assistant.");
  EXPECT_EQ(messages[1].at("role"), "user");
  EXPECT_EQ(messages[2].at("role"), "assistant");
  EXPECT_EQ(messages[2].at("content"), "Which colours?");
  const auto& parts = messages[3].at("content").as_array();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].at("text"), "Like this");
  EXPECT_EQ(parts[1].at("type"), "image_url");
  EXPECT_EQ(parts[1].at("image_url").at("url"), "data:image/png;base64,iVBORw0KGgo=");
}

TEST_F(OpenAiProviderTest, NoKeyNoAuthorizationAndV1IsAdded) {
  FakeOpenAi fake;
  auto out = generate(fake.baseUrl(), "");
  ASSERT_FALSE(out.startError);
  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);
}

TEST_F(OpenAiProviderTest, AnHttpErrorBeforeTheStreamCarriesTheProviderStatus) {
  FakeOpenAi fake;
  ModelScript limited;
  limited.httpError = 429;
  fake.script(limited);
  auto out = generate(fake.baseUrl() + "/v1");
  ASSERT_TRUE(out.startError);
  EXPECT_EQ(out.startError->code, Errc::upstream_error);
  EXPECT_EQ(out.startError->providerStatus, 429);
  EXPECT_EQ(out.startError->message.find("simulated"), std::string::npos)
      << "the provider's text stays in the log";
}

TEST_F(OpenAiProviderTest, FailuresMidStreamAreUpstreamErrors) {
  ModelScript drop = neonKoi();
  drop.dropAfter = 1;
  ModelScript errorFrame = neonKoi();
  errorFrame.chunks = {"Neon "};
  errorFrame.rawFrameAfterChunks = R"({"error":{"message":"overloaded","type":"server_error"}})";
  for (const auto& script : {drop, errorFrame}) {
    FakeOpenAi fake;
    fake.script(script);
    auto out = generate(fake.baseUrl() + "/v1");
    ASSERT_FALSE(out.startError);
    EXPECT_EQ(out.pieces, std::vector<std::string>{"Neon "});
    ASSERT_TRUE(out.streamError);
    EXPECT_EQ(out.streamError->code, Errc::upstream_error);
  }
}

TEST_F(OpenAiProviderTest, AFinishReasonWithoutDoneStillEndsCleanly) {
  FakeOpenAi fake;
  ModelScript noDone = neonKoi();
  noDone.reportUsage = false;
  noDone.omitEndMarker = true;  // a server that ends without [DONE] after a finish reason
  fake.script(noDone);
  auto out = generate(fake.baseUrl() + "/v1");
  ASSERT_FALSE(out.streamError);
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"Neon ", "koi."}));
  EXPECT_EQ(out.finishReason, "MAX_TOKENS");
  EXPECT_FALSE(out.usage);  // none reported: the engine bills its estimate
}

TEST(OpenAiFrame, ParsesChunksUsageDoneAndErrors) {
  auto f = parseOpenAiFrame(
      R"({"choices":[{"index":0,"delta":{"content":"hé"},"finish_reason":null}]})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "hé");
  EXPECT_TRUE(f->finishReason.empty());
  f = parseOpenAiFrame(R"({"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->finishReason, "SAFETY");
  f = parseOpenAiFrame(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  EXPECT_EQ(f->finishReason, "STOP");
  f = parseOpenAiFrame(R"({"choices":[{"index":1,"delta":{"content":"other"}}]})");
  EXPECT_EQ(f->text, "");  // only the first reply
  f = parseOpenAiFrame(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_TRUE(f.ok() && f->usage);
  EXPECT_EQ(f->usage->total, 12);
  EXPECT_TRUE(parseOpenAiFrame(" [DONE] ")->done);
  EXPECT_TRUE(parseOpenAiFrame(R"({"error":{"type":"server_error"}})")->error);
  EXPECT_FALSE(parseOpenAiFrame("{not json").ok());
  EXPECT_FALSE(parseOpenAiFrame(R"({"object":"something else"})").ok());
}

TEST(OpenAiFrame, CompletionsUrl) {
  EXPECT_EQ(openAiCompletionsUrl("http://127.0.0.1:11434/v1"),
            "http://127.0.0.1:11434/v1/chat/completions");
  EXPECT_EQ(openAiCompletionsUrl("http://127.0.0.1:11434/v1/"),
            "http://127.0.0.1:11434/v1/chat/completions");
  EXPECT_EQ(openAiCompletionsUrl("https://api.example.com"),
            "https://api.example.com/v1/chat/completions");
  EXPECT_EQ(
      describeOpenAiError(R"({"error":{"message":"bad key","type":"invalid_request_error"}})"),
      "invalid_request_error: bad key");
  EXPECT_EQ(describeOpenAiError("<html>"), "");
}

}  // namespace
}  // namespace atelier::llm
