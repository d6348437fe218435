// /healthz, /metrics and /api/openapi.json: answered without a session.
#include "server/app.h"

namespace fupin::server {

void InstallSystemRoutes(App& app, httplib::Server& server) {
  // The server's own ceiling in benchmarks: no store, no snapshot, no session.
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  app.Route(server, "GET", "/metrics", "/metrics", {.auth = false},
            [&app](Ctx&, const httplib::Request&, httplib::Response& res) {
              const ResponseCache::Stats cache = app.query_cache().stats();
              app.metrics().SetGauge("fupin_query_cache_hits", static_cast<double>(cache.hits));
              app.metrics().SetGauge("fupin_query_cache_misses", static_cast<double>(cache.misses));
              app.metrics().SetGauge("fupin_query_cache_entries",
                                     static_cast<double>(cache.entries));
              app.metrics().SetGauge("fupin_query_cache_bytes", static_cast<double>(cache.bytes));
              app.metrics().SetGauge("fupin_request_log_dropped",
                                     static_cast<double>(app.request_log().dropped()));
              res.set_content(app.metrics().Render(), "text/plain; version=0.0.4; charset=utf-8");
              return OkStatus();
            });
  app.Route(server, "GET", "/api/openapi.json", "/api/openapi.json", {.auth = false},
            [](Ctx&, const httplib::Request&, httplib::Response& res) {
              res.set_content(std::string(OpenApiJson()), "application/json; charset=utf-8");
              return OkStatus();
            });
}

}  // namespace fupin::server
