// Reports (报表) as the CLI and the server make them: a standard template (reports/templates.h)
// for a region and year, written as XLSX, PDF or CSV to a path or into memory. The size of a
// flag list is known before it is read: a list longer than an XLSX sheet is written as a
// summary sheet and then one sheet per county, and when even one county is too long the
// report is refused naming it and the command that will work.
// Thread-safe as far as the store is: calls share no state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "analytics/snapshot.h"
#include "core/lang.h"
#include "core/status.h"
#include "reports/templates.h"
#include "reports/xlsx_writer.h"
#include "store/store.h"

namespace fupin::service {

enum class ReportFormat { kXlsx, kPdf, kCsv };

// The format a path's extension names (.xlsx, .pdf, .csv, any case); kInvalidArgument in
// `lang` naming the path otherwise.
Result<ReportFormat> ReportFormatOf(const std::string& path, Lang lang);

struct ReportOptions {
  std::string template_name;
  std::string region;  // as ReportRequest::region
  int year = 0;        // 0: the data year
  Lang lang = Lang::kZh;
  std::string date;  // YYYY-MM-DD shown as the date made; empty: today
  ReportFormat format = ReportFormat::kXlsx;
  // Rows an XLSX sheet may hold: Excel's limit; tests lower it to split small data.
  int64_t max_sheet_rows = reports::kMaxSheetRows;
  // Flags a PDF list may hold (about 30 a page): past it the PDF is refused before any flag
  // is read, pointing to XLSX or a smaller region.
  int64_t max_pdf_flags = 60000;
};

struct ReportOutcome {
  std::string title, region_name, region_code;
  int year = 0;
  int sheets = 1;  // XLSX: 1, or 1 summary + one per county when the list was split
};

// How a report reaches the analytics snapshot: `use(fn)` runs fn on it. A report calls it once
// per step (the whole report's document; for a flag list split by county, the index and
// summary, then each county's list) and writes between the calls, outside them. A server
// passes one that takes a View of its SnapshotHolder per call, so an edit's delta waits for
// one step at most, never for a whole file to be written.
using SnapshotUse = std::function<Status(const std::function<Status(const analytics::Snapshot&)>&)>;
// The same snapshot for every step (the CLI, tests): `snap` must outlive the result.
SnapshotUse OneSnapshot(const analytics::Snapshot& snap);

// Builds the report and writes it to `path` (whole or not at all: nothing is left at `path`
// or beside it after a failure). XLSX: one sheet; for the flags template, when the list
// would need more rows than a sheet holds (estimated from the snapshot before any flag is
// read), a first sheet 汇总 with the flags by rule and by county (and the sheet of each) and
// then one sheet per county. CSV: UTF-8 with a byte-order mark (Excel then reads the Chinese
// text right), each table as a block of lines under its title, blocks apart by a blank line.
// Fails with kInvalidArgument (in options.lang) for an unknown template, region or year, a
// county whose list alone is longer than a sheet (naming it and giving the command that
// works: the county's own report as CSV), or a PDF flag list of more than max_pdf_flags
// (giving the XLSX command); with kUnavailable when the file cannot be written.
Result<ReportOutcome> WriteReport(const SnapshotUse& use, store::Store& store,
                                  const ReportOptions& options, const std::string& path);
Result<ReportOutcome> WriteReport(const analytics::Snapshot& snap, store::Store& store,
                                  const ReportOptions& options, const std::string& path);

// The same report's bytes, for a server's response. Written through a private temporary file
// (`scratch_dir`, which must exist) that is gone on return.
Result<std::string> RenderReport(const SnapshotUse& use, store::Store& store,
                                 const ReportOptions& options, const std::string& scratch_dir);
Result<std::string> RenderReport(const analytics::Snapshot& snap, store::Store& store,
                                 const ReportOptions& options, const std::string& scratch_dir);

}  // namespace fupin::service
