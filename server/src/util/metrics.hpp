// Prometheus metrics, rendered in the text exposition format (version 0.0.4).
//
// Counters, gauges and histograms are lock-free to update. Families with labels look a
// child up under a shared lock; callers on hot paths keep the returned reference (children
// are never removed, so references stay valid for the registry's lifetime).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void inc(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void dec(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is the +Inf bucket).
  std::uint64_t bucketCount(std::size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sumMicros_{0};  // sum in millionths, integral for lock-free adds
};

// Default latency buckets in seconds: 0.5 ms … 60 s.
std::vector<double> latencyBuckets();

template <class T>
class Family {
 public:
  Family(std::vector<std::string> labelNames, std::vector<double> bounds = {})
      : labelNames_(std::move(labelNames)), bounds_(std::move(bounds)) {}

  // The child for these label values (created on first use). REQUIRES: one value per label.
  T& with(std::initializer_list<std::string_view> values);

  template <class Fn>
  void forEach(Fn&& fn) const {
    std::shared_lock lock(mu_);
    for (const auto& [key, child] : children_)
      fn(key, *child);
  }
  const std::vector<std::string>& labelNames() const noexcept { return labelNames_; }

 private:
  std::vector<std::string> labelNames_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  // key: label values joined by '\x1f'; map keeps the output sorted and stable.
  std::map<std::string, std::unique_ptr<T>, std::less<>> children_;
};

class MetricsRegistry {
 public:
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds);
  Family<Counter>& counterFamily(std::string name, std::string help,
                                 std::vector<std::string> labels);
  Family<Gauge>& gaugeFamily(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogramFamily(std::string name, std::string help,
                                     std::vector<std::string> labels, std::vector<double> bounds);

  // The whole registry in Prometheus text format.
  std::string render() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Entry {
    std::string name;
    std::string help;
    Kind kind;
    void* metric;  // one of the six types above, owned by the deques below
    bool family;
  };
  Entry& add(std::string name, std::string help, Kind kind, bool family);

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
  std::deque<Family<Counter>> counterFamilies_;
  std::deque<Family<Gauge>> gaugeFamilies_;
  std::deque<Family<Histogram>> histogramFamilies_;
};

// Escapes a label value for the exposition format (\\, \", \n).
std::string escapeLabelValue(std::string_view v);

template <class T>
T& Family<T>::with(std::initializer_list<std::string_view> values) {
  std::string key;
  bool first = true;
  for (auto v : values) {
    if (!first) key.push_back('\x1f');
    first = false;
    key.append(v);
  }
  {
    std::shared_lock lock(mu_);
    if (auto it = children_.find(key); it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = children_[key];
  if (!slot) {
    if constexpr (std::is_same_v<T, Histogram>) {
      slot = std::make_unique<T>(bounds_);
    } else {
      slot = std::make_unique<T>();
    }
  }
  return *slot;
}

}  // namespace atelier
