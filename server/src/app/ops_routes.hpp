// Operations endpoints (no authentication): /healthz, /readyz, /metrics.
#pragma once

#include <functional>

#include "http/router.hpp"
#include "util/metrics.hpp"
#include "util/result.hpp"

namespace atelier::app {

struct OpsDependencies {
  MetricsRegistry* metrics = nullptr;
  // True while the server accepts new work (false once shutdown began).
  std::function<bool()> accepting;
  // Round trip to the database, off the I/O thread.
  std::function<boost::asio::awaitable<Result<void>>()> pingDatabase;
};

void registerOpsRoutes(http::Router& router, OpsDependencies deps);

}  // namespace atelier::app
