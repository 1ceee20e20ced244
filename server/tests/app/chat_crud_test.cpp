// /api/chat CRUD and history over real HTTP on both databases: the chat limit (also under
// concurrency), paging, ordering, isolation between users.
#include <gtest/gtest.h>

#include "app/app_fixture.hpp"
#include "store/acting.hpp"
#include "store/store.hpp"
#include "util/crypto.hpp"

namespace atelier::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using test::DbKind;

class ChatCrudTest : public AppFixture {
 protected:
  json::object createChat(const Session& s, const std::string& title = "") {
    auto r = title.empty() ? post("/api/chat", json::object{}, s.access)
                           : post("/api/chat", {{"title", title}}, s.access);
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.json.is_object() ? r.json.as_object() : json::object{};
  }
  static std::string id(const json::object& chat) {
    return std::string(chat.at("chat_id").as_string());
  }

  // Messages go in through a second Store on the same database (the message route comes
  // with the generation engine).
  std::vector<std::string> addMessages(const std::string& chatId, int n) {
    auto store = store::openStore(db_->url(), store::StoreOptions{});
    EXPECT_TRUE(store.ok());
    const auto seeding = store::ActingAs::service();  // test data, written around the server
    std::vector<std::string> ids;
    std::optional<std::string> parent;
    for (int i = 0; i < n; ++i) {
      store::Message m;
      m.messageId = newUuidV7();
      m.chatId = chatId;
      m.parentMessageId = parent;
      m.role = i % 2 ? "assistant" : "user";
      m.content = "message " + std::to_string(i) + " ✨";
      m.createdAt = clock_.now() + std::chrono::milliseconds(i);
      EXPECT_TRUE((*store)->appendMessage(m).ok());
      parent = m.messageId;
      ids.push_back(m.messageId);
    }
    return ids;
  }
};

TEST_P(ChatCrudTest, ListIsEmptyAtFirst) {
  const auto s = newUser("empty");
  auto r = get("/api/chat", s.access);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.raw.body, R"({"chats":[],"total":0})");
}

TEST_P(ChatCrudTest, CreateReadAndUnicodeTitles) {
  const auto s = newUser("create");
  const auto untitled = createChat(s);
  EXPECT_EQ(untitled.at("user_id"), json::value(s.userId));
  EXPECT_EQ(untitled.at("is_active"), true);
  EXPECT_TRUE(untitled.at("current_message_id").is_null());
  EXPECT_EQ(untitled.at("created_at"), json::value(formatRfc3339(clock_.now())));
  const std::string title = "Ocean 🌊 séries — 海の絵 e\u0301 'quoted' \"dq\"";
  const auto titled = createChat(s, title);
  EXPECT_EQ(titled.at("title"), json::value(title));
  auto g = get("/api/chat/" + id(titled), s.access);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.json.at("chat_id"), titled.at("chat_id"));
  EXPECT_EQ(g.json.at("chat").at("title"), json::value(title));
  EXPECT_EQ(g.json.at("messages").as_array().size(), 0u);
  EXPECT_EQ(g.json.at("has_more"), false);
  EXPECT_EQ(get("/api/chat", s.access).json.at("total"), 2);
}

TEST_P(ChatCrudTest, BadBodiesNameTheField) {
  const auto s = newUser("bad");
  EXPECT_EQ(post("/api/chat", {{"title", 12345}}, s.access).errorField(), "title");
  EXPECT_EQ(post("/api/chat", {{"title", std::string(201, 'x')}}, s.access).errorField(), "title");
  const auto c = createChat(s, "x");
  EXPECT_EQ(patch("/api/chat/" + id(c), {{"is_active", "yes"}}, s.access).errorField(),
            "is_active");
  EXPECT_EQ(patch("/api/chat/" + id(c), {{"title", json::array{"a"}}}, s.access).errorField(),
            "title");
  EXPECT_EQ(patch("/api/chat/" + id(c), json::object{}, s.access).errorCode(), "invalid_request");
}

TEST_P(ChatCrudTest, UnknownAndMalformedIdsAreNotFound) {
  const auto s = newUser("ids");
  for (const std::string& bad : std::vector<std::string>{
           newUuidV7(), std::string("not-a-uuid"), std::string("1'%20OR%20'1'='1"),
           std::string("%00"), std::string(300, 'a')}) {
    EXPECT_EQ(get("/api/chat/" + bad, s.access).errorCode(), "not_found") << bad;
    EXPECT_EQ(patch("/api/chat/" + bad, {{"title", "t"}}, s.access).errorCode(), "not_found")
        << bad;
    EXPECT_EQ(del("/api/chat/" + bad, s.access).errorCode(), "not_found") << bad;
  }
}

TEST_P(ChatCrudTest, TheSixthActiveChatIsRefused) {
  const auto s = newUser("limit");
  std::vector<json::object> chats;
  for (int i = 0; i < 5; ++i)
    chats.push_back(createChat(s, "c" + std::to_string(i)));
  auto sixth = post("/api/chat", {{"title", "six"}}, s.access);
  EXPECT_EQ(sixth.status, 403);
  EXPECT_EQ(sixth.errorCode(), "chat_limit_reached");
  // Deactivating frees a slot; re-activating counts against the limit.
  EXPECT_EQ(
      patch("/api/chat/" + id(chats[0]), {{"is_active", false}}, s.access).json.at("is_active"),
      false);
  const auto replacement = createChat(s, "replacement");
  EXPECT_EQ(patch("/api/chat/" + id(chats[0]), {{"is_active", true}}, s.access).errorCode(),
            "chat_limit_reached");
  EXPECT_EQ(get("/api/chat/" + id(chats[0]), s.access).json.at("chat").at("is_active"), false);
  EXPECT_EQ(del("/api/chat/" + id(replacement), s.access).status, 204);
  EXPECT_EQ(patch("/api/chat/" + id(chats[0]), {{"is_active", true}}, s.access).status, 200);
  // The limit is per user.
  const auto other = newUser("other");
  createChat(other);
}

TEST_P(ChatCrudTest, TwentyConcurrentCreatesLeaveExactlyFive) {
  const auto s = newUser("race");
  const auto race = test::raceChatCreates(20, [&](int i) {
    return post("/api/chat", {{"title", "race " + std::to_string(i)}}, s.access);
  });
  EXPECT_EQ(race.created, 5);
  EXPECT_EQ(race.refused, 15);
  EXPECT_EQ(get("/api/chat", s.access).json.at("total"), 5);
}

TEST_P(ChatCrudTest, RenamingMovesAChatToTheTop) {
  const auto s = newUser("order");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(id(createChat(s, "c" + std::to_string(i))));
    clock_.advance(1s);
  }
  auto list = get("/api/chat", s.access).json.at("chats").as_array();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].at("chat_id"), json::value(ids[2]));
  EXPECT_EQ(list[2].at("chat_id"), json::value(ids[0]));
  auto renamed = patch("/api/chat/" + ids[0], {{"title", "new title ✨"}}, s.access);
  ASSERT_EQ(renamed.status, 200);
  EXPECT_EQ(renamed.json.at("title"), "new title ✨");
  EXPECT_EQ(renamed.json.at("updated_at"), json::value(formatRfc3339(clock_.now())));
  list = get("/api/chat", s.access).json.at("chats").as_array();
  EXPECT_EQ(list[0].at("chat_id"), json::value(ids[0]));
}

TEST_P(ChatCrudTest, HistoryPagesOldestFirst) {
  const auto s = newUser("paging");
  const auto c = id(createChat(s, "paging"));
  const auto ids = addMessages(c, 6);
  auto all = get("/api/chat/" + c, s.access);
  ASSERT_EQ(all.status, 200);
  const auto& ms = all.json.at("messages").as_array();
  ASSERT_EQ(ms.size(), 6u);
  EXPECT_EQ(ms[0].at("role"), "user");
  EXPECT_EQ(ms[1].at("role"), "assistant");
  EXPECT_EQ(ms[1].at("parent_message_id"), json::value(ids[0]));
  EXPECT_TRUE(ms[0].at("metadata").is_object());
  EXPECT_EQ(ms[5].at("content"), "message 5 ✨");
  auto p1 = get("/api/chat/" + c + "?limit=2", s.access);
  EXPECT_EQ(p1.json.at("messages").at(0).at("message_id"), json::value(ids[4]));
  EXPECT_EQ(p1.json.at("has_more"), true);
  auto p2 = get("/api/chat/" + c + "?limit=2&before=" + ids[4], s.access);
  EXPECT_EQ(p2.json.at("messages").at(0).at("message_id"), json::value(ids[2]));
  EXPECT_EQ(p2.json.at("has_more"), true);
  auto p3 = get("/api/chat/" + c + "?limit=500&before=" + ids[2], s.access);
  EXPECT_EQ(p3.json.at("messages").as_array().size(), 2u);
  EXPECT_EQ(p3.json.at("has_more"), false);
  EXPECT_EQ(get("/api/chat", s.access).json.at("chats").at(0).at("current_message_id"),
            json::value(ids[5]));
}

TEST_P(ChatCrudTest, BadPagingIsInvalidRequest) {
  const auto s = newUser("badpage");
  const auto c = id(createChat(s));
  for (const char* q : {"?limit=0", "?limit=501", "?limit=abc", "?limit=-1", "?limit=5x"}) {
    auto r = get("/api/chat/" + c + q, s.access);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(r.errorField(), "limit") << q;
  }
  EXPECT_EQ(get("/api/chat/" + c + "?before=not-a-uuid", s.access).errorField(), "before");
  EXPECT_EQ(get("/api/chat/" + c + "?before=" + newUuidV7(), s.access).errorField(), "before");
}

TEST_P(ChatCrudTest, DeletingAChatRemovesItsMessages) {
  const auto s = newUser("delete");
  const auto c = id(createChat(s, "doomed"));
  addMessages(c, 2);
  auto r = del("/api/chat/" + c, s.access);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.raw.body, "");
  EXPECT_EQ(get("/api/chat/" + c, s.access).errorCode(), "not_found");
  EXPECT_EQ(del("/api/chat/" + c, s.access).errorCode(), "not_found");
  EXPECT_EQ(get("/api/chat", s.access).json.at("total"), 0);
}

TEST_P(ChatCrudTest, AnotherUsersChatIsExactlyLikeAMissingOne) {
  const auto owner = newUser("owner");
  const auto thief = newUser("thief");
  const auto c = id(createChat(owner, "private"));
  addMessages(c, 2);
  auto stolen = get("/api/chat/" + c, thief.access);
  auto missing = get("/api/chat/" + newUuidV7(), thief.access);
  EXPECT_EQ(stolen.status, 404);
  EXPECT_EQ(stolen.json.at("error").at("message"), missing.json.at("error").at("message"));
  EXPECT_EQ(patch("/api/chat/" + c, {{"title", "pwned"}}, thief.access).errorCode(), "not_found");
  EXPECT_EQ(patch("/api/chat/" + c, {{"is_active", false}}, thief.access).errorCode(), "not_found");
  EXPECT_EQ(del("/api/chat/" + c, thief.access).errorCode(), "not_found");
  EXPECT_EQ(get("/api/chat", thief.access).json.at("total"), 0);
  auto mine = get("/api/chat/" + c, owner.access);
  EXPECT_EQ(mine.json.at("chat").at("title"), "private");
  EXPECT_EQ(mine.json.at("chat").at("is_active"), true);
  EXPECT_EQ(mine.json.at("messages").as_array().size(), 2u);
}

TEST_P(ChatCrudTest, EveryChatRouteNeedsAToken) {
  const std::string some = newUuidV7();
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/chat"},
                                                        {"POST", "/api/chat"},
                                                        {"GET", "/api/chat/" + some},
                                                        {"PATCH", "/api/chat/" + some},
                                                        {"DELETE", "/api/chat/" + some}}) {
    auto r = test::call(app_->port(), method, path, json::object{});
    EXPECT_EQ(r.status, 401) << method << " " << path;
    EXPECT_EQ(r.errorCode(), "unauthorized");
    EXPECT_EQ(r.raw.header("WWW-Authenticate"), "Bearer");
  }
}

INSTANTIATE_TEST_SUITE_P(Databases, ChatCrudTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
