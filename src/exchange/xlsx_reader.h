// XLSX reader: the first worksheet of an Excel 2007+ workbook as a RowSource.
//
// The sheet XML is decompressed and parsed in chunks, one row handed out at a time, so a
// sheet of any length needs memory for one row (plus the workbook's shared-string table and
// styles, which are loaded whole). Not thread-safe: one reader per thread; separate readers
// may run in parallel.
//
// Cell text, by cell type:
//   shared string (t="s"), inline string (t="inlineStr"), formula string (t="str"):
//     the text, rich-text runs concatenated, phonetic runs (<rPh>) left out, _xHHHH_ escapes
//     decoded.
//   number (no t, or t="n"): the number exactly as written in the file ("42",
//     "5.20102199001011E+17"), with numeric[i] = true. An ID number typed into Excel as a
//     number arrives here already rounded; the validator uses the mark to say so.
//   number styled with a date format (built-in ids 14-22, 27-36, 45-47, 50-58, or a custom
//     format with y/m/d/h/s outside quotes and brackets): "YYYY-MM-DD", numeric[i] = false.
//     A date-styled number that names no day from 1900 on (a bare time, say) stays a number.
//   boolean (t="b"): "TRUE" or "FALSE". Error (t="e"): the error text ("#N/A").
//   ISO date (t="d"): "YYYY-MM-DD" when it starts with a date, otherwise the text as is.
// A cell longer than kMaxCellBytes (row_source.h) is cut to kMaxCellBytes + 1 bytes, so the
// importer rejects its row as too long and reading goes on.
// Cells sit at the column their reference names (r="C5" is index 2), skipped columns are
// empty strings, trailing empty cells are dropped, and rows with no text at all are not
// returned. RawRow::source_line is the sheet row number (1-based).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/status.h"
#include "exchange/row_source.h"

namespace fupin::exchange {

// Opens the first worksheet of an .xlsx file (workbook order, via xl/workbook.xml + rels).
// Fails with kInvalidArgument naming the file when it is not a readable XLSX (not a zip, no
// worksheet, broken XML), and with kNotFound when the file does not exist. Problems met
// later (broken sheet XML, a damaged zip entry, a bad shared-string index) are returned by
// Next() as kInvalidArgument naming the file and the sheet row or XML line.
// BytesRead()/BytesTotal() count uncompressed bytes of the sheet's XML.
Result<std::unique_ptr<RowSource>> OpenXlsx(const std::filesystem::path& path);

// Guards against hostile files, each refused with a message naming the limit. Time stays
// linear in the file and memory under these caps (plus one row and 64 KiB buffers).
struct XlsxLimits {
  // The shared-string table is held in memory: its strings and 8 bytes of offset per string
  // may take this much (the vectors' spare room can double it while they grow).
  uint64_t shared_strings_memory = uint64_t{256} << 20;
  // The longest XML token (a tag with its attributes, a comment) in any part. Cell text is no
  // token: it streams, and a cell longer than kMaxCellBytes only rejects its row.
  uint64_t token_bytes = uint64_t{1} << 20;
};
// As above, with other limits (tests use small ones).
Result<std::unique_ptr<RowSource>> OpenXlsx(const std::filesystem::path& path,
                                            const XlsxLimits& limits);

}  // namespace fupin::exchange
