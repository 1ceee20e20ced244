// Time in the project: UTC wall-clock instants with millisecond precision.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace atelier {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// "2026-11-24T06:41:00.123Z"
std::string formatRfc3339(TimePoint t);
// Accepts the format above (milliseconds optional). nullopt when malformed.
std::optional<TimePoint> parseRfc3339(std::string_view s);

inline std::int64_t toUnixMillis(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint fromUnixMillis(std::int64_t ms) {
  return TimePoint(Millis(ms));
}

// Where services ask for "now", so tests can move time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock tests set by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : ms_(toUnixMillis(start)) {}
  TimePoint now() const override { return fromUnixMillis(ms_.load()); }
  void advance(Millis d) { ms_ += d.count(); }
  void set(TimePoint t) { ms_ = toUnixMillis(t); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace atelier
