// fupin report: a standard report (reports/templates.h) for a region and year, written as
// XLSX, PDF or CSV from the analytics snapshot by the service layer (service/report.h).
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>

#include "analytics/snapshot.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "reports/templates.h"
#include "service/report.h"

namespace fupin::cli {
namespace {

struct ReportArgs {
  std::string db, template_name, region, out;
  int year = 0;
  int threads = 2;
};

int RunReport(const ReportArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto format = service::ReportFormatOf(args.out, lang);
  if (!format) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", format.error().message());
    return kExitUsage;
  }
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  analytics::BuildOptions options;
  options.threads = args.threads;
  std::string how;
  auto snap = analytics::OpenSnapshot(**store, DbFilePath(args.db), options, &how);
  if (!snap) return Fail(snap.error(), zh);
  if (how != "loaded") fmt::print(stderr, "{}: {}\n", zh ? "分析快照" : "snapshot", how);
  service::ReportOptions report;
  report.template_name = args.template_name;
  report.region = args.region;
  report.year = args.year;
  report.lang = lang;
  report.format = *format;
  auto outcome = service::WriteReport(*snap, **store, report, args.out);
  if (!outcome) return Fail(outcome.error(), zh);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(fmt::runtime(zh ? "已生成 {}: {}（{} {}，{} 年度）{:.2f} 秒\n"
                             : "wrote {}: {} ({} {}, {}) in {:.2f} s\n"),
             args.out, outcome->title, outcome->region_name, outcome->region_code, outcome->year,
             s);
  if (outcome->sheets > 1)
    fmt::print(fmt::runtime(zh ? "清单超过一张工作表：汇总 1 张，按县 {} 张\n"
                               : "the list is longer than a sheet: 1 summary sheet and {} "
                                 "county sheets\n"),
               outcome->sheets - 1);
  return kExitOk;
}

}  // namespace

void AddReportCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<ReportArgs>();
  std::string names;
  for (const auto& t : reports::Templates())
    names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", t.name, t.title_zh);
  CLI::App* r = app.add_subcommand("report", "Standard reports as XLSX, PDF or CSV / 一键报表");
  r->add_option("--db", args->db, "the store: a SQLite file path or sqlite:PATH")->required();
  r->add_option("--template", args->template_name, names)->required();
  r->add_option("--region", args->region, "12-digit region code (default: the province)");
  r->add_option("--year", args->year, "data year (default: the latest income year)");
  r->add_option("--out", args->out, "F.xlsx, F.pdf or F.csv")->required();
  r->add_option("--threads", args->threads)->capture_default_str();
  r->callback([args, &exit_code, &lang] { exit_code = RunReport(*args, lang); });
}

}  // namespace fupin::cli
