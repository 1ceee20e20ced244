#include "util/rate_window.hpp"

#include <algorithm>
#include <cmath>

namespace atelier {

WindowPosition windowAt(std::chrono::milliseconds sinceEpoch, std::chrono::seconds period) {
  const std::int64_t p = std::chrono::milliseconds(period).count();
  const std::int64_t t = sinceEpoch.count();
  const std::int64_t start = t - (((t % p) + p) % p);
  return {start, std::chrono::milliseconds(t - start)};
}

int slidingWindowWait(WindowHits hits, std::uint32_t limit, std::chrono::seconds period,
                      std::chrono::milliseconds intoWindow) {
  const double p = std::chrono::duration<double>(period).count();
  const double f = std::clamp(std::chrono::duration<double>(intoWindow).count() / p, 0.0, 1.0);
  const double lim = limit;
  const auto prev = static_cast<double>(std::max<std::int64_t>(0, hits.previous));
  const auto cur = static_cast<double>(std::max<std::int64_t>(0, hits.current));
  if (prev * (1.0 - f) + cur <= lim) return 0;
  // Refused: the hits that stay counted are cur - 1. The next one fits once the previous
  // window's weight has fallen enough — in this window if the current hits leave room, else
  // in the next, where these hits become the previous window's.
  const double kept = cur - 1.0;
  double wait = 0;
  if (kept + 1.0 <= lim && prev > 0) {
    const double fAllowed = 1.0 - (lim - kept - 1.0) / prev;
    wait = (fAllowed - f) * p;
  } else {
    const double gAllowed = kept > 0 ? std::max(0.0, 1.0 - (lim - 1.0) / kept) : 0.0;
    wait = (1.0 - f) * p + gAllowed * p;
  }
  // (Less a hair, so that a whole number of seconds off by a rounding error stays whole.)
  return std::max(1, static_cast<int>(std::ceil(wait - 1e-6)));
}

}  // namespace atelier
