// One user's data is closed to every other user, whatever id they send: every route that
// takes a chat, message or upload id answers another user exactly as it answers an id that
// does not exist (404 not_found, or the field's 400 inside their own chat), and nothing of
// the owner's changes. On SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "app/gemini_app_fixture.hpp"
#include "support/raw_client.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;

class IsolationTest : public GeminiAppFixture {
 protected:
  // A small PNG of the user's, uploaded as the raw body: its id and url.
  std::pair<std::string, std::string> uploadOf(const Session& s) {
    std::string png("\x89PNG\r\n\x1a\n", 8);
    png.append(200, 'p');
    const std::string req =
        "POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Authorization: Bearer " +
        s.access + "\r\nContent-Type: image/png\r\nContent-Length: " + std::to_string(png.size()) +
        "\r\n\r\n" + png;
    auto r = test::rawRequest(app_->port(), req);
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    if (!r || r->status != 201) return {};
    const auto j = json::parse(r->body);
    return {std::string(j.at("upload_id").as_string()), std::string(j.at("url").as_string())};
  }
  test::JsonResponse as(const Session& s, const std::string& method, const std::string& path,
                        std::optional<json::value> body = std::nullopt) {
    return test::call(app_->port(), method, path, body, s.access);
  }
};

TEST_P(IsolationTest, EveryRouteWithAnIdIsClosedToAnotherUser) {
  const auto alice = newUser("alice");
  const auto mallory = newUser("mallory");
  const auto chat = chatOf(alice);
  ASSERT_EQ(send(alice, chat, "a secret palette: vermilion")->rest().back().event, "done");
  const auto history = get("/api/chat/" + chat, alice.access).json;
  const auto& ms = history.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  const std::string question(ms[0].at("message_id").as_string());
  const std::string reply(ms[1].at("message_id").as_string());
  const auto [uploadId, uploadUrl] = uploadOf(alice);
  ASSERT_FALSE(uploadId.empty());
  const auto usage = get("/api/usage", alice.access).json;

  struct Probe {
    std::string method, path;
    std::optional<json::value> body;
  };
  const std::string c = "/api/chat/" + chat;
  const std::vector<Probe> probes = {
      {"GET", c, std::nullopt},
      {"GET", c + "?before=" + reply, std::nullopt},
      {"PATCH", c, json::value{{"title", "mine now"}}},
      {"PATCH", c, json::value{{"is_active", false}}},
      {"PATCH", c, json::value{{"current_message_id", question}}},
      {"DELETE", c, std::nullopt},
      {"POST", c + "/message", json::value{{"message", "hello"}}},
      {"POST", c + "/message", json::value{{"message", "hello"}, {"parent_message_id", reply}}},
      {"POST", c + "/regenerate", json::object{}},
      {"POST", c + "/regenerate", json::value{{"message_id", reply}}},
      {"POST", c + "/stop", json::object{}},
      {"GET", c + "/stream", std::nullopt},
      {"GET", c + "/export?format=json", std::nullopt},
      {"GET", c + "/export?format=markdown", std::nullopt},
      {"GET", "/api/uploads/" + uploadId, std::nullopt},
      {"GET", "/api/uploads/" + uploadId + "/content", std::nullopt},
      {"DELETE", "/api/uploads/" + uploadId, std::nullopt},
  };
  for (const auto& p : probes) {
    const auto r = as(mallory, p.method, p.path, p.body);
    EXPECT_EQ(r.status, 404) << p.method << " " << p.path;
    EXPECT_EQ(r.errorCode(), "not_found") << p.method << " " << p.path;
    EXPECT_EQ(r.raw.body.find("vermilion"), std::string::npos);
  }

  // Inside Mallory's own chat, Alice's ids are as unknown as made-up ones.
  const auto own = chatOf(mallory);
  const std::string o = "/api/chat/" + own;
  auto parent = as(mallory, "POST", o + "/message",
                   json::value{{"message", "hi"}, {"parent_message_id", reply}});
  EXPECT_EQ(parent.status, 400);
  EXPECT_EQ(parent.errorField(), "parent_message_id");
  auto branch = as(mallory, "PATCH", o, json::value{{"current_message_id", reply}});
  EXPECT_EQ(branch.status, 400);
  EXPECT_EQ(branch.errorField(), "current_message_id");
  auto again = as(mallory, "POST", o + "/regenerate", json::value{{"message_id", reply}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.errorField(), "message_id");
  auto attach =
      as(mallory, "POST", o + "/message",
         json::value{{"message", "look"},
                     {"attachments", json::array{{{"type", "image"}, {"url", uploadUrl}}}}});
  EXPECT_EQ(attach.status, 400);
  EXPECT_EQ(attach.errorCode(), "invalid_attachment");
  // Search finds only the caller's words; the list only the caller's chats.
  EXPECT_TRUE(as(mallory, "GET", "/api/search?q=vermilion").json.at("results").as_array().empty());
  EXPECT_EQ(as(mallory, "GET", "/api/chat").json.at("total"), 1);
  EXPECT_TRUE(gemini_.requests().size() == 1u) << "no probe reached the model";

  // Nothing of Alice's changed.
  const auto after = get("/api/chat/" + chat, alice.access).json;
  EXPECT_EQ(after.at("chat"), history.at("chat"));
  EXPECT_EQ(after.at("messages"), history.at("messages"));
  EXPECT_EQ(get("/api/uploads/" + uploadId, alice.access).status, 200);
  EXPECT_EQ(get("/api/usage", alice.access).json, usage);
  EXPECT_FALSE(get("/api/search?q=vermilion", alice.access).json.at("results").as_array().empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, IsolationTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
