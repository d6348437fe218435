// The server's own figures in the Prometheus text format (指标): requests by route, method and
// status, a latency histogram by route, errors, jobs. Thread-safe; a route is its pattern
// ("/api/households/{household_id}"), never a concrete path, so no personal data and a bounded
// number of series.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace fupin::server {

class Metrics {
 public:
  void CountRequest(std::string_view route, std::string_view method, int status, double seconds);
  void CountJob(std::string_view kind, std::string_view outcome);
  // Gauges set by the server (snapshot size, sessions, ...).
  void SetGauge(std::string_view name, double value);
  // The whole exposition, `# HELP`/`# TYPE` lines included.
  std::string Render() const;

  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   5};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram, std::less<>> latency_;
  std::map<std::pair<std::string, std::string>, uint64_t> jobs_;
  std::map<std::string, double, std::less<>> gauges_;
  uint64_t errors_ = 0;
};

}  // namespace fupin::server
