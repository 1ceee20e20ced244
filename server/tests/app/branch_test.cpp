// Branches (edit = a new user message under the edited one's parent, regenerate = a new reply
// as a sibling, PATCH current_message_id = switch) and search, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "app/gemini_app_fixture.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;

class BranchTest : public GeminiAppFixture {
 protected:
  // Sends `message` (with `extra` fields in the body) and returns the closing event's data.
  json::value sendTo(const Session& s, const std::string& chat, const std::string& message,
                     json::object extra = {}) {
    extra["message"] = message;
    test::SseClient c(app_->port(), "/api/chat/" + chat + "/message", json::serialize(extra),
                      s.access);
    EXPECT_EQ(c.status(), 200) << c.errorBody();
    auto events = c.rest();
    if (events.empty() || events.back().event != "done") return nullptr;
    return events.back().json();
  }
  std::vector<test::SseEventRecord> regenerate(const Session& s, const std::string& chat,
                                               json::object body = {}) {
    test::SseClient c(app_->port(), "/api/chat/" + chat + "/regenerate", json::serialize(body),
                      s.access);
    EXPECT_EQ(c.status(), 200) << c.errorBody();
    return c.rest();
  }
  // One exchange: the user message's id and the reply's id.
  std::pair<std::string, std::string> exchange(const Session& s, const std::string& chat,
                                               const std::string& message, const std::string& reply,
                                               json::object extra = {}) {
    gemini_.script({.chunks = {reply}});
    auto done = sendTo(s, chat, message, std::move(extra));
    if (!done.is_object()) return {};
    const auto& m = done.at("message");
    return {std::string(m.at("parent_message_id").as_string()),
            std::string(m.at("message_id").as_string())};
  }
  // The texts of the current branch, oldest first.
  std::vector<std::string> shown(const Session& s, const std::string& chat) {
    std::vector<std::string> out;
    const auto page = get("/api/chat/" + chat, s.access);  // alive across the loop
    for (const auto& m : page.json.at("messages").as_array())
      out.emplace_back(m.at("content").as_string());
    return out;
  }
  // The texts the model was sent in the last request, in order.
  std::vector<std::string> lastPrompt() {
    std::vector<std::string> out;
    const auto requests = gemini_.requests();
    for (const auto& c : requests.back().body.at("contents").as_array())
      out.emplace_back(c.at("parts").as_array().at(0).at("text").as_string());
    return out;
  }
  // A counter of /metrics (-1 when it is not there).
  std::int64_t counter(const std::string& name) {
    const std::string m = get("/metrics").raw.body;
    const auto at = m.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(m.substr(at + name.size() + 2));
  }
  json::array siblingsOf(const Session& s, const std::string& chat, std::size_t index) {
    const auto page = get("/api/chat/" + chat, s.access);
    return page.json.at("messages").as_array().at(index).at("siblings").as_array();
  }
};

TEST_P(BranchTest, EditingMakesABranchAndTheModelSeesOnlyIt) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  auto [u1, a1] = exchange(s, chat, "one", "A");
  auto [u2, a2] = exchange(s, chat, "two", "B");
  auto [u3, a3] = exchange(s, chat, "three", "C");
  auto [u4, a4] = exchange(s, chat, "four", "D");
  EXPECT_EQ(shown(s, chat),
            (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four", "D"}));
  // Edit the second message: the new text goes under the first reply.
  auto [u2b, a2b] = exchange(s, chat, "two, edited", "B2", {{"parent_message_id", a1}});
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two, edited"}));
  EXPECT_EQ(shown(s, chat), (std::vector<std::string>{"one", "A", "two, edited", "B2"}));
  EXPECT_EQ(siblingsOf(s, chat, 2), (json::array{json::value(u2), json::value(u2b)}));
  EXPECT_EQ(siblingsOf(s, chat, 0), (json::array{json::value(u1)}));
  auto c = get("/api/chat/" + chat, s.access).json.at("chat");
  EXPECT_EQ(c.at("current_message_id"), json::value(a2b));

  // A message sent now follows the branch on show.
  exchange(s, chat, "five", "E");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two, edited", "B2", "five"}));

  // Switching back to the first "two" shows that branch down to its newest leaf.
  auto patched = patch("/api/chat/" + chat, {{"current_message_id", u2}}, s.access);
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(patched.json.at("current_message_id"), json::value(a4));
  EXPECT_EQ(shown(s, chat),
            (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four", "D"}));
  // The export follows the branch on show.
  auto exported = get("/api/chat/" + chat + "/export?format=json", s.access);
  EXPECT_EQ(exported.json.at("messages").as_array().size(), 8u);
}

TEST_P(BranchTest, RegenerateTwiceGivesThreeSiblingsAndEachBranchWhole) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  auto [u1, a1] = exchange(s, chat, "palette?", "Ink");
  auto [u2, a2] = exchange(s, chat, "and the frame?", "Gold");
  gemini_.script({.chunks = {"Sil", "ver"}});
  auto events = regenerate(s, chat);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().event, "start");
  EXPECT_TRUE(events.front().json().at("user_message").is_null());
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"palette?", "Ink", "and the frame?"}));
  ASSERT_EQ(events.back().event, "done");
  const std::string a2b(events.back().json().at("message").at("message_id").as_string());
  EXPECT_EQ(events.back().json().at("message").at("parent_message_id"), json::value(u2));
  gemini_.script({.chunks = {"Copper"}});
  events = regenerate(s, chat, {{"message_id", a2}});
  ASSERT_EQ(events.back().event, "done");
  const std::string a2c(events.back().json().at("message").at("message_id").as_string());

  EXPECT_EQ(siblingsOf(s, chat, 3),
            (json::array{json::value(a2), json::value(a2b), json::value(a2c)}));
  EXPECT_EQ(shown(s, chat),
            (std::vector<std::string>{"palette?", "Ink", "and the frame?", "Copper"}));
  for (const auto& [id, text] : {std::pair{a2, "Gold"}, {a2b, "Silver"}, {a2c, "Copper"}}) {
    ASSERT_EQ(patch("/api/chat/" + chat, {{"current_message_id", id}}, s.access).status, 200);
    EXPECT_EQ(shown(s, chat),
              (std::vector<std::string>{"palette?", "Ink", "and the frame?", text}));
  }
  // Regenerating the first reply starts a branch that has only the first question.
  gemini_.script({.chunks = {"Charcoal"}});
  events = regenerate(s, chat, {{"message_id", a1}});
  ASSERT_EQ(events.back().event, "done");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"palette?"}));
  EXPECT_EQ(shown(s, chat), (std::vector<std::string>{"palette?", "Charcoal"}));
  // Every regeneration was billed like a message.
  EXPECT_GT(used(s), 0);
}

TEST_P(BranchTest, PagingFollowsTheBranch) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  auto [u1, a1] = exchange(s, chat, "q1", "r1");
  exchange(s, chat, "q2", "r2");
  exchange(s, chat, "q2b", "r2b", {{"parent_message_id", a1}});
  exchange(s, chat, "q3", "r3");
  // The branch: q1 r1 q2b r2b q3 r3 (q2 r2 are on the other one).
  auto page = get("/api/chat/" + chat + "?limit=4", s.access);
  ASSERT_EQ(page.status, 200);
  const auto& newest = page.json.at("messages").as_array();
  ASSERT_EQ(newest.size(), 4u);
  EXPECT_EQ(newest[0].at("content").as_string(), "q2b");
  EXPECT_TRUE(page.json.at("has_more").as_bool());
  const std::string before(newest[0].at("message_id").as_string());
  auto older = get("/api/chat/" + chat + "?limit=4&before=" + before, s.access);
  ASSERT_EQ(older.status, 200);
  const auto& rest = older.json.at("messages").as_array();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].at("content").as_string(), "q1");
  EXPECT_EQ(rest[1].at("content").as_string(), "r1");
  EXPECT_FALSE(older.json.at("has_more").as_bool());
  // A message of the chat that is not on the branch on show is no anchor.
  const auto q2 = [&] {
    for (const auto& id : siblingsOf(s, chat, 2))
      if (id != newest[0].at("message_id")) return std::string(id.as_string());
    return std::string();
  }();
  EXPECT_EQ(get("/api/chat/" + chat + "?before=" + q2, s.access).status, 400);
}

// The engine keeps each chat's latest branch in memory and continues it rather than reading
// the branch again (chat/branch_cache.hpp). Whatever the chat goes through — a refused reply,
// a switch to another branch and back, a regenerate, an edit — the model is sent the branch
// the database holds, and only a message whose parent is not on the branch kept reads it.
TEST_P(BranchTest, TheBranchKeptInMemoryIsAlwaysTheOneTheDatabaseHolds) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  const auto kept0 = counter("atelier_history_branches_kept_total");
  const auto read0 = counter("atelier_history_branches_read_total");
  ASSERT_GE(kept0, 0);
  ASSERT_GE(read0, 0);
  auto kept = [&] { return counter("atelier_history_branches_kept_total") - kept0; };
  auto read = [&] { return counter("atelier_history_branches_read_total") - read0; };
  auto [u1, a1] = exchange(s, chat, "one", "A");
  auto [u2, a2] = exchange(s, chat, "two", "B");
  auto [u3, a3] = exchange(s, chat, "three", "C");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two", "B", "three"}));
  EXPECT_EQ(kept(), 2) << "two and three continued the branch kept";
  EXPECT_EQ(read(), 0) << "a first message has no history to read";

  // A reply the provider refuses: its question is gone from the database and from memory.
  gemini_.script({.httpError = 500});
  EXPECT_EQ(post("/api/chat/" + chat + "/message", {{"message", "lost"}}, s.access).status, 502);
  auto [u4, a4] = exchange(s, chat, "four", "D");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four"}));

  // An edit of "two" goes under A, on the branch kept (no read), and the rest is not sent.
  const auto readBefore = read();
  auto [u2b, a2b] = exchange(s, chat, "two, edited", "B2", {{"parent_message_id", a1}});
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two, edited"}));
  EXPECT_EQ(read(), readBefore);
  auto [u8, a8] = exchange(s, chat, "eight", "H");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two, edited", "B2", "eight"}));
  // Back to the first branch: read once more, then continued.
  ASSERT_EQ(patch("/api/chat/" + chat, {{"current_message_id", a4}}, s.access).status, 200);
  auto [u5, a5] = exchange(s, chat, "five", "E");
  EXPECT_EQ(lastPrompt(),
            (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four", "D", "five"}));
  EXPECT_EQ(read(), readBefore + 1);

  // A regenerate answers the same question again; the next message follows the new reply.
  gemini_.script({.chunks = {"E2"}});
  auto events = regenerate(s, chat);
  ASSERT_EQ(events.back().event, "done");
  const std::string a5b(events.back().json().at("message").at("message_id").as_string());
  EXPECT_EQ(lastPrompt(),
            (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four", "D", "five"}));
  auto [u6, a6] = exchange(s, chat, "six", "F");
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four",
                                                    "D", "five", "E2", "six"}));
  EXPECT_EQ(shown(s, chat), (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four",
                                                      "D", "five", "E2", "six", "F"}));
  EXPECT_EQ(read(), readBefore + 1) << "the regenerate and six continued the branch kept";
  // An edit of the last question goes under the same reply: no read either.
  auto [u6b, a6b] = exchange(s, chat, "six, edited", "F2", {{"parent_message_id", a5b}});
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"one", "A", "two", "B", "three", "C", "four",
                                                    "D", "five", "E2", "six, edited"}));
  EXPECT_EQ(read(), readBefore + 1);
}

TEST_P(BranchTest, ANullParentStartsANewFirstMessage) {
  const auto s = newUser();
  const auto chat = chatOf(s);
  auto [u1, a1] = exchange(s, chat, "first", "one");
  auto [v1, b1] = exchange(s, chat, "another start", "two", {{"parent_message_id", nullptr}});
  EXPECT_EQ(lastPrompt(), (std::vector<std::string>{"another start"}));
  EXPECT_EQ(shown(s, chat), (std::vector<std::string>{"another start", "two"}));
  EXPECT_EQ(siblingsOf(s, chat, 0), (json::array{json::value(u1), json::value(v1)}));
}

TEST_P(BranchTest, IdsThatAreNotRepliesOfThisChatAreRefused) {
  const auto s = newUser("owner");
  const auto other = newUser("other");
  const auto chat = chatOf(s);
  const auto theirs = chatOf(other);
  auto [u1, a1] = exchange(s, chat, "mine", "ok");
  auto [t1, r1] = exchange(other, theirs, "theirs", "ok");
  const auto before = gemini_.requests().size();
  auto refused = [&](const std::string& path, json::object body, const std::string& field) {
    auto r = post(path, std::move(body), s.access);
    EXPECT_EQ(r.status, 400) << path << " " << r.raw.body;
    EXPECT_EQ(r.json.at("error").at("details").at("field"), json::value(field)) << r.raw.body;
  };
  const std::string send = "/api/chat/" + chat + "/message";
  refused(send, {{"message", "x"}, {"parent_message_id", r1}}, "parent_message_id");  // theirs
  refused(send, {{"message", "x"}, {"parent_message_id", u1}}, "parent_message_id");  // a user's
  refused(send, {{"message", "x"}, {"parent_message_id", "nope"}}, "parent_message_id");
  refused(send, {{"message", "x"}, {"parent_message_id", 7}}, "parent_message_id");
  const std::string regen = "/api/chat/" + chat + "/regenerate";
  refused(regen, {{"message_id", r1}}, "message_id");
  refused(regen, {{"message_id", u1}}, "message_id");
  refused(regen, {{"message_id", "nope"}}, "message_id");
  auto p = patch("/api/chat/" + chat, {{"current_message_id", r1}}, s.access);
  EXPECT_EQ(p.status, 400);
  EXPECT_EQ(p.json.at("error").at("details").at("field").as_string(), "current_message_id");
  EXPECT_EQ(gemini_.requests().size(), before) << "nothing reached the model";
  EXPECT_EQ(shown(s, chat), (std::vector<std::string>{"mine", "ok"}));
  // Another user's chat stays theirs.
  EXPECT_EQ(post("/api/chat/" + theirs + "/regenerate", json::object{}, s.access).status, 404);
  // An empty chat has no reply to regenerate.
  const auto empty = chatOf(s);
  refused("/api/chat/" + empty + "/regenerate", {}, "message_id");
}

TEST_P(BranchTest, SearchFindsWordsInTheCallersChatsOnly) {
  const auto s = newUser("finder");
  const auto other = newUser("stranger");
  const auto chat = chatOf(s);
  exchange(s, chat, "A koi under the Café lanterns", "Ink wash with gold leaf");
  exchange(s, chat, "猫の絵を描いてください", "水墨画の猫");
  exchange(s, chat, "Sparkles✨dragon in neon", "Done: (NEAR) \"quoted\" * OR -minus:colon");
  const auto theirs = chatOf(other);
  exchange(other, theirs, "A secret koi of another user", "hidden gold");

  auto search = [&](const std::string& q) {
    auto r = get("/api/search?q=" + q, s.access);
    EXPECT_EQ(r.status, 200) << q << " " << r.raw.body;
    std::vector<std::string> snippets;
    if (r.status != 200) return snippets;
    for (const auto& h : r.json.at("results").as_array()) {
      EXPECT_EQ(h.at("chat_id"), json::value(chat)) << "never another user's chat";
      snippets.emplace_back(h.at("snippet").as_string());
    }
    return snippets;
  };
  // Words are ANDed and case-insensitive; the title (from the first message) is found too.
  auto koi = search("KOI%20lanterns");
  ASSERT_EQ(koi.size(), 2u);  // the message and the chat's title
  EXPECT_NE(koi[0].find("koi"), std::string::npos);
  EXPECT_TRUE(search("koi%20dragon").empty());
  EXPECT_EQ(search("gold").size(), 1u);  // the other user's "gold" is not ours
  // Accented and CJK text.
  EXPECT_EQ(search("caf%C3%A9").size(), 2u);
  EXPECT_EQ(search("CAF%C3%89").size(), 2u);
  EXPECT_EQ(search("%E7%8C%AB").size(), 2u);  // 猫: inside longer runs of Japanese
  EXPECT_EQ(search("%E6%B0%B4%E5%A2%A8%E7%94%BB").size(), 1u);  // 水墨画
  // Next to an emoji.
  EXPECT_EQ(search("dragon").size(), 1u);
  // Query syntax characters are text, never syntax (and never an error).
  for (const std::string q : {"%22quoted%22", "NEAR", "%28NEAR%29", "OR", "-minus", "%2A",
                              "minus%3Acolon", "%22", "koi%20OR%20nothing"}) {
    search(q);
  }
  EXPECT_EQ(search("OR").size(), 1u);
  EXPECT_EQ(search("-minus").size(), 1u);
  EXPECT_TRUE(search("koi%20OR%20nothing").empty());  // OR is a word here: nothing has it
  // Bad queries.
  EXPECT_EQ(get("/api/search", s.access).status, 400);
  EXPECT_EQ(get("/api/search?q=%20%20", s.access).status, 400);
  EXPECT_EQ(get("/api/search?q=" + std::string(201, 'a'), s.access).status, 400);
  EXPECT_EQ(get("/api/search?q=%FF", s.access).status, 400);
  EXPECT_EQ(get("/api/search?q=koi&limit=51", s.access).status, 400);
  EXPECT_EQ(get("/api/search?q=koi", "").status, 401);
  // Results disappear with their chat.
  ASSERT_EQ(del("/api/chat/" + chat, s.access).status, 204);
  EXPECT_TRUE(search("koi").empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, BranchTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
