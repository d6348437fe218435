#include "reports/xlsx_writer.h"

#include <fmt/core.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/text.h"
#include "reports/unnamed_file.h"

namespace fupin::reports {
namespace {

constexpr int64_t kMaxSheetColumns = 16384;
constexpr lxw_row_t kChartRows = 16;  // a default-sized chart (288 px) covers 15 rows of 20 px

Status CheckSheetName(const std::string& name) {
  size_t characters = 0;
  for (size_t i = 0; i < name.size(); ++characters) NextCodePoint(name, i);
  if (name.empty() || characters > 31 || name.find_first_of("[]:*?/\\") != std::string::npos ||
      name.front() == '\'' || name.back() == '\'')
    return InvalidArgument(fmt::format(
        "sheet name '{}' must be 1 to 31 characters, not start or end with ', and hold none of "
        "[]:*?/\\",
        name));
  return OkStatus();
}

int64_t SectionRows(const Section& section) {
  if (const auto* chart = std::get_if<Chart>(&section.content))
    return 1 + std::max<int64_t>(static_cast<int64_t>(chart->categories.size()) + 1, kChartRows);
  const Table& table = std::get<Table>(section.content);
  return (table.title.empty() ? 0 : 1) + static_cast<int64_t>(table.groups.size()) + 1 +
         static_cast<int64_t>(table.rows.size()) + (table.totals.empty() ? 0 : 1) +
         (table.note.empty() ? 0 : 1);
}

int64_t SectionColumns(const Section& section) {
  if (const auto* chart = std::get_if<Chart>(&section.content))
    return 1 + static_cast<int64_t>(chart->series.size());
  return static_cast<int64_t>(std::get<Table>(section.content).columns.size());
}

// The width of `text` in XLSX column-width units: wide (CJK) characters count 2.
double DisplayWidth(const std::string& text) {
  double width = 0;
  for (size_t i = 0; i < text.size();) width += NextCodePoint(text, i) >= 0x1100 ? 2 : 1;
  return width;
}

constexpr size_t kFormats = 5;  // one per NumberFormat

size_t FormatIndex(NumberFormat format) { return static_cast<size_t>(format) % kFormats; }

// Writes one worksheet. The first libxlsxwriter error is kept with where it happened;
// writing goes on (the calls are harmless) so the code stays straight.
class SheetWriter {
 public:
  SheetWriter(lxw_workbook* workbook, const Document& doc) : workbook_(workbook), doc_(doc) {
    sheet_ = workbook_add_worksheet(workbook, doc.sheet_name.c_str());
    AddFormats();
  }

  // Returns the first error, its message saying where it happened but not the file.
  Status Write() {
    if (!sheet_) return Unavailable("adding the worksheet failed");
    WriteHeading();
    for (size_t s = 0; s < doc_.sections.size(); ++s) {
      ++row_;  // a blank row before each section
      if (const auto* table = std::get_if<Table>(&doc_.sections[s].content))
        WriteTable(*table, /*freeze=*/s == 0);
      else
        WriteChart(std::get<Chart>(doc_.sections[s].content));
    }
    SetColumnWidths();
    return error_;
  }

 private:
  void Check(lxw_error error, std::string_view where) {
    if (error != LXW_NO_ERROR && error_.ok())
      error_ = Unavailable(fmt::format("{}: {}", where, lxw_strerror(error)));
  }
  void CheckCell(lxw_error error, lxw_row_t row, lxw_col_t col) {
    if (error == LXW_NO_ERROR || !error_.ok()) return;
    const std::string message =
        fmt::format("cell at row {} column {}: {}", row + 1, col + 1, lxw_strerror(error));
    error_ = error == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED ? InvalidArgument(message)
                                                           : Unavailable(message);
  }

  lxw_format* NewFormat(bool border) {
    lxw_format* format = workbook_add_format(workbook_);
    format_set_font_size(format, 11);
    format_set_align(format, LXW_ALIGN_VERTICAL_CENTER);
    if (border) format_set_border(format, LXW_BORDER_THIN);
    return format;
  }

  void AddFormats() {
    title_ = NewFormat(false);
    format_set_bold(title_);
    format_set_font_size(title_, 16);
    format_set_align(title_, LXW_ALIGN_CENTER);
    plain_ = NewFormat(false);
    caption_ = NewFormat(false);
    format_set_bold(caption_);
    format_set_font_size(caption_, 12);
    header_ = NewFormat(true);
    format_set_bold(header_);
    format_set_align(header_, LXW_ALIGN_CENTER);
    format_set_text_wrap(header_);
    format_set_bg_color(header_, 0xF2F2F2);
    note_ = NewFormat(false);
    format_set_italic(note_);
    static constexpr std::array<const char*, kFormats> kNumberFormats = {
        "General", "#,##0", "#,##0.00", "0.00%", "0.0000"};
    for (size_t f = 0; f < kFormats; ++f) {
      for (bool total : {false, true}) {
        lxw_format* format = NewFormat(true);
        format_set_num_format(format, kNumberFormats[f]);
        if (total) format_set_bold(format);
        (total ? totals_ : body_)[f] = format;
      }
    }
  }

  // The title over the widest table and the region/year/date line.
  void WriteHeading() {
    lxw_col_t last = 0;
    for (const Section& section : doc_.sections)
      last =
          std::max(last, static_cast<lxw_col_t>(std::max<int64_t>(SectionColumns(section), 1) - 1));
    WriteWide(doc_.title, last, title_);
    Check(worksheet_set_row(sheet_, 0, 24, nullptr), "title row");
    const std::string meta =
        doc_.english ? fmt::format("Region: {} ({})    Year: {}    Date: {}", doc_.region_name,
                                   doc_.region_code, doc_.year, doc_.date)
                     : fmt::format("区划：{}（{}）    年度：{}    制表日期：{}", doc_.region_name,
                                   doc_.region_code, doc_.year, doc_.date);
    WriteWide(meta, last, plain_);
  }

  // Writes `text` in the current row merged over columns [0, last], and moves down a row.
  void WriteWide(const std::string& text, lxw_col_t last, lxw_format* format) {
    if (last == 0)
      Check(worksheet_write_string(sheet_, row_, 0, text.c_str(), format), "heading");
    else
      Check(worksheet_merge_range(sheet_, row_, 0, row_, last, text.c_str(), format), "heading");
    ++row_;
  }

  void WriteText(lxw_row_t row, lxw_col_t col, const std::string& text, lxw_format* format) {
    if (text.empty())
      CheckCell(worksheet_write_blank(sheet_, row, col, format), row, col);
    else
      CheckCell(worksheet_write_string(sheet_, row, col, text.c_str(), format), row, col);
  }

  void WriteCell(lxw_row_t row, lxw_col_t col, const Cell& cell, lxw_format* format) {
    if (const auto* number = std::get_if<double>(&cell); number && std::isfinite(*number))
      CheckCell(worksheet_write_number(sheet_, row, col, *number, format), row, col);
    else if (const auto* text = std::get_if<std::string>(&cell))
      WriteText(row, col, *text, format);
    else  // empty, or a NaN/infinity Excel cannot hold
      CheckCell(worksheet_write_blank(sheet_, row, col, format), row, col);
  }

  void NoteWidths(const std::vector<double>& widths) {
    if (widths_.size() < widths.size()) widths_.resize(widths.size(), 0);
    for (size_t c = 0; c < widths.size(); ++c) widths_[c] = std::max(widths_[c], widths[c]);
  }

  void WriteTable(const Table& table, bool freeze) {
    if (!table.title.empty()) WriteText(row_++, 0, table.title, caption_);
    const lxw_row_t band = row_;
    for (const HeaderBox& box : LayOutHeader(table)) {
      const auto top = static_cast<lxw_row_t>(band + box.top);
      const auto bottom = static_cast<lxw_row_t>(band + box.bottom);
      const auto first = static_cast<lxw_col_t>(box.first);
      const auto last = static_cast<lxw_col_t>(box.last);
      if (top == bottom && first == last)
        WriteText(top, first, *box.text, header_);
      else
        Check(worksheet_merge_range(sheet_, top, first, bottom, last, box.text->c_str(), header_),
              fmt::format("header '{}'", *box.text));
    }
    row_ = band + static_cast<lxw_row_t>(table.groups.size()) + 1;
    if (freeze) worksheet_freeze_panes(sheet_, row_, 0);

    std::vector<lxw_format*> body;
    std::vector<lxw_format*> totals;
    std::vector<double> widths;
    // Excel does not grow rows for wrapped text when it opens a file: give the column header
    // row room for the longest header that wraps (up to 4 lines).
    double lines = 1;
    for (const Column& column : table.columns) {
      body.push_back(body_[FormatIndex(column.format)]);
      totals.push_back(totals_[FormatIndex(column.format)]);
      // Excel's column widths run from 0 (hidden) to 255; keep every column visible.
      widths.push_back(std::isfinite(column.width) ? std::clamp(column.width, 1.0, 255.0) : 12);
      lines = std::max(lines, std::ceil(DisplayWidth(column.header) / widths.back()));
    }
    NoteWidths(widths);
    if (lines > 1)
      Check(worksheet_set_row(sheet_, row_ - 1, 15 * std::min(lines, 4.0), nullptr), "header row");
    for (const std::vector<Cell>& cells : table.rows) {
      for (size_t c = 0; c < cells.size(); ++c)
        WriteCell(row_, static_cast<lxw_col_t>(c), cells[c], body[c]);
      ++row_;
    }
    if (!table.totals.empty()) {
      for (size_t c = 0; c < table.totals.size(); ++c)
        WriteCell(row_, static_cast<lxw_col_t>(c), table.totals[c], totals[c]);
      ++row_;
    }
    if (!table.note.empty()) WriteText(row_++, 0, table.note, note_);
  }

  void WriteChart(const Chart& chart) {
    WriteText(row_, 0, chart.title, caption_);
    const lxw_row_t title_row = row_++;
    const lxw_row_t head = row_;
    const auto categories = static_cast<lxw_row_t>(chart.categories.size());
    const auto series_count = static_cast<lxw_col_t>(chart.series.size());
    WriteText(head, 0, doc_.english ? "Category" : "类别", header_);
    for (lxw_col_t s = 0; s < series_count; ++s)
      WriteText(head, s + 1, chart.series[s].name, header_);
    for (lxw_row_t r = 0; r < categories; ++r) {
      WriteText(head + 1 + r, 0, chart.categories[r], body_[0]);
      for (lxw_col_t s = 0; s < series_count; ++s)
        WriteCell(head + 1 + r, s + 1, chart.series[s].values[r], body_[0]);
    }
    std::vector<double> widths(1 + series_count, 12);
    widths[0] = 16;
    NoteWidths(widths);
    row_ = head + std::max(categories + 1, kChartRows);
    if (categories == 0 || series_count == 0) return;  // Excel draws no chart without data

    lxw_chart* object = workbook_add_chart(workbook_, LXW_CHART_COLUMN);
    if (!object) return Check(LXW_ERROR_MEMORY_MALLOC_FAILED, "chart");
    const char* sheet = doc_.sheet_name.c_str();
    for (lxw_col_t s = 0; s < series_count; ++s) {
      lxw_chart_series* series = chart_add_series(object, nullptr, nullptr);
      if (!series) return Check(LXW_ERROR_MEMORY_MALLOC_FAILED, "chart series");
      chart_series_set_categories(series, sheet, head + 1, 0, head + categories, 0);
      chart_series_set_values(series, sheet, head + 1, s + 1, head + categories, s + 1);
      chart_series_set_name_range(series, sheet, head, s + 1);
    }
    // The title comes from its cell, so a title starting with '=' is not taken as a formula.
    if (!chart.title.empty()) chart_title_set_name_range(object, sheet, title_row, 0);
    if (!chart.value_axis.empty()) chart_axis_set_name(object->y_axis, chart.value_axis.c_str());
    chart_legend_set_position(object,
                              series_count > 1 ? LXW_CHART_LEGEND_BOTTOM : LXW_CHART_LEGEND_NONE);
    // Wider for many bars: about 12 px per bar and gap, from the default 480 px up to 4x.
    lxw_chart_options options{};
    options.x_scale =
        std::clamp(12.0 * static_cast<double>(categories * (series_count + 1)) / 480.0, 1.0, 4.0);
    options.y_scale = 1;
    Check(worksheet_insert_chart_opt(sheet_, head, series_count + 2, object, &options),
          fmt::format("chart '{}'", chart.title));
  }

  void SetColumnWidths() {
    for (size_t c = 0; c < widths_.size(); ++c)
      if (widths_[c] > 0)
        Check(worksheet_set_column(sheet_, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                                   widths_[c], nullptr),
              "column width");
  }

  lxw_workbook* workbook_;
  const Document& doc_;
  lxw_worksheet* sheet_ = nullptr;
  lxw_row_t row_ = 0;
  std::vector<double> widths_;
  Status error_;
  lxw_format* title_ = nullptr;
  lxw_format* plain_ = nullptr;
  lxw_format* caption_ = nullptr;
  lxw_format* header_ = nullptr;
  lxw_format* note_ = nullptr;
  std::array<lxw_format*, kFormats> body_{};
  std::array<lxw_format*, kFormats> totals_{};
};

}  // namespace

static Status CheckSheetSize(const Document& doc, int64_t max_rows) {
  RETURN_IF_ERROR(CheckDocument(doc));
  RETURN_IF_ERROR(CheckSheetName(doc.sheet_name));
  const int64_t rows = SheetRows(doc);
  int64_t columns = 1;
  for (const Section& section : doc.sections) {
    // A chart sits right of its data, at most 4 x 8 columns wide.
    const bool chart = std::holds_alternative<Chart>(section.content);
    columns = std::max(columns, SectionColumns(section) + (chart ? 1 + 32 : 0));
  }
  if (rows > max_rows || columns > kMaxSheetColumns)
    return InvalidArgument(fmt::format(
        fmt::runtime(
            doc.english
                ? "sheet '{}' needs {} rows and {} columns: more than an XLSX sheet holds "
                  "({} rows, {} columns)"
                : "工作表“{}”需要 {} 行、{} 列，超过一张 XLSX 工作表的上限（{} 行、{} 列）"),
        doc.sheet_name, rows, columns, max_rows, kMaxSheetColumns));
  return OkStatus();
}

int64_t SheetRows(const Document& doc) {
  int64_t rows = 2;
  for (const Section& section : doc.sections) rows += 1 + SectionRows(section);
  return rows;
}

Result<std::unique_ptr<XlsxWorkbook>> XlsxWorkbook::Create(const std::string& path,
                                                           int64_t max_sheet_rows) {
  ASSIGN_OR_RETURN(std::unique_ptr<UnnamedFile> file, UnnamedFile::Create(path));
  std::unique_ptr<XlsxWorkbook> book(new XlsxWorkbook(path, max_sheet_rows));
  book->file_ = std::move(file);
  lxw_workbook_options options{};
  options.constant_memory = LXW_FALSE;  // merged cells and charts need the whole sheet
  book->workbook_ = workbook_new_opt(book->file_->scratch().c_str(), &options);
  if (!book->workbook_)
    return Err(Unavailable(fmt::format("cannot write {}: out of memory", path)));
  return book;
}

XlsxWorkbook::XlsxWorkbook(std::string path, int64_t max_sheet_rows)
    : path_(std::move(path)), max_sheet_rows_(max_sheet_rows) {}

XlsxWorkbook::~XlsxWorkbook() {
  if (workbook_) workbook_close(workbook_);  // frees it; file_ then drops what it wrote
}

Status XlsxWorkbook::AddSheet(const Document& doc) {
  RETURN_IF_ERROR(CheckSheetSize(doc, max_sheet_rows_));
  if (!workbook_) return FailedPrecondition("the workbook is closed");
  if (!names_.insert(doc.sheet_name).second)
    return InvalidArgument(fmt::format("two sheets are named '{}'", doc.sheet_name));
  const Status status = SheetWriter(workbook_, doc).Write();
  if (!status.ok())
    return Status(status.code(), fmt::format("cannot write {}: {}", path_, status.message()));
  return OkStatus();
}

Status XlsxWorkbook::Close() {
  if (!workbook_) return FailedPrecondition("the workbook is closed");
  const lxw_error closed = workbook_close(workbook_);  // writes the file and frees the workbook
  workbook_ = nullptr;
  if (closed != LXW_NO_ERROR)
    return Unavailable(fmt::format("cannot write {}: {}", path_, lxw_strerror(closed)));
  return file_->Commit();
}

Status WriteXlsx(const Document& doc, const std::string& path) {
  RETURN_IF_ERROR(CheckSheetSize(doc, kMaxSheetRows));
  ASSIGN_OR_RETURN(std::unique_ptr<XlsxWorkbook> book, XlsxWorkbook::Create(path));
  RETURN_IF_ERROR(book->AddSheet(doc));
  return book->Close();
}

}  // namespace fupin::reports
