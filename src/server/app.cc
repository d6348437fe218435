#include "server/app.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "core/thread_priority.h"
#include "server/static_files.h"
#include "store/open.h"

namespace fupin::server {
namespace {

constexpr std::string_view kSessionCookie = "fupin_session";
// Connections the kernel queues for accept(): a burst of clients connecting at once.
constexpr int kListenBacklog = 1024;

// What the request log and the metrics know of the request being served on this thread.
struct RequestState {
  const char* route = nullptr;
  std::chrono::steady_clock::time_point start;
  std::string user, role;
};
thread_local RequestState t_request;

// The calling thread's store connection, tagged with the App that opened it.
struct ThreadStore {
  const App* app = nullptr;
  std::unique_ptr<store::Store> store;
};
thread_local ThreadStore t_store;

bool IsWrite(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

App::App(const ServeOptions& options, Lang lang)
    : options_(options),
      lang_(lang),
      sessions_(service::SessionPolicy{options.idle_session_s, options.absolute_session_s}),
      light_reads_(std::make_unique<FifoSemaphore>(ActiveReads())),
      request_log_(std::make_unique<RequestLog>()) {}

App::~App() { Shutdown(); }

int App::ActiveReads() const {
  return options_.active_reads > 0
             ? options_.active_reads
             : 4 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

Result<store::Store*> App::Db() {
  if (t_store.app != this || !t_store.store) {
    store::OpenOptions open;
    open.cache_mib = 16;
    open.bulk_journal = false;
    open.create = false;
    ASSIGN_OR_RETURN(auto db, store::OpenStore(options_.db, open));
    t_store.app = this;
    t_store.store = std::move(db);
  }
  return t_store.store.get();
}

Status App::Open() {
  ASSIGN_OR_RETURN(store::StoreLocation location, store::ParseStoreUri(options_.db));
  db_path_ = location.path.string();
  ASSIGN_OR_RETURN(store::Store * db, Db());
  if (options_.rules.empty()) {
    ASSIGN_OR_RETURN(rule_set_, rules::DefaultRuleSet());
  } else {
    ASSIGN_OR_RETURN(rule_set_, rules::LoadRuleSet(options_.rules));
  }
  ASSIGN_OR_RETURN(std::vector<store::Region> regions, db->LoadRegions());
  for (const store::Region& r : regions) {
    regions_[r.code] = {r.name, r.level, r.parent_code, {}};
    region_names_.emplace(r.code, r.name);
  }
  for (const store::Region& r : regions)
    if (auto it = regions_.find(r.parent_code); it != regions_.end())
      it->second.children.push_back(r.code);
  for (auto& [code, info] : regions_) std::sort(info.children.begin(), info.children.end());

  scratch_dir_ = options_.scratch_dir;
  if (scratch_dir_.empty()) scratch_dir_ = db_path_ + ".scratch";
  std::error_code ec;
  std::filesystem::create_directories(scratch_dir_, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", scratch_dir_, ec.message()));

  analytics::BuildOptions build;
  build.threads = 2;
  ASSIGN_OR_RETURN(analytics::Snapshot initial, analytics::OpenSnapshot(*db, db_path_, build));
  metrics_.SetGauge("fupin_snapshot_households", static_cast<double>(initial.LiveHouseholds()));
  snapshots_ = std::make_unique<analytics::SnapshotHolder>(std::move(initial));
  // Cadres' edits arriving together commit in one transaction (service/edit_batcher.h).
  {
    store::OpenOptions open;
    open.cache_mib = 64;
    open.create = false;
    ASSIGN_OR_RETURN(auto writer, store::OpenStore(options_.db, open));
    // While edits are being written, light reads are admitted one per core, not four: the
    // writer then competes with a couple of readers rather than a crowd (admission.h).
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const int reads = ActiveReads(), writing = std::min(reads, cores);
    edit_batcher_ = std::make_unique<service::EditBatcher>(
        *snapshots_, std::move(writer), service::EditBatcher::kMaxGroup,
        [this, reads, writing](bool busy) { light_reads_->SetPermits(busy ? writing : reads); });
  }
  audit_ = std::make_unique<service::AuditLog>(options_.db);
  jobs_ = std::make_unique<Jobs>([this](std::string_view kind, std::string_view outcome) {
    metrics_.CountJob(kind, outcome);
    refresh_cv_.notify_all();  // a job changed the store: refresh soon
  });
  refresher_ = std::thread([this] { RefreshLoop(); });
  // Every thread but the edit writer yields to it, and the threads they start (requests,
  // jobs, the shared executor's) inherit that: reads cannot crowd edits out of the CPU.
  if (options_.reader_nice > 0) {
    const pid_t writer = edit_batcher_->writer_thread_id();
    if (Status st = LowerPriorityOfThreadsExcept(options_.reader_nice, {&writer, 1}); !st.ok())
      fmt::print(stderr, "{}\n", st.message());  // slower edits under load, nothing worse
  }
  return OkStatus();
}

// Brings the snapshot up to the store once a second: jobs, the CLI run from another process
// and flag decisions all show within about a second. The holder refreshes beside the serving
// snapshot and swaps, so queries never wait for it.
void App::RefreshLoop() {
  NameThisThread("snap-refresh");
  store::OpenOptions open;
  open.cache_mib = 64;
  auto db = store::OpenStore(options_.db, open);
  if (!db) {
    fmt::print(stderr, "snapshot refresher: {}\n", db.error().message());
    EndFirstLinksIndexBuild();
    return;
  }
  RebuildLinksIndex(**db);  // in the background: portraits wait for it (links_index)
  std::unique_lock lock(refresh_mu_);
  while (!stopping_) {
    refresh_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    analytics::BuildOptions build;
    build.threads = 2;
    if (Status st = snapshots_->Refresh(**db, build); !st.ok()) {
      fmt::print(stderr, "snapshot refresh failed, the previous one keeps serving: {}\n",
                 st.message());
    } else {
      const analytics::SnapshotHolder::RefreshStats stats = snapshots_->refresh_stats();
      metrics_.SetGauge("fupin_snapshot_full_builds", static_cast<double>(stats.full_builds));
      metrics_.SetGauge("fupin_snapshot_incremental_refreshes",
                        static_cast<double>(stats.incremental));
      metrics_.SetGauge("fupin_snapshot_refresh_failures", static_cast<double>(stats.failed));
      int64_t links_version = 0;
      {
        auto view = snapshots_->Read();
        metrics_.SetGauge("fupin_snapshot_households", static_cast<double>(view->LiveHouseholds()));
        links_version = view->version.links;
      }
      // A link run changed which rows are whose: the index follows.
      if (auto index = links_index(); index && index->links_version != links_version)
        RebuildLinksIndex(**db);
    }
    lock.lock();
  }
}

std::shared_ptr<const analytics::LinkedRowsIndex> App::links_index() const {
  std::unique_lock lock(links_index_mu_);
  links_index_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !links_index_pending_; });
  return links_index_;
}

void App::EndFirstLinksIndexBuild() {
  {
    std::lock_guard lock(links_index_mu_);
    links_index_pending_ = false;
  }
  links_index_cv_.notify_all();
}

void App::RebuildLinksIndex(store::Store& db) {
  const auto start = std::chrono::steady_clock::now();
  auto built = analytics::LinkedRowsIndex::Build(db, 2);
  if (!built) {
    fmt::print(stderr, "linked-rows index: {} (portraits scan the links meanwhile)\n",
               built.error().message());
    EndFirstLinksIndexBuild();
    return;
  }
  auto index = std::make_shared<const analytics::LinkedRowsIndex>(std::move(*built));
  metrics_.SetGauge("fupin_links_index_bytes", static_cast<double>(index->MemoryBytes()));
  metrics_.SetGauge(
      "fupin_links_index_build_seconds",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  {
    std::lock_guard lock(links_index_mu_);
    links_index_ = std::move(index);
  }
  EndFirstLinksIndexBuild();
}

void App::Shutdown() {
  if (stopping_.exchange(true)) return;
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (jobs_) jobs_->WaitIdle();
  jobs_.reset();
  if (audit_) (void)audit_->Flush();
}

std::string App::RegionName(std::string_view code) const {
  auto it = regions_.find(code);
  return it == regions_.end() ? std::string() : it->second.name;
}

std::vector<std::string> App::RegionChildren(std::string_view code) const {
  auto it = regions_.find(code);
  return it == regions_.end() ? std::vector<std::string>() : it->second.children;
}

bool App::RegionExists(std::string_view code) const { return regions_.contains(code); }

Status App::Deny(const Ctx& ctx, std::string_view object, Msg why) {
  audit_->Append(ctx.actor,
                 {"denied", std::string(object), std::string(Text(why, Lang::kEn)), "denied"});
  return PermissionDenied(std::string(Text(why, ctx.lang)));
}

Status App::Authenticate(const httplib::Request& req, Ctx& ctx) {
  ASSIGN_OR_RETURN(store::Store * db, Db());
  const std::string auth = req.get_header_value("Authorization");
  if (auth.starts_with("Bearer ")) {
    auto actor = sessions_.FindApiToken(*db, std::string_view(auth).substr(7));
    if (!actor) return Unauthenticated(std::string(Text(Msg::kUnauthenticated, ctx.lang)));
    ctx.actor = std::move(*actor);
    ctx.via_token = true;
  } else {
    const std::string token = Cookie(req, kSessionCookie);
    if (token.empty()) return Unauthenticated(std::string(Text(Msg::kUnauthenticated, ctx.lang)));
    auto session = sessions_.Find(*db, token);
    if (!session) return Unauthenticated(std::string(Text(Msg::kUnauthenticated, ctx.lang)));
    ctx.actor = session->actor;
    ctx.session_token = token;
    // A write through a browser session carries the session's CSRF token in a header, which
    // a page of another site cannot set.
    if (IsWrite(req.method) && req.get_header_value("X-CSRF-Token") != session->csrf) {
      ctx.actor.address = req.remote_addr;
      audit_->Append(ctx.actor, {"denied", req.method, "csrf", "denied"});
      return PermissionDenied(std::string(Text(Msg::kCsrf, ctx.lang)));
    }
  }
  ctx.actor.address = req.remote_addr;
  t_request.user = ctx.actor.user;
  t_request.role = std::string(RoleName(ctx.actor.role));
  return OkStatus();
}

void App::Route(httplib::Server& server, const char* method, const char* pattern, const char* name,
                RouteOptions options, Handler handler) {
  auto wrapped = [this, name, route_options = std::move(options),
                  route_handler = std::move(handler)](const httplib::Request& req,
                                                      httplib::Response& res) {
    t_request.route = name;
    const RouteOptions* chosen_options = &route_options;
    const Handler* chosen_handler = &route_handler;
    if (auto it = format_routes_.find(std::string_view(name)); it != format_routes_.end()) {
      if (const auto format = Param(req, "format")) {
        for (const FormatRoute& alternative : it->second) {
          if (alternative.format != *format) continue;
          chosen_options = &alternative.options;
          chosen_handler = &alternative.handler;
        }
      }
    }
    const RouteOptions& options = *chosen_options;
    const Handler& handler = *chosen_handler;
    FifoSemaphore::Hold turn(options.light_read ? light_reads_.get() : nullptr);
    Ctx ctx;
    ctx.lang = RequestLang(req);
    if (!options.upload && req.body.size() > options_.max_json_bytes)
      return SendError(res, 413, "payload_too_large", Text(Msg::kBodyTooLarge, ctx.lang));
    if (options.auth) {
      if (Status st = Authenticate(req, ctx); !st.ok()) return SendError(res, st, ctx.lang);
      if (!options.roles.empty() && std::find(options.roles.begin(), options.roles.end(),
                                              ctx.actor.role) == options.roles.end())
        return SendError(res, Deny(ctx, name, Msg::kForbiddenRole), ctx.lang);
    }
    Status st = handler(ctx, req, res);
    if (!st.ok()) SendError(res, st, ctx.lang);
  };
  const std::string m = method;
  if (m == "GET")
    server.Get(pattern, wrapped);
  else if (m == "POST")
    server.Post(pattern, wrapped);
  else if (m == "PATCH")
    server.Patch(pattern, wrapped);
  else if (m == "PUT")
    server.Put(pattern, wrapped);
  else if (m == "DELETE")
    server.Delete(pattern, wrapped);
}

void App::RouteFormat(const char* name, std::string format, RouteOptions options, Handler handler) {
  format_routes_[name].push_back({std::move(format), std::move(options), std::move(handler)});
}

void App::Install(httplib::Server& server) {
  InstallExportRoutes(*this);
  InstallSystemRoutes(*this, server);
  InstallAuthRoutes(*this, server);
  InstallReadRoutes(*this, server);
  InstallWriteRoutes(*this, server);
  InstallJobRoutes(*this, server);
  InstallSharingRoutes(*this, server);
  InstallUserRoutes(*this, server);
  // Last: the web app answers every GET no route took (static_files.h).
  if (!options_.web_dir.empty()) InstallStaticFiles(server, options_.web_dir);

  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request = {};
    t_request.start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  const bool tls = !options_.tls_cert.empty();
  server.set_post_routing_handler([tls](const httplib::Request& req, httplib::Response& res) {
    SetSecurityHeaders(res);
    if (tls) res.set_header("Strict-Transport-Security", "max-age=31536000");
    if (req.path.starts_with("/api")) res.set_header("Cache-Control", "no-store");
  });
  // Statuses answered without a route (404, 413, 400 from the parser) get a JSON body too.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const Lang lang = RequestLang(req);
    switch (res.status) {
      case 404:
        if (!req.path.starts_with("/api") && req.method == "GET") {
          SendError(res, 404, "not_found", "not found");
        } else {
          SendError(res, 404, "not_found", Text(Msg::kNotFound, lang));
        }
        break;
      case 413:
        SendError(res, 413, "payload_too_large", Text(Msg::kBodyTooLarge, lang));
        break;
      case 408:
        SendError(res, 408, "timeout", Text(Msg::kTimeout, lang));
        break;
      default:
        SendError(res, res.status, "bad_request", "bad request");
    }
    SetSecurityHeaders(res);
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        fmt::print(stderr, "internal error on {} {}: {}\n", req.method,
                   t_request.route ? t_request.route : "-", what);
        SendError(res, 500, "internal", Text(Msg::kInternal, RequestLang(req)));
      });
  // One line per request: no path parameters, query string or body, so no personal data.
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = t_request.start.time_since_epoch().count() == 0
                               ? 0
                               : std::chrono::duration<double>(now - t_request.start).count();
    const char* route = t_request.route;
    if (!route) route = req.path.starts_with("/api") ? "(unknown)" : "(static)";
    metrics_.CountRequest(route, req.method, res.status, seconds);
    // Handed to the log's own thread: a stalled sink never holds a worker.
    const std::string line =
        fmt::format("{:%Y-%m-%dT%H:%M:%SZ} {} {} {} {:.1f}ms {}B {} {}\n",
                    fmt::gmtime(std::time(nullptr)), req.method, route, res.status, seconds * 1000,
                    res.body.size(), t_request.user.empty() ? "-" : t_request.user,
                    t_request.role.empty() ? "-" : t_request.role);
    request_log_->Add(line);
  });
}

Status Serve(const ServeOptions& options, Lang lang) {
  // SIGTERM and SIGINT are taken by a thread of their own (sigwait), so no handler runs in
  // the middle of a request; every other thread starts with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  App app(options, lang);
  RETURN_IF_ERROR(app.Open());

  std::unique_ptr<httplib::Server> server;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty())
      return InvalidArgument("--tls-cert and --tls-key go together");
    auto tls =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid())
      return InvalidArgument(fmt::format("cannot use the certificate {} with the key {}",
                                         options.tls_cert, options.tls_key));
    server = std::move(tls);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  const int threads = std::max(4, options.threads);
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->set_payload_max_length(options.max_body_bytes);
  server->set_read_timeout(options.read_timeout_s, 0);
  server->set_write_timeout(options.read_timeout_s, 0);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds
  // the body until the client's delayed ACK (40 ms on Linux) on every keep-alive response.
  server->set_tcp_nodelay(true);
  server->set_keep_alive_timeout(5);
  server->set_keep_alive_max_count(10000);
  // Debian's cpp-httplib is a compiled library whose listen backlog is 5: 64 clients
  // connecting at once had SYNs dropped and waited a second or more for the retransmission
  // (wrk's timeouts and the dashboard's p99). The library hands us the socket before it binds
  // it; after the bind we call listen() again with a real backlog (Linux updates the backlog
  // of a socket that is already listening).
  int listen_socket = -1;
  server->set_socket_options([&listen_socket](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket = sock;
  });
  app.Install(*server);

  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgument(fmt::format("--listen {}: expected HOST:PORT", options.listen));
  const std::string host = options.listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(options.listen.substr(colon + 1));
  } catch (...) {
    return InvalidArgument(fmt::format("--listen {}: expected HOST:PORT", options.listen));
  }
  if (port == 0) {
    port = server->bind_to_any_port(host);
    if (port < 0) return Unavailable(fmt::format("cannot listen on {}", options.listen));
  } else if (!server->bind_to_port(host, port)) {
    return Unavailable(fmt::format("cannot listen on {} (in use?)", options.listen));
  }
  if (listen_socket >= 0 && ::listen(listen_socket, kListenBacklog) != 0)
    return Unavailable(fmt::format("cannot listen on {}: {}", options.listen, strerror(errno)));
  const std::string url =
      fmt::format("{}://{}:{}", options.tls_cert.empty() ? "http" : "https", host, port);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    fmt::print(stderr, "{}\n",
               lang == Lang::kZh ? "收到停止信号：不再接受新连接，等待进行中的请求和任务完成"
                                 : "stopping: no new connections; finishing requests and jobs");
    server->stop();
  });
  if (options.on_listening) options.on_listening(url);
  const bool ok = server->listen_after_bind();
  // listen returned: either stop() ran (signal) or the socket failed; wake the waiter.
  if (waiter.joinable()) {
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  app.Shutdown();
  fmt::print(stderr, "{}\n", lang == Lang::kZh ? "服务已停止" : "server stopped");
  if (!ok) return Unavailable(fmt::format("serving on {} failed", url));
  return OkStatus();
}

}  // namespace fupin::server
