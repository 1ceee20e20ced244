#include "util/metrics.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

namespace atelier {
namespace {

// Every line is a comment (# HELP/# TYPE) or `name{labels} value`, per the text format 0.0.4.
void expectValidExposition(const std::string& text) {
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+$)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
}

TEST(Metrics, RendersCountersGaugesAndLabels) {
  MetricsRegistry r;
  r.counter("jobs_total", "Jobs.").inc(3);
  r.gauge("queue_depth", "Depth.").set(-2);
  auto& fam = r.counterFamily("requests_total", "Requests.", {"route", "status"});
  fam.with({"/a", "200"}).inc();
  fam.with({"/a", "200"}).inc();
  fam.with({"/b\"x\\y\n", "404"}).inc();
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE jobs_total counter\njobs_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("queue_depth -2\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{route=\"/a\",status=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find(R"(requests_total{route="/b\"x\\y\n",status="404"} 1)"), std::string::npos)
      << text;
  expectValidExposition(text);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfEqualToCount) {
  MetricsRegistry r;
  auto& h = r.histogram("latency_seconds", "Latency.", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(7);
  const std::string text = r.render();
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum 8.05\n"), std::string::npos);
  expectValidExposition(text);
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry r;
  auto& fam = r.counterFamily("c_total", "C.", {"k"});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        fam.with({i % 2 ? "odd" : "even"}).inc();
    });
  }
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(fam.with({"odd"}).value() + fam.with({"even"}).value(), 40000u);
}

}  // namespace
}  // namespace atelier
