// fupin report: a standard report (reports/templates.h) for a region and year, written as
// XLSX or PDF from the analytics snapshot.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>

#include "analytics/snapshot.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "reports/pdf_writer.h"
#include "reports/templates.h"
#include "reports/xlsx_writer.h"

namespace fupin::cli {
namespace {

struct ReportArgs {
  std::string db, template_name, region, out;
  int year = 0;
  int threads = 2;
};

int RunReport(const ReportArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  const bool xlsx = args.out.ends_with(".xlsx");
  if (!xlsx && !args.out.ends_with(".pdf")) {
    fmt::print(
        stderr, "{}\n",
        zh ? "错误: --out 须以 .xlsx 或 .pdf 结尾" : "error: --out must end in .xlsx or .pdf");
    return kExitUsage;
  }
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  analytics::BuildOptions options;
  options.threads = args.threads;
  std::string how;
  auto snap = analytics::OpenSnapshot(**store, args.db, options, &how);
  if (!snap) return Fail(snap.error(), zh);
  if (how != "loaded") fmt::print(stderr, "{}: {}\n", zh ? "分析快照" : "snapshot", how);
  reports::ReportRequest req;
  req.template_name = args.template_name;
  req.region = args.region;
  req.year = args.year;
  req.english = !zh;
  auto doc = reports::BuildReport(*snap, **store, req);
  if (!doc) return Fail(doc.error(), zh);
  const Status st = xlsx ? reports::WriteXlsx(*doc, args.out) : reports::WritePdf(*doc, args.out);
  if (!st.ok()) return Fail(st, zh);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(fmt::runtime(zh ? "已生成 {}: {}（{} {}，{} 年度）{:.2f} 秒\n"
                             : "wrote {}: {} ({} {}, {}) in {:.2f} s\n"),
             args.out, doc->title, doc->region_name, doc->region_code, doc->year, s);
  return kExitOk;
}

}  // namespace

void AddReportCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<ReportArgs>();
  std::string names;
  for (const auto& t : reports::Templates())
    names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", t.name, t.title_zh);
  CLI::App* r = app.add_subcommand("report", "Standard reports as XLSX or PDF / 一键报表");
  r->add_option("--db", args->db, "SQLite database file")->required();
  r->add_option("--template", args->template_name, names)->required();
  r->add_option("--region", args->region, "12-digit region code (default: the province)");
  r->add_option("--year", args->year, "data year (default: the latest income year)");
  r->add_option("--out", args->out, "F.xlsx or F.pdf")->required();
  r->add_option("--threads", args->threads)->capture_default_str();
  r->callback([args, &exit_code, &lang] { exit_code = RunReport(*args, lang); });
}

}  // namespace fupin::cli
