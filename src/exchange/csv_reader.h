// Streaming CSV reader (RFC 4180) with encoding detection.
//
// Reads quoted fields with embedded commas, quotes ("") and newlines, CRLF or LF line ends,
// and a UTF-8 BOM. The encoding is decided from the first 64 KiB: UTF-8 when it is valid
// UTF-8 (or starts with a BOM), otherwise GB18030 (a superset of GBK and GB2312) when it
// decodes as that, and the whole file is converted to UTF-8 as it streams. A UTF-16 file
// (byte-order mark, or a NUL beside most ASCII characters) is refused naming UTF-16 and how
// to convert it; one with NUL bytes among control characters making more than 1% of its first
// 64 KiB, or NUL bytes in text of no known encoding, is refused as binary. A few NUL bytes in text
// are handed out in their cells (the importer rejects those rows, naming the line). A cell keeps at
// most kMaxCellBytes + 1 bytes (row_source.h), so memory stays bounded by the buffer size plus one
// row of capped cells. Not thread-safe: one reader per thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "exchange/row_source.h"

namespace fupin::exchange {

enum class Encoding { kUtf8, kGb18030 };
std::string_view EncodingName(Encoding encoding);  // "UTF-8", "GB18030"

// Decides the encoding of a file from its first bytes. Fails with kInvalidArgument for
// binary data or bytes that are neither UTF-8 nor GB18030.
// `complete` says whether `sample` holds the whole file (else a cut character at the end is fine).
Result<Encoding> DetectEncoding(std::string_view sample, bool complete);

struct CsvFile {
  std::unique_ptr<RowSource> rows;
  Encoding encoding;
};

// Opens a CSV file for streaming. Fails with kNotFound when it cannot be opened and
// kInvalidArgument when it is binary or in an unknown encoding.
Result<CsvFile> OpenCsv(const std::filesystem::path& path);

// Opens CSV text held in memory (tests, uploads). The text must outlive the reader.
Result<CsvFile> OpenCsvText(std::string_view text);

}  // namespace fupin::exchange
