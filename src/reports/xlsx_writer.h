// XLSX writer (Excel 报表): renders a report Document (reports/document.h) as one worksheet
// with merged title and header cells, formatted numbers and native Excel column charts.
// Thread-safe: calls share no state, so separate documents may be written in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "core/status.h"
#include "reports/document.h"

struct lxw_workbook;  // libxlsxwriter's

namespace fupin::reports {

// Writes `doc` to `path` as an Excel 2007+ workbook holding one worksheet named
// doc.sheet_name. The sheet holds, top to bottom: the title (bold, larger, merged over the
// widest section), a line with region name and code, year and date, then each section after
// a blank row:
//   a Table: its title; its HeaderGroup rows as merged cells, a group with no group above it
//     reaching up to the top of the band and a column's own header reaching up to just
//     under the lowest group over it, so no header cell is blank; the column headers (bold,
//     centred, wrapped, bordered); the body, numbers stored as numbers with the column's
//     format (#,##0 / #,##0.00 / 0.00% / 0.0000); the totals row in bold; the note. Panes
//     are frozen under the header of the first section when it is a table.
//   a Chart: its title, its data as a small table (categories, one column per series) and a
//     native column chart right of it whose series refer to those cells.
// Column widths are Column::width (the largest over sections sharing a column). NaN and
// infinite numbers are written as empty cells.
// The file appears whole or not at all, even if the process is killed: it is written to an
// unnamed file in path's directory and named when complete (unnamed_file.h).
// Fails with kInvalidArgument when the sheet name is empty, longer than 31 characters,
// starts or ends with ' or holds one of []:*?/\, when a table's rows, totals or header
// groups do not match its columns, a chart series does not have one value per category, any
// text is not UTF-8 or is longer than Excel's 32,767 characters, or the sheet would exceed
// Excel's 1,048,576 rows or 16,384 columns; with kUnavailable naming the path when the file
// cannot be written (missing directory, permissions, disk full). After a failure `path` is
// as it was and nothing is left beside it.
Status WriteXlsx(const Document& doc, const std::string& path);

// Excel's rows per sheet.
inline constexpr int64_t kMaxSheetRows = 1048576;

// The rows `doc` takes on a sheet as WriteXlsx lays it out (to know the size before writing).
int64_t SheetRows(const Document& doc);

// A workbook of several sheets, one Document each, added one at a time so that only one
// sheet's Document need be held (a province's flag list, one sheet per county). Each sheet
// is laid out as WriteXlsx lays out its one sheet. Not thread-safe.
class XlsxWorkbook {
 public:
  // Starts `path` (written to an unnamed file, unnamed_file.h). `max_sheet_rows` lowers
  // Excel's limit (tests).
  // kUnavailable when the directory is missing or memory runs out.
  static Result<std::unique_ptr<XlsxWorkbook>> Create(const std::string& path,
                                                      int64_t max_sheet_rows = kMaxSheetRows);
  // Drops a workbook not closed, leaving no file.
  ~XlsxWorkbook();
  XlsxWorkbook(const XlsxWorkbook&) = delete;
  XlsxWorkbook& operator=(const XlsxWorkbook&) = delete;

  // Adds `doc` as the next sheet, named doc.sheet_name. Fails as WriteXlsx does for a bad
  // document or a sheet over max_sheet_rows rows (message in doc's language), and with
  // kInvalidArgument for a sheet name already used; the workbook can still be dropped.
  Status AddSheet(const Document& doc);
  // Writes the file and renames it to `path`: whole or not at all.
  Status Close();

 private:
  XlsxWorkbook(std::string path, int64_t max_sheet_rows);
  std::string path_;
  int64_t max_sheet_rows_;
  std::unique_ptr<class UnnamedFile> file_;  // what libxlsxwriter writes to
  ::lxw_workbook* workbook_ = nullptr;
  std::set<std::string> names_;
};

}  // namespace fupin::reports
