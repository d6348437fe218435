// A report as data (报表文档): a title, the region and date it is about, and sections of
// tables and charts. Templates (reports/templates.h) fill it from the analytics snapshot; the
// writers render the same document as XLSX (xlsx_writer.h) and PDF (pdf_writer.h), so both
// formats always hold the same figures.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace fupin::reports {

// One cell of a table body. A number keeps its value (XLSX writes it as a number with the
// column's format); text stays text; an empty cell is std::monostate.
using Cell = std::variant<std::monostate, double, std::string>;

enum class NumberFormat : uint8_t {
  kText,     // the column holds text (names, codes)
  kInteger,  // 1,234
  kMoney,    // 1,234.56 (yuan)
  kPercent,  // 12.34% (the value 0.1234)
  kDecimal,  // 0.1234 (indices such as FGT P1)
};

struct Column {
  std::string header;  // the lowest header row's text
  NumberFormat format = NumberFormat::kText;
  double width = 12;  // in characters, as XLSX column widths
};

// A header cell spanning columns [first, first + span) in one header row above the columns'
// own headers, e.g. "脱贫状态" over four status columns. Rows are drawn top to bottom.
struct HeaderGroup {
  std::string text;
  int first = 0;
  int span = 1;
};

struct Table {
  std::string title;                             // the section's caption; may be empty
  std::vector<std::vector<HeaderGroup>> groups;  // merged header rows above `columns`, top first
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;  // each row has columns.size() cells
  std::vector<Cell> totals;             // a 合计 row when not empty (same size as columns)
  std::string note;                     // a line under the table; may be empty
};

// A bar chart of one or more series over categories (e.g. poor persons by county).
struct Chart {
  std::string title;
  std::vector<std::string> categories;
  struct Series {
    std::string name;
    std::vector<double> values;  // one per category
  };
  std::vector<Series> series;
  std::string value_axis;  // the unit, e.g. "人"
};

struct Section {
  std::variant<Table, Chart> content;
};

struct Document {
  std::string title;        // e.g. 建档立卡贫困人口统计表
  std::string region_name;  // e.g. 贵州省 / 毕节市
  std::string region_code;  // 12 digits
  int year = 0;             // the report's year
  std::string date;         // when it was made, YYYY-MM-DD
  std::string sheet_name;   // XLSX sheet name (at most 31 characters)
  std::vector<Section> sections;
  // Labels in the document's language for the writers' own text ("区划", "年度", "制表日期").
  bool english = false;
};

// Checks that the document has the shape promised above (rows as wide as the columns, header
// groups inside the table and not overlapping, one value per category in every series) and
// that all its text is UTF-8; the writers call it first and then index cells without checks.
Status CheckDocument(const Document& doc);

// One box of a table's header band: band rows [top, bottom] and columns [first, last]. The
// band has one row per HeaderGroup level and then the column header row. A group grows
// upwards over rows where no group covers any of its columns, and a column's own header
// grows upwards to just below the lowest group over it, so the band has no empty cell. Both
// writers draw the header from these boxes. `text` points into the table.
struct HeaderBox {
  const std::string* text;
  int top, bottom, first, last;
};
std::vector<HeaderBox> LayOutHeader(const Table& table);

}  // namespace fupin::reports
