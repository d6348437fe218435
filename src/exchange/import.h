// Import: reads an exchange batch (a folder of exchange files, or one file) into the store.
//
// Every good row is stored, every bad row is reported with its file, row, column, value
// and reason (in Chinese and English), and the whole batch is one transaction: a crash or
// a failure leaves the store as it was. A file identical (SHA-256) to the one that made a
// data set's current data is skipped, so importing the same batch twice changes nothing.
// Memory stays bounded whatever the file sizes. Hostile input is refused with its reason:
// a value longer than its column's limit or holding a NUL byte rejects its row; a link in the
// folder to a file outside it, and a named pipe or device, is not read (listed as ignored).
// Ctrl-C (core/interrupt.h) rolls the batch back. Not thread-safe: one import per Store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/status.h"
#include "exchange/report.h"
#include "store/store.h"

namespace fupin::exchange {

struct Progress {
  std::string file_name;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  int64_t rows = 0;
};

struct ImportOptions {
  Actor actor;  // who imports: recorded with the batch (user and role)
  // Called about twice a second during long work. May be empty.
  std::function<void(const Progress&)> on_progress;
  // Where to write the issue report (import-<batch>-issues.csv/.xlsx) as the import runs;
  // empty = no report. A report appears only for a committed batch that has issues.
  std::filesystem::path report_dir;
};

struct FileSummary {
  std::string file_name;
  std::string dataset;
  std::string encoding;
  store::FileOutcome outcome;
  int64_t file_id = 0;
};

struct ImportSummary {
  int64_t batch_id = 0;  // 0 when nothing was imported (every file unchanged, or no files)
  std::vector<FileSummary> files;
  std::vector<std::string> ignored_files;  // names in the folder that are no exchange file
  int64_t rows_read = 0, rows_imported = 0, rows_rejected = 0, warnings = 0;
  int files_failed = 0;  // files that could not be read at all (missing column, binary, ...)
  bool nothing_changed = false;
  std::optional<ReportFiles> report;  // set when a report was written
  // Set when the previous batch's missing report was written again (RestoreMissingReport).
  std::optional<ReportFiles> restored_report;
  std::string report_error;  // why the report could not be written (the batch stands)
};

// The message of the error ImportPath returns when Interrupted() (core/interrupt.h) turned
// true while it ran: the batch was rolled back and its report files removed.
inline constexpr std::string_view kInterruptedMessage =
    "interrupted, nothing changed / 已中断，数据库未改变";

// Checks that PATH names something ImportPath can import (a folder holding an exchange file,
// or one exchange file) without reading the files, so that a caller can refuse before it
// creates a database. Fails as ImportPath would.
Status CheckImportPath(const std::filesystem::path& path);

// Imports PATH (a folder: every exchange file in it; or a single exchange file named like
// households.csv / members.xlsx). Returns the summary, also when rows were rejected. Fails
// only when the import could not run: PATH missing or holding no exchange file, or a store
// error (then nothing of the batch is kept), or with kFailedPrecondition and
// kInterruptedMessage when Interrupted() turned true before the commit. With a report_dir,
// first writes the newest batch's report again if it is missing (RestoreMissingReport).
Result<ImportSummary> ImportPath(store::Store& store, const std::filesystem::path& path,
                                 const ImportOptions& options);

}  // namespace fupin::exchange
