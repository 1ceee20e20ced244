#include "util/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace atelier {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0 && std::isfinite(v)) {
    sumMicros_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
  }
}

double Histogram::sum() const noexcept {
  return static_cast<double>(sumMicros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> latencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

MetricsRegistry::Entry& MetricsRegistry::add(std::string name, std::string help, Kind kind,
                                             bool family) {
  entries_.push_back(Entry{std::move(name), std::move(help), kind, nullptr, family});
  return entries_.back();
}

Counter& MetricsRegistry::counter(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  auto& m = counters_.emplace_back();
  add(std::move(name), std::move(help), Kind::counter, false).metric = &m;
  return m;
}

Gauge& MetricsRegistry::gauge(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  auto& m = gauges_.emplace_back();
  add(std::move(name), std::move(help), Kind::gauge, false).metric = &m;
  return m;
}

Histogram& MetricsRegistry::histogram(std::string name, std::string help,
                                      std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& m = histograms_.emplace_back(std::move(bounds));
  add(std::move(name), std::move(help), Kind::histogram, false).metric = &m;
  return m;
}

Family<Counter>& MetricsRegistry::counterFamily(std::string name, std::string help,
                                                std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto& m = counterFamilies_.emplace_back(std::move(labels));
  add(std::move(name), std::move(help), Kind::counter, true).metric = &m;
  return m;
}

Family<Gauge>& MetricsRegistry::gaugeFamily(std::string name, std::string help,
                                            std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto& m = gaugeFamilies_.emplace_back(std::move(labels));
  add(std::move(name), std::move(help), Kind::gauge, true).metric = &m;
  return m;
}

Family<Histogram>& MetricsRegistry::histogramFamily(std::string name, std::string help,
                                                    std::vector<std::string> labels,
                                                    std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& m = histogramFamilies_.emplace_back(std::move(labels), std::move(bounds));
  add(std::move(name), std::move(help), Kind::histogram, true).metric = &m;
  return m;
}

namespace {

std::string formatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

// `{a="x",b="y"` (no closing brace) from a family key, or "" without labels.
std::string labelPrefix(const std::vector<std::string>& names, std::string_view key) {
  if (names.empty()) return {};
  std::string out = "{";
  std::size_t start = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::size_t end = key.find('\x1f', start);
    const std::string_view v =
        key.substr(start, end == std::string_view::npos ? key.npos : end - start);
    if (i) out.push_back(',');
    out += fmt::format("{}=\"{}\"", names[i], escapeLabelValue(v));
    start = end == std::string_view::npos ? key.size() : end + 1;
  }
  return out;
}

std::string closeLabels(const std::string& prefix) {
  return prefix.empty() ? "" : prefix + "}";
}

void renderHistogram(std::string& out, const std::string& name, const std::string& prefix,
                     const Histogram& h) {
  std::uint64_t cumulative = 0;
  const auto& b = h.bounds();
  const std::string sep = prefix.empty() ? "{" : prefix + ",";
  for (std::size_t i = 0; i <= b.size(); ++i) {
    cumulative += h.bucketCount(i);
    const std::string le = i < b.size() ? formatValue(b[i]) : "+Inf";
    out += fmt::format("{}_bucket{}le=\"{}\"}} {}\n", name, sep, le, cumulative);
  }
  // _count equals the +Inf bucket by construction (same snapshot).
  out += fmt::format("{}_sum{} {}\n", name, closeLabels(prefix), formatValue(h.sum()));
  out += fmt::format("{}_count{} {}\n", name, closeLabels(prefix), cumulative);
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(8192);
  for (const auto& e : entries_) {
    const char* type = e.kind == Kind::counter ? "counter"
                       : e.kind == Kind::gauge ? "gauge"
                                               : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", e.name, e.help, e.name, type);
    switch (e.kind) {
      case Kind::counter:
        if (e.family) {
          auto* f = static_cast<Family<Counter>*>(e.metric);
          f->forEach([&](const std::string& key, const Counter& c) {
            out += fmt::format("{}{} {}\n", e.name, closeLabels(labelPrefix(f->labelNames(), key)),
                               c.value());
          });
        } else {
          out += fmt::format("{} {}\n", e.name, static_cast<Counter*>(e.metric)->value());
        }
        break;
      case Kind::gauge:
        if (e.family) {
          auto* f = static_cast<Family<Gauge>*>(e.metric);
          f->forEach([&](const std::string& key, const Gauge& g) {
            out += fmt::format("{}{} {}\n", e.name, closeLabels(labelPrefix(f->labelNames(), key)),
                               g.value());
          });
        } else {
          out += fmt::format("{} {}\n", e.name, static_cast<Gauge*>(e.metric)->value());
        }
        break;
      case Kind::histogram:
        if (e.family) {
          auto* f = static_cast<Family<Histogram>*>(e.metric);
          f->forEach([&](const std::string& key, const Histogram& h) {
            renderHistogram(out, e.name, labelPrefix(f->labelNames(), key), h);
          });
        } else {
          renderHistogram(out, e.name, "", *static_cast<Histogram*>(e.metric));
        }
        break;
    }
  }
  return out;
}

}  // namespace atelier
