// PDF writer (PDF 报表): renders a report Document (reports/document.h) as a printable A4
// PDF with cairo and pango, in the font "Noto Sans CJK SC" (fontconfig falls back to another
// CJK font when it is missing).
// Thread-safe: calls share no state, so separate documents may be written in parallel.
#pragma once

#include <string>

#include "core/status.h"
#include "reports/document.h"

namespace fupin::reports {

// Writes `doc` to `path` as a PDF. Pages are A4 portrait, or landscape when the widest table
// would need a font under 7 pt in portrait; margins are 40 pt. Page 1 opens with the title and
// a line with region name and code, year and date. Tables fill the page width, their columns
// sized in proportion to Column::width; they show the header groups as boxes over their
// columns, numbers right-aligned in the column's format (1,234 / 1,234.56 / 12.34% /
// 0.1234), text left-aligned and wrapped over as many lines as it needs (a row is as tall as
// its tallest cell; past 12 lines the text is cut with "…"), and the totals row in bold. A
// table longer than a page goes on over the next pages, its header repeated on each; its
// totals row never stands alone on a page (the last data row goes over with it). A chart
// is drawn as a bar chart with its title, value axis, category labels and a legend. Every page
// has the footer "第 N 页 / 共 M 页" ("Page N of M" when doc.english).
// The file appears whole or not at all, even if the process is killed: it is written to an
// unnamed file in path's directory and named when complete (unnamed_file.h).
// Fails with kInvalidArgument when a table's rows, totals or header groups do not match its
// columns, a chart series does not have one value per category, or any text is not UTF-8;
// with kUnavailable naming the path when the file cannot be written (missing directory,
// permissions, disk full, a cairo error). After a failure `path` is as it was and nothing
// is left beside it.
Status WritePdf(const Document& doc, const std::string& path);

}  // namespace fupin::reports
