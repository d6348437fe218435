// Import reports (导入报告): every rejected row and every warning of a batch, with file,
// row, column, value and reason in Chinese and English, as CSV (UTF-8 with BOM, so Excel
// opens it right) and XLSX (a sheet for rejected rows, one for warnings).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/status.h"
#include "store/store.h"

namespace fupin::exchange {

struct ReportFiles {
  std::filesystem::path csv;
  std::filesystem::path xlsx;
  int64_t errors = 0;
  int64_t warnings = 0;
};

// Streams issues into import-<batch>-issues.csv and .xlsx in `dir` as they arise, so a
// long import needs no second pass. Files are written as NAME.<pid>.part and renamed by
// Finish(); destroyed unfinished, the writer removes them (a killed process leaves them to
// RemoveStaleReportParts). What identifies a person is masked in both (an ID number or name
// column's value, an ID number quoted in a reason); file, row and column locate the value in
// the sender's own file. Not thread-safe.
class IssueReportWriter {
 public:
  static Result<std::unique_ptr<IssueReportWriter>> Create(const std::filesystem::path& dir,
                                                           int64_t batch_id);
  ~IssueReportWriter();
  Status Add(const store::IssueRow& issue);
  // Closes both files and gives them their final names: Close() then Publish().
  Result<ReportFiles> Finish();
  // Writes both files out, still under their temporary names (the XLSX is compressed here).
  Status Close();
  // Gives the closed files their final names. REQUIRES: Close() succeeded.
  Result<ReportFiles> Publish();

 private:
  struct Files;
  explicit IssueReportWriter(std::unique_ptr<Files> files);
  std::unique_ptr<Files> f_;
};

// Writes a stored batch's issues again: import-<batch>-issues.csv and .xlsx into `dir` (created if
// needed). Files are written under a temporary name and renamed, so a half-written report is never
// seen. The XLSX rejected-rows sheet stops at Excel's row limit, the warnings sheet at 100,000
// rows, each with a final line saying so; the CSV is always complete.
Result<ReportFiles> WriteIssueReport(store::Store& store, int64_t batch_id,
                                     const std::filesystem::path& dir);

// Removes the temporary files (NAME.<pid>.part) that report writers killed before they
// finished left in `dir`; those of running processes stay. Returns how many were removed.
int RemoveStaleReportParts(const std::filesystem::path& dir);

// Makes sure the newest batch's report exists: a process killed after its batch was committed
// but before the report was renamed leaves the batch without one. When that batch has issues
// and import-<batch>-issues.csv or .xlsx is missing from `dir`, both are written again from the
// stored issues (WriteIssueReport) and returned; otherwise returns nullopt. Stale temporary
// files are removed first. Fails only when the store or `dir` cannot be read or written.
Result<std::optional<ReportFiles>> RestoreMissingReport(store::Store& store,
                                                        const std::filesystem::path& dir);

}  // namespace fupin::exchange
