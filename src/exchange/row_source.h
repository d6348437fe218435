// RowSource: a stream of raw rows from one exchange file (CSV or XLSX), header included.
//
// Readers never hold a whole file in memory. Each row is handed out as cells of UTF-8
// text, with a mark on cells that the file stored as numbers (an XLSX numeric cell), so the
// validator can tell an ID number that Excel turned into 5.20102E+17. Not thread-safe:
// one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fupin::exchange {

// The most bytes of one cell a reader keeps: of a longer cell (CSV or XLSX) only the first
// kMaxCellBytes + 1 are handed out, so memory stays bounded and the importer still sees that
// the value is too long for any column and rejects its row (docs/exchange-format.md, Rows).
inline constexpr size_t kMaxCellBytes = size_t{1} << 20;

struct RawRow {
  std::vector<std::string> cells;
  // Same length as cells: true where the source stored a number (XLSX <c t="n">), false for text.
  std::vector<bool> numeric;
  // Where the row starts in the file: the 1-based physical line (CSV) or sheet row (XLSX).
  int64_t source_line = 0;
  // Index of the first cell whose bytes were not valid UTF-8 (that cell is emptied), or -1.
  int invalid_utf8_cell = -1;

  void Clear() {
    cells.clear();
    numeric.clear();
    invalid_utf8_cell = -1;
  }
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  // Reads the next row into `row` (reusing its buffers). Returns true when a row was read,
  // false at the end of the file, or an error (kInvalidArgument for a malformed file, naming
  // the line). After an error the reader is finished.
  virtual Result<bool> Next(RawRow& row) = 0;
  // Bytes of the underlying file consumed so far and in all, for progress reports.
  virtual uint64_t BytesRead() const = 0;
  virtual uint64_t BytesTotal() const = 0;
  // The file's encoding as decided so far: "UTF-8", "GB18030" or "XLSX".
  virtual std::string_view Encoding() const = 0;
};

}  // namespace fupin::exchange
