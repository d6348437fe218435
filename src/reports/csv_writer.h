// CSV writer (CSV 报表): renders a report Document (reports/document.h) as one CSV file that
// Excel opens with its Chinese text intact, for a list longer than an XLSX sheet holds.
// Thread-safe: calls share no state.
#pragma once

#include <string>

#include "core/status.h"
#include "reports/document.h"

namespace fupin::reports {

// Writes `doc` to `path` as UTF-8 CSV (RFC 4180: fields with a comma, quote or line break
// quoted, quotes doubled, lines ending CRLF) starting with a byte-order mark, so that Excel
// reads it as UTF-8. Lines: the title; region name and code, year and date; then each
// section after a blank line: a table's title, its column headers (a header group's text
// before its columns' own, "户数（户）/未脱贫"), its rows, its totals row, its note; a chart's
// title and its data (categories down, one column per series). Numbers are plain: integers
// without separators, money with 2 decimals, shares as "12.34%", indices with 4 decimals;
// NaN and infinities are empty.
// The file appears whole or not at all, even if the process is killed (unnamed_file.h).
// Fails with kInvalidArgument for a document CheckDocument refuses; with kUnavailable naming
// the path when it cannot be written. After a failure `path` is as it was.
Status WriteCsv(const Document& doc, const std::string& path);

}  // namespace fupin::reports
