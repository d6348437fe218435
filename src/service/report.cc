#include "service/report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "reports/csv_writer.h"
#include "reports/pdf_writer.h"

namespace fupin::service {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

reports::ReportRequest RequestOf(const ReportOptions& options, std::string region) {
  reports::ReportRequest request;
  request.template_name = options.template_name;
  request.region = std::move(region);
  request.year = options.year;
  request.english = options.lang == Lang::kEn;
  request.date = options.date;
  return request;
}

ReportOutcome OutcomeOf(const reports::Document& doc, int sheets) {
  return {doc.title, doc.region_name, doc.region_code, doc.year, sheets};
}

// The rows of a flags sheet besides the list: heading, summary by rule, the list's title,
// header and note.
int64_t ListOverhead(const analytics::Snapshot& snap) {
  return 16 + static_cast<int64_t>(snap.rules.size());
}

// A region whose list alone is longer than a sheet, with the command that works (its CSV).
Status TooLongForASheet(const reports::RegionCount& county, const ReportOptions& options) {
  std::string code = county.code;
  while (code.size() > 6 && code.ends_with("000")) code.resize(code.size() - 3);
  return InvalidArgument(fmt::format(
      fmt::runtime(options.lang == Lang::kZh
                       ? "{}（{}）一地有 {} 条待核查疑点，超过一张 XLSX 工作表的 {} 行；请改为 "
                         "CSV：fupin report --template flags --region {} --out 疑点-{}.csv"
                       : "{} ({}) alone has {} open flags, more than an XLSX sheet's {} "
                         "rows; write it as CSV: fupin report --template flags --region {} "
                         "--out flags-{}.csv"),
      county.name, county.code, county.count, options.max_sheet_rows, code, code));
}

// Sheet names: the county's name, made unique (and kept to 31 characters) with its code.
std::string SheetName(const reports::RegionCount& county, std::map<std::string, int>& used) {
  std::string name = county.name.empty() ? county.code.substr(0, 6) : county.name;
  if (name.find_first_of("[]:*?/\\'") != std::string::npos || name.size() > 60 || used[name]++ > 0)
    name = county.code.substr(0, 6);
  return name;
}

// The flag list of a region too long for one sheet: a summary sheet, then one per county,
// each county's list built (under the snapshot), added and dropped before the next is read.
Result<ReportOutcome> WriteFlagsByCounty(const SnapshotUse& use, store::Store& store,
                                         const ReportOptions& options, const std::string& path,
                                         int64_t bound) {
  const bool zh = options.lang == Lang::kZh;
  const auto T = [zh](std::string_view z, std::string_view e) { return std::string(zh ? z : e); };
  const reports::ReportRequest request = RequestOf(options, options.region);
  reports::FlagListIndex index;
  reports::Document summary;
  int64_t overhead = 0;
  // The summary: the region's flags by rule (from the index, no list is built), then the
  // counties and their sheets.
  RETURN_IF_ERROR(use([&](const analytics::Snapshot& snap) -> Status {
    ASSIGN_OR_RETURN(index, reports::IndexFlagList(snap, store, request));
    overhead = ListOverhead(snap);
    ASSIGN_OR_RETURN(summary, reports::BuildFlagSummary(snap, store, request, index));
    return OkStatus();
  }));
  for (const reports::RegionCount& county : index.counties)
    if (county.count + overhead > options.max_sheet_rows)
      return Err(TooLongForASheet(county, options));
  ASSIGN_OR_RETURN(std::unique_ptr<reports::XlsxWorkbook> book,
                   reports::XlsxWorkbook::Create(path, options.max_sheet_rows));
  reports::ReportRequest county_request = request;
  summary.sheet_name = T("汇总", "Summary");
  reports::Table by_county;
  by_county.title = T("各县待核查疑点（每县一张工作表）", "Open flags by county (one sheet each)");
  by_county.columns = {{T("区划代码", "Code"), reports::NumberFormat::kText, 14},
                       {T("名称", "Name"), reports::NumberFormat::kText, 16},
                       {T("待核查条数", "Open flags"), reports::NumberFormat::kInteger, 12},
                       {T("工作表", "Sheet"), reports::NumberFormat::kText, 16}};
  std::map<std::string, int> used = {{summary.sheet_name, 1}};
  std::vector<std::string> sheet_names;
  double total = 0;
  for (const reports::RegionCount& county : index.counties) {
    sheet_names.push_back(SheetName(county, used));
    by_county.rows.push_back(
        {county.code, county.name, static_cast<double>(county.count), sheet_names.back()});
    total += static_cast<double>(county.count);
  }
  by_county.totals = {T("合计", "Total"), std::monostate{}, total, std::monostate{}};
  by_county.note = fmt::format(
      fmt::runtime(zh ? "清单（至多 {} 条）超过一张工作表的 {} 行：按县分表，每县一张。"
                      : "The list (at most {} flags) is longer than a sheet's {} rows: one "
                        "sheet per county."),
      bound, options.max_sheet_rows);
  summary.sections.push_back({std::move(by_county)});
  RETURN_IF_ERROR(book->AddSheet(summary));
  for (size_t i = 0; i < index.counties.size(); ++i) {
    county_request.region = index.counties[i].code;
    reports::Document doc;
    RETURN_IF_ERROR(use([&](const analytics::Snapshot& snap) -> Status {
      ASSIGN_OR_RETURN(doc, reports::BuildFlagList(snap, store, county_request, index));
      return OkStatus();
    }));
    doc.sheet_name = sheet_names[i];
    RETURN_IF_ERROR(book->AddSheet(doc));
  }
  RETURN_IF_ERROR(book->Close());
  return OutcomeOf(summary, static_cast<int>(index.counties.size()) + 1);
}

}  // namespace

Result<ReportFormat> ReportFormatOf(const std::string& path, Lang lang) {
  const std::string ext = Lower(fs::path(path).extension().string());
  if (ext == ".xlsx") return ReportFormat::kXlsx;
  if (ext == ".pdf") return ReportFormat::kPdf;
  if (ext == ".csv") return ReportFormat::kCsv;
  return Err(InvalidArgument(fmt::format(
      fmt::runtime(lang == Lang::kZh ? "报表文件“{}”须以 .xlsx、.pdf 或 .csv 结尾"
                                     : "report file '{}' must end in .xlsx, .pdf or .csv"),
      path)));
}

SnapshotUse OneSnapshot(const analytics::Snapshot& snap) {
  return [&snap](const std::function<Status(const analytics::Snapshot&)>& fn) { return fn(snap); };
}

Result<ReportOutcome> WriteReport(const analytics::Snapshot& snap, store::Store& store,
                                  const ReportOptions& options, const std::string& path) {
  return WriteReport(OneSnapshot(snap), store, options, path);
}

Result<ReportOutcome> WriteReport(const SnapshotUse& use, store::Store& store,
                                  const ReportOptions& options, const std::string& path) {
  const reports::ReportRequest request = RequestOf(options, options.region);
  // Under the snapshot: the checks, then the document (or, for a list longer than a sheet,
  // only its size: WriteFlagsByCounty builds it county by county). The file is written
  // after, outside it.
  std::optional<reports::Document> built;
  std::optional<int64_t> split_bound;
  RETURN_IF_ERROR(use([&](const analytics::Snapshot& snap) -> Status {
    ASSIGN_OR_RETURN(const reports::ReportScope scope, reports::ResolveScope(snap, request));
    if (options.format == ReportFormat::kPdf && options.template_name == "flags") {
      // Thousands of pages are no use on paper: know the size before laying any out.
      ASSIGN_OR_RETURN(const std::vector<reports::RegionCount> counties,
                       reports::FlagBoundsByCounty(snap, request));
      int64_t bound = 0;
      for (const reports::RegionCount& county : counties) bound += county.count;
      if (bound > options.max_pdf_flags) {
        const std::string& code = scope.region;  // the full code: every command accepts it
        return Err(InvalidArgument(fmt::format(
            fmt::runtime(
                options.lang == Lang::kZh
                    ? "疑点清单约 {} 条，超过 PDF 的 {} 条（约 {} 页）：请改为 XLSX（按县分表）"
                      "：fupin report --template flags --region {} --out 疑点.xlsx，或给出"
                      "更小的 --region"
                    : "the flag list has about {} flags, more than a PDF's {} (about {} "
                      "pages): write XLSX (a sheet per county): fupin report --template "
                      "flags --region {} --out flags.xlsx, or give a smaller --region"),
            bound, options.max_pdf_flags, options.max_pdf_flags / 30, code)));
      }
    }
    if (options.format == ReportFormat::kXlsx && options.template_name == "flags") {
      // Know the size first: the snapshot bounds the list per county at once.
      ASSIGN_OR_RETURN(const std::vector<reports::RegionCount> counties,
                       reports::FlagBoundsByCounty(snap, request));
      int64_t bound = 0;
      for (const reports::RegionCount& county : counties) bound += county.count;
      // A region above the counties is split by county (each county's list counted exactly
      // there); a county or smaller region over the limit is refused when its sheet is added.
      if (bound + ListOverhead(snap) > options.max_sheet_rows && scope.level < 2) {
        split_bound = bound;
        return OkStatus();
      }
    }
    ASSIGN_OR_RETURN(built, reports::BuildReport(snap, store, request));
    return OkStatus();
  }));
  if (split_bound) return WriteFlagsByCounty(use, store, options, path, *split_bound);
  const reports::Document& doc = *built;
  switch (options.format) {
    case ReportFormat::kXlsx: {
      ASSIGN_OR_RETURN(std::unique_ptr<reports::XlsxWorkbook> book,
                       reports::XlsxWorkbook::Create(path, options.max_sheet_rows));
      if (Status added = book->AddSheet(doc); !added.ok()) {
        if (options.template_name != "flags" || added.code() != StatusCode::kInvalidArgument)
          return Err(added);
        const auto& list = std::get<reports::Table>(doc.sections.back().content);
        return Err(TooLongForASheet(
            {doc.region_code, doc.region_name, static_cast<int64_t>(list.rows.size())}, options));
      }
      RETURN_IF_ERROR(book->Close());
      break;
    }
    case ReportFormat::kPdf:
      RETURN_IF_ERROR(reports::WritePdf(doc, path));
      break;
    case ReportFormat::kCsv:
      RETURN_IF_ERROR(reports::WriteCsv(doc, path));
      break;
  }
  return OutcomeOf(doc, 1);
}

Result<std::string> RenderReport(const analytics::Snapshot& snap, store::Store& store,
                                 const ReportOptions& options, const std::string& scratch_dir) {
  return RenderReport(OneSnapshot(snap), store, options, scratch_dir);
}

Result<std::string> RenderReport(const SnapshotUse& use, store::Store& store,
                                 const ReportOptions& options, const std::string& scratch_dir) {
  std::random_device random;
  const char* ext = options.format == ReportFormat::kPdf   ? "pdf"
                    : options.format == ReportFormat::kCsv ? "csv"
                                                           : "xlsx";
  const fs::path path =
      fs::path(scratch_dir) / fmt::format("report-{}-{:08x}.{}", getpid(), random(), ext);
  auto outcome = WriteReport(use, store, options, path.string());
  if (!outcome) return Err(outcome.error());
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::error_code ec;
  fs::remove(path, ec);
  if (!in) return Err(Unavailable(fmt::format("cannot read back {}", path.string())));
  return bytes.str();
}

}  // namespace fupin::service
