// Sending a message end to end: real HTTP, real database, a fake model speaking its real
// streaming format — run once per provider (Gemini, OpenAI-compatible) and database. The SSE
// contract, persistence, quotas, stop, failures.
#include <gtest/gtest.h>

#include <thread>

#include "app/provider_app_fixture.hpp"
#include "store/acting.hpp"
#include "store/store.hpp"
#include "support/raw_client.hpp"
#include "util/crypto.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::ModelScript;
using test::SseClient;
using test::SseEventRecord;

// The pieces of a reply, as one text.
std::string joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces)
    out += p;
  return out;
}

class MessageStreamTest : public ProviderAppFixture {
 protected:
  config::EnvMap extraEnv() const override {
    auto env = modelEnv();
    env["DEFAULT_TOKEN_LIMIT"] = tokenLimit();
    env["UPSTREAM_TIMEOUT"] = "5s";
    return env;
  }
  virtual std::string tokenLimit() const { return "100000"; }
};

TEST_P(MessageStreamTest, AReplyStreamsAsStartTextsAndDoneAndIsSaved) {
  const auto s = newUser("stream");
  const auto chat = chatOf(s);
  auto c = send(s, chat, "  Paint me a sunset over the sea  ");
  ASSERT_EQ(c->status(), 200) << c->errorBody();
  EXPECT_EQ(c->head()->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(c->head()->header("Cache-Control"), "no-cache");
  EXPECT_EQ(c->head()->header("X-Accel-Buffering"), "no");
  const auto events = c->rest();
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.front().event, "start");
  const auto start = events.front().json();
  EXPECT_EQ(start.at("user_message").at("content"), "Paint me a sunset over the sea");
  EXPECT_EQ(start.at("user_message").at("role"), "user");
  const std::string aid(start.at("assistant_message_id").as_string());
  EXPECT_EQ(events[1].id, aid + ":1");
  EXPECT_EQ(texts(events), "Hello, world!");
  const auto& done = events.back();
  ASSERT_EQ(done.event, "done");
  const auto d = done.json();
  EXPECT_EQ(d.at("message").at("message_id"), json::value(aid));
  EXPECT_EQ(d.at("message").at("content"), "Hello, world!");
  EXPECT_EQ(d.at("message").at("metadata").at("status"), "complete");
  EXPECT_EQ(d.at("usage").at("total_tokens"), 13);  // the provider's figure
  EXPECT_EQ(d.at("message").at("tokens_consumed"), 13);
  EXPECT_EQ(d.at("remaining_tokens"), 100000 - 13);
  for (const auto& e : events)
    EXPECT_EQ(e.data.find('\n'), std::string::npos) << "data is one line of JSON";

  auto history = get("/api/chat/" + chat, s.access);
  const auto& ms = history.json.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].at("role"), "user");
  EXPECT_EQ(ms[1].at("role"), "assistant");
  EXPECT_EQ(ms[1].at("parent_message_id"), ms[0].at("message_id"));
  EXPECT_EQ(history.json.at("chat").at("title"), "Paint me a sunset over the sea");
  EXPECT_EQ(history.json.at("chat").at("current_message_id"), json::value(aid));
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 13);
}

// The head, `start` and the first text leave in one write: the client's first read holds
// all three (the provider's head came with its first frame, which the reply's producer
// appends before the first write).
TEST_P(MessageStreamTest, TheHeadStartAndFirstTextArriveInOneRead) {
  if (GetParam().provider != Provider::gemini) {
    GTEST_SKIP() << "the OpenAI-compatible fake sends a frame without text first";
  }
  const auto s = newUser("together");
  const auto chat = chatOf(s);
  ModelScript script;
  script.chunks = {"Hi", " there"};
  script.stallAfter = 1;  // nothing after the first text: a second write would stand apart
  model_->script(script);
  test::RawClient c(app_->port());
  const std::string body = R"({"message":"hello"})";
  ASSERT_TRUE(c.send("POST /api/chat/" + chat + "/message HTTP/1.1\r\nHost: t\r\n" +
                     "Authorization: Bearer " + s.access +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  const std::string first = c.readOnce();
  EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  EXPECT_NE(first.find("event: start\n"), std::string::npos) << first;
  EXPECT_NE(first.find(R"(data: {"text":"Hi"})"), std::string::npos) << first;
  EXPECT_EQ(post("/api/chat/" + chat + "/stop", json::object{}, s.access).status, 204);
}

TEST_P(MessageStreamTest, TheHistoryGoesToTheModelOldestFirstWithThePersona) {
  const auto s = newUser("history");
  const auto chat = chatOf(s);
  send(s, chat, "first question")->rest();
  send(s, chat, "second question")->rest();
  const auto reqs = model_->modelRequests();
  ASSERT_EQ(reqs.size(), 2u);
  const auto& turns = reqs[1].turns;
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0].role, "user");
  EXPECT_EQ(turns[0].text, "first question");
  EXPECT_EQ(turns[1].role, "model");
  EXPECT_EQ(turns[1].text, "Hello, world!");
  EXPECT_EQ(turns[2].text, "second question");
  EXPECT_EQ(reqs[1].system.rfind("You are the AI Assistant for the AI-NFT Platform", 0), 0u);
}

TEST_P(MessageStreamTest, AProviderErrorBeforeStreamingIsPlainJsonAndKeepsNothing) {
  const auto s = newUser("failbefore");
  const auto chat = chatOf(s);
  ModelScript fail;
  fail.httpError = 429;
  model_->script(fail);
  auto c = send(s, chat, "hello?");
  EXPECT_EQ(c->status(), 502);
  const auto err = json::parse(c->errorBody());
  EXPECT_EQ(err.at("error").at("code"), "upstream_error");
  EXPECT_EQ(err.at("error").at("details").at("provider_status"), 429);
  EXPECT_EQ(c->errorBody().find("simulated"), std::string::npos);
  EXPECT_EQ(get("/api/chat/" + chat, s.access).json.at("messages").as_array().size(), 0u);
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 0);
  model_->script(ModelScript{});
  EXPECT_EQ(send(s, chat, "again")->status(), 200);  // the lease was released
}

// Whatever the provider refuses with, the client gets 502 upstream_error with that status,
// nothing is saved or billed, and the chat is free for the next message.
TEST_P(MessageStreamTest, EveryProviderRefusalIs502WithItsStatusAndLeavesNoTrace) {
  const auto s = newUser("refusals");
  const auto chat = chatOf(s);
  for (const int status : {400, 401, 403, 404, 429, 500, 503}) {
    ModelScript refuse;
    refuse.httpError = status;
    model_->script(refuse);
    auto r = post("/api/chat/" + chat + "/message", {{"message", "hello?"}}, s.access);
    EXPECT_EQ(r.status, 502) << status;
    EXPECT_EQ(r.errorCode(), "upstream_error") << status;
    EXPECT_EQ(r.json.at("error").at("details").at("provider_status"), status);
    EXPECT_EQ(r.raw.body.find("simulated"), std::string::npos)
        << "the provider's text is not shown";
  }
  EXPECT_TRUE(get("/api/chat/" + chat, s.access).json.at("messages").as_array().empty());
  EXPECT_EQ(used(s), 0);
  model_->script(ModelScript{});
  EXPECT_EQ(send(s, chat, "now?")->rest().back().event, "done");
}

TEST_P(MessageStreamTest, ADropMidStreamEndsWithAnErrorEventAndKeepsWhatArrived) {
  const auto s = newUser("drop");
  const auto chat = chatOf(s);
  ModelScript drop;
  drop.chunks = {"one ", "two ", "three"};
  drop.dropAfter = 2;
  model_->script(drop);
  const auto events = send(s, chat, "go")->rest();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(texts(events), "one two ");
  ASSERT_EQ(events.back().event, "error");
  const auto e = events.back().json();
  EXPECT_EQ(e.at("error").at("code"), "upstream_error");
  EXPECT_EQ(e.at("message").at("content"), "one two ");
  EXPECT_EQ(e.at("message").at("metadata").at("status"), "incomplete");
  const auto ms = get("/api/chat/" + chat, s.access).json.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[1].at("content"), "one two ");
  // No usage reported for a broken stream: the estimate is billed.
  EXPECT_GT(get("/api/usage", s.access).json.at("total_tokens_used").as_int64(), 0);
}

TEST_P(MessageStreamTest, StopEndsTheReplyWithDoneAndSavesWhatArrived) {
  const auto s = newUser("stop");
  const auto chat = chatOf(s);
  const auto slow = ModelScript::paced(40, "word ", 50ms);
  model_->script(slow);
  auto c = send(s, chat, "a long story");
  ASSERT_EQ(c->status(), 200);
  ASSERT_EQ(c->next()->event, "start");
  ASSERT_TRUE(c->next());  // the first text
  // A second message while this one runs is refused.
  auto busy = post("/api/chat/" + chat + "/message", {{"message", "me too"}}, s.access);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.errorCode(), "generation_in_progress");
  EXPECT_EQ(post("/api/chat/" + chat + "/stop", json::object{}, s.access).status, 204);
  auto events = c->rest();
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().event, "done");
  const auto d = events.back().json();
  EXPECT_EQ(d.at("message").at("metadata").at("status"), "stopped");
  const std::string content(d.at("message").at("content").as_string());
  EXPECT_EQ(content, "word " + texts(events));
  EXPECT_LT(content.size(), 40u * 5u);
  EXPECT_EQ(post("/api/chat/" + chat + "/stop", json::object{}, s.access).errorCode(), "not_found");
}

TEST_P(MessageStreamTest, AClientThatLeavesDoesNotStopTheReply) {
  const auto s = newUser("leave");
  const auto chat = chatOf(s);
  const auto slow = ModelScript::paced(10, "more ", 30ms);
  model_->script(slow);
  {
    auto c = send(s, chat, "tell me");
    ASSERT_EQ(c->next()->event, "start");
    c->abandon();
  }
  std::string content;
  for (int i = 0; i < 100 && content.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    auto ms = get("/api/chat/" + chat, s.access).json.at("messages").as_array();
    if (ms.size() == 2) content = std::string(ms[1].at("content").as_string());
  }
  std::string expected;
  for (int i = 0; i < 10; ++i)
    expected += "more ";
  EXPECT_EQ(content, expected);
}

TEST_P(MessageStreamTest, BadMessagesAreRefusedBeforeAnyStream) {
  const auto s = newUser("bad");
  const auto chat = chatOf(s);
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", "   "}}, s.access).errorField(),
            "message");
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", 42}}, s.access).errorField(),
            "message");
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", std::string(16001, 'x')}}, s.access)
                .errorField(),
            "message");
  auto att = post(
      "/api/chat/" + chat + "/message",
      {{"message", "look"},
       {"attachments", json::array{{{"type", "image"}, {"url", "https://evil.example/x.png"}}}}},
      s.access);
  EXPECT_EQ(att.errorCode(), "invalid_attachment");
  EXPECT_EQ(
      post("/api/chat/" + newUuidV7() + "/message", {{"message", "hi"}}, s.access).errorCode(),
      "not_found");
  EXPECT_TRUE(model_->modelRequests().empty());
}

// Emoji (with ZWJ and skin tones), CJK and combining marks, split across provider chunks
// at grapheme boundaries and across TCP reads inside code points, arrive and are saved intact.
TEST_P(MessageStreamTest, UnicodeSplitAcrossChunksAndReadsArrivesIntact) {
  const auto s = newUser("unicode");
  const auto chat = chatOf(s);
  ModelScript uni;
  uni.chunks = {"Cafe",  "\u0301 🧑🏽‍🎨", " 猫の",
                "絵 — ", "Zalgo: a\u0336\u0301",   "\u0308 ✓"};
  uni.splitWrites = 3;
  model_->script(uni);
  const auto events = send(s, chat, "名前は？ 👩‍👩‍👧")->rest();
  ASSERT_EQ(events.back().event, "done");
  const std::string expected = joined(uni.chunks);
  EXPECT_EQ(texts(events), expected);
  EXPECT_EQ(events.back().json().at("message").at("content"), json::value(expected));
  const auto ms = get("/api/chat/" + chat, s.access).json.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].at("content"), "名前は？ 👩‍👩‍👧");
  EXPECT_EQ(ms[1].at("content"), json::value(expected));
}

// Text that JSON must escape — quotes, backslashes, line breaks, tabs, control characters —
// arrives intact, each event's data one line.
TEST_P(MessageStreamTest, TextThatJsonEscapesArrivesIntact) {
  const auto s = newUser("escapes");
  const auto chat = chatOf(s);
  ModelScript script;
  script.chunks = {"say \"hi\"", " C:\\path\\", "\nline\r\n\ttab", " bell\x07 del\x7f"};
  model_->script(script);
  const auto events = send(s, chat, "escape me")->rest();
  ASSERT_EQ(events.back().event, "done");
  const std::string expected = joined(script.chunks);
  EXPECT_EQ(texts(events), expected);
  for (const auto& e : events)
    EXPECT_EQ(e.data.find_first_of("\r\n"), std::string::npos) << e.data;
  EXPECT_EQ(events.back().json().at("message").at("content"), json::value(expected));
}

// A reply cut short by a crash (another instance died mid-reply: its lease, reservation and
// checkpoint are in the database) is saved as incomplete when the server starts again.
TEST_P(MessageStreamTest, AReplyInterruptedByACrashIsSavedIncompleteAtTheNextStart) {
  const auto s = newUser("crash");
  const auto chat = chatOf(s);
  {
    // The instance that died, as it left the database.
    auto opened = store::openStore(db_->url(), store::StoreOptions{});
    ASSERT_TRUE(opened.ok());
    auto& dead = **opened;
    const store::ActingAs as(s.userId);
    const std::string g = newUuidV7(), replyId = newUuidV7();
    const auto now = clock_.now();
    ASSERT_TRUE(dead.claimGeneration(s.userId, chat, g, now, now + 120s).ok());
    ASSERT_TRUE(dead.reserveTokens(s.userId, 200, 2048, now, 0s, store::LeaseRef{chat, g}).ok());
    store::Message user{newUuidV7(), chat, std::nullopt, "user", "a long tale", "{}", 0, now};
    ASSERT_TRUE(dead.appendMessage(user).ok());
    ASSERT_EQ(*dead.checkpointGeneration(
                  chat, g, {replyId, user.messageId, "Once upon a time", 206}, now + 120s),
              store::LeaseState::held);
  }
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 2248);  // reserved
  auto busy = post("/api/chat/" + chat + "/message", {{"message", "hello?"}}, s.access);
  EXPECT_EQ(busy.errorCode(), "generation_in_progress");  // the lease is still live
  clock_.advance(std::chrono::minutes(3));
  restartApp();
  const auto ms = get("/api/chat/" + chat, s.access).json.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[1].at("role"), "assistant");
  EXPECT_EQ(ms[1].at("content"), "Once upon a time");
  EXPECT_EQ(ms[1].at("metadata").at("status"), "incomplete");
  EXPECT_EQ(ms[1].at("tokens_consumed"), 206);
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 206);
  // The history, incomplete reply included, goes to the model with the next message.
  EXPECT_EQ(send(s, chat, "go on")->rest().back().event, "done");
  const auto reqs = model_->modelRequests();
  const auto& turns = reqs.back().turns;
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[1].text, "Once upon a time");
}

// The reply metrics: active streams, time to first token, tokens billed, provider errors.
TEST_P(MessageStreamTest, RepliesAreCountedInTheMetrics) {
  const auto s = newUser("metrics");
  const auto chat = chatOf(s);
  ASSERT_EQ(send(s, chat, "hi")->rest().back().event, "done");
  ModelScript drop;
  drop.chunks = {"a", "b"};
  drop.dropAfter = 1;
  model_->script(drop);
  ASSERT_EQ(send(s, chat, "again")->rest().back().event, "error");
  const std::string m = get("/metrics").raw.body;
  auto has = [&](const std::string& line) {
    return m.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("atelier_active_streams 0")) << m;
  EXPECT_TRUE(has("atelier_time_to_first_token_seconds_count 2")) << m;
  EXPECT_TRUE(has(R"(atelier_provider_errors_total{kind="mid_stream"} 1)")) << m;
  // 13 reported by the provider for the first reply; the broken one billed by the estimate.
  const auto billed = m.find("\natelier_tokens_billed_total ");
  ASSERT_NE(billed, std::string::npos);
  EXPECT_EQ(std::stoll(m.substr(billed + 29)), used(s));
}

INSTANTIATE_TEST_SUITE_P(Providers, MessageStreamTest, everyProviderAndDatabase(),
                         providerCaseName);

// A small quota: the output budget is capped by what remains, then the limit blocks.
class SmallQuotaTest : public MessageStreamTest {
 protected:
  std::string tokenLimit() const override { return "400"; }
};

TEST_P(SmallQuotaTest, MaxOutputNeverExceedsWhatRemainsAndTheLimitBlocks) {
  const auto s = newUser("quota");
  const auto chat = chatOf(s);
  ModelScript big;
  big.chunks = std::vector<std::string>(3, "x");
  big.promptTokens = 350;  // the provider bills more than the estimate
  model_->script(big);
  auto first = send(s, chat, "hello");
  ASSERT_EQ(first->status(), 200);
  first->rest();
  const auto reqs = model_->modelRequests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto maxOut = reqs[0].maxOutputTokens;
  EXPECT_GT(maxOut, 0);
  EXPECT_LT(maxOut, 400);
  EXPECT_LE(maxOut, 2048);
  EXPECT_EQ(get("/api/usage", s.access).json.at("total_tokens_used"), 353);
  // What remains (47) cannot even hold the prompt estimate of the persona: refused.
  auto second = post("/api/chat/" + chat + "/message", {{"message", "more"}}, s.access);
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(second.errorCode(), "token_limit_exceeded");
}

INSTANTIATE_TEST_SUITE_P(Providers, SmallQuotaTest, everyProviderAndDatabase(), providerCaseName);

}  // namespace
}  // namespace atelier::app
