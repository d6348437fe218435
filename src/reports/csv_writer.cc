#include "reports/csv_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <variant>
#include <vector>

#include "reports/unnamed_file.h"

namespace fupin::reports {
namespace {

void AppendField(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

std::string NumberText(double value, NumberFormat format) {
  if (!std::isfinite(value)) return "";
  switch (format) {
    case NumberFormat::kInteger:
      return fmt::format("{:.0f}", value);
    case NumberFormat::kMoney:
      return fmt::format("{:.2f}", value);
    case NumberFormat::kPercent:
      return fmt::format("{:.2f}%", value * 100);
    case NumberFormat::kDecimal:
      return fmt::format("{:.4f}", value);
    default:
      return fmt::format("{:.10g}", value);
  }
}

void AppendLine(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    AppendField(out, fields[i]);
  }
  out += "\r\n";
}

std::vector<std::string> RowFields(const Table& table, const std::vector<Cell>& row) {
  std::vector<std::string> fields;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (const auto* number = std::get_if<double>(&row[c]))
      fields.push_back(NumberText(*number, table.columns[c].format));
    else if (const auto* text = std::get_if<std::string>(&row[c]))
      fields.push_back(*text);
    else
      fields.emplace_back();
  }
  return fields;
}

void AppendTable(std::string& out, const Table& table) {
  if (!table.title.empty()) AppendLine(out, {table.title});
  std::vector<std::string> headers;
  for (const Column& column : table.columns) headers.push_back(column.header);
  // Each group's text before the headers of its columns, top group first.
  for (auto level = table.groups.rbegin(); level != table.groups.rend(); ++level)
    for (const HeaderGroup& group : *level)
      for (int c = group.first; c < group.first + group.span; ++c)
        if (headers[static_cast<size_t>(c)] != group.text)
          headers[static_cast<size_t>(c)] = group.text + "/" + headers[static_cast<size_t>(c)];
  AppendLine(out, headers);
  for (const auto& row : table.rows) AppendLine(out, RowFields(table, row));
  if (!table.totals.empty()) AppendLine(out, RowFields(table, table.totals));
  if (!table.note.empty()) AppendLine(out, {table.note});
}

void AppendChart(std::string& out, const Chart& chart) {
  AppendLine(out, {chart.title});
  std::vector<std::string> header = {""};
  for (const Chart::Series& series : chart.series) header.push_back(series.name);
  AppendLine(out, header);
  for (size_t i = 0; i < chart.categories.size(); ++i) {
    std::vector<std::string> line = {chart.categories[i]};
    for (const Chart::Series& series : chart.series)
      line.push_back(NumberText(series.values[i], NumberFormat::kText));
    AppendLine(out, line);
  }
}

// Writes `bytes` to `path` through an unnamed file (unnamed_file.h).
Status WriteWhole(const std::string& path, std::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<UnnamedFile> file, UnnamedFile::Create(path));
  std::FILE* out = std::fopen(file->scratch().c_str(), "wb");
  if (!out) return Unavailable(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
  const int error = errno;
  if (std::fclose(out) != 0 || !written)
    return Unavailable(
        fmt::format("cannot write {}: {}", path, std::strerror(written ? errno : error)));
  return file->Commit();
}

}  // namespace

Status WriteCsv(const Document& doc, const std::string& path) {
  RETURN_IF_ERROR(CheckDocument(doc));
  std::string out = "\xEF\xBB\xBF";  // the byte-order mark
  AppendLine(out, {doc.title});
  AppendLine(out, {doc.english ? "Region" : "区划", doc.region_name, doc.region_code,
                   doc.english ? "Year" : "年度", std::to_string(doc.year),
                   doc.english ? "Date" : "制表日期", doc.date});
  for (const Section& section : doc.sections) {
    out += "\r\n";
    if (const auto* table = std::get_if<Table>(&section.content))
      AppendTable(out, *table);
    else
      AppendChart(out, std::get<Chart>(section.content));
  }
  return WriteWhole(path, out);
}

}  // namespace fupin::reports
