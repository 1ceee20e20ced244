// The configuration of a server process: read once at start-up from the environment (and
// a .env file), validated, then handed to components as plain values. Nothing reads the
// environment later. The variables and defaults are the table in shared/API.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace atelier::config {

using EnvMap = std::map<std::string, std::string, std::less<>>;

struct StorageConfig {
  std::string url = "file://./data/uploads";
  std::string localRoot;  // set for file://
  std::string bucket;     // set for s3://
  std::string s3Endpoint;
  std::string s3Region = "us-east-1";
  bool s3ForcePathStyle = false;
  std::string awsAccessKeyId;
  std::string awsSecretAccessKey;
};

struct Config {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port
  std::string databaseUrl = "sqlite://./data/atelier.db";
  StorageConfig storage;

  std::string jwtSecret;  // empty: generate into ./data/jwt_secret at start
  std::chrono::seconds accessTokenTtl{15 * 60};
  std::chrono::seconds refreshTokenTtl{30 * 86400};

  std::string llmProvider = "gemini";  // gemini | openai
  std::string openaiBaseUrl;
  std::string openaiApiKey;
  std::string openaiModel;
  std::string geminiApiKey;
  std::string geminiModel = "gemini-2.5-flash";
  std::string geminiBaseUrl = "https://generativelanguage.googleapis.com";

  std::int64_t defaultTokenLimit = 100000;
  std::chrono::seconds tokenResetInterval{30 * 86400};  // 0: never reset
  int maxChatsPerUser = 5;
  int maxOutputTokens = 2048;
  int maxMessageChars = 16000;
  std::int64_t maxUploadBytes = 10485760;
  int rateLimitMessagesPerMinute = 20;
  std::uint32_t rateLimitRequestsPerMinute = 600;  // 0: off
  bool trustProxy = false;
  std::vector<std::string> corsOrigins;

  std::string smtpUrl;
  std::string mailFrom;
  std::chrono::seconds upstreamTimeout{60};
  std::string systemPromptFile;
  std::string systemPrompt;  // the file's text, loaded by loadConfig
  int maxContextTokens = 32000;
  unsigned threads = 1;
  std::chrono::seconds shutdownGrace{30};
  std::string redisUrl;
  std::string webDir;  // the built web UI; empty: ./web/dist or next to the executable
  std::string logLevel = "info";
  std::string logFormat = "text";  // text | json
};

// Reads `.env`-style text. Errc::invalid_request with "<file>:<line>: …" on a malformed line.
Result<EnvMap> parseDotenv(std::string_view text, std::string_view fileName);

// The process environment merged over the .env file at `dotenvPath` (a missing file is
// fine; the environment wins over the file).
Result<EnvMap> readEnvironment(const std::string& dotenvPath);

// Validates every variable; the first bad one is an Error (Errc::invalid_request) whose
// message is one line naming the variable, e.g. `PORT: not a number: "80a"`, and whose
// field is the variable. Secret values never appear in messages. Reads SYSTEM_PROMPT_FILE.
Result<Config> loadConfig(const EnvMap& env);

// Reads the secret kept at `path`, or creates it (48 random bytes, base64url; parent
// directories created; the file mode 0600). Errc::internal with a message naming the path.
Result<std::string> loadOrCreateJwtSecret(const std::string& path);

// The effective configuration on one line for the start-up log; secrets shown as ***.
std::string describe(const Config& c);

}  // namespace atelier::config
