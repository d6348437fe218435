// Streaming CSV reader (RFC 4180) with encoding detection.
//
// Reads quoted fields with embedded commas, quotes ("") and newlines, CRLF or LF line ends,
// and a UTF-8 BOM. The encoding is decided from the first 64 KiB: UTF-8 when it is valid
// UTF-8 (or starts with a BOM), otherwise GB18030 (a superset of GBK and GB2312) when it
// decodes as that, and the whole file is converted to UTF-8 as it streams. A file with NUL
// bytes in its first 64 KiB is refused as binary. Memory stays bounded by the buffer size
// plus the longest row. Not thread-safe: one reader per thread.
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
