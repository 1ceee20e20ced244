// The web UI's files served by the app (WEB_DIR): types, caching, compression, client-side
// routes, the Content-Security-Policy, HEAD, and what stays JSON.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/app.hpp"
#include "app/web_routes.hpp"
#include "support/raw_client.hpp"
#include "support/test_database.hpp"
#include "web/static_site.hpp"

namespace atelier::app {
namespace {

namespace fs = std::filesystem;
using test::RawClient;

const std::string kIndex =
    "<!doctype html><html><head><script type=module src=/assets/app-1a2b3c.js></script></head>"
    "<body><div id=app></div></body></html>";
const std::string kScript = "console.log('atelier');\n";

void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

class WebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDatabase>(test::DbKind::sqlite);
    site_ = fs::path(db_->dir()) / "site";
    write(site_ / "index.html", kIndex);
    write(site_ / "assets" / "app-1a2b3c.js", kScript);
    // A stand-in for the build's gzip copy: its bytes only need to differ and be smaller.
    write(site_ / "assets" / "app-1a2b3c.js.gz", "GZ");
    write(site_ / "favicon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
  }

  void start(const std::string& webDir) {
    config::EnvMap env{{"HOST", "127.0.0.1"},
                       {"PORT", "0"},
                       {"DATABASE_URL", db_->url()},
                       {"STORAGE_URL", "file://" + db_->dir() + "/uploads"},
                       {"JWT_SECRET", std::string(48, 'w')},
                       {"WEB_DIR", webDir},
                       {"THREADS", "1"},
                       {"LOG_LEVEL", "warn"}};
    auto cfg = config::loadConfig(env);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    app_ = std::make_unique<App>(std::move(cfg).value());
    auto started = app_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  void TearDown() override {
    if (app_) {
      app_->requestShutdown();
      EXPECT_EQ(app_->wait(), 0);
    }
  }

  test::RawResponse get(const std::string& path, const std::string& headers = "") {
    auto r = test::rawRequest(app_->port(), test::get(path, headers));
    EXPECT_TRUE(r) << path;
    return r.value_or(test::RawResponse{});
  }

  std::unique_ptr<test::TestDatabase> db_;
  fs::path site_;
  std::unique_ptr<App> app_;
};

TEST_F(WebTest, IndexAtTheRootWithThePolicyAndNoCaching) {
  start(site_.string());
  const auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kIndex);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  EXPECT_EQ(r.header("Content-Security-Policy"), std::string(kContentSecurityPolicy));
  const std::string csp(kContentSecurityPolicy);
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(r.header("ETag"));
}

TEST_F(WebTest, ClientRoutesGetTheIndex) {
  start(site_.string());
  for (const std::string path :
       {"/login", "/verify?email=a%40b.c", "/c/0190f5a4-8c4e-7000-8000-000000000001", "/c/x/y"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, kIndex) << path;
    EXPECT_TRUE(r.header("Content-Security-Policy")) << path;
  }
}

TEST_F(WebTest, HashedAssetsAreImmutableAndCompressedWhenAccepted) {
  start(site_.string());
  auto plain = get("/assets/app-1a2b3c.js");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, kScript);
  EXPECT_EQ(plain.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");
  EXPECT_FALSE(plain.header("Content-Encoding"));

  auto gz = get("/assets/app-1a2b3c.js", "Accept-Encoding: br, gzip;q=0.8\r\n");
  EXPECT_EQ(gz.body, "GZ");
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.header("ETag"), plain.header("ETag"));

  auto refused = get("/assets/app-1a2b3c.js", "Accept-Encoding: gzip;q=0, deflate\r\n");
  EXPECT_EQ(refused.body, kScript);

  // The .gz copy is not a file of its own.
  EXPECT_EQ(get("/assets/app-1a2b3c.js.gz").status, 404);
  const auto svg = get("/favicon.svg");
  EXPECT_EQ(svg.header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(svg.header("Cache-Control"), "no-cache");
}

TEST_F(WebTest, ConditionalRequestsGet304) {
  start(site_.string());
  const auto first = get("/assets/app-1a2b3c.js");
  const std::string etag = first.header("ETag").value_or("");
  ASSERT_FALSE(etag.empty());
  const auto again = get("/assets/app-1a2b3c.js", "If-None-Match: \"other\", " + etag + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.header("ETag"), etag);
  EXPECT_EQ(get("/assets/app-1a2b3c.js", "If-None-Match: W/" + etag + "\r\n").status, 304);
  EXPECT_EQ(get("/assets/app-1a2b3c.js", "If-None-Match: \"stale\"\r\n").status, 200);
}

TEST_F(WebTest, HeadSendsTheHeadersAlone) {
  start(site_.string());
  RawClient c(app_->port());
  ASSERT_TRUE(c.send("HEAD /assets/app-1a2b3c.js HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = c.readHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(kScript.size()));
  // No body came: the next answer on the connection starts right away.
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto next = c.read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, R"({"status":"ok"})");
  // HEAD works on any GET route.
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto health = c.readHead();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(WebTest, ApiPathsMissingFilesAndOtherMethodsStayJsonErrors) {
  start(site_.string());
  for (const std::string path : {"/api", "/api/nope", "/api/chat/x/y/z", "/missing.png",
                                 "/assets/gone-123.js", "/%2e%2e/etc/passwd.txt"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body.find(R"("code":"not_found")"), std::string::npos) << path << ": " << r.body;
  }
  // No path reaches the file system: a climbing one is just another client route.
  for (const std::string path : {"/../etc/passwd", "/assets/../../etc/passwd"}) {
    const auto r = get(path);
    EXPECT_EQ(r.body, kIndex) << path;
  }
  auto post = test::rawRequest(app_->port(),
                               "POST /login HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
  // Known API routes are untouched by the fallback.
  EXPECT_EQ(get("/api/chat").status, 401);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(WebTest, AConfiguredWebDirWithoutIndexStopsStartUp) {
  fs::create_directories(site_ / "empty");
  // No index.html: a WEB_DIR that is set must be servable, or the server does not start.
  config::EnvMap env{{"DATABASE_URL", db_->url()},
                     {"PORT", "0"},
                     {"HOST", "127.0.0.1"},
                     {"JWT_SECRET", std::string(48, 'w')},
                     {"WEB_DIR", (site_ / "empty").string()}};
  auto cfg = config::loadConfig(env);
  ASSERT_TRUE(cfg.ok());
  App bad(std::move(cfg).value());
  auto started = bad.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("WEB_DIR"), std::string::npos);
  EXPECT_NE(started.error().message.find("index.html"), std::string::npos);
}

TEST(StaticSite, LoadsFilesWithTypesAndRefusesASiteWithoutIndex) {
  const auto dir = fs::temp_directory_path() / ("atelier-site-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write(dir / "assets" / "a-1.css", "body{}");
  EXPECT_FALSE(web::StaticSite::load(dir).ok());
  write(dir / "index.html", "<html></html>");
  auto site = web::StaticSite::load(dir);
  ASSERT_TRUE(site.ok()) << site.error().message;
  EXPECT_EQ(site->fileCount(), 2u);
  ASSERT_NE(site->find("/assets/a-1.css"), nullptr);
  EXPECT_EQ(site->find("/assets/a-1.css")->contentType, "text/css; charset=utf-8");
  EXPECT_TRUE(site->find("/assets/a-1.css")->immutable);
  EXPECT_FALSE(site->index().immutable);
  EXPECT_EQ(site->find("assets/a-1.css"), nullptr);
  EXPECT_EQ(site->find("/assets/../index.html"), nullptr);
  EXPECT_EQ(web::contentTypeFor("x.WOFF2"), "font/woff2");
  EXPECT_EQ(web::contentTypeFor("Makefile"), "application/octet-stream");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace atelier::app
