#include "exchange/report.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <regex>

#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/text.h"

namespace fupin::exchange {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxSheetRows = 1048576;
// Warnings beyond this many stay in the CSV only: nobody reads a million warnings in Excel,
// and writing them would take longer than the import.
constexpr int64_t kMaxWarningRows = 100000;
constexpr const char* kHeaders[] = {"文件 file",          "行号 row",        "列 column",
                                    "值 value",           "级别 severity",   "代码 code",
                                    "原因 reason (中文)", "reason (English)"};

struct Sheet {
  lxw_worksheet* ws = nullptr;
  int64_t limit = kMaxSheetRows;
  int64_t next_row = 1;
  bool full = false;
};

}  // namespace

struct IssueReportWriter::Files {
  fs::path dir;
  ReportFiles out;
  fs::path csv_tmp, xlsx_tmp;
  std::unique_ptr<FILE, decltype(&fclose)> csv{nullptr, fclose};
  lxw_workbook* wb = nullptr;
  lxw_format* bold = nullptr;
  Sheet errors, warnings;
  std::string line;
  bool finished = false;
};

IssueReportWriter::IssueReportWriter(std::unique_ptr<Files> files) : f_(std::move(files)) {}

IssueReportWriter::~IssueReportWriter() {
  if (f_->finished) return;
  // Never finished: nothing half-written is left behind.
  if (f_->wb) workbook_close(f_->wb);
  f_->csv.reset();
  std::error_code ec;
  fs::remove(f_->csv_tmp, ec);
  fs::remove(f_->xlsx_tmp, ec);
}

Result<std::unique_ptr<IssueReportWriter>> IssueReportWriter::Create(const fs::path& dir,
                                                                     int64_t batch_id) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Err(InvalidArgument(fmt::format("cannot create {}: {}", dir.string(), ec.message())));
  auto f = std::make_unique<Files>();
  f->dir = dir;
  f->out.csv = dir / fmt::format("import-{}-issues.csv", batch_id);
  f->out.xlsx = dir / fmt::format("import-{}-issues.xlsx", batch_id);
  // The writer's pid in the temporary names: a report written again for the same batch by
  // another process never shares a file with this one, and a dead writer's leftovers are known.
  f->csv_tmp = fmt::format("{}.{}.part", f->out.csv.string(), getpid());
  f->xlsx_tmp = fmt::format("{}.{}.part", f->out.xlsx.string(), getpid());
  f->csv.reset(fopen(f->csv_tmp.c_str(), "wb"));
  if (!f->csv) return Err(InvalidArgument(fmt::format("cannot write {}", f->csv_tmp.string())));
  setvbuf(f->csv.get(), nullptr, _IOFBF, 1 << 20);  // a full-scale report is hundreds of MB
  std::string header = "\xEF\xBB\xBF";
  for (size_t i = 0; i < std::size(kHeaders); ++i)
    header += fmt::format("{}{}", i ? "," : "", kHeaders[i]);
  header += "\r\n";
  fputs(header.c_str(), f->csv.get());

  lxw_workbook_options wopts{};
  wopts.constant_memory = LXW_TRUE;
  f->wb = workbook_new_opt(f->xlsx_tmp.c_str(), &wopts);
  if (!f->wb) return Err(InvalidArgument(fmt::format("cannot write {}", f->xlsx_tmp.string())));
  f->bold = workbook_add_format(f->wb);
  format_set_bold(f->bold);
  f->errors = {workbook_add_worksheet(f->wb, "拒绝行 rejected")};
  f->warnings = {workbook_add_worksheet(f->wb, "警告 warnings"), kMaxWarningRows};
  for (Sheet* s : {&f->errors, &f->warnings}) {
    for (int c = 0; c < static_cast<int>(std::size(kHeaders)); ++c)
      worksheet_write_string(s->ws, 0, static_cast<lxw_col_t>(c), kHeaders[c], f->bold);
    worksheet_set_column(s->ws, 0, 0, 22, nullptr);
    worksheet_set_column(s->ws, 2, 3, 18, nullptr);
    worksheet_set_column(s->ws, 6, 7, 50, nullptr);
    worksheet_freeze_panes(s->ws, 1, 0);
  }
  return std::unique_ptr<IssueReportWriter>(new IssueReportWriter(std::move(f)));
}

namespace {

// The issue as the report shows it: what identifies a person masked, as in every output
// (core/mask.h). The value of an ID number column keeps its first 6 and last 4 characters and
// the value of a name column its first character; an ID number quoted in a reason is masked
// too. The row and column still locate the value in the sender's own file, and the store
// keeps it whole.
store::IssueRow Masked(const store::IssueRow& issue) {
  store::IssueRow shown = issue;
  // The data set as the importer finds it: by the file's stem, in any case (Members.csv).
  std::string stem = issue.file_name.substr(0, issue.file_name.find('.'));
  for (char& ch : stem)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (const DatasetSpec* dataset = FindDataset(stem)) {
    for (const FieldSpec& field : dataset->fields) {
      if (field.name != issue.column || !field.identity) continue;
      if (field.type == FieldType::kIdNumber) shown.value = MaskIdNumber(issue.value);
      if (field.type == FieldType::kText) shown.value = MaskName(issue.value);
    }
  }
  shown.value = MaskIdAndPhoneNumbersIn(shown.value);
  shown.message_zh = MaskIdAndPhoneNumbersIn(issue.message_zh);
  shown.message_en = MaskIdAndPhoneNumbersIn(issue.message_en);
  return shown;
}

}  // namespace

Status IssueReportWriter::Add(const store::IssueRow& issue) {
  Files& f = *f_;
  const store::IssueRow r = Masked(issue);
  std::string_view severity = r.is_error ? "error 拒绝" : "warning 警告";
  std::string row = r.row_number ? std::to_string(r.row_number) : "";
  f.line = fmt::format("{},{},{},{},{},{},{},{}\r\n", CsvQuote(r.file_name), row,
                       CsvQuote(r.column), CsvQuote(r.value), severity, r.code,
                       CsvQuote(r.message_zh), CsvQuote(r.message_en));
  if (fwrite(f.line.data(), 1, f.line.size(), f.csv.get()) != f.line.size())
    return InvalidArgument(fmt::format("write failed: {}", f.csv_tmp.string()));
  (r.is_error ? f.out.errors : f.out.warnings)++;
  Sheet& s = r.is_error ? f.errors : f.warnings;
  if (s.full) return OkStatus();
  auto y = static_cast<lxw_row_t>(s.next_row++);
  if (s.next_row == s.limit) {
    worksheet_write_string(s.ws, y, 0, "… 更多行见CSV报告 / more rows: see the CSV report", f.bold);
    s.full = true;
    return OkStatus();
  }
  worksheet_write_string(s.ws, y, 0, r.file_name.c_str(), nullptr);
  if (r.row_number) worksheet_write_number(s.ws, y, 1, static_cast<double>(r.row_number), nullptr);
  worksheet_write_string(s.ws, y, 2, r.column.c_str(), nullptr);
  worksheet_write_string(s.ws, y, 3, r.value.c_str(), nullptr);
  worksheet_write_string(s.ws, y, 4, std::string(severity).c_str(), nullptr);
  worksheet_write_string(s.ws, y, 5, r.code.c_str(), nullptr);
  worksheet_write_string(s.ws, y, 6, r.message_zh.c_str(), nullptr);
  worksheet_write_string(s.ws, y, 7, r.message_en.c_str(), nullptr);
  return OkStatus();
}

Result<ReportFiles> IssueReportWriter::Finish() {
  RETURN_IF_ERROR(Close());
  return Publish();
}

Status IssueReportWriter::Close() {
  Files& f = *f_;
  lxw_error closed = workbook_close(f.wb);
  f.wb = nullptr;
  bool csv_ok = fflush(f.csv.get()) == 0;
  f.csv.reset();
  if (closed != LXW_NO_ERROR || !csv_ok)
    return Err(InvalidArgument(
        fmt::format("writing the report in {} failed{}", f.dir.string(),
                    closed != LXW_NO_ERROR ? fmt::format(": {}", lxw_strerror(closed)) : "")));
  return OkStatus();
}

Result<ReportFiles> IssueReportWriter::Publish() {
  Files& f = *f_;
  std::error_code ec;
  fs::rename(f.csv_tmp, f.out.csv, ec);
  if (!ec) fs::rename(f.xlsx_tmp, f.out.xlsx, ec);
  if (ec) return Err(InvalidArgument(fmt::format("cannot finish the report: {}", ec.message())));
  f.finished = true;
  return f.out;
}

Result<ReportFiles> WriteIssueReport(store::Store& store, int64_t batch_id, const fs::path& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<IssueReportWriter> writer,
                   IssueReportWriter::Create(dir, batch_id));
  RETURN_IF_ERROR(
      store.ForEachIssue(batch_id, [&](const store::IssueRow& r) { return writer->Add(r); }));
  return writer->Finish();
}

namespace {

// True when batch `batch_id` has at least one stored issue.
Result<bool> HasIssues(store::Store& store, int64_t batch_id) {
  bool any = false;
  Status st = store.ForEachIssue(batch_id, [&](const store::IssueRow&) {
    any = true;
    return Status(StatusCode::kAlreadyExists, "stop");  // one is enough
  });
  if (!st.ok() && !any) return Err(st);
  return any;
}

}  // namespace

int RemoveStaleReportParts(const fs::path& dir) {
  static const std::regex kPart(R"(import-\d+-issues\.(csv|xlsx)\.(\d+)\.part)");
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, kPart)) continue;
    const long pid = std::strtol(m[2].str().c_str(), nullptr, 10);
    if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code remove_ec;
      if (fs::remove(entry.path(), remove_ec)) ++removed;
    }
  }
  return removed;
}

Result<std::optional<ReportFiles>> RestoreMissingReport(store::Store& store, const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) RemoveStaleReportParts(dir);
  ASSIGN_OR_RETURN(int64_t batch_id, store.LatestBatchId());
  if (batch_id == 0) return std::nullopt;
  const fs::path csv = dir / fmt::format("import-{}-issues.csv", batch_id);
  const fs::path xlsx = dir / fmt::format("import-{}-issues.xlsx", batch_id);
  if (fs::exists(csv, ec) && fs::exists(xlsx, ec)) return std::nullopt;
  ASSIGN_OR_RETURN(bool any, HasIssues(store, batch_id));
  if (!any) return std::nullopt;
  ASSIGN_OR_RETURN(ReportFiles files, WriteIssueReport(store, batch_id, dir));
  return files;
}

}  // namespace fupin::exchange
