// One updates, many share: GET /api/changes?since=CURSOR (the feed of changes in scope),
// GET /api/households/{household_id}/history, GET /api/links?dataset= (a department's rows
// that are registered people), GET /api/imports/{batch_id}/issues, GET /api/audit (auditors).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/datasets.h"
#include "core/id_number.h"
#include "server/app.h"
#include "service/audit.h"
#include "service/changes.h"

namespace fupin::server {
namespace {

Status ChangesRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(int64_t since, IntParam(req, "since", 0, 0, INT64_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit,
                   IntParam(req, "limit", 500, 1, service::kMaxChangesPage, ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(
      service::ChangePage page,
      service::ChangesSince(*db, ctx.actor, since, static_cast<int>(limit), &app.snapshots()));
  nlohmann::json changes = nlohmann::json::array();
  for (const service::Change& c : page.changes) changes.push_back(service::ChangeJson(c));
  SendJson(res, {{"changes", changes}, {"next_cursor", page.next_cursor}});
  return OkStatus();
}

Status HistoryRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (ctx.actor.role == Role::kDepartment)
    return app.Deny(ctx, "household " + id, Msg::kForbiddenRole);
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto history = service::HouseholdHistory(*db, ctx.actor, id);
  if (!history) {
    if (history.error().code() == StatusCode::kPermissionDenied)
      return app.Deny(ctx, "household " + id, Msg::kOutsideRegion);
    return history.error();
  }
  nlohmann::json changes = nlohmann::json::array();
  for (const service::Change& c : *history) changes.push_back(service::ChangeJson(c));
  app.audit().Append(ctx.actor, {"read_household", "household " + id, "history", "ok"});
  SendJson(res, {{"household_id", id}, {"changes", changes}});
  return OkStatus();
}

Status LinksRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string dataset = Param(req, "dataset").value_or("");
  const DatasetSpec* spec = FindDataset(dataset);
  if (!spec || spec->kind != DatasetKind::kDepartment)
    return InvalidArgument(fmt::format("{}dataset", Text(Msg::kBadParameter, ctx.lang)));
  if (ctx.actor.role == Role::kDepartment &&
      std::find(ctx.actor.datasets.begin(), ctx.actor.datasets.end(), dataset) ==
          ctx.actor.datasets.end())
    return app.Deny(ctx, "links " + dataset, Msg::kForbiddenRole);
  ASSIGN_OR_RETURN(int64_t offset, IntParam(req, "offset", 0, 0, INT64_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 1000, 1, 100000, ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  int64_t total = 0;
  nlohmann::json rows = nlohmann::json::array();
  RETURN_IF_ERROR(db->Links().ForEachLinkRow([&](const store::LinkExportRow& row) {
    if (row.dataset != dataset) return OkStatus();
    if (total >= offset && total < offset + limit)
      rows.push_back({{"source_row", row.source_row},
                      {"registered", row.person_id != 0 && row.stage != store::LinkStage::kReview},
                      {"stage", store::LinkStageName(row.stage)}});
    ++total;
    return OkStatus();
  }));
  app.audit().Append(ctx.actor,
                     {"export", "links " + dataset, fmt::format("{} rows", rows.size()), "ok"});
  SendJson(res, {{"dataset", dataset}, {"total", total}, {"offset", offset}, {"rows", rows}});
  return OkStatus();
}

Status IssuesRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  int64_t batch = 0;
  try {
    batch = std::stoll(req.matches[1]);
  } catch (...) {
    return InvalidArgument(fmt::format("{}batch_id", Text(Msg::kBadParameter, ctx.lang)));
  }
  ASSIGN_OR_RETURN(int64_t offset, IntParam(req, "offset", 0, 0, INT64_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 1000, 1, 100000, ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  int64_t total = 0;
  nlohmann::json issues = nlohmann::json::array();
  RETURN_IF_ERROR(db->ForEachIssue(batch, [&](const store::IssueRow& row) {
    if (ctx.actor.role == Role::kDepartment) {
      const DatasetSpec* d = nullptr;
      const size_t dot = row.file_name.rfind('.');
      if (dot != std::string::npos) d = FindDataset(row.file_name.substr(0, dot));
      if (!d || std::find(ctx.actor.datasets.begin(), ctx.actor.datasets.end(), d->name) ==
                    ctx.actor.datasets.end())
        return OkStatus();
    }
    if (total >= offset && total < offset + limit)
      issues.push_back({{"file_name", row.file_name},
                        {"row", row.row_number},
                        {"column", row.column},
                        {"value", MaskIdAndPhoneNumbersIn(row.value)},
                        {"severity", row.is_error ? "error" : "warning"},
                        {"code", row.code},
                        {"message", MaskIdAndPhoneNumbersIn(
                                        ctx.lang == Lang::kZh ? row.message_zh : row.message_en)}});
    ++total;
    return OkStatus();
  }));
  SendJson(res, {{"batch_id", batch}, {"total", total}, {"offset", offset}, {"issues", issues}});
  return OkStatus();
}

// Import history: batches newest first; a department sees the batches holding its data sets,
// with only those files.
Status ImportsRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(int64_t before, IntParam(req, "before", 0, 0, INT64_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 50, 1, 500, ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(std::vector<store::Store::BatchRow> batches,
                   db->ListBatches(before, static_cast<int>(limit)));
  nlohmann::json out = nlohmann::json::array();
  for (const store::Store::BatchRow& b : batches) {
    nlohmann::json files = nlohmann::json::array();
    for (const store::Store::BatchFileRow& f : b.files) {
      if (ctx.actor.role == Role::kDepartment &&
          std::find(ctx.actor.datasets.begin(), ctx.actor.datasets.end(), f.dataset) ==
              ctx.actor.datasets.end())
        continue;
      files.push_back({{"file_name", f.file_name},
                       {"dataset", f.dataset},
                       {"outcome", f.outcome},
                       {"rows_read", f.rows_read},
                       {"rows_imported", f.rows_imported},
                       {"rows_rejected", f.rows_rejected},
                       {"warnings", f.warnings}});
    }
    if (ctx.actor.role == Role::kDepartment && files.empty()) continue;
    out.push_back({{"batch_id", b.batch_id},
                   {"started_at", b.started_at},
                   {"finished_at", b.finished_at},
                   {"user", b.user},
                   {"role", b.role},
                   {"files", files}});
  }
  SendJson(res, {{"batches", out}});
  return OkStatus();
}

Status AuditRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(int64_t after, IntParam(req, "after", 0, 0, INT64_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 200, 1, 5000, ctx.lang));
  const std::string action = Param(req, "action").value_or("");
  static constexpr std::string_view kActions[] = {
      "login",  "login_failed", "logout", "read_household", "unmask", "write",
      "export", "denied",       "job",    "user",           "token"};
  if (!action.empty() &&
      std::find(std::begin(kActions), std::end(kActions), action) == std::end(kActions))
    return InvalidArgument(fmt::format("{}action ({})", Text(Msg::kBadParameter, ctx.lang),
                                       fmt::join(kActions, ", ")));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  RETURN_IF_ERROR(app.audit().Flush());
  ASSIGN_OR_RETURN(std::vector<service::AuditRow> rows,
                   service::ReadAudit(*db, after, static_cast<int>(limit), action));
  nlohmann::json entries = nlohmann::json::array();
  for (const service::AuditRow& r : rows)
    entries.push_back({{"seq", r.seq},
                       {"at", r.at},
                       {"user", r.user},
                       {"role", r.role},
                       {"address", r.address},
                       {"action", r.action},
                       {"object", r.object},
                       {"detail", r.detail},
                       {"outcome", r.outcome},
                       {"hash", r.hash}});
  SendJson(res, {{"entries", entries}});
  return OkStatus();
}

}  // namespace

void InstallSharingRoutes(App& app, httplib::Server& server) {
  auto bind = [&app](Status (*fn)(App&, Ctx&, const httplib::Request&, httplib::Response&)) {
    return [&app, fn](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
      return fn(app, ctx, req, res);
    };
  };
  app.Route(server, "GET", "/api/changes", "/api/changes", {}, bind(ChangesRoute));
  app.Route(server, "GET", R"(/api/households/([^/]+)/history)",
            "/api/households/{household_id}/history", {}, bind(HistoryRoute));
  app.Route(server, "GET", "/api/links", "/api/links",
            {.roles = {Role::kAdmin, Role::kDepartment, Role::kAuditor}}, bind(LinksRoute));
  app.Route(server, "GET", "/api/imports", "/api/imports",
            {.roles = {Role::kAdmin, Role::kDepartment, Role::kAuditor}}, bind(ImportsRoute));
  app.Route(server, "GET", R"(/api/imports/([0-9]+)/issues)", "/api/imports/{batch_id}/issues",
            {.roles = {Role::kAdmin, Role::kDepartment, Role::kAuditor}}, bind(IssuesRoute));
  app.Route(server, "GET", "/api/audit", "/api/audit", {.roles = {Role::kAdmin, Role::kAuditor}},
            bind(AuditRoute));
}

}  // namespace fupin::server
