#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/interrupt.h"
#include "exchange/import.h"
#include "exchange/report.h"
#include "store/open.h"

namespace fupin::cli {

namespace fs = std::filesystem;

namespace {

struct ImportArgs {
  std::string path;
  std::string db;
  std::string report_dir;
  std::string user;
  bool json = false;
  bool quiet = false;
};

std::string Grouped(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::string OutcomeText(const std::string& outcome, Lang lang) {
  if (lang == Lang::kEn) return outcome;
  if (outcome == "imported") return "已导入";
  if (outcome == "unchanged") return "未变化";
  if (outcome == "failed") return "失败";
  return outcome;
}

void PrintTable(const exchange::ImportSummary& s, Lang lang, const exchange::ReportFiles* report) {
  bool zh = lang == Lang::kZh;
  fmt::print("{:<24} {:<9} {:>11} {:>11} {:>9} {:>9}  {}\n", zh ? "文件" : "file",
             zh ? "编码" : "encoding", zh ? "读入行" : "rows read", zh ? "导入行" : "imported",
             zh ? "拒绝" : "rejected", zh ? "警告" : "warnings", zh ? "结果" : "outcome");
  for (const auto& f : s.files) {
    fmt::print("{:<24} {:<9} {:>11} {:>11} {:>9} {:>9}  {}\n", f.file_name, f.encoding,
               Grouped(f.outcome.rows_read), Grouped(f.outcome.rows_imported),
               Grouped(f.outcome.rows_rejected), Grouped(f.outcome.warnings),
               OutcomeText(f.outcome.outcome, lang));
    if (!f.outcome.message.empty()) fmt::print("    {}\n", f.outcome.message);
    if (f.outcome.outcome == "imported" &&
        (f.outcome.updated || f.outcome.removed || f.outcome.unchanged))
      fmt::print("    {} {}  {} {}  {} {}  {} {}\n", zh ? "新增" : "new",
                 Grouped(f.outcome.inserted), zh ? "变更" : "changed", Grouped(f.outcome.updated),
                 zh ? "未变" : "unchanged", Grouped(f.outcome.unchanged), zh ? "删除" : "gone",
                 Grouped(f.outcome.removed));
  }
  fmt::print("{:<24} {:<9} {:>11} {:>11} {:>9} {:>9}\n", zh ? "合计" : "total", "",
             Grouped(s.rows_read), Grouped(s.rows_imported), Grouped(s.rows_rejected),
             Grouped(s.warnings));
  for (const auto& name : s.ignored_files) fmt::print("{}: {}\n", zh ? "已忽略" : "ignored", name);
  if (s.nothing_changed)
    fmt::print("{}\n", zh ? "所有文件与库中当前数据相同，未做任何更改。"
                          : "Every file equals the current data: nothing changed.");
  else
    fmt::print("{} {}\n", zh ? "批次号" : "batch", s.batch_id);
  if (report)
    fmt::print("{}: {}\n      {}\n", zh ? "问题报告" : "issue report", report->xlsx.string(),
               report->csv.string());
}

// The previous batch's report, lost when that import was killed after its commit.
void PrintRestored(const exchange::ReportFiles& r, bool zh) {
  fmt::print(stderr, "{}: {}\n      {}\n",
             zh ? "上一批次的问题报告缺失，已根据库中记录重新生成"
                : "the previous batch's issue report was missing and was written again from the "
                  "stored issues",
             r.xlsx.string(), r.csv.string());
}

// One progress line: which file, how much of it is read (its bytes; for XLSX, of the
// sheet's XML), and how many data rows were read from it so far.
std::string ProgressLine(const exchange::Progress& p, bool zh) {
  const double pct =
      p.bytes_total ? 100.0 * static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total)
                    : 100.0;
  const double mb_done = static_cast<double>(p.bytes_done) / 1e6;
  const double mb_total = static_cast<double>(p.bytes_total) / 1e6;
  if (zh)
    return fmt::format("导入 {}：文件已读 {:.1f}%（{:.1f}/{:.1f} MB），已读数据行 {}", p.file_name,
                       pct, mb_done, mb_total, Grouped(p.rows));
  return fmt::format("importing {}: {:.1f}% of the file read ({:.1f}/{:.1f} MB), {} data rows read",
                     p.file_name, pct, mb_done, mb_total, Grouped(p.rows));
}

nlohmann::json ToJson(const exchange::ImportSummary& s, const exchange::ReportFiles* report) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : s.files) {
    files.push_back({{"file", f.file_name},
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
  }
  nlohmann::json j = {{"batch_id", s.batch_id},           {"nothing_changed", s.nothing_changed},
                      {"rows_read", s.rows_read},         {"rows_imported", s.rows_imported},
                      {"rows_rejected", s.rows_rejected}, {"warnings", s.warnings},
                      {"files_failed", s.files_failed},   {"files", files},
                      {"ignored_files", s.ignored_files}};
  if (report) j["report"] = {{"csv", report->csv.string()}, {"xlsx", report->xlsx.string()}};
  if (s.restored_report)
    j["restored_report"] = {{"csv", s.restored_report->csv.string()},
                            {"xlsx", s.restored_report->xlsx.string()}};
  return j;
}

int RunImport(const ImportArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  std::error_code ec;
  if (!fs::exists(args.path, ec)) {
    // Checked before the database is opened, so a typo creates no empty database.
    fmt::print(stderr, "{}: {} {}\n", zh ? "错误" : "error", args.path,
               zh ? "不存在，库未改变" : "does not exist; the database is unchanged");
    return kExitFailed;
  }
  // Also before the database is opened: an empty folder creates no database either.
  if (Status st = exchange::CheckImportPath(args.path); !st.ok()) {
    fmt::print(stderr, "{}: {}\n",
               zh ? "导入失败，库未改变" : "import failed, the database is unchanged",
               st.message());
    return kExitFailed;
  }
  InstallInterruptHandler();  // Ctrl-C rolls the batch back instead of killing it midway
  auto store = OpenCliStore(args.db);
  if (!store) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", store.error().message());
    return kExitFailed;
  }
  exchange::ImportOptions options;
  options.actor = CliActor(args.user);
  options.report_dir = args.report_dir.empty() ? fs::path(DbFilePath(args.db) + ".reports")
                                               : fs::path(args.report_dir);
  bool tty = isatty(STDERR_FILENO);
  if (!args.quiet) {
    options.on_progress = [tty, zh](const exchange::Progress& p) {
      const std::string line = ProgressLine(p, zh);
      if (tty)
        fmt::print(stderr, "\r{}\033[K", line);
      else
        fmt::print(stderr, "{}\n", line);
      if (tty && p.bytes_done == p.bytes_total) fmt::print(stderr, "\n");
    };
  }
  auto summary = exchange::ImportPath(**store, args.path, options);
  if (!summary && Interrupted()) {
    store->reset();  // closed before the message: no journal is left behind
    fmt::print(stderr, "{}{}\n", tty ? "\n" : "",
               zh ? "已中断，数据库未改变" : "interrupted, nothing changed");
    return kExitInterrupted;
  }
  if (!summary) {
    if (tty) fmt::print(stderr, "\n");
    fmt::print(stderr, "{}: {}\n",
               zh ? "导入失败，库未改变" : "import failed, the database is unchanged",
               summary.error().message());
    return kExitFailed;
  }
  if (summary->restored_report) PrintRestored(*summary->restored_report, zh);
  const exchange::ReportFiles* report = summary->report ? &*summary->report : nullptr;
  if (!summary->report_error.empty())
    fmt::print(stderr, "{}: {}\n", zh ? "报告写入失败" : "could not write the report",
               summary->report_error);
  if (args.json) {
    fmt::print("{}\n", ToJson(*summary, report).dump(2));
  } else {
    PrintTable(*summary, lang, report);
  }
  return summary->rows_rejected || summary->files_failed ? kExitRejected : kExitOk;
}

struct ReportIssuesArgs {
  std::string db;
  std::string report_dir;
  int64_t batch = 0;
};

int RunReportIssues(const ReportIssuesArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto latest = (*store)->LatestBatchId();
  if (!latest) return Fail(latest.error(), zh);
  const int64_t batch = args.batch ? args.batch : *latest;
  if (batch < 1 || batch > *latest) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error",
               *latest == 0
                   ? (zh ? "库中还没有导入批次" : "the database holds no batch yet")
                   : fmt::format(fmt::runtime(zh ? "没有批次 {}（批次号为 1 到 {}）"
                                                 : "there is no batch {} (batches are 1 to {})"),
                                 batch, *latest));
    return kExitFailed;
  }
  const fs::path dir = args.report_dir.empty() ? fs::path(DbFilePath(args.db) + ".reports")
                                               : fs::path(args.report_dir);
  exchange::RemoveStaleReportParts(dir);
  auto files = exchange::WriteIssueReport(**store, batch, dir);
  if (!files) return Fail(files.error(), zh);
  fmt::print(
      fmt::runtime(zh ? "批次 {} 的问题报告（拒绝 {} 行，警告 {} 条）: {}\n      {}\n"
                      : "issue report of batch {} ({} rejected, {} warnings): {}\n      {}\n"),
      batch, files->errors, files->warnings, files->xlsx.string(), files->csv.string());
  return kExitOk;
}

}  // namespace

void AddImportCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd =
      app.add_subcommand("import", "Import an exchange batch (folder or file) / 导入数据交换批次");
  cmd->add_option("path", args->path, "folder of exchange files, or one file")->required();
  cmd->add_option("--db", args->db,
                  "the store: a SQLite file path or sqlite:PATH (created if missing)")
      ->required();
  cmd->add_option("--report-dir", args->report_dir,
                  "where to write the issue report (default: DB.reports)");
  cmd->add_option("--user", args->user, "who runs the import (default: the OS user)");
  cmd->add_flag("--json", args->json, "print a machine-readable summary");
  cmd->add_flag("--quiet", args->quiet, "no progress on stderr");
  cmd->callback([args, &exit_code, &lang] { exit_code = RunImport(*args, lang); });

  auto report_args = std::make_shared<ReportIssuesArgs>();
  CLI::App* report = app.add_subcommand(
      "report-issues",
      "Write a batch's issue report again from the database / 重新生成批次问题报告");
  report->add_option("--db", report_args->db, "the store: a SQLite file path or sqlite:PATH")
      ->required();
  report->add_option("--batch", report_args->batch, "batch number (default: the latest)");
  report->add_option("--report-dir", report_args->report_dir,
                     "where to write the report (default: DB.reports)");
  report->callback(
      [report_args, &exit_code, &lang] { exit_code = RunReportIssues(*report_args, lang); });
}

}  // namespace fupin::cli
