// The server's shared state (服务状态) and the plumbing every route uses: a store connection
// per worker thread, the analytics snapshot, the rule set, sessions, the audit log, metrics
// and jobs. Routes live in routes_*.cc; each is registered through App::Route, which
// authenticates, checks the role and the CSRF token, and turns a failed Status into a JSON
// error in the caller's language.
// Thread-safety: one App serves every worker thread; its members are thread-safe or
// read-only after Open().
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analytics/portrait.h"
#include "analytics/snapshot.h"
#include "analytics/snapshot_holder.h"
#include "core/actor.h"
#include "core/lang.h"
#include "core/status.h"
#include "rules/rule_set.h"
#include "server/admission.h"
#include "server/http.h"
#include "server/jobs.h"
#include "server/metrics.h"
#include "server/request_log.h"
#include "server/response_cache.h"
#include "server/server.h"
#include "service/accounts.h"
#include "service/audit.h"
#include "service/edit_batcher.h"
#include "service/flags.h"
#include "service/query.h"
#include "store/store.h"

namespace fupin::server {

// What a route knows of its request once it passed the checks.
struct Ctx {
  Lang lang = Lang::kZh;
  Actor actor;
  bool via_token = false;  // an API token, not a browser session
  std::string session_token;
};

// The query parameters of a request (measures, by, where, line, mpi_indicators) as the service
// takes them, the actor's region added as a filter: /api/query and its XLSX download
// (routes_read.cc).
Result<service::QueryParams> QueryParamsOf(const Ctx& ctx, const httplib::Request& req);

struct RouteOptions {
  bool auth = true;         // a session or API token is required
  std::vector<Role> roles;  // empty: every role
  // A file upload (up to --max-body-mib); any other body is JSON, up to max_json_bytes, and a
  // larger one is refused with 413 before anything else.
  bool upload = false;
  bool light_read = false;  // admitted ServeOptions::active_reads at a time (admission.h)
};

using Handler = std::function<Status(Ctx&, const httplib::Request&, httplib::Response&)>;

class App {
 public:
  App(const ServeOptions& options, Lang lang);
  ~App();

  // Opens the store, the rule set and the snapshot; starts the refresher.
  Status Open();
  // Registers every route on `server`.
  void Install(httplib::Server& server);
  // Stops background work (the refresher, jobs: waits for running ones), flushes the audit.
  void Shutdown();

  // The calling thread's own store connection (opened on first use).
  Result<store::Store*> Db();

  const ServeOptions& options() const { return options_; }
  const rules::RuleSet& rule_set() const { return rule_set_; }
  analytics::SnapshotHolder& snapshots() { return *snapshots_; }
  service::Sessions& sessions() { return sessions_; }
  service::AuditLog& audit() { return *audit_; }
  Metrics& metrics() { return metrics_; }
  // Answers of /api/query by query, scope, role, language and snapshot generation.
  ResponseCache& query_cache() { return query_cache_; }
  const RequestLog& request_log() const { return *request_log_; }
  Jobs& jobs() { return *jobs_; }
  const std::string& scratch_dir() const { return scratch_dir_; }
  // The database file (for the snapshot file beside it).
  const std::string& db_path() const { return db_path_; }

  // Registers a route: `pattern` is a regex of the path; `name` its OpenAPI path template,
  // used in metrics and the request log.
  void Route(httplib::Server& server, const char* method, const char* pattern, const char* name,
             RouteOptions options, Handler handler);

  // Registers another handler for the route registered under `name`, taken instead of that
  // route's own when the request's query parameter format is `format` (e.g. the XLSX download
  // of a JSON list at the same path). Its options replace the route's. Call before serving.
  void RouteFormat(const char* name, std::string format, RouteOptions options, Handler handler);

  // Audits a refused attempt and returns the error to send.
  Status Deny(const Ctx& ctx, std::string_view object, Msg why);

  // The linked-rows index for portraits. While the first is being built (seconds, at start)
  // it waits for it, at most 30 s: a portrait without it scans every department's links,
  // far slower than the wait. Null when that build failed or took longer (portraits scan).
  std::shared_ptr<const analytics::LinkedRowsIndex> links_index() const;

  // Region name by code (the store's regions), "" when unknown.
  std::string RegionName(std::string_view code) const;
  // Children of a region (codes), in code order.
  std::vector<std::string> RegionChildren(std::string_view code) const;
  bool RegionExists(std::string_view code) const;
  // Every region's name by code (for labels).
  const std::unordered_map<std::string, std::string>& region_names() const { return region_names_; }

 private:
  // Light reads admitted at once (ServeOptions::active_reads; 0: four per core).
  int ActiveReads() const;
  Status Authenticate(const httplib::Request& req, Ctx& ctx);
  struct FormatRoute {
    std::string format;
    RouteOptions options;
    Handler handler;
  };
  // Alternatives by ?format= of a route, by its name; filled before serving, read-only after.
  std::map<std::string, std::vector<FormatRoute>, std::less<>> format_routes_;
  void RefreshLoop();
  void RebuildLinksIndex(store::Store& db);
  // Lets links_index() callers waiting for the first build go.
  void EndFirstLinksIndexBuild();

  ServeOptions options_;
  Lang lang_;
  rules::RuleSet rule_set_;
  std::unique_ptr<analytics::SnapshotHolder> snapshots_;
  // Serves every EditHousehold given snapshots_; destroyed before it.
  std::unique_ptr<service::EditBatcher> edit_batcher_;
  service::Sessions sessions_;
  std::unique_ptr<service::AuditLog> audit_;
  Metrics metrics_;
  ResponseCache query_cache_{1024, 64 << 20};
  std::unique_ptr<FifoSemaphore> light_reads_;
  std::unique_ptr<RequestLog> request_log_;
  std::unique_ptr<Jobs> jobs_;
  std::string scratch_dir_;
  std::string db_path_;
  struct RegionInfo {
    std::string name;
    int level = 0;
    std::string parent;
    std::vector<std::string> children;
  };
  std::map<std::string, RegionInfo, std::less<>> regions_;
  std::unordered_map<std::string, std::string> region_names_;

  mutable std::mutex links_index_mu_;
  mutable std::condition_variable links_index_cv_;
  bool links_index_pending_ = true;  // the first build has not ended
  std::shared_ptr<const analytics::LinkedRowsIndex> links_index_;

  std::atomic<bool> stopping_{false};
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  std::thread refresher_;
};

// Route groups.
void InstallSystemRoutes(App& app, httplib::Server& server);   // healthz, metrics, openapi
void InstallAuthRoutes(App& app, httplib::Server& server);     // login, logout, me
void InstallReadRoutes(App& app, httplib::Server& server);     // query, regions, portraits, ...
void InstallWriteRoutes(App& app, httplib::Server& server);    // households, flags, photos
void InstallJobRoutes(App& app, httplib::Server& server);      // imports, jobs
void InstallSharingRoutes(App& app, httplib::Server& server);  // changes, links, audit
void InstallUserRoutes(App& app, httplib::Server& server);     // users (admin), own password
void InstallExportRoutes(App& app);  // ?format=xlsx of /api/flags and /api/query

// The OpenAPI 3.1 description served at /api/openapi.json (openapi.json in this folder).
std::string_view OpenApiJson();

// The filters of a flags request (rule, category, state, region) as the service takes them;
// a region outside the caller's is refused (audited). The JSON list and its XLSX download
// (routes_read.cc).
Result<service::FlagExportRequest> FlagRequestOf(App& app, const Ctx& ctx,
                                                 const httplib::Request& req);

}  // namespace fupin::server
