#include "app/app.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <thread>

#include "app/ops_routes.hpp"
#include "app/web_routes.hpp"
#include "auth/auth_routes.hpp"
#include "auth/auth_service.hpp"
#include "blob/local_blob_store.hpp"
#include "blob/s3_blob_store.hpp"
#include "chat/chat_routes.hpp"
#include "chat/chat_service.hpp"
#include "chat/generation.hpp"
#include "chat/message_engine.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "llm/gemini_provider.hpp"
#include "llm/openai_provider.hpp"
#include "mail/mailer.hpp"
#include "net/http_client.hpp"
#include "store/connection_source.hpp"
#include "store/postgres/pg_listener.hpp"
#include "store/rate_windows.hpp"
#include "store/redis_rate_windows.hpp"
#include "store/store.hpp"
#include "uploads/upload_routes.hpp"
#include "uploads/upload_service.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/worker_pool.hpp"

namespace atelier::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
// Worker threads for database calls: one per pooled connection.
constexpr int kDbConnections = 16;
constexpr std::size_t kDbQueue = 8192;
// argon2id at libsodium's interactive limits takes 64 MiB per hash: two at a time bounds
// what a login flood can take; a full queue answers 503 at once.
constexpr std::size_t kHashThreads = 2;
constexpr std::size_t kHashQueue = 256;
constexpr std::size_t kMailQueue = 1000;
// File storage and the CPU work on images (hashing, base64): short jobs, off the I/O threads.
constexpr std::size_t kFileThreads = 2;
constexpr std::size_t kFileQueue = 1024;
// The shortest generation lease (see leaseDuration).
constexpr std::chrono::seconds kMinLease{10};
}  // namespace

class App::Impl {
 public:
  Impl(config::Config config, AppOptions options)
      : config_(std::move(config)), observer_(metrics_) {
    clock_ = options.clock ? options.clock : &systemClock_;
    // One io_context per I/O thread: no shared scheduler lock, no strands on the hot path.
    for (unsigned i = 0; i < std::max(1u, config_.threads); ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      work_.push_back(asio::make_work_guard(*contexts_.back()));
    }
  }

  ~Impl() {
    if (!threads_.empty()) {
      requestShutdown();
      wait();
    }
  }

  Result<void> start() {
    initCrypto();
    store::StoreOptions storeOptions;
    storeOptions.poolSize = kDbConnections;
    auto opened = store::openStore(config_.databaseUrl, storeOptions);
    if (!opened) return std::move(opened).error();
    store_ = std::move(opened).value();
    auto applied = store_->migrate();
    if (!applied) return std::move(applied).error();
    if (*applied > 0)
      spdlog::info("applied {} migration(s) to the {} database", *applied, store_->dialect());
    recoverGenerations();
    dbPool_ = std::make_unique<WorkerPool>("db", kDbConnections, kDbQueue);
    hashPool_ = std::make_unique<WorkerPool>("hash", kHashThreads, kHashQueue);
    hasher_ = std::make_unique<auth::PasswordHasher>(auth::HashLimits::interactive());
    if (config_.smtpUrl.empty()) {
      spdlog::warn(
          "SMTP_URL is not set: e-mails, with their codes, are written to this log (development "
          "only)");
      mailer_ = std::make_unique<mail::LogMailer>();
    } else {
      mailPool_ = std::make_unique<WorkerPool>("mail", 1, kMailQueue);
      mailer_ = std::make_unique<mail::SmtpMailer>(
          mail::SmtpOptions{config_.smtpUrl, config_.mailFrom}, *mailPool_);
    }

    filePool_ = std::make_unique<WorkerPool>("files", kFileThreads, kFileQueue);
    std::vector<asio::any_io_executor> ioExecutors;
    for (auto& c : contexts_)
      ioExecutors.push_back(c->get_executor());
    net::HttpClientOptions httpOptions;
    httpOptions.serialExecutors = true;  // one thread per io_context (above)
    // The providers' streams over our own HTTP/1.1, unless a proxy is set in the environment:
    // curl honours those variables, our path does not.
    httpOptions.ownHttp1 = !net::proxyConfigured();
    if (!httpOptions.ownHttp1) {
      spdlog::info("a proxy is set in the environment: outbound requests go through libcurl");
    }
    http_ = std::make_unique<net::HttpClient>(ioExecutors, httpOptions);
    if (auto opened = openBlobStore(); !opened) return opened;
    if (auto opened = openRateWindows(); !opened) return opened;

    auto site = loadWebSite();
    if (!site) return std::move(site).error();
    registerRoutes(std::move(site).value());

    http::ServerOptions serverOptions;
    serverOptions.host = config_.host;
    serverOptions.port = config_.port;
    serverOptions.trustProxy = config_.trustProxy;
    std::vector<http::Middleware> chain{
        http::exceptionGuard(),
        http::cors(config_.corsOrigins),
        http::rateLimit(std::make_shared<http::RateLimiter>(config_.rateLimitRequestsPerMinute)),
    };
    serverOptions.strandPerConnection = false;
    std::vector<asio::io_context*> contexts;
    for (auto& c : contexts_)
      contexts.push_back(c.get());
    server_ = std::make_unique<http::Server>(std::move(contexts), serverOptions, router_,
                                             std::move(chain), observer_);
    if (auto listening = server_->listen(); !listening) return std::move(listening).error();
    server_->start();

    asio::co_spawn(
        main(), [this] { return sweepLeases(); }, asio::detached);
    asio::co_spawn(
        main(), [this] { return checkBlobStore(); }, asio::detached);
    prepareLogging();
    threads_.reserve(contexts_.size());
    for (auto& c : contexts_) {
      threads_.emplace_back([ctx = c.get()] { ctx->run(); });
    }
    spdlog::info("atelier {} listening on http://{}:{} ({} database, {} I/O threads)",
                 ATELIER_VERSION, config_.host, server_->port(), store_->dialect(),
                 config_.threads);
    return {};
  }

  void handleSignals() {
    signals_ = std::make_unique<asio::signal_set>(main(), SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      requestShutdown();
    });
  }

  std::uint16_t port() const { return server_ ? server_->port() : 0; }

  void requestShutdown() {
    std::call_once(shutdownOnce_, [this] {
      asio::co_spawn(
          main(), [this] { return shutdown(); }, asio::detached);
    });
  }

  int wait() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
    if (dbPool_) dbPool_->stop();
    if (hashPool_) hashPool_->stop();
    if (mailPool_) mailPool_->stop();  // lets queued e-mails go out
    if (filePool_) filePool_->stop();
    return exitCode_;
  }

 private:
  void registerRoutes(const std::shared_ptr<const web::StaticSite>& site) {
    OpsDependencies ops;
    ops.metrics = &metrics_;
    ops.accepting = [this] { return server_ && !server_->draining(); };
    ops.pingDatabase = [this]() -> asio::awaitable<Result<void>> {
      co_return co_await dbPool_->run([this] { return store_->ping(); });
    };
    registerOpsRoutes(router_, std::move(ops));

    auth::AuthSettings settings;
    settings.secret = config_.jwtSecret;
    settings.accessTokenTtl = config_.accessTokenTtl;
    settings.refreshTokenTtl = config_.refreshTokenTtl;
    settings.defaultTokenLimit = config_.defaultTokenLimit;
    settings.tokenResetInterval = config_.tokenResetInterval;
    auth::Dependencies deps{store_.get(),  dbPool_.get(), hashPool_.get(),
                            hasher_.get(), mailer_.get(), clock_};
    auth_ = std::make_unique<auth::AuthService>(std::move(settings), deps);
    auth::registerAuthRoutes(router_, *auth_);

    chats_ = std::make_unique<chat::ChatService>(chat::ChatSettings{config_.maxChatsPerUser},
                                                 *store_, *dbPool_, *clock_);
    chat::registerChatRoutes(router_, *chats_, auth::requireUser(*auth_));

    uploads_ =
        std::make_unique<uploads::UploadService>(uploads::UploadSettings{config_.maxUploadBytes},
                                                 *store_, *dbPool_, *filePool_, *blobs_, *clock_);
    uploads::registerUploadRoutes(router_, *uploads_, config_.maxUploadBytes,
                                  auth::requireUser(*auth_));

    const auto idle =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.upstreamTimeout);
    if (config_.llmProvider == "openai") {
      if (config_.openaiBaseUrl.empty() || config_.openaiModel.empty()) {
        spdlog::warn(
            "LLM_PROVIDER=openai needs OPENAI_BASE_URL and OPENAI_MODEL: sending a message "
            "answers 503");
      } else {
        llm::OpenAiOptions openai;
        openai.baseUrl = config_.openaiBaseUrl;
        openai.apiKey = config_.openaiApiKey;
        openai.model = config_.openaiModel;
        openai.idleTimeout = idle;
        provider_ = std::make_unique<llm::OpenAiProvider>(std::move(openai), *http_);
        spdlog::info("model provider: OpenAI-compatible server at {} ({})",
                     llm::openAiCompletionsUrl(config_.openaiBaseUrl), config_.openaiModel);
      }
    } else if (!config_.geminiApiKey.empty()) {
      llm::GeminiOptions gemini;
      gemini.baseUrl = config_.geminiBaseUrl;
      gemini.apiKey = config_.geminiApiKey;
      gemini.model = config_.geminiModel;
      gemini.idleTimeout = idle;
      provider_ = std::make_unique<llm::GeminiProvider>(std::move(gemini), *http_);
    } else {
      spdlog::warn(
          "no model provider is configured (set GEMINI_API_KEY): sending a message answers 503");
    }
    chat::EngineSettings engine;
    engine.maxOutputTokens = config_.maxOutputTokens;
    engine.maxMessageChars = config_.maxMessageChars;
    engine.maxContextTokens = config_.maxContextTokens;
    if (!config_.systemPrompt.empty()) engine.systemPrompt = config_.systemPrompt;
    engine.tokenResetInterval = config_.tokenResetInterval;
    engine.lease = leaseDuration();
    engine.messagesPerMinute = static_cast<std::uint32_t>(config_.rateLimitMessagesPerMinute);
    engine_ = std::make_unique<chat::MessageEngine>(std::move(engine), *store_, *dbPool_, *clock_,
                                                    provider_.get(), generations_, metrics_,
                                                    *uploads_, *rateWindows_);
    if (store_->dialect() == "postgres") {
      // What another instance must tell this one at once comes through the database: a /stop
      // of a reply written here, a reader re-attaching there to a reply written here (or the
      // events of one written there).
      relay_ = std::make_unique<chat::GenerationRelay>(chat::RelaySettings{}, *store_, *dbPool_,
                                                       *clock_, generations_);
      listener_ = std::make_unique<store::PgListener>(
          store::conninfoFor(config_.databaseUrl),
          std::vector<std::string>{std::string(store::kStopChannel),
                                   std::string(store::kRelayRequestChannel)},
          [this](std::string_view channel, std::string_view payload) {
            if (channel == store::kStopChannel) {
              engine_->stopRequested(payload);
            } else if (channel == store::kRelayRequestChannel) {
              relay_->requested(payload, main().get_executor());
            } else if (channel.starts_with(store::kRelayChannelPrefix)) {
              relay_->received(channel, payload);
            }
          });
      relay_->useNotifications(*listener_);
      engine_->useRelay(relay_.get());
    }
    chat::registerMessageRoutes(router_, *engine_, config_.maxMessageChars,
                                auth::requireUser(*auth_), auth::requireToken(*auth_));
    registerWebRoutes(router_, site);
  }

  // The web UI's files, read once now; null (a placeholder page) when they are not built.
  // A WEB_DIR that cannot be served stops start-up.
  Result<std::shared_ptr<const web::StaticSite>> loadWebSite() const {
    const auto root = web::findWebRoot(config_.webDir);
    if (root.empty()) {
      spdlog::warn("the web UI is not built (no web/dist/index.html): / shows how to build it");
      return std::shared_ptr<const web::StaticSite>();
    }
    auto site = web::StaticSite::load(root);
    if (!site) {
      return Error::make(Errc::invalid_request, "WEB_DIR: " + site.error().message);
    }
    spdlog::info("serving the web UI from {} ({} files, {} KiB)", root.string(), site->fileCount(),
                 site->totalBytes() / 1024);
    return std::make_shared<const web::StaticSite>(std::move(site).value());
  }

  // STORAGE_URL: a directory (created if needed) or an S3 bucket.
  // The per-user message windows every instance shares: in the database, or in Redis.
  Result<void> openRateWindows() {
    if (config_.redisUrl.empty()) {
      rateWindows_ = std::make_unique<store::StoreRateWindows>(*store_);
      return {};
    }
    auto endpoint = store::parseRedisUrl(config_.redisUrl);
    if (!endpoint) return std::move(endpoint).error();
    auto redis = std::make_unique<store::RedisRateWindows>(std::move(endpoint).value());
    if (auto pong = redis->ping(); !pong) {
      spdlog::warn("{}; message rate limits are not enforced until it answers",
                   pong.error().message);
    }
    spdlog::info("rate-limit windows are kept in {}", redis->where());
    rateWindows_ = std::move(redis);
    return {};
  }

  Result<void> openBlobStore() {
    const auto& s = config_.storage;
    if (!s.localRoot.empty()) {
      auto local = blob::LocalBlobStore::open(s.localRoot, *filePool_);
      if (!local) return std::move(local).error();
      blobs_ = std::move(local).value();
      return {};
    }
    blob::S3Options o;
    o.bucket = s.bucket;
    o.endpoint = s.s3Endpoint;
    o.region = s.s3Region;
    o.forcePathStyle = s.s3ForcePathStyle;
    o.accessKeyId = s.awsAccessKeyId;
    o.secretAccessKey = s.awsSecretAccessKey;
    o.maxObjectBytes = static_cast<std::uint64_t>(config_.maxUploadBytes) + 1;
    if (o.accessKeyId.empty()) {
      spdlog::warn("STORAGE_URL is s3:// but AWS_ACCESS_KEY_ID is not set: requests go unsigned");
    }
    blobs_ = std::make_unique<blob::S3BlobStore>(std::move(o), *http_);
    return {};
  }

  // Says at start-up whether uploads will work (the server starts either way: storage may come
  // back later, and everything but uploads works without it).
  asio::awaitable<void> checkBlobStore() {
    auto ok = co_await blobs_->check();
    if (ok) {
      spdlog::info("file storage ready: {}", config_.storage.url);
    } else {
      spdlog::error("file storage {} is not usable now: uploads will fail until it is",
                    config_.storage.url);
    }
  }

  // Replies left half-finished by an instance that died (this one before a crash, or another
  // one) are saved as incomplete once their lease has expired.
  void recoverGenerations() {
    auto recovered = store_->recoverGenerations(clock_->now());
    if (!recovered) {
      spdlog::error("could not recover interrupted replies: {}", recovered.error().message);
    } else if (*recovered > 0) {
      spdlog::warn("recovered {} reply(ies) interrupted by a crash; saved as incomplete",
                   *recovered);
    }
  }

  std::chrono::seconds leaseDuration() const {
    // A generation renews its lease whenever text arrives (at most every lease/3) and fails
    // after UPSTREAM_TIMEOUT without any: twice that can never expire under a live one.
    return std::max<std::chrono::seconds>(kMinLease, config_.upstreamTimeout * 2);
  }

  // Looks for expired leases every half lease, until shutdown. Also hands freed heap pages
  // back to the system: glibc keeps what each thread's arena once held (a burst of
  // sign-ins, 64 MiB of argon2 each, or of replies leaves arenas large but mostly empty), so
  // without this the resident size tracks the highest load ever seen, not the live data.
  asio::awaitable<void> sweepLeases() {
    sweepTimer_ = std::make_unique<asio::steady_timer>(main());
    for (;;) {
      sweepTimer_->expires_after(leaseDuration() / 2);
      boost::system::error_code ec;
      auto token = asio::redirect_error(asio::use_awaitable, ec);
      co_await sweepTimer_->async_wait(token);
      if (ec || server_->draining()) co_return;
      auto done = co_await dbPool_->run([this]() -> Result<void> {
        recoverGenerations();
        // Rate windows older than the two a limit reads are of no use any more.
        if (auto pruned = store_->pruneRateWindows(clock_->now() - 2 * chat::kMessageRateWindow);
            !pruned) {
          spdlog::warn("could not prune rate windows: {}", pruned.error().message);
        }
        ::malloc_trim(0);
        return {};
      });
      (void)done;
    }
  }

  // Stop accepting; let in-flight requests and streams finish within SHUTDOWN_GRACE; then
  // close whatever is left and stop the I/O threads.
  asio::awaitable<void> shutdown() {
    if (signals_) signals_->cancel();
    if (!server_) {
      stopContexts();
      co_return;
    }
    server_->beginShutdown();
    if (sweepTimer_) sweepTimer_->cancel();
    const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(config_.shutdownGrace);
    spdlog::info("draining: {} request(s) in flight, up to {} ms", server_->activeRequests(),
                 grace.count());
    // Done when nothing has been in flight for a quiet moment (requests may still arrive on
    // connections that were open, e.g. a proxy's keep-alive pool), or when the grace is over.
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + grace;
    const auto quiet = std::min<std::chrono::milliseconds>(grace, 1s);
    auto lastBusy = start;
    asio::steady_timer timer(main());
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (server_->activeRequests() > 0) lastBusy = now;
      if (now >= deadline || now - lastBusy >= quiet) break;
      timer.expires_after(20ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (const auto left = server_->activeRequests(); left > 0) {
      spdlog::warn(
          "shutdown grace over: ending {} generation(s), closing {} request(s) still running",
          generations_.size(), left);
      // Replies still streaming end with `event: error` and are saved as incomplete.
      generations_.stopAll(chat::Generation::StopReason::shutdown);
      const auto stopDeadline = std::chrono::steady_clock::now() + 5s;
      while (server_->activeRequests() > 0 && std::chrono::steady_clock::now() < stopDeadline) {
        timer.expires_after(20ms);
        co_await timer.async_wait(asio::use_awaitable);
      }
    }
    server_->closeAll();
    const auto closeDeadline = std::chrono::steady_clock::now() + 2s;
    while (server_->openConnections() > 0 && std::chrono::steady_clock::now() < closeDeadline) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (http_) {
      co_await http_->close();  // curl's connections close while the loop still runs
    }
    spdlog::info("shutdown complete");
    stopContexts();
  }

  config::Config config_;
  // The first context also runs app-level work (signals, shutdown).
  asio::io_context& main() { return *contexts_.front(); }
  void stopContexts() {
    work_.clear();
    for (auto& c : contexts_)
      c->stop();
  }

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  MetricsRegistry metrics_;
  http::RequestObserver observer_;
  http::Router router_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<WorkerPool> dbPool_;
  std::unique_ptr<WorkerPool> hashPool_;
  std::unique_ptr<WorkerPool> mailPool_;
  std::unique_ptr<WorkerPool> filePool_;
  SystemClock systemClock_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<auth::PasswordHasher> hasher_;
  std::unique_ptr<mail::Mailer> mailer_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<chat::ChatService> chats_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<uploads::UploadService> uploads_;
  std::unique_ptr<llm::ModelProvider> provider_;
  chat::GenerationRegistry generations_;
  std::unique_ptr<RateWindows> rateWindows_;
  std::unique_ptr<chat::MessageEngine> engine_;
  std::unique_ptr<chat::GenerationRelay> relay_;
  std::unique_ptr<store::PgListener> listener_;  // stopped before what it calls is gone
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<asio::steady_timer> sweepTimer_;
  std::vector<std::thread> threads_;
  std::once_flag shutdownOnce_;
  int exitCode_ = 0;
};

App::App(config::Config config, AppOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), options)) {}
App::~App() = default;
Result<void> App::start() {
  return impl_->start();
}
std::uint16_t App::port() const {
  return impl_->port();
}
void App::requestShutdown() {
  impl_->requestShutdown();
}
void App::handleSignals() {
  impl_->handleSignals();
}
int App::wait() {
  return impl_->wait();
}

namespace {

// Every open stream holds two descriptors (the browser's connection and the provider's), and
// the soft limit a shell or container gives is often 1,024: raise it to the hard limit, as
// nginx's worker_rlimit_nofile would, and say what it is.
void raiseDescriptorLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  if (lim.rlim_cur < 8192) {
    spdlog::warn(
        "only {} open files allowed (ulimit -n): about {} concurrent streams; raise the hard "
        "limit (systemd: LimitNOFILE=65536)",
        lim.rlim_cur, lim.rlim_cur / 2 > 64 ? lim.rlim_cur / 2 - 64 : 0);
  } else {
    spdlog::debug("open files allowed: {}", lim.rlim_cur);
  }
}

}  // namespace

int serve(config::Config config) {
  raiseDescriptorLimit();
  App app(std::move(config));
  if (auto started = app.start(); !started) {
    spdlog::critical("cannot start: {}", started.error().message);
    return 1;
  }
  app.handleSignals();
  return app.wait();
}

int migrate(const config::Config& config) {
  initCrypto();
  auto opened = store::openStore(config.databaseUrl, store::StoreOptions{});
  if (!opened) {
    spdlog::critical("cannot open the database: {}", opened.error().message);
    return 1;
  }
  auto applied = (*opened)->migrate();
  if (!applied) {
    spdlog::critical("migration failed: {}", applied.error().message);
    return 1;
  }
  spdlog::info("{} migration(s) applied; the {} schema is up to date", *applied,
               (*opened)->dialect());
  return 0;
}

}  // namespace atelier::app
