#include "config/config.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/parse.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

extern char** environ;

namespace atelier::config {

namespace {

Error bad(std::string_view var, std::string what) {
  return Error::make(Errc::invalid_request, fmt::format("{}: {}", var, what), std::string(var));
}

// Reads variables one by one, remembering the first failure.
class Reader {
 public:
  explicit Reader(const EnvMap& env) : env_(env) {}

  bool failed() const { return error_.has_value(); }
  Error error() const { return *error_; }
  void fail(std::string_view var, std::string what) {
    if (!error_) error_ = bad(var, std::move(what));
  }

  // The raw value, or nullopt when unset or empty.
  std::optional<std::string_view> raw(std::string_view var) const {
    auto it = env_.find(var);
    if (it == env_.end() || it->second.empty()) return std::nullopt;
    return std::string_view(it->second);
  }

  void string(std::string_view var, std::string& out) {
    if (auto v = raw(var)) out = std::string(*v);
  }

  template <class Int>
  void integer(std::string_view var, Int& out, std::int64_t min, std::int64_t max) {
    auto v = raw(var);
    if (!v || failed()) return;
    auto p = parseInteger(*v, min, max);
    if (auto* e = std::get_if<std::string>(&p)) return fail(var, *e);
    out = static_cast<Int>(std::get<std::int64_t>(p));
  }

  void duration(std::string_view var, std::chrono::seconds& out, bool allowZero) {
    auto v = raw(var);
    if (!v || failed()) return;
    auto p = parseDuration(*v);
    if (auto* e = std::get_if<std::string>(&p)) return fail(var, *e);
    const auto d = std::get<std::chrono::seconds>(p);
    if (d.count() == 0 && !allowZero) return fail(var, "must be longer than 0");
    out = d;
  }

  void boolean(std::string_view var, bool& out) {
    auto v = raw(var);
    if (!v || failed()) return;
    auto p = parseBool(*v);
    if (auto* e = std::get_if<std::string>(&p)) return fail(var, *e);
    out = std::get<bool>(p);
  }

  // An http(s) URL. Secrets in it are not echoed.
  void httpUrl(std::string_view var, std::string& out) {
    auto v = raw(var);
    if (!v || failed()) return;
    auto u = boost::urls::parse_absolute_uri(*v);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty()) {
      return fail(var, "not an http(s) URL");
    }
    out = std::string(*v);
    while (out.size() > 1 && out.back() == '/')
      out.pop_back();
  }

 private:
  const EnvMap& env_;
  std::optional<Error> error_;
};

std::string_view schemeOf(std::string_view url) {
  const auto pos = url.find("://");
  return pos == std::string_view::npos ? std::string_view{} : url.substr(0, pos);
}

bool validBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return b.front() != '.' && b.front() != '-' && b.back() != '.' && b.back() != '-';
}

void readDatabase(Reader& r, Config& c) {
  auto v = r.raw("DATABASE_URL");
  if (!v) return;
  const auto scheme = schemeOf(*v);
  if (scheme == "sqlite") {
    if (v->size() <= 9)
      return r.fail("DATABASE_URL", "sqlite:// needs a file path, e.g. sqlite://./data/atelier.db");
  } else if (scheme == "postgres" || scheme == "postgresql") {
    auto u = boost::urls::parse_absolute_uri(*v);
    if (!u) return r.fail("DATABASE_URL", "not a valid postgres:// URL");
  } else if (scheme.empty()) {
    return r.fail("DATABASE_URL", "not a URL (use sqlite://<path> or postgres://…)");
  } else {
    return r.fail("DATABASE_URL", fmt::format("unknown scheme {} (use sqlite:// or postgres://)",
                                              config::quoted(scheme)));
  }
  c.databaseUrl = std::string(*v);
}

void readStorage(Reader& r, StorageConfig& s) {
  r.string("STORAGE_URL", s.url);
  const auto scheme = schemeOf(s.url);
  if (scheme == "file") {
    s.localRoot = s.url.substr(7);
    if (s.localRoot.empty())
      return r.fail("STORAGE_URL", "file:// needs a directory, e.g. file://./data/uploads");
  } else if (scheme == "s3") {
    s.bucket = s.url.substr(5);
    while (!s.bucket.empty() && s.bucket.back() == '/')
      s.bucket.pop_back();
    if (!validBucket(s.bucket)) {
      return r.fail("STORAGE_URL",
                    fmt::format("not a valid S3 bucket name: {}", config::quoted(s.bucket)));
    }
  } else {
    return r.fail("STORAGE_URL",
                  fmt::format("unknown scheme {} (use file:// or s3://)", config::quoted(scheme)));
  }
  r.httpUrl("S3_ENDPOINT", s.s3Endpoint);
  r.string("S3_REGION", s.s3Region);
  r.boolean("S3_FORCE_PATH_STYLE", s.s3ForcePathStyle);
  r.string("AWS_ACCESS_KEY_ID", s.awsAccessKeyId);
  r.string("AWS_SECRET_ACCESS_KEY", s.awsSecretAccessKey);
}

void readSchemeUrl(Reader& r, std::string_view var, std::initializer_list<std::string_view> schemes,
                   std::string& out) {
  auto v = r.raw(var);
  if (!v || r.failed()) return;
  const auto scheme = schemeOf(*v);
  for (auto s : schemes) {
    if (scheme == s && boost::urls::parse_absolute_uri(*v)) {
      out = std::string(*v);
      return;
    }
  }
  std::string list;
  for (auto s : schemes)
    list += (list.empty() ? "" : " or ") + std::string(s) + "://";
  r.fail(var, "not a valid URL (use " + list + "…)");
}

Result<std::string> readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make(Errc::invalid_request, "cannot read " + config::quoted(path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<EnvMap> parseDotenv(std::string_view text, std::string_view fileName) {
  EnvMap out;
  std::size_t lineNo = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trimStart(line);
    if (line.empty() || line.front() == '#') {
      if (nl == text.size()) break;
      continue;
    }
    if (line.substr(0, 7) == "export ") line.remove_prefix(7);
    const auto eq = line.find('=');
    auto fail = [&](std::string_view why) {
      return Error::make(Errc::invalid_request, fmt::format("{}:{}: {}", fileName, lineNo, why));
    };
    if (eq == std::string_view::npos) return fail("expected KEY=value");
    const std::string_view key = trimEnd(line.substr(0, eq));
    if (key.empty()) return fail("empty variable name");
    for (char c : key) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_')) {
        return fail("invalid variable name");
      }
    }
    std::string_view rest = trimStart(line.substr(eq + 1));
    std::string value;
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
      const char q = rest.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < rest.size(); ++i) {
        const char c = rest[i];
        if (c == q) {
          closed = true;
          break;
        }
        if (q == '"' && c == '\\' && i + 1 < rest.size()) {
          const char n = rest[++i];
          value += n == 'n' ? '\n' : n == 't' ? '\t' : n;
        } else {
          value += c;
        }
      }
      if (!closed) return fail("unterminated quote");
      const std::string_view after = trimStart(rest.substr(i + 1));
      if (!after.empty() && after.front() != '#')
        return fail("unexpected text after the closing quote");
    } else {
      // Unquoted: up to an inline " #" comment, trailing blanks trimmed.
      const auto hash = rest.find(" #");
      if (hash != std::string_view::npos) rest = rest.substr(0, hash);
      value = std::string(trimEnd(rest));
    }
    out[std::string(key)] = std::move(value);
    if (nl == text.size()) break;
  }
  return out;
}

Result<EnvMap> readEnvironment(const std::string& dotenvPath) {
  EnvMap env;
  if (std::ifstream in{dotenvPath, std::ios::binary}) {
    std::ostringstream ss;
    ss << in.rdbuf();
    auto parsed = parseDotenv(ss.str(), dotenvPath);
    if (!parsed) return std::move(parsed).error();
    env = std::move(parsed).value();
  }
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return env;
}

Result<Config> loadConfig(const EnvMap& env) {
  Config c;
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  Reader r(env);

  r.string("HOST", c.host);
  r.integer("PORT", c.port, 0, 65535);
  readDatabase(r, c);
  readStorage(r, c.storage);

  if (auto secret = r.raw("JWT_SECRET")) {
    if (secret->size() < 32) {
      r.fail("JWT_SECRET", fmt::format("must be at least 32 bytes (got {})", secret->size()));
    }
    c.jwtSecret = std::string(*secret);
  }
  r.duration("ACCESS_TOKEN_TTL", c.accessTokenTtl, false);
  r.duration("REFRESH_TOKEN_TTL", c.refreshTokenTtl, false);

  r.string("LLM_PROVIDER", c.llmProvider);
  if (c.llmProvider != "gemini" && c.llmProvider != "openai") {
    r.fail("LLM_PROVIDER", fmt::format("unknown provider {} (use gemini or openai)",
                                       config::quoted(c.llmProvider)));
  }
  r.httpUrl("OPENAI_BASE_URL", c.openaiBaseUrl);
  r.string("OPENAI_API_KEY", c.openaiApiKey);
  r.string("OPENAI_MODEL", c.openaiModel);
  r.string("GEMINI_API_KEY", c.geminiApiKey);
  r.string("GEMINI_MODEL", c.geminiModel);
  r.httpUrl("GEMINI_BASE_URL", c.geminiBaseUrl);

  r.integer("DEFAULT_TOKEN_LIMIT", c.defaultTokenLimit, 1, 1'000'000'000'000LL);
  r.duration("TOKEN_RESET_INTERVAL", c.tokenResetInterval, true);
  r.integer("MAX_CHATS_PER_USER", c.maxChatsPerUser, 1, 100000);
  r.integer("MAX_OUTPUT_TOKENS", c.maxOutputTokens, 1, 1'000'000);
  r.integer("MAX_MESSAGE_CHARS", c.maxMessageChars, 1, 1'000'000);
  r.integer("MAX_UPLOAD_BYTES", c.maxUploadBytes, 1, 1LL << 30);
  r.integer("RATE_LIMIT_MESSAGES_PER_MINUTE", c.rateLimitMessagesPerMinute, 0, 1'000'000);
  r.integer("RATE_LIMIT_REQUESTS_PER_MINUTE", c.rateLimitRequestsPerMinute, 0, 100'000'000);
  r.boolean("TRUST_PROXY", c.trustProxy);
  if (auto v = r.raw("CORS_ORIGINS"); v && !r.failed()) {
    auto p = parseOrigins(*v);
    if (auto* e = std::get_if<std::string>(&p)) {
      r.fail("CORS_ORIGINS", *e);
    } else {
      c.corsOrigins = std::get<std::vector<std::string>>(p);
    }
  }

  readSchemeUrl(r, "SMTP_URL", {"smtp", "smtps"}, c.smtpUrl);
  r.string("MAIL_FROM", c.mailFrom);
  r.duration("UPSTREAM_TIMEOUT", c.upstreamTimeout, false);
  r.string("SYSTEM_PROMPT_FILE", c.systemPromptFile);
  r.integer("MAX_CONTEXT_TOKENS", c.maxContextTokens, 100, 10'000'000);
  r.integer("THREADS", c.threads, 1, 256);
  r.duration("SHUTDOWN_GRACE", c.shutdownGrace, true);
  readSchemeUrl(r, "REDIS_URL", {"redis"}, c.redisUrl);  // hiredis 0.14: no TLS
  r.string("WEB_DIR", c.webDir);

  r.string("LOG_LEVEL", c.logLevel);
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c.logLevel) == std::end(kLevels)) {
    r.fail("LOG_LEVEL",
           fmt::format("unknown level {} (use trace, debug, info, warn, error, critical or off)",
                       config::quoted(c.logLevel)));
  }
  r.string("LOG_FORMAT", c.logFormat);
  if (c.logFormat != "text" && c.logFormat != "json") {
    r.fail("LOG_FORMAT",
           fmt::format("unknown format {} (use text or json)", config::quoted(c.logFormat)));
  }
  if (r.failed()) return r.error();

  if (!c.systemPromptFile.empty()) {
    auto text = readTextFile(c.systemPromptFile);
    if (!text) return bad("SYSTEM_PROMPT_FILE", text.error().message);
    if (!validUtf8(*text)) return bad("SYSTEM_PROMPT_FILE", "the file is not valid UTF-8");
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
      return bad("SYSTEM_PROMPT_FILE", "the file is empty");
    }
    c.systemPrompt = std::move(text).value();
  }
  if (c.mailFrom.empty()) c.mailFrom = "Atelier <no-reply@localhost>";
  return c;
}

Result<std::string> loadOrCreateJwtSecret(const std::string& path) {
  auto failed = [&](std::string what) {
    return Error::make(Errc::internal, fmt::format("JWT secret file {}: {}", path, what));
  };
  if (std::ifstream in{path, std::ios::binary}) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() < 32)
      return failed("holds fewer than 32 bytes; delete it to generate a new one");
    return secret;
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return failed("cannot create its directory: " + ec.message());
  initCrypto();
  const std::string secret = randomToken(48);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return loadOrCreateJwtSecret(path);  // another process was faster
    return failed(std::string("cannot create: ") + std::strerror(errno));
  }
  const std::string line = secret + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!ok) return failed("cannot write");
  return secret;
}

std::string describe(const Config& c) {
  auto redactUrl = [](const std::string& url) {
    // Hide the password of scheme://user:password@host.
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
  };
  return fmt::format(
      "host={} port={} database={} storage={} provider={} model={} gemini_key={} threads={} "
      "token_limit={} max_chats={} rate_limit={}/min trust_proxy={} cors=[{}] smtp={} log={}/{}",
      c.host, c.port, redactUrl(c.databaseUrl), c.storage.url, c.llmProvider,
      c.llmProvider == "openai" ? c.openaiModel : c.geminiModel,
      c.geminiApiKey.empty() ? "unset" : "***", c.threads, c.defaultTokenLimit, c.maxChatsPerUser,
      c.rateLimitRequestsPerMinute, c.trustProxy, fmt::join(c.corsOrigins, ","),
      c.smtpUrl.empty() ? "log" : redactUrl(c.smtpUrl), c.logLevel, c.logFormat);
}

}  // namespace atelier::config
