// Rate-limit windows in the application's database (see Store::hitRateWindow).
#pragma once

#include "store/store.hpp"
#include "util/rate_window.hpp"

namespace atelier::store {

class StoreRateWindows final : public RateWindows {
 public:
  explicit StoreRateWindows(Store& store) : store_(store) {}
  Result<int> hit(std::string_view key, std::uint32_t limit, std::chrono::seconds period,
                  TimePoint now) override {
    return store_.hitRateWindow(key, limit, period, now);
  }
  std::string_view where() const override { return "the database"; }

 private:
  Store& store_;
};

}  // namespace atelier::store
