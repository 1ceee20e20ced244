// /api/uploads and message attachments over real HTTP: SQLite with local files, and
// PostgreSQL with S3 (s3rver) — the two set-ups people run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "app/gemini_app_fixture.hpp"
#include "support/raw_client.hpp"
#include "support/tcp_listener.hpp"
#include "support/test_s3.hpp"
#include "util/crypto.hpp"

namespace atelier::app {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using test::DbKind;
using namespace std::chrono_literals;

constexpr std::int64_t kMaxUpload = 200000;

// Bytes that start with the type's signature and then hold every byte value (NULs, CRLFs,
// the bytes of a multipart delimiter) so that any mangling on the way shows.
std::string imageBytes(std::string_view signature, std::size_t size) {
  std::string b(signature);
  for (std::size_t i = 0; b.size() < size; ++i)
    b.push_back(static_cast<char>((i * 31 + 7) % 256));
  return b;
}
const std::string kPng = imageBytes(std::string_view("\x89PNG\r\n\x1a\n", 8), 5000);
const std::string kJpeg = imageBytes(std::string_view("\xff\xd8\xff\xe0", 4), 7000);
const std::string kGif = imageBytes("GIF89a", 3000);
const std::string kWebp = imageBytes(std::string_view("RIFF\x20\x00\x00\x00WEBPVP8 ", 16), 4000);

std::string multipartBody(const std::string& boundary, const std::string& name,
                          const std::string& filename, const std::string& type,
                          const std::string& content) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
         "\"; filename=\"" + filename + "\"\r\nContent-Type: " + type + "\r\n\r\n" + content +
         "\r\n--" + boundary + "--\r\n";
}

class UploadTest : public GeminiAppFixture {
 protected:
  bool usesS3() const { return GetParam() == DbKind::postgres; }

  void SetUp() override {
    if (usesS3()) {
      ATELIER_REQUIRE_S3(s3_);
    }
    GeminiAppFixture::SetUp();
  }

  config::EnvMap extraEnv() const override {
    auto env = geminiEnv();
    env["MAX_UPLOAD_BYTES"] = std::to_string(kMaxUpload);
    if (usesS3()) {
      for (const auto& [k, v] : s3_.env())
        env[k] = v;
    }
    return env;
  }

  test::JsonResponse upload(const Session& s, const std::string& body,
                            const std::string& contentType) {
    std::string req = "POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!s.access.empty()) req += "Authorization: Bearer " + s.access + "\r\n";
    req += "Content-Type: " + contentType + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
    test::JsonResponse out;
    auto r = test::rawRequest(app_->port(), req);
    if (!r) return out;
    out.status = r->status;
    boost::system::error_code ec;
    out.json = json::parse(r->body, ec);
    if (ec) out.json = nullptr;
    out.raw = std::move(*r);
    return out;
  }

  test::JsonResponse uploadFile(const Session& s, const std::string& bytes,
                                const std::string& filename = "image.bin") {
    return upload(s, multipartBody("----atelier7MA4YWxk", "file", filename, "image/png", bytes),
                  "multipart/form-data; boundary=----atelier7MA4YWxk");
  }

  // The object key of an upload's url, and whether the storage holds it.
  std::string keyOf(const std::string& url) const {
    const std::string prefix = usesS3() ? "s3://atelier-test/" : "file:///";
    EXPECT_EQ(url.rfind(prefix, 0), 0u) << url;
    return url.substr(prefix.size());
  }
  bool objectExists(const std::string& url) const {
    if (usesS3()) return s3_.objectExists(keyOf(url));
    return fs::exists(fs::path(db_->dir()) / "uploads" / keyOf(url));
  }

  std::unique_ptr<test::SseClient> sendWith(const Session& s, const std::string& chatId,
                                            const std::string& message, json::array attachments) {
    return std::make_unique<test::SseClient>(
        app_->port(), "/api/chat/" + chatId + "/message",
        json::serialize(
            json::object{{"message", message}, {"attachments", std::move(attachments)}}),
        s.access);
  }
  static json::array imageList(std::initializer_list<std::string> urls) {
    json::array a;
    for (const auto& u : urls)
      a.push_back(json::object{{"type", "image"}, {"url", u}});
    return a;
  }

  test::TestS3 s3_;
};

TEST_P(UploadTest, AcceptsEachOfTheFourTypesJudgedByTheirBytes) {
  const auto s = newUser();
  struct Case {
    const std::string* bytes;
    std::string mime, ext, declared;
  };
  // The declared type and the file name lie; only the bytes count.
  const std::vector<Case> cases = {{&kPng, "image/png", "png", "image/gif"},
                                   {&kJpeg, "image/jpeg", "jpg", "application/octet-stream"},
                                   {&kGif, "image/gif", "gif", "image/png"},
                                   {&kWebp, "image/webp", "webp", "text/plain"}};
  for (const auto& c : cases) {
    for (bool multipart : {false, true}) {
      SCOPED_TRACE(c.mime + (multipart ? " multipart" : " raw"));
      auto r = multipart ? uploadFile(s, *c.bytes, "picture.txt") : upload(s, *c.bytes, c.declared);
      ASSERT_EQ(r.status, 201) << r.raw.body;
      const auto& u = r.json.as_object();
      const std::string id(u.at("upload_id").as_string());
      EXPECT_TRUE(isUuid(id));
      EXPECT_EQ(u.at("mime_type").as_string(), c.mime);
      EXPECT_EQ(u.at("size_bytes").as_int64(), static_cast<std::int64_t>(c.bytes->size()));
      EXPECT_TRUE(u.at("created_at").is_string());
      const std::string url(u.at("url").as_string());
      EXPECT_EQ(keyOf(url), "users/" + s.userId + "/uploads/" + id + "." + c.ext);
      EXPECT_TRUE(objectExists(url));

      auto meta = get("/api/uploads/" + id, s.access);
      EXPECT_EQ(meta.status, 200);
      EXPECT_EQ(meta.json, r.json);

      auto content = get("/api/uploads/" + id + "/content", s.access);
      EXPECT_EQ(content.status, 200);
      EXPECT_EQ(content.raw.body, *c.bytes);
      EXPECT_EQ(content.raw.header("Content-Type"), c.mime);
      EXPECT_EQ(content.raw.header("Content-Length"), std::to_string(c.bytes->size()));
      EXPECT_EQ(content.raw.header("X-Content-Type-Options"), "nosniff");
      EXPECT_EQ(std::count_if(content.raw.headers.begin(), content.raw.headers.end(),
                              [](const auto& h) { return h.first == "X-Content-Type-Options"; }),
                1);
      EXPECT_NE(content.raw.header("Cache-Control").value_or("").find("private"),
                std::string::npos);
      const auto etag = content.raw.header("ETag");
      ASSERT_TRUE(etag);
      EXPECT_EQ(*etag, "\"" + sha256Hex(*c.bytes) + "\"");
      auto cached = test::call(app_->port(), "GET", "/api/uploads/" + id + "/content", std::nullopt,
                               s.access, "If-None-Match: " + *etag + "\r\n");
      EXPECT_EQ(cached.status, 304);
      EXPECT_TRUE(cached.raw.body.empty());
    }
  }
}

TEST_P(UploadTest, RefusesATextFileNamedPngAndStoresNothing) {
  const auto s = newUser();
  const std::string text = "I am plain text, whatever my name says.\n";
  auto r = upload(s, multipartBody("b0undary", "file", "cat.png", "image/png", text),
                  "multipart/form-data; boundary=b0undary");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.errorCode(), "unsupported_media_type");
  auto raw = upload(s, text, "image/png");
  EXPECT_EQ(raw.status, 415);
  auto svg = upload(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                    "image/svg+xml");
  EXPECT_EQ(svg.status, 415);
  if (!usesS3()) {
    EXPECT_FALSE(fs::exists(fs::path(db_->dir()) / "uploads" / "users" / s.userId));
  }
}

TEST_P(UploadTest, RefusesEmptyMissingAndMalformedFiles) {
  const auto s = newUser();
  auto empty = upload(s, "", "image/png");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.errorCode(), "invalid_request");
  EXPECT_EQ(empty.errorField(), "file");

  auto wrongName = upload(s, multipartBody("bb", "picture", "a.png", "image/png", kPng),
                          "multipart/form-data; boundary=bb");
  EXPECT_EQ(wrongName.status, 400);
  EXPECT_EQ(wrongName.errorField(), "file");

  auto emptyPart = upload(s, multipartBody("bb", "file", "a.png", "image/png", ""),
                          "multipart/form-data; boundary=bb");
  EXPECT_EQ(emptyPart.status, 400);

  auto noBoundary = upload(s, kPng, "multipart/form-data");
  EXPECT_EQ(noBoundary.status, 400);
  auto cut = upload(s, "--bb\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + kPng,
                    "multipart/form-data; boundary=bb");
  EXPECT_EQ(cut.status, 400);
  EXPECT_EQ(cut.errorCode(), "invalid_request");
}

TEST_P(UploadTest, RefusesAFileOverTheLimit) {
  const auto s = newUser();
  // Just over MAX_UPLOAD_BYTES: within the framing allowance, so read, then refused.
  auto over =
      upload(s, imageBytes(std::string_view("\x89PNG\r\n\x1a\n", 8), kMaxUpload + 1), "image/png");
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(over.errorCode(), "payload_too_large");
  auto exact =
      upload(s, imageBytes(std::string_view("\x89PNG\r\n\x1a\n", 8), kMaxUpload), "image/png");
  EXPECT_EQ(exact.status, 201);
  auto multipartOver =
      uploadFile(s, imageBytes(std::string_view("\x89PNG\r\n\x1a\n", 8), kMaxUpload + 1));
  EXPECT_EQ(multipartOver.status, 413);
}

TEST_P(UploadTest, RefusesAnOversizeBodyWithoutReadingIt) {
  const auto s = newUser();
  // A declared length over the limit: answered from the head alone.
  {
    test::RawClient c(app_->port());
    ASSERT_TRUE(c.send("POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       s.access +
                       "\r\nContent-Type: image/png\r\nContent-Length: 50000000\r\n\r\n" + kPng));
    auto r = c.read(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closedWithin(5s));
  }
  // No declared length (chunked): refused once the body passes the limit plus the framing
  // allowance, while the client is still sending.
  {
    test::RawClient c(app_->port());
    ASSERT_TRUE(c.send("POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       s.access +
                       "\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string piece(16384, 'x');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    const std::size_t total = 20u << 20;  // what the client would send: 20 MiB
    std::size_t sent = 0;
    std::optional<test::RawResponse> answer;
    while (sent < total && !answer) {
      if (!c.send(size + piece + "\r\n")) break;  // the server closed: read its answer below
      sent += piece.size();
      answer = c.read(1ms);
    }
    if (!answer) answer = c.read(5s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 413);
    EXPECT_LT(sent, total / 4) << "the server read far past the limit";
  }
}

TEST_P(UploadTest, AnotherUsersUploadIsNotFound) {
  const auto owner = newUser("owner");
  const auto other = newUser("other");
  auto up = uploadFile(owner, kPng);
  ASSERT_EQ(up.status, 201);
  const std::string id(up.json.at("upload_id").as_string());
  const std::string url(up.json.at("url").as_string());
  for (const auto& path : {"/api/uploads/" + id, "/api/uploads/" + id + "/content"}) {
    auto r = get(path, other.access);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.errorCode(), "not_found");
  }
  EXPECT_EQ(del("/api/uploads/" + id, other.access).status, 404);
  EXPECT_TRUE(objectExists(url));
  // Nor can it be attached by someone else.
  const auto chat = chatOf(other);
  auto sse = sendWith(other, chat, "describe this", imageList({url}));
  EXPECT_EQ(sse->status(), 400);
  EXPECT_NE(sse->errorBody().find("invalid_attachment"), std::string::npos);
  EXPECT_TRUE(gemini_.requests().empty());
  // Unknown and malformed ids, and no token at all.
  EXPECT_EQ(get("/api/uploads/" + newUuidV7(), owner.access).status, 404);
  EXPECT_EQ(get("/api/uploads/not-a-uuid/content", owner.access).status, 404);
  EXPECT_EQ(get("/api/uploads/" + id).status, 401);
  EXPECT_EQ(upload(Session{}, kPng, "image/png").status, 401);
}

TEST_P(UploadTest, DeleteRemovesTheObjectAndTheRow) {
  const auto s = newUser();
  auto up = uploadFile(s, kGif);
  ASSERT_EQ(up.status, 201);
  const std::string id(up.json.at("upload_id").as_string());
  const std::string url(up.json.at("url").as_string());
  ASSERT_TRUE(objectExists(url));
  EXPECT_EQ(del("/api/uploads/" + id, s.access).status, 204);
  EXPECT_FALSE(objectExists(url));
  EXPECT_EQ(get("/api/uploads/" + id, s.access).status, 404);
  EXPECT_EQ(get("/api/uploads/" + id + "/content", s.access).status, 404);
  EXPECT_EQ(del("/api/uploads/" + id, s.access).status, 404);
  // A deleted upload can no longer be attached.
  const auto chat = chatOf(s);
  auto sse = sendWith(s, chat, "and this?", imageList({url}));
  EXPECT_EQ(sse->status(), 400);
  EXPECT_NE(sse->errorBody().find("invalid_attachment"), std::string::npos);
}

TEST_P(UploadTest, AnAttachmentReachesTheModelAsItsExactBytesAndStaysInTheHistory) {
  const auto s = newUser();
  auto png = uploadFile(s, kPng);
  auto webp = upload(s, kWebp, "image/webp");
  ASSERT_EQ(png.status, 201);
  ASSERT_EQ(webp.status, 201);
  const std::string pngUrl(png.json.at("url").as_string());
  const std::string webpUrl(webp.json.at("url").as_string());
  const auto chat = chatOf(s);
  gemini_.script({.chunks = {"A violet ", "square."}, .promptTokens = -1});

  auto sse = sendWith(s, chat, "What is in these pictures?", imageList({pngUrl, webpUrl}));
  ASSERT_EQ(sse->status(), 200) << sse->errorBody();
  const auto events = sse->rest();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "done");
  EXPECT_EQ(texts(events), "A violet square.");

  // What the model received: the user turn with its text and both images, exact bytes.
  auto requests = gemini_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& contents = requests[0].body.at("contents").as_array();
  const auto& parts = contents.back().at("parts").as_array();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].at("text").as_string(), "What is in these pictures?");
  EXPECT_EQ(parts[1].at("inlineData").at("mimeType").as_string(), "image/png");
  EXPECT_EQ(parts[1].at("inlineData").at("data").as_string(), base64Encode(kPng));
  EXPECT_EQ(parts[2].at("inlineData").at("mimeType").as_string(), "image/webp");
  EXPECT_EQ(parts[2].at("inlineData").at("data").as_string(), base64Encode(kWebp));

  // The user message keeps them; the history shows them.
  const auto start = events.front().json();
  const auto& atts = start.at("user_message").at("metadata").at("attachments").as_array();
  ASSERT_EQ(atts.size(), 2u);
  EXPECT_EQ(atts[0].at("upload_id"), png.json.at("upload_id"));
  EXPECT_EQ(atts[0].at("url").as_string(), pngUrl);
  EXPECT_EQ(atts[0].at("mime_type").as_string(), "image/png");
  EXPECT_EQ(atts[0].at("generated").as_bool(), false);
  EXPECT_EQ(atts[0].at("model").as_string(), "gemini-test");
  EXPECT_EQ(atts[1].at("mime_type").as_string(), "image/webp");
  auto history = get("/api/chat/" + chat, s.access);
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.json.at("messages").as_array()[0].at("metadata").at("attachments"),
            start.at("user_message").at("metadata").at("attachments"));
  // Billed with 258 tokens per image in the prompt (the fake bills Atelier's own estimate).
  const auto done = events.back().json();
  EXPECT_GE(done.at("usage").at("prompt_tokens").as_int64(), 2 * 258);

  // The next turn resends the earlier images with their message; deleting one leaves it out.
  ASSERT_EQ(
      del("/api/uploads/" + std::string(webp.json.at("upload_id").as_string()), s.access).status,
      204);
  gemini_.script({.chunks = {"Still violet."}});
  auto next = send(s, chat, "And the colour again?");
  ASSERT_EQ(next->status(), 200) << next->errorBody();
  next->rest();
  requests = gemini_.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& turns = requests[1].body.at("contents").as_array();
  ASSERT_EQ(turns.size(), 3u);
  const auto& first = turns[0].at("parts").as_array();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].at("inlineData").at("data").as_string(), base64Encode(kPng));
  EXPECT_EQ(turns[2].at("parts").as_array().size(), 1u);
}

TEST_P(UploadTest, AForeignUrlIsRefusedWithoutAnyOutboundRequest) {
  const auto s = newUser();
  std::atomic<int> connections{0};
  test::TcpListener trap([&](int fd) {
    ++connections;
    ::close(fd);
  });
  auto mine = uploadFile(s, kPng);
  ASSERT_EQ(mine.status, 201);
  const std::string id(mine.json.at("upload_id").as_string());
  const std::string trapUrl = "http://127.0.0.1:" + std::to_string(trap.port()) + "/cat.png";
  const std::string base = usesS3() ? "s3://atelier-test/" : "file:///";
  const std::vector<std::string> foreign = {
      trapUrl,
      "https://example.com/cat.png",
      "file:///etc/passwd",
      "file:///users/" + s.userId + "/uploads/../../../etc/passwd",
      "s3://another-bucket/users/" + s.userId + "/uploads/" + id + ".png",
      base + "users/" + s.userId + "/uploads/" + newUuidV7() + ".png",
      base + "users/" + s.userId + "/uploads/" + id + ".gif",
      "/api/uploads/" + id + "/content",
      "data:image/png;base64,iVBORw0KGgo=",
  };
  const auto chat = chatOf(s);
  for (const auto& url : foreign) {
    auto sse = sendWith(s, chat, "look", imageList({url}));
    EXPECT_EQ(sse->status(), 400) << url;
    EXPECT_NE(sse->errorBody().find("invalid_attachment"), std::string::npos) << url;
    EXPECT_NE(sse->errorBody().find("\"field\":\"attachments\""), std::string::npos) << url;
  }
  // Shapes the contract refuses.
  const std::string mineUrl(mine.json.at("url").as_string());
  const std::vector<json::value> shapes = {
      json::value("not an array"),
      imageList({mineUrl, mineUrl, mineUrl, mineUrl, mineUrl}),
      json::array{json::object{{"type", "video"}, {"url", mineUrl}}},
      json::array{json::object{{"type", "image"}}},
      json::array{json::object{{"type", "image"}, {"url", 42}}},
      json::array{"just a string"},
  };
  for (const auto& a : shapes) {
    auto sse = std::make_unique<test::SseClient>(
        app_->port(), "/api/chat/" + chat + "/message",
        json::serialize(json::object{{"message", "look"}, {"attachments", a}}), s.access);
    EXPECT_EQ(sse->status(), 400) << json::serialize(a);
    EXPECT_NE(sse->errorBody().find("invalid_attachment"), std::string::npos);
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(connections.load(), 0);
  EXPECT_TRUE(gemini_.requests().empty());
  // Nothing was kept or reserved.
  EXPECT_EQ(used(s), 0);
  EXPECT_TRUE(get("/api/chat/" + chat, s.access).json.at("messages").as_array().empty());
}

INSTANTIATE_TEST_SUITE_P(Storage, UploadTest, ::testing::Values(DbKind::sqlite, DbKind::postgres),
                         [](const auto& info) {
                           return info.param == DbKind::sqlite ? std::string("sqlite_files")
                                                               : std::string("postgres_s3");
                         });

}  // namespace
}  // namespace atelier::app
