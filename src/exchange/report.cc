#include "exchange/report.h"

#include <fmt/format.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <memory>

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

std::string CsvQuote(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct Sheet {
  lxw_worksheet* ws = nullptr;
  int64_t limit = kMaxSheetRows;
  int64_t next_row = 1;
  bool full = false;
};

}  // namespace

Result<ReportFiles> WriteIssueReport(store::Store& store, int64_t batch_id, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Err(InvalidArgument(fmt::format("cannot create {}: {}", dir.string(), ec.message())));
  ReportFiles out;
  out.csv = dir / fmt::format("import-{}-issues.csv", batch_id);
  out.xlsx = dir / fmt::format("import-{}-issues.xlsx", batch_id);
  fs::path csv_tmp = out.csv.string() + ".part", xlsx_tmp = out.xlsx.string() + ".part";

  std::unique_ptr<FILE, decltype(&fclose)> csv(fopen(csv_tmp.c_str(), "wb"), fclose);
  if (!csv) return Err(InvalidArgument(fmt::format("cannot write {}", csv_tmp.string())));
  std::string line = "\xEF\xBB\xBF";
  for (size_t i = 0; i < std::size(kHeaders); ++i)
    line += fmt::format("{}{}", i ? "," : "", kHeaders[i]);
  line += "\r\n";
  fputs(line.c_str(), csv.get());

  lxw_workbook_options wopts{};
  wopts.constant_memory = LXW_TRUE;
  lxw_workbook* wb = workbook_new_opt(xlsx_tmp.c_str(), &wopts);
  if (!wb) return Err(InvalidArgument(fmt::format("cannot write {}", xlsx_tmp.string())));
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  Sheet errors{workbook_add_worksheet(wb, "拒绝行 rejected")};
  Sheet warnings{workbook_add_worksheet(wb, "警告 warnings"), kMaxWarningRows};
  for (Sheet* s : {&errors, &warnings}) {
    for (int c = 0; c < static_cast<int>(std::size(kHeaders)); ++c)
      worksheet_write_string(s->ws, 0, static_cast<lxw_col_t>(c), kHeaders[c], bold);
    worksheet_set_column(s->ws, 0, 0, 22, nullptr);
    worksheet_set_column(s->ws, 2, 3, 18, nullptr);
    worksheet_set_column(s->ws, 6, 7, 50, nullptr);
    worksheet_freeze_panes(s->ws, 1, 0);
  }

  Status st = store.ForEachIssue(batch_id, [&](const store::IssueRow& r) -> Status {
    std::string severity = r.is_error ? "error 拒绝" : "warning 警告";
    std::string row = r.row_number ? std::to_string(r.row_number) : "";
    line = fmt::format("{},{},{},{},{},{},{},{}\r\n", CsvQuote(r.file_name), row,
                       CsvQuote(r.column), CsvQuote(r.value), severity, r.code,
                       CsvQuote(r.message_zh), CsvQuote(r.message_en));
    if (fwrite(line.data(), 1, line.size(), csv.get()) != line.size())
      return InvalidArgument(fmt::format("write failed: {}", csv_tmp.string()));
    (r.is_error ? out.errors : out.warnings)++;
    Sheet& s = r.is_error ? errors : warnings;
    if (s.full) return OkStatus();
    auto y = static_cast<lxw_row_t>(s.next_row++);
    if (s.next_row == s.limit) {
      worksheet_write_string(s.ws, y, 0,
                             "… 更多行见CSV报告 / more rows: see the CSV report", bold);
      s.full = true;
      return OkStatus();
    }
    worksheet_write_string(s.ws, y, 0, r.file_name.c_str(), nullptr);
    if (r.row_number)
      worksheet_write_number(s.ws, y, 1, static_cast<double>(r.row_number), nullptr);
    worksheet_write_string(s.ws, y, 2, r.column.c_str(), nullptr);
    worksheet_write_string(s.ws, y, 3, r.value.c_str(), nullptr);
    worksheet_write_string(s.ws, y, 4, severity.c_str(), nullptr);
    worksheet_write_string(s.ws, y, 5, r.code.c_str(), nullptr);
    worksheet_write_string(s.ws, y, 6, r.message_zh.c_str(), nullptr);
    worksheet_write_string(s.ws, y, 7, r.message_en.c_str(), nullptr);
    return OkStatus();
  });
  lxw_error closed = workbook_close(wb);
  bool csv_ok = fflush(csv.get()) == 0;
  csv.reset();
  if (!st.ok() || closed != LXW_NO_ERROR || !csv_ok) {
    fs::remove(csv_tmp, ec);
    fs::remove(xlsx_tmp, ec);
    if (!st.ok()) return Err(st);
    return Err(InvalidArgument(
        fmt::format("writing the report in {} failed{}", dir.string(),
                    closed != LXW_NO_ERROR ? fmt::format(": {}", lxw_strerror(closed)) : "")));
  }
  fs::rename(csv_tmp, out.csv, ec);
  if (!ec) fs::rename(xlsx_tmp, out.xlsx, ec);
  if (ec) return Err(InvalidArgument(fmt::format("cannot finish the report: {}", ec.message())));
  return out;
}

}  // namespace fupin::exchange
