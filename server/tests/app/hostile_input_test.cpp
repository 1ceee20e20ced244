// Hostile bodies and targets on the JSON routes: nesting past the parser's depth, invalid
// UTF-8, NUL characters, a 50 MB body, a 100 KB URL. Each gets the contract's JSON error,
// nothing is stored, and the server goes on serving. On SQLite and PostgreSQL (whose text
// type cannot hold a NUL: it must never get that far).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "app/app_fixture.hpp"
#include "support/raw_client.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
using test::DbKind;

class HostileInputTest : public AppFixture {
 protected:
  // POST `body` as JSON to `path` on a fresh connection.
  std::optional<test::RawResponse> postRaw(const std::string& path, const std::string& body,
                                           const std::string& token) {
    return test::rawRequest(app_->port(), "POST " + path +
                                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                                              "close\r\nContent-Type: application/json\r\n"
                                              "Authorization: Bearer " +
                                              token + "\r\nContent-Length: " +
                                              std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  static std::string codeOf(const test::RawResponse& r) {
    boost::system::error_code ec;
    const auto j = json::parse(r.body, ec);
    if (ec || !j.is_object() || !j.as_object().contains("error")) return "(not the error shape)";
    return std::string(j.at("error").at("code").as_string());
  }
};

TEST_P(HostileInputTest, EveryMalformedBodyIsAJsonErrorAndNothingIsStored) {
  const auto s = newUser("hostile");
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"deep nesting", std::string(5000, '[') + std::string(5000, ']')},
      {"deep objects",
       [] {
         std::string b;
         for (int i = 0; i < 3000; ++i)
           b += "{\"a\":";
         b += "1";
         b += std::string(3000, '}');
         return b;
       }()},
      {"invalid UTF-8", "{\"title\":\"\xff\xfe\xfd\"}"},
      {"overlong UTF-8", "{\"title\":\"\xc0\xaf\"}"},
      {"a lone surrogate", R"({"title":"\ud800"})"},
      {"a NUL escape", R"({"title":"a\u0000b"})"},
      {"a raw NUL", std::string("{\"title\":\"a\0b\"}", 15)},
      {"not an object", "[1,2,3]"},
      {"trailing garbage", "{\"title\":\"x\"} {}"},
  };
  for (const auto& [what, body] : bodies) {
    auto r = postRaw("/api/chat", body, s.access);
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, 400) << what << ": " << r->body;
    EXPECT_EQ(codeOf(*r), "invalid_request") << what;
  }
  // Registration too: a NUL in an e-mail or password is refused, not stored.
  for (const std::string body :
       {R"({"email":"x\u0000@example.com","password":"long enough pass"})",
        R"({"email":"nul@example.com","password":"long enough\u0000pass"})"}) {
    auto r = postRaw("/api/auth/register", body, "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body << ": " << r->body;
  }
  EXPECT_EQ(get("/api/chat", s.access).json.at("total"), 0);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_P(HostileInputTest, HugeBodiesAndUrlsAreRefusedBeforeTheyAreRead) {
  const auto s = newUser("huge");
  // 50 MB announced: refused from the head, without waiting for (or reading) the body.
  test::RawClient c(app_->port());
  ASSERT_TRUE(
      c.send("POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nAuthorization: Bearer " +
             s.access + "\r\nContent-Length: 52428800\r\n\r\n{\"title\":\""));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(codeOf(*r), "payload_too_large");
  EXPECT_TRUE(c.closedWithin(std::chrono::seconds(5)));
  // A 100 KB target: the head is over its limit.
  auto longUrl = test::rawRequest(
      app_->port(), "GET /api/chat?" + std::string(100'000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(longUrl);
  EXPECT_EQ(longUrl->status, 431);
  EXPECT_EQ(codeOf(*longUrl), "headers_too_large");
  EXPECT_EQ(get("/api/chat", s.access).json.at("total"), 0);
  EXPECT_EQ(get("/healthz").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Databases, HostileInputTest,
                         ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) { return test::dbKindName(info.param); });

}  // namespace
}  // namespace atelier::app
