// Excel downloads of the JSON lists (Excel 导出): GET /api/flags?...&format=xlsx (the flag
// worklist of `fupin export flags`, service/flags.h) and GET /api/query?...&format=xlsx (the
// query's table with labels, reports/xlsx_writer.h). Same filters, scope and masking as the
// JSON answers at those paths; each download is audited ("export").
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/document.h"
#include "reports/xlsx_writer.h"
#include "server/app.h"
#include "service/flags.h"
#include "service/query.h"

namespace fupin::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kXlsxType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
// Rows of one flag download; a larger selection is refused (narrow the filter).
constexpr int64_t kMaxExportFlags = 100000;

// A file name in the scratch folder no other request uses.
fs::path ScratchFile(const App& app, std::string_view stem) {
  static std::atomic<uint64_t> counter{0};
  return fs::path(app.scratch_dir()) /
         fmt::format("{}-{}-{}.xlsx", stem, ::getpid(), counter.fetch_add(1));
}

// Reads and removes `file`.
Result<std::string> TakeFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  in.close();
  std::error_code ec;
  fs::remove(file, ec);
  if (!in && !in.eof()) return Err(Unavailable(fmt::format("cannot read {}", file.string())));
  return std::move(bytes).str();
}

void SendXlsx(httplib::Response& res, std::string bytes, std::string_view name) {
  res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}.xlsx\"", name));
  res.set_content(std::move(bytes), std::string(kXlsxType));
}

Status FlagsXlsxRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(service::FlagExportRequest request, FlagRequestOf(app, ctx, req));
  request.unmask = false;  // masked, as the JSON list is
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(store::FlagFilter filter, service::MakeFlagFilter(*db, request));
  int64_t total = 0;
  RETURN_IF_ERROR(db->Rules().ForEachFlag(filter, [&](const store::FlagRow&) {
    ++total;
    return OkStatus();
  }));
  if (total > kMaxExportFlags)
    return InvalidArgument(
        ctx.lang == Lang::kZh
            ? fmt::format("符合条件的疑点有 {} 条，每次最多导出 {} 条：请缩小筛选范围", total,
                          kMaxExportFlags)
            : fmt::format("{} flags match; at most {} per download: narrow the filter", total,
                          kMaxExportFlags));
  const fs::path file = ScratchFile(app, "flags");
  auto written = service::ExportFlags(*db, request, file);
  if (!written) {
    std::error_code ec;
    fs::remove(file, ec);
    return written.error();
  }
  ASSIGN_OR_RETURN(std::string bytes, TakeFile(file));
  app.audit().Append(ctx.actor, {"export", "flags " + request.region,
                                 fmt::format("xlsx {} flags", *written), "ok"});
  SendXlsx(res, std::move(bytes), "flags-" + request.region);
  return OkStatus();
}

// A measure column's format from its values: whole numbers, fractions below 1 (rates,
// indices) or amounts.
reports::NumberFormat MeasureFormat(const std::vector<std::vector<reports::Cell>>& rows,
                                    size_t column) {
  bool whole = true, small = false;
  for (const auto& row : rows) {
    if (const double* v = std::get_if<double>(&row[column])) {
      if (*v != std::floor(*v)) whole = false;
      if (std::fabs(*v) < 1 && *v != 0) small = true;
    }
  }
  if (whole) return reports::NumberFormat::kInteger;
  return small ? reports::NumberFormat::kDecimal : reports::NumberFormat::kMoney;
}

Status QueryXlsxRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(service::QueryParams params, QueryParamsOf(ctx, req));

  auto snap = app.snapshots().Read();
  ASSIGN_OR_RETURN(analytics::QuerySpec spec, service::BuildQuerySpec(params, ctx.lang));
  RETURN_IF_ERROR(service::ResolveWhere(*snap, &app.rule_set(), spec.where, ctx.lang));
  ASSIGN_OR_RETURN(std::string note,
                   service::ApplyLines(*snap, app.rule_set(), params, spec, ctx.lang));
  ASSIGN_OR_RETURN(service::QueryAnswer answer,
                   service::AnswerQuery(*snap, &app.rule_set(), spec, ctx.lang));

  const bool zh = ctx.lang == Lang::kZh;
  const std::vector<std::string> header = service::AnswerHeader(answer, true, ctx.lang);
  const std::vector<std::vector<std::string>> cells = service::AnswerCells(answer, false);
  const size_t dims = answer.dimensions.size();
  reports::Table table;
  for (const std::vector<std::string>& row : cells) {
    std::vector<reports::Cell> out;
    for (size_t i = 0; i < row.size(); ++i) {
      if (row[i].empty()) {
        out.emplace_back(std::monostate{});
      } else if (i < dims) {
        out.emplace_back(row[i]);
      } else {
        char* end = nullptr;
        const double value = std::strtod(row[i].c_str(), &end);
        if (end && *end == '\0')
          out.emplace_back(value);
        else
          out.emplace_back(row[i]);
      }
    }
    table.rows.push_back(std::move(out));
  }
  for (size_t i = 0; i < header.size(); ++i) {
    reports::Column column;
    column.header = header[i];
    column.format = i < dims ? reports::NumberFormat::kText : MeasureFormat(table.rows, i);
    column.width = i < dims ? 18 : 14;
    table.columns.push_back(std::move(column));
  }
  table.note = note;
  reports::Document doc;
  doc.title = zh ? "统计查询" : "Query";
  doc.region_code = ctx.actor.region;
  doc.region_name = app.RegionName(ctx.actor.region);
  doc.date = fmt::format("{:%Y-%m-%d}", fmt::localtime(std::time(nullptr)));
  doc.sheet_name = zh ? "查询" : "query";
  doc.english = !zh;
  doc.sections.push_back({std::move(table)});
  const fs::path file = ScratchFile(app, "query");
  if (Status st = reports::WriteXlsx(doc, file.string()); !st.ok()) return st;
  ASSIGN_OR_RETURN(std::string bytes, TakeFile(file));
  app.audit().Append(ctx.actor, {"export", "query " + ctx.actor.region,
                                 fmt::format("xlsx {} by {}", params.measures, params.by), "ok"});
  SendXlsx(res, std::move(bytes), "query");
  return OkStatus();
}

}  // namespace

void InstallExportRoutes(App& app) {
  auto bind = [&app](Status (*fn)(App&, Ctx&, const httplib::Request&, httplib::Response&)) {
    return [&app, fn](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
      return fn(app, ctx, req, res);
    };
  };
  app.RouteFormat("/api/flags", "xlsx", {.light_read = true}, bind(FlagsXlsxRoute));
  app.RouteFormat("/api/query", "xlsx", {.light_read = true}, bind(QueryXlsxRoute));
}

}  // namespace fupin::server
