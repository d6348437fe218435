#include "reports/document.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string_view>

#include "core/text.h"

namespace fupin::reports {

Status CheckDocument(const Document& doc) {
  const auto text_ok = [](const std::string& text) { return IsValidUtf8(text); };
  if (!text_ok(doc.title) || !text_ok(doc.region_name) || !text_ok(doc.region_code) ||
      !text_ok(doc.date) || !text_ok(doc.sheet_name))
    return InvalidArgument("report title, region, date or sheet name is not UTF-8");
  for (size_t s = 0; s < doc.sections.size(); ++s) {
    const auto bad = [s](std::string_view what) {
      return InvalidArgument(fmt::format("report section {}: {}", s + 1, what));
    };
    if (const auto* chart = std::get_if<Chart>(&doc.sections[s].content)) {
      if (!text_ok(chart->title) || !text_ok(chart->value_axis)) return bad("text is not UTF-8");
      if (!std::all_of(chart->categories.begin(), chart->categories.end(), text_ok))
        return bad("a category is not UTF-8");
      for (const Chart::Series& series : chart->series) {
        if (!text_ok(series.name)) return bad("a series name is not UTF-8");
        if (series.values.size() != chart->categories.size())
          return bad(fmt::format("series '{}' has {} values for {} categories", series.name,
                                 series.values.size(), chart->categories.size()));
      }
      continue;
    }
    const Table& table = std::get<Table>(doc.sections[s].content);
    const size_t columns = table.columns.size();
    if (!text_ok(table.title) || !text_ok(table.note)) return bad("text is not UTF-8");
    for (const Column& column : table.columns)
      if (!text_ok(column.header)) return bad("a column header is not UTF-8");
    for (const std::vector<HeaderGroup>& level : table.groups) {
      std::vector<bool> covered(columns, false);
      for (const HeaderGroup& group : level) {
        if (!text_ok(group.text)) return bad("a header group is not UTF-8");
        if (group.first < 0 || group.span < 1 ||
            static_cast<size_t>(group.first) + static_cast<size_t>(group.span) > columns)
          return bad(fmt::format("header group '{}' spans columns outside the table", group.text));
        for (int c = group.first; c < group.first + group.span; ++c) {
          if (covered[c]) return bad(fmt::format("header group '{}' overlaps another", group.text));
          covered[c] = true;
        }
      }
    }
    const auto row_ok = [&](const std::vector<Cell>& row) {
      if (row.size() != columns) return false;
      for (const Cell& cell : row)
        if (const auto* text = std::get_if<std::string>(&cell); text && !IsValidUtf8(*text))
          return false;
      return true;
    };
    for (size_t r = 0; r < table.rows.size(); ++r)
      if (!row_ok(table.rows[r]))
        return bad(fmt::format("row {} does not have {} UTF-8 cells", r + 1, columns));
    if (!table.totals.empty() && !row_ok(table.totals))
      return bad(fmt::format("the totals row does not have {} UTF-8 cells", columns));
  }
  return OkStatus();
}

std::vector<HeaderBox> LayOutHeader(const Table& table) {
  const int levels = static_cast<int>(table.groups.size());
  const int columns = static_cast<int>(table.columns.size());
  std::vector<std::vector<bool>> covered(levels, std::vector<bool>(columns, false));
  for (int r = 0; r < levels; ++r)
    for (const HeaderGroup& group : table.groups[r])
      for (int c = group.first; c < group.first + group.span; ++c) covered[r][c] = true;
  std::vector<HeaderBox> boxes;
  for (int r = 0; r < levels; ++r) {
    for (const HeaderGroup& group : table.groups[r]) {
      const int last = group.first + group.span - 1;
      int top = r;
      while (top > 0 && std::none_of(covered[top - 1].begin() + group.first,
                                     covered[top - 1].begin() + last + 1, std::identity{}))
        --top;
      boxes.push_back({&group.text, top, r, group.first, last});
    }
  }
  for (int c = 0; c < columns; ++c) {
    int top = levels;
    while (top > 0 && !covered[top - 1][c]) --top;
    boxes.push_back({&table.columns[c].header, top, levels, c, c});
  }
  return boxes;
}

}  // namespace fupin::reports
