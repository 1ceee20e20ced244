// The arithmetic of a shared sliding-window rate limit, kept apart from where the counts
// live (the database, or Redis). A window of `period` is approximated from two fixed windows:
// the hits of the current one plus the previous one's, weighted by how much of it still
// overlaps the sliding window (the approach of Cloudflare's and nginx's limiters).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "util/result.hpp"
#include "util/time.hpp"

namespace atelier {

struct WindowHits {
  std::int64_t current = 0;   // hits in the current fixed window, this one included
  std::int64_t previous = 0;  // hits in the fixed window before it
};

// The fixed window `now` falls in: its start, and how far into it `now` is.
struct WindowPosition {
  std::int64_t startMs = 0;
  std::chrono::milliseconds into{0};
};
WindowPosition windowAt(std::chrono::milliseconds sinceEpoch, std::chrono::seconds period);

// 0 when the hit counted in `hits` keeps within `limit` per `period`; else the whole seconds
// (at least 1) until a hit would be allowed again if this one is not counted.
int slidingWindowWait(WindowHits hits, std::uint32_t limit, std::chrono::seconds period,
                      std::chrono::milliseconds intoWindow);

// Where the windows every instance shares live: the database (the default), or Redis when
// REDIS_URL is set. Blocking: called on worker threads.
class RateWindows {
 public:
  virtual ~RateWindows() = default;
  // Counts one hit of `key` against `limit` per `period`: 0 when allowed, else the seconds
  // until a hit would be (the refused one is not counted).
  virtual Result<int> hit(std::string_view key, std::uint32_t limit, std::chrono::seconds period,
                          TimePoint now) = 0;
  // Where the windows live, for the log.
  virtual std::string_view where() const = 0;
};

}  // namespace atelier
