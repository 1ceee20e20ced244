#include "config/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/parse.hpp"

namespace atelier::config {
namespace {

using namespace std::chrono_literals;

Result<Config> load(EnvMap env) {
  return loadConfig(env);
}

std::string errorOf(EnvMap env) {
  auto r = loadConfig(env);
  return r.ok() ? std::string("(no error)") : r.error().message;
}

TEST(Config, DefaultsAreTheContractTable) {
  auto r = load({});
  ASSERT_TRUE(r.ok());
  const Config& c = *r;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.databaseUrl, "sqlite://./data/atelier.db");
  EXPECT_EQ(c.storage.url, "file://./data/uploads");
  EXPECT_EQ(c.storage.localRoot, "./data/uploads");
  EXPECT_EQ(c.storage.s3Region, "us-east-1");
  EXPECT_FALSE(c.storage.s3ForcePathStyle);
  EXPECT_TRUE(c.jwtSecret.empty());
  EXPECT_EQ(c.accessTokenTtl, 15min);
  EXPECT_EQ(c.refreshTokenTtl, 30 * 24h);
  EXPECT_EQ(c.llmProvider, "gemini");
  EXPECT_EQ(c.geminiModel, "gemini-2.5-flash");
  EXPECT_EQ(c.geminiBaseUrl, "https://generativelanguage.googleapis.com");
  EXPECT_EQ(c.defaultTokenLimit, 100000);
  EXPECT_EQ(c.tokenResetInterval, 30 * 24h);
  EXPECT_EQ(c.maxChatsPerUser, 5);
  EXPECT_EQ(c.maxOutputTokens, 2048);
  EXPECT_EQ(c.maxMessageChars, 16000);
  EXPECT_EQ(c.maxUploadBytes, 10485760);
  EXPECT_EQ(c.rateLimitMessagesPerMinute, 20);
  EXPECT_EQ(c.rateLimitRequestsPerMinute, 600u);
  EXPECT_FALSE(c.trustProxy);
  EXPECT_TRUE(c.corsOrigins.empty());
  EXPECT_EQ(c.upstreamTimeout, 60s);
  EXPECT_EQ(c.maxContextTokens, 32000);
  EXPECT_GE(c.threads, 1u);
  EXPECT_EQ(c.shutdownGrace, 30s);
  EXPECT_EQ(c.logLevel, "info");
  EXPECT_EQ(c.logFormat, "text");
}

TEST(Config, BadValuesStopWithOneLineNamingTheVariable) {
  EXPECT_EQ(errorOf({{"PORT", "80a"}}), R"(PORT: not a number: "80a")");
  EXPECT_EQ(errorOf({{"PORT", "70000"}}), "PORT: out of range: 70000 (allowed 0–65535)");
  EXPECT_EQ(errorOf({{"DATABASE_URL", "mysql://x"}}),
            R"(DATABASE_URL: unknown scheme "mysql" (use sqlite:// or postgres://))");
  EXPECT_EQ(errorOf({{"JWT_SECRET", "short"}}), "JWT_SECRET: must be at least 32 bytes (got 5)");
  EXPECT_EQ(errorOf({{"DEFAULT_TOKEN_LIMIT", "lots"}}),
            R"(DEFAULT_TOKEN_LIMIT: not a number: "lots")");
  EXPECT_EQ(errorOf({{"ACCESS_TOKEN_TTL", "15x"}}),
            R"(ACCESS_TOKEN_TTL: not a duration: "15x" (use e.g. 90s, 15m, 12h, 30d))");
  EXPECT_EQ(errorOf({{"STORAGE_URL", "ftp://x"}}),
            R"(STORAGE_URL: unknown scheme "ftp" (use file:// or s3://))");
  EXPECT_EQ(errorOf({{"STORAGE_URL", "s3://A_B"}}),
            R"(STORAGE_URL: not a valid S3 bucket name: "A_B")");
  EXPECT_EQ(errorOf({{"TRUST_PROXY", "maybe"}}),
            R"(TRUST_PROXY: not a boolean: "maybe" (use true or false))");
  EXPECT_EQ(errorOf({{"LOG_FORMAT", "xml"}}),
            R"(LOG_FORMAT: unknown format "xml" (use text or json))");
  EXPECT_EQ(errorOf({{"LLM_PROVIDER", "claude"}}),
            R"(LLM_PROVIDER: unknown provider "claude" (use gemini or openai))");
  EXPECT_EQ(errorOf({{"CORS_ORIGINS", "http://a.example/path"}}),
            R"(CORS_ORIGINS: not an origin: "http://a.example/path" (use scheme://host[:port]))");
  EXPECT_EQ(errorOf({{"THREADS", "0"}}), "THREADS: out of range: 0 (allowed 1–256)");
  EXPECT_EQ(errorOf({{"GEMINI_BASE_URL", "ftp://x"}}), "GEMINI_BASE_URL: not an http(s) URL");
  EXPECT_EQ(errorOf({{"SMTP_URL", "http://x"}}),
            "SMTP_URL: not a valid URL (use smtp:// or smtps://…)");
  auto r = load({{"PORT", "80a"}});
  EXPECT_EQ(r.error().field, "PORT");
}

TEST(Config, SecretsNeverAppearInErrors) {
  const std::string secret = "hunter2-hunter2";
  EXPECT_EQ(errorOf({{"JWT_SECRET", secret}}).find(secret), std::string::npos);
  EXPECT_EQ(errorOf({{"SMTP_URL", "http://user:" + secret + "@host"}}).find(secret),
            std::string::npos);
  EXPECT_EQ(errorOf({{"GEMINI_BASE_URL", "ftp://k:" + secret + "@x"}}).find(secret),
            std::string::npos);
}

TEST(Config, DescribeRedactsSecrets) {
  auto r = load({{"DATABASE_URL", "postgres://app:pw-secret@db:5432/atelier"},
                 {"GEMINI_API_KEY", "AIzaSECRET"},
                 {"SMTP_URL", "smtp://mail:smtp-secret@mx:587"},
                 {"JWT_SECRET", std::string(40, 'j')}});
  ASSERT_TRUE(r.ok());
  const std::string d = describe(*r);
  for (const char* s : {"pw-secret", "AIzaSECRET", "smtp-secret", "jjjjjjjj"})
    EXPECT_EQ(d.find(s), std::string::npos) << d;
  EXPECT_NE(d.find("postgres://app:***@db:5432/atelier"), std::string::npos) << d;
}

TEST(Config, ParsesValues) {
  auto r = load({{"PORT", "0"},
                 {"TOKEN_RESET_INTERVAL", "0"},
                 {"TRUST_PROXY", "TRUE"},
                 {"CORS_ORIGINS", "http://app.example, http://other.example:3000/"},
                 {"STORAGE_URL", "s3://atelier-bucket"},
                 {"S3_FORCE_PATH_STYLE", "1"},
                 {"GEMINI_BASE_URL", "http://127.0.0.1:9999/"},
                 {"RATE_LIMIT_REQUESTS_PER_MINUTE", "0"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->port, 0);
  EXPECT_EQ(r->tokenResetInterval, 0s);
  EXPECT_TRUE(r->trustProxy);
  EXPECT_EQ(r->corsOrigins,
            (std::vector<std::string>{"http://app.example", "http://other.example:3000"}));
  EXPECT_EQ(r->storage.bucket, "atelier-bucket");
  EXPECT_TRUE(r->storage.s3ForcePathStyle);
  EXPECT_EQ(r->geminiBaseUrl, "http://127.0.0.1:9999");
  EXPECT_EQ(r->rateLimitRequestsPerMinute, 0u);
}

TEST(ConfigParse, Durations) {
  struct Case {
    const char* text;
    long long seconds;  // -1: invalid
  };
  for (const Case& c :
       {Case{"90s", 90}, Case{"15m", 900}, Case{"12h", 43200}, Case{"30d", 2592000}, Case{"0", 0},
        Case{"", -1}, Case{"s", -1}, Case{"15", -1}, Case{"-5s", -1}, Case{"1.5h", -1},
        Case{" 5s", -1}, Case{"5 s", -1}, Case{"5S", -1}, Case{"99999999999999999999d", -1},
        Case{"36500d", 3153600000}, Case{"36501d", -1}}) {
    auto p = parseDuration(c.text);
    if (c.seconds < 0) {
      EXPECT_TRUE(std::holds_alternative<std::string>(p)) << c.text;
    } else {
      ASSERT_TRUE(std::holds_alternative<std::chrono::seconds>(p)) << c.text;
      EXPECT_EQ(std::get<std::chrono::seconds>(p).count(), c.seconds) << c.text;
    }
  }
}

TEST(ConfigParse, Integers) {
  EXPECT_EQ(std::get<std::int64_t>(parseInteger("42", 0, 100)), 42);
  for (const char* bad : {"", "+1", " 1", "1 ", "1e3", "0x10", "99999999999999999999"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parseInteger(bad, 0, INT64_MAX))) << bad;
  }
  EXPECT_TRUE(std::holds_alternative<std::string>(parseInteger("101", 0, 100)));
}

TEST(Dotenv, ParsesCommentsQuotesAndExport) {
  auto r = parseDotenv(
      "# comment\n\nA=1\nexport B = two\nC=\"q \\\"x\\\" \\n y\" # trailing\nD='single # not "
      "comment'\nE=plain # c\r\nF=\n",
      ".env");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at("A"), "1");
  EXPECT_EQ(r->at("B"), "two");
  EXPECT_EQ(r->at("C"), "q \"x\" \n y");
  EXPECT_EQ(r->at("D"), "single # not comment");
  EXPECT_EQ(r->at("E"), "plain");
  EXPECT_EQ(r->at("F"), "");
}

TEST(Dotenv, MalformedLineNamesFileAndLine) {
  auto r = parseDotenv("A=1\nthis is not an assignment\n", ".env");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, ".env:2: expected KEY=value");
  auto q = parseDotenv("A=\"open\n", ".env");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message, ".env:1: unterminated quote");
}

TEST(Dotenv, TheEnvironmentWinsOverTheFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("atelier-env-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / ".env").string();
  std::ofstream(file) << "ATELIER_TEST_FROM_FILE=file\nATELIER_TEST_BOTH=file\n";
  ::setenv("ATELIER_TEST_BOTH", "env", 1);
  auto env = readEnvironment(file);
  ::unsetenv("ATELIER_TEST_BOTH");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->at("ATELIER_TEST_FROM_FILE"), "file");
  EXPECT_EQ(env->at("ATELIER_TEST_BOTH"), "env");
  std::filesystem::remove_all(dir);
}

TEST(JwtSecretFile, CreatedWithMode0600AndReused) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("atelier-jwt-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "data" / "jwt_secret").string();
  auto first = loadOrCreateJwtSecret(path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_GE(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = loadOrCreateJwtSecret(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  std::filesystem::remove_all(dir);
}

TEST(Config, SystemPromptFileIsReadAndChecked) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("atelier-sp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "p.txt").string();
  std::ofstream(good) << "You are a painter's assistant. ✓";
  auto r = load({{"SYSTEM_PROMPT_FILE", good}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->systemPrompt, "You are a painter's assistant. ✓");
  const auto bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "\xff\xfe";
  EXPECT_EQ(errorOf({{"SYSTEM_PROMPT_FILE", bad}}),
            "SYSTEM_PROMPT_FILE: the file is not valid UTF-8");
  EXPECT_NE(errorOf({{"SYSTEM_PROMPT_FILE", (dir / "missing").string()}})
                .find("SYSTEM_PROMPT_FILE: cannot read"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace atelier::config
