// Jobs over the API (admin; a department officer may import its own data sets):
// POST /api/imports (multipart upload of exchange files), POST /api/jobs (link, rules,
// snapshot), GET /api/jobs, GET /api/jobs/{id}.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/datasets.h"
#include "exchange/import.h"
#include "link/linker.h"
#include "rules/engine.h"
#include "server/app.h"
#include "store/open.h"

namespace fupin::server {
namespace {

namespace fs = std::filesystem;

// A file name an upload may carry: a bare name, no path, no control characters, a known
// data set's name with .csv or .xlsx. Returns the data set or nullptr.
const DatasetSpec* UploadDataset(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.find_first_of("/\\") != std::string_view::npos ||
      name.starts_with("."))
    return nullptr;
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20) return nullptr;
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return nullptr;
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != "csv" && ext != "xlsx") return nullptr;
  std::string stem(name.substr(0, dot));
  for (char& c : stem) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return FindDataset(stem);
}

nlohmann::json ImportResult(const exchange::ImportSummary& summary) {
  nlohmann::json files = nlohmann::json::array();
  for (const exchange::FileSummary& f : summary.files)
    files.push_back({{"file_name", f.file_name},
                     {"dataset", f.dataset},
                     {"encoding", f.encoding},
                     {"outcome", f.outcome.outcome},
                     {"message", f.outcome.message},
                     {"rows_read", f.outcome.rows_read},
                     {"rows_imported", f.outcome.rows_imported},
                     {"rows_rejected", f.outcome.rows_rejected},
                     {"warnings", f.outcome.warnings},
                     {"inserted", f.outcome.inserted},
                     {"updated", f.outcome.updated},
                     {"unchanged", f.outcome.unchanged},
                     {"removed", f.outcome.removed}});
  return {{"batch_id", summary.batch_id}, {"files", files}};
}

Status ImportRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!req.is_multipart_form_data() || req.files.empty())
    return InvalidArgument(ctx.lang == Lang::kZh
                               ? "请以 multipart/form-data 上传交换文件（字段名 file）"
                               : "upload exchange files as multipart/form-data (field: file)");
  // Check every file before anything is written.
  std::vector<const DatasetSpec*> seen;
  for (const auto& [field, file] : req.files) {
    const DatasetSpec* dataset = UploadDataset(file.filename);
    if (!dataset)
      return InvalidArgument(fmt::format("{}: {}",
                                         ctx.lang == Lang::kZh
                                             ? "不是交换格式文件名（如 households.csv）"
                                             : "not an exchange file name (e.g. households.csv)",
                                         file.filename));
    // Two files of one data set: one would silently replace the other in the upload folder.
    if (std::find(seen.begin(), seen.end(), dataset) != seen.end())
      return InvalidArgument(fmt::format("{}: {}",
                                         ctx.lang == Lang::kZh
                                             ? "同一数据集上传了两个文件，请只上传一个"
                                             : "two files of one data set; send one",
                                         file.filename));
    seen.push_back(dataset);
    if (ctx.actor.role == Role::kDepartment &&
        std::find(ctx.actor.datasets.begin(), ctx.actor.datasets.end(), dataset->name) ==
            ctx.actor.datasets.end())
      return app.Deny(ctx, fmt::format("import {}", dataset->name), Msg::kForbiddenRole);
  }
  static std::atomic<int64_t> upload_seq{0};
  const fs::path dir = fs::path(app.scratch_dir()) /
                       fmt::format("upload-{}-{}", ::getpid(), upload_seq.fetch_add(1));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  for (const auto& [field, file] : req.files) {
    std::ofstream out(dir / file.filename, std::ios::binary);
    out.write(file.content.data(), static_cast<std::streamsize>(file.content.size()));
    if (!out.flush()) {
      fs::remove_all(dir, ec);
      return Unavailable(fmt::format("cannot write the upload to {}", dir.string()));
    }
  }
  const std::string db_uri = app.options().db;
  Actor actor = ctx.actor;
  auto id = app.jobs().Start(
      "import", actor,
      [db_uri, dir, actor](JobReporter& reporter) -> Result<nlohmann::json> {
        ASSIGN_OR_RETURN(auto db, store::OpenStore(db_uri));
        exchange::ImportOptions options;
        options.actor = actor;
        options.report_dir = dir / "report";
        options.on_progress = [&](const exchange::Progress& p) {
          reporter.Progress(p.file_name, static_cast<int64_t>(p.bytes_done),
                            static_cast<int64_t>(p.bytes_total));
        };
        ASSIGN_OR_RETURN(exchange::ImportSummary summary, exchange::ImportPath(*db, dir, options));
        return ImportResult(summary);
      },
      [dir] {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
      });
  if (!id) {
    fs::remove_all(dir, ec);
    return FailedPrecondition(
        fmt::format("{}{}", Text(Msg::kJobRunning, ctx.lang), id.error().message()));
  }
  app.audit().Append(ctx.actor, {"job", fmt::format("import #{}", *id),
                                 fmt::format("{} files", req.files.size()), "ok"});
  SendJson(res, *app.jobs().Get(*id), 202);
  return OkStatus();
}

Status StartJobRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  ASSIGN_OR_RETURN(nlohmann::json body,
                   ParseJsonBody(req, {{"kind", V::string, true}}, 4096, ctx.lang));
  const std::string kind = body["kind"];
  const std::string db_uri = app.options().db;
  const Actor actor = ctx.actor;
  JobBody job;
  if (kind == "link") {
    job = [db_uri, actor](JobReporter& reporter) -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(auto db, store::OpenStore(db_uri));
      link::LinkOptions options;
      options.actor = actor;
      options.progress = [&](std::string_view what, int64_t done, int64_t total) {
        reporter.Progress(what, done, total);
      };
      ASSIGN_OR_RETURN(link::LinkSummary summary, link::RunLinker(*db, options));
      return nlohmann::json{{"run_id", summary.run_id}};
    };
  } else if (kind == "rules") {
    const rules::RuleSet* rule_set = &app.rule_set();
    job = [db_uri, actor, rule_set](JobReporter& reporter) -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(auto db, store::OpenStore(db_uri));
      rules::RunOptions options;
      options.actor = actor;
      options.progress = [&](std::string_view phase, int64_t done, int64_t total) {
        reporter.Progress(phase, done, total);
      };
      ASSIGN_OR_RETURN(rules::RunReport report, rules::RunRules(*db, *rule_set, options));
      return nlohmann::json{{"run_id", report.outcome.run_id},
                            {"opened", report.outcome.opened},
                            {"kept", report.outcome.kept},
                            {"closed", report.outcome.closed}};
    };
  } else if (kind == "snapshot") {
    analytics::SnapshotHolder* holder = &app.snapshots();
    job = [db_uri, holder](JobReporter& reporter) -> Result<nlohmann::json> {
      ASSIGN_OR_RETURN(auto db, store::OpenStore(db_uri));
      reporter.Progress("snapshot", 0, 1);
      analytics::BuildOptions options;
      RETURN_IF_ERROR(holder->Refresh(*db, options));
      reporter.Progress("snapshot", 1, 1);
      return nlohmann::json{{"refreshed", true}};
    };
  } else {
    return InvalidArgument(
        fmt::format("{}kind (link, rules, snapshot)", Text(Msg::kBadParameter, ctx.lang)));
  }
  auto id = app.jobs().Start(kind, actor, std::move(job));
  if (!id)
    return FailedPrecondition(
        fmt::format("{}{}", Text(Msg::kJobRunning, ctx.lang), id.error().message()));
  app.audit().Append(ctx.actor, {"job", fmt::format("{} #{}", kind, *id), "", "ok"});
  SendJson(res, *app.jobs().Get(*id), 202);
  return OkStatus();
}

}  // namespace

void InstallJobRoutes(App& app, httplib::Server& server) {
  app.Route(server, "POST", "/api/imports", "/api/imports",
            {.roles = {Role::kAdmin, Role::kDepartment}, .upload = true},
            [&app](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
              return ImportRoute(app, ctx, req, res);
            });
  app.Route(server, "POST", "/api/jobs", "/api/jobs", {.roles = {Role::kAdmin}},
            [&app](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
              return StartJobRoute(app, ctx, req, res);
            });
  // Auditors read jobs too (who ran which import, link or rules run, and how it ended).
  app.Route(server, "GET", "/api/jobs", "/api/jobs",
            {.roles = {Role::kAdmin, Role::kDepartment, Role::kAuditor}},
            [&app](Ctx&, const httplib::Request&, httplib::Response& res) {
              SendJson(res, {{"jobs", app.jobs().List(100)}});
              return OkStatus();
            });
  app.Route(server, "GET", R"(/api/jobs/([0-9]+))", "/api/jobs/{id}",
            {.roles = {Role::kAdmin, Role::kDepartment, Role::kAuditor}},
            [&app](Ctx& ctx, const httplib::Request& req, httplib::Response& res) -> Status {
              auto job = app.jobs().Get(std::stoll(req.matches[1]));
              if (!job) return NotFound(std::string(Text(Msg::kNoSuchJob, ctx.lang)));
              SendJson(res, *job);
              return OkStatus();
            });
}

}  // namespace fupin::server
