// GET /api/chat/:chatId/export: the current branch as Markdown or JSON.
#include <gtest/gtest.h>

#include "app/gemini_app_fixture.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;

class ExportTest : public GeminiAppFixture {
 protected:
  // A chat with two exchanges.
  std::string conversation(const Session& s) {
    const auto chat = chatOf(s);
    gemini_.script({.chunks = {"Neon ", "koi."}});
    send(s, chat, "An idea for a collection?")->rest();
    gemini_.script({.chunks = {"Ink ", "and ", "gold."}});
    send(s, chat, "What palette?")->rest();
    return chat;
  }
};

TEST_P(ExportTest, JsonRoundTripsTheBranch) {
  const auto s = newUser();
  const auto chat = conversation(s);
  auto shown = get("/api/chat/" + chat, s.access);
  auto exported = get("/api/chat/" + chat + "/export?format=json", s.access);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.raw.header("Content-Type").value_or("").rfind("application/json", 0), 0u);
  EXPECT_EQ(exported.raw.header("Content-Disposition").value_or("").rfind("attachment;", 0), 0u);
  EXPECT_EQ(exported.json.at("chat"), shown.json.at("chat"));
  // The same messages, without the page's sibling lists (an export is one branch).
  auto listed = shown.json.at("messages").as_array();
  for (auto& m : listed)
    m.as_object().erase("siblings");
  EXPECT_EQ(exported.json.at("messages"), json::value(listed));
  const auto& messages = exported.json.at("messages").as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[3].at("content").as_string(), "Ink and gold.");
  // Each message's parent is the one before it: a branch.
  for (std::size_t i = 1; i < messages.size(); ++i)
    EXPECT_EQ(messages[i].at("parent_message_id"), messages[i - 1].at("message_id"));
}

TEST_P(ExportTest, MarkdownHasAHeadingPerMessageWithRoleAndTime) {
  const auto s = newUser();
  const auto chat = conversation(s);
  auto md = get("/api/chat/" + chat + "/export", s.access);
  ASSERT_EQ(md.status, 200);
  EXPECT_EQ(md.raw.header("Content-Type"), "text/markdown; charset=utf-8");
  const auto disposition = md.raw.header("Content-Disposition").value_or("");
  EXPECT_NE(disposition.find("attachment; filename=\"An idea for a collection.md\""),
            std::string::npos)
      << disposition;
  const std::string& body = md.raw.body;
  EXPECT_EQ(body.rfind("# An idea for a collection?\n", 0), 0u) << body;
  const auto messages = get("/api/chat/" + chat, s.access).json.at("messages").as_array();
  std::size_t at = 0;
  for (const auto& m : messages) {
    const std::string heading =
        std::string(m.at("role") == "user" ? "## User — " : "## Assistant — ") +
        std::string(m.at("created_at").as_string());
    const auto h = body.find(heading, at);
    ASSERT_NE(h, std::string::npos) << heading;
    const auto c = body.find(std::string(m.at("content").as_string()), h);
    ASSERT_NE(c, std::string::npos);
    at = c;
  }
}

TEST_P(ExportTest, FileNamesAreSafeWhateverTheTitle) {
  const auto s = newUser();
  auto created =
      post("/api/chat", json::object{{"title", "../../etc/\"passwd\"\r\nX-Evil: 1 ✨"}}, s.access);
  ASSERT_EQ(created.status, 201);
  const std::string chat(created.json.at("chat_id").as_string());
  auto md = get("/api/chat/" + chat + "/export", s.access);
  ASSERT_EQ(md.status, 200);
  EXPECT_FALSE(md.raw.header("X-Evil"));
  const auto d = md.raw.header("Content-Disposition").value_or("");
  EXPECT_NE(d.find("filename=\"etc__passwd___X-Evil_ 1.md\""), std::string::npos) << d;
  EXPECT_NE(
      d.find("filename*=UTF-8''..%2F..%2Fetc%2F%22passwd%22%0D%0AX-Evil%3A%201%20%E2%9C%A8.md"),
      std::string::npos)
      << d;
  // An empty chat exports its title and no messages.
  auto j = get("/api/chat/" + chat + "/export?format=json", s.access);
  EXPECT_TRUE(j.json.at("messages").as_array().empty());
}

TEST_P(ExportTest, RefusesOtherUsersAndUnknownFormats) {
  const auto owner = newUser("owner");
  const auto other = newUser("other");
  const auto chat = chatOf(owner);
  EXPECT_EQ(get("/api/chat/" + chat + "/export", other.access).status, 404);
  EXPECT_EQ(get("/api/chat/" + chat + "/export").status, 401);
  auto bad = get("/api/chat/" + chat + "/export?format=pdf", owner.access);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.errorField(), "format");
}

INSTANTIATE_TEST_SUITE_P(Databases, ExportTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
