#include "server/metrics.h"

#include <fmt/format.h>

namespace fupin::server {

void Metrics::CountRequest(std::string_view route, std::string_view method, int status,
                           double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), std::string(method), status}];
  if (status >= 500) ++errors_;
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(std::string(route), Histogram{}).first;
  Histogram& h = it->second;
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountJob(std::string_view kind, std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++jobs_[{std::string(kind), std::string(outcome)}];
}

void Metrics::SetGauge(std::string_view name, double value) {
  std::lock_guard lock(mu_);
  gauges_[std::string(name)] = value;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP fupin_http_requests_total HTTP requests by route pattern, method and status.\n";
  out += "# TYPE fupin_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("fupin_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       route, method, status, n);
  }
  out += "# HELP fupin_http_errors_total Requests answered with a 5xx status.\n";
  out += "# TYPE fupin_http_errors_total counter\n";
  out += fmt::format("fupin_http_errors_total {}\n", errors_);
  out += "# HELP fupin_http_request_duration_seconds Time from request read to response ready.\n";
  out += "# TYPE fupin_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out +=
          fmt::format("fupin_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                      route, kBuckets[i], h.buckets[i]);
    out +=
        fmt::format("fupin_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                    route, h.count);
    out +=
        fmt::format("fupin_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    out += fmt::format("fupin_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                       h.count);
  }
  out += "# HELP fupin_jobs_total Jobs (import, link, rules, snapshot) by kind and outcome.\n";
  out += "# TYPE fupin_jobs_total counter\n";
  for (const auto& [key, n] : jobs_)
    out += fmt::format("fupin_jobs_total{{kind=\"{}\",outcome=\"{}\"}} {}\n", key.first, key.second,
                       n);
  for (const auto& [name, value] : gauges_) {
    out += fmt::format("# TYPE {} gauge\n", name);
    out += fmt::format("{} {}\n", name, value);
  }
  return out;
}

}  // namespace fupin::server
