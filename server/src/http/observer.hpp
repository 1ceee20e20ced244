// What the server reports about each request: the access log line and the HTTP metrics.
#pragma once

#include <cstdint>
#include <string_view>

#include "util/metrics.hpp"

namespace atelier::http {

struct AccessRecord {
  std::string_view method;
  std::string_view route;  // the pattern ("/api/chat/:chatId"), or "unmatched"
  std::string_view path;
  int status = 0;
  std::uint64_t bytesOut = 0;
  double seconds = 0;
  std::string_view requestId;
  std::string_view userId;
  std::string_view client;
};

class RequestObserver {
 public:
  explicit RequestObserver(MetricsRegistry& registry);
  void started() noexcept { inFlight_.inc(); }
  // Called once per request, after the last byte of its response (or its failure).
  void finished(const AccessRecord& r);
  Gauge& openConnections() noexcept { return connections_; }

 private:
  Family<Counter>& requests_;
  Family<Histogram>& latency_;
  Gauge& inFlight_;
  Gauge& connections_;
};

}  // namespace atelier::http
