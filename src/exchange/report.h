// Import reports (导入报告): every rejected row and every warning of a batch, with file,
// row, column, value and reason in Chinese and English, as CSV (UTF-8 with BOM, so Excel
// opens it right) and XLSX (a sheet for rejected rows, one for warnings).
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/status.h"
#include "store/store.h"

namespace fupin::exchange {

struct ReportFiles {
  std::filesystem::path csv;
  std::filesystem::path xlsx;
  int64_t errors = 0;
  int64_t warnings = 0;
};

// Writes import-<batch>-issues.csv and .xlsx into `dir` (created if needed). Files are
// written under a temporary name and renamed, so a half-written report is never seen.
// The XLSX rejected-rows sheet stops at Excel's row limit, the warnings sheet at 100,000
// rows, each with a final line saying so; the CSV is always complete.
Result<ReportFiles> WriteIssueReport(store::Store& store, int64_t batch_id,
                                     const std::filesystem::path& dir);

}  // namespace fupin::exchange
