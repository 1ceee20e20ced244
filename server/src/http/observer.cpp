#include "http/observer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>

#include "util/log.hpp"
#include "util/time.hpp"

namespace atelier::http {

RequestObserver::RequestObserver(MetricsRegistry& registry)
    : requests_(registry.counterFamily("atelier_http_requests_total",
                                       "HTTP requests answered, by route, method and status.",
                                       {"route", "method", "status"})),
      latency_(registry.histogramFamily("atelier_http_request_duration_seconds",
                                        "Time from the request head to the last response byte.",
                                        {"route"}, latencyBuckets())),
      inFlight_(registry.gauge("atelier_http_requests_in_flight", "Requests being handled now.")),
      connections_(registry.gauge("atelier_http_open_connections", "Open client connections.")) {
  prepareLogging();  // before the I/O threads that finish requests log through it
}

void RequestObserver::finished(const AccessRecord& r) {
  inFlight_.dec();
  std::array<char, 8> status{};
  auto [end, ec] = std::to_chars(status.data(), status.data() + status.size(), r.status);
  (void)ec;
  requests_.with({r.route, r.method, std::string_view(status.data(), end - status.data())}).inc();
  latency_.with({r.route}).observe(r.seconds);

  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(spdlog::level::info)) return;
  if (logFormat() == LogFormat::json) {
    std::string line = R"({"ts":")";
    line += formatRfc3339(SystemClock().now());
    line += R"(","level":"info","msg":"request","method":")";
    appendJsonEscaped(line, r.method);
    line += R"(","route":")";
    appendJsonEscaped(line, r.route);
    line += R"(","path":")";
    appendJsonEscaped(line, r.path);
    line += fmt::format(R"(","status":{},"duration_ms":{:.3f},"bytes":{},"request_id":")", r.status,
                        r.seconds * 1000, r.bytesOut);
    appendJsonEscaped(line, r.requestId);
    line += R"(","client":")";
    appendJsonEscaped(line, r.client);
    line += '"';
    if (!r.userId.empty()) {
      line += R"(,"user_id":")";
      appendJsonEscaped(line, r.userId);
      line += '"';
    }
    line += '}';
    accessLogger().info("{}", line);
  } else {
    logger->info("http {} {} {} {:.3f}ms {}B rid={} client={}{}{}", r.method, r.path, r.status,
                 r.seconds * 1000, r.bytesOut, r.requestId, r.client,
                 r.userId.empty() ? "" : " user=", r.userId);
  }
}

}  // namespace atelier::http
