// Whole exchange batches through exchange::ImportPath into a real SQLite file, one fresh
// temporary directory per test: every kind of bad input the foundation issue lists, each
// asserting what was stored, what was rejected and what the store's issues say.
#include "exchange/import.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/id_number.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin::exchange {
namespace {

namespace fs = std::filesystem;
using store::IssueRow;
using test::Csv;
using test::CsvLine;
using test::Household;
using test::kCounty;
using test::kVillage;
using test::MakeId;
using test::Member;
using test::Row;

std::string Describe(const std::vector<IssueRow>& issues) {
  std::string out;
  for (const IssueRow& i : issues)
    out += fmt::format("  {} row {} [{}] {}='{}' {}: {}\n", i.file_name, i.row_number,
                       i.is_error ? "error" : "warning", i.column, i.value, i.code, i.message_en);
  return out;
}

// A department row of a distinct person (sequence `seq`, born 1980-01-01 in kCounty).
Row Person(int seq, Row extra = {}) {
  std::string id = MakeId(kCounty, "19800101", seq);
  extra.emplace("id_number", id);
  extra.emplace("sex", seq % 2 ? "1" : "2");
  return extra;
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    batch_ = dir_ / "batch";
    fs::create_directories(batch_);
    auto opened = store::OpenSqliteStore(db_);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    store_ = std::move(*opened);
  }

  // Writes a file into the batch folder (or `dir`).
  void Put(std::string_view name, std::string_view bytes, const fs::path& dir = {}) {
    test::WriteFile((dir.empty() ? batch_ : dir) / name, bytes);
  }

  // Imports `path` (default: the batch folder); a failure to run fails the test.
  ImportSummary Import(const fs::path& path = {}) {
    auto summary = ImportPath(*store_, path.empty() ? batch_ : path, {});
    if (!summary) {
      ADD_FAILURE() << "ImportPath failed: " << summary.error().ToString();
      return {};
    }
    return *summary;
  }

  static const FileSummary& FileOf(const ImportSummary& s, std::string_view name) {
    for (const FileSummary& f : s.files)
      if (f.file_name == name) return f;
    ADD_FAILURE() << "no file " << name << " in the summary";
    static const FileSummary kNone;
    return kNone;
  }

  std::vector<IssueRow> IssuesOf(int64_t batch_id) { return test::Issues(*store_, batch_id); }

  // The issues of a batch with a given code.
  std::vector<IssueRow> WithCode(int64_t batch_id, std::string_view code) {
    std::vector<IssueRow> out;
    for (const IssueRow& i : IssuesOf(batch_id))
      if (i.code == code) out.push_back(i);
    return out;
  }

  int64_t Rows(std::string_view table) {
    return test::QueryInt(db_, fmt::format("SELECT count(*) FROM {}", table));
  }
  std::vector<std::vector<std::string>> Sql(const std::string& sql) {
    return test::Query(db_, sql);
  }
  std::string One(const std::string& sql) {
    auto rows = Sql(sql);
    if (rows.empty() || rows[0].empty()) return "<no row>";
    return rows[0][0];
  }

  test::TempDir dir_;
  fs::path db_;
  fs::path batch_;
  std::unique_ptr<store::Store> store_;
};

// The households of a CSV text with one column left out of header and rows.
std::string HouseholdsWithout(std::string_view column, const std::vector<Row>& rows) {
  std::vector<std::string> header;
  for (const std::string& c : test::Columns("households"))
    if (c != column) header.push_back(c);
  std::string out = CsvLine(header);
  for (const Row& r : rows) {
    Row full = test::DefaultRow("households");
    for (const auto& [k, v] : r) full[k] = v;
    std::vector<std::string> cells;
    for (const std::string& c : header) cells.push_back(full[c]);
    out += CsvLine(cells);
  }
  return out;
}

TEST_F(ImportTest, MissingRequiredColumnFailsThatFileOnly) {
  Put("households.csv", HouseholdsWithout("village_code", {Household("H1"), Household("H2")}));
  Put("civil_dibao.csv", Csv("civil_dibao", {Person(1), Person(2)}));

  ImportSummary s = Import();
  EXPECT_GT(s.batch_id, 0);
  EXPECT_EQ(s.files_failed, 1);
  const FileSummary& households = FileOf(s, "households.csv");
  EXPECT_EQ(households.outcome.outcome, "failed");
  EXPECT_NE(households.outcome.message.find("village_code"), std::string::npos)
      << households.outcome.message;
  EXPECT_EQ(households.outcome.rows_imported, 0);

  auto failed = WithCode(s.batch_id, "file_failed");
  ASSERT_EQ(failed.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(failed[0].file_name, "households.csv");
  EXPECT_EQ(failed[0].row_number, 0);
  EXPECT_TRUE(failed[0].is_error);
  EXPECT_NE(failed[0].message_en.find("village_code"), std::string::npos);
  EXPECT_NE(failed[0].message_zh.find("村代码"), std::string::npos);

  const FileSummary& dibao = FileOf(s, "civil_dibao.csv");
  EXPECT_EQ(dibao.outcome.outcome, "imported");
  EXPECT_EQ(dibao.outcome.rows_imported, 2);
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(Rows("households"), 0);
  EXPECT_EQ(Rows("dept_civil_dibao"), 2);
}

TEST_F(ImportTest, UnknownCodeRejectsThatRowOnly) {
  Row bad = Household("H2");
  bad["category"] = "7";
  Put("households.csv", Csv("households", {Household("H1"), bad, Household("H3")}));

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_read, 3);
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 1);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].file_name, "households.csv");
  EXPECT_EQ(issues[0].row_number, 2);
  EXPECT_EQ(issues[0].column, "category");
  EXPECT_EQ(issues[0].value, "7");
  EXPECT_EQ(issues[0].code, "unknown_code");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_EQ(Sql("SELECT household_id, source_row FROM households ORDER BY household_id"),
            (std::vector<std::vector<std::string>>{{"H1", "1"}, {"H3", "3"}}));
}

TEST_F(ImportTest, UnknownCodeInIdentityColumnIsWarningAndKeepsRaw) {
  Put("households.csv", Csv("households", {Household("H1")}));
  Row member = Member(MakeId(kCounty, "19900101", 31), "H1");
  member["sex"] = "3";
  Put("members.csv", Csv("members", {member}));

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 0);
  auto issues = WithCode(s.batch_id, "unknown_code");
  ASSERT_EQ(issues.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_FALSE(issues[0].is_error);
  EXPECT_EQ(issues[0].column, "sex");
  EXPECT_EQ(Sql("SELECT sex, sex_raw FROM members"),
            (std::vector<std::vector<std::string>>{{"NULL", "3"}}));
}

TEST_F(ImportTest, BadIdCheckCharIsWarningAndRowKept) {
  std::string bad = test::WithBadCheckChar(MakeId(kCounty, "19900101", 31));
  std::string good = MakeId(kCounty, "19920202", 42);
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv", Csv("members", {Member(bad, "H1"), Member(good, "H1", "李四")}));

  ImportSummary s = Import();
  const FileSummary& members = FileOf(s, "members.csv");
  EXPECT_EQ(members.outcome.rows_imported, 2);
  EXPECT_EQ(members.outcome.rows_rejected, 0);
  EXPECT_EQ(members.outcome.warnings, 1);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].file_name, "members.csv");
  EXPECT_EQ(issues[0].row_number, 1);
  EXPECT_EQ(issues[0].column, "id_number");
  EXPECT_EQ(issues[0].value, bad);
  EXPECT_EQ(issues[0].code, "id_bad_check_char");
  EXPECT_FALSE(issues[0].is_error);
  EXPECT_EQ(Sql("SELECT id_number, id_number_problem, source_row FROM members ORDER BY source_row"),
            (std::vector<std::vector<std::string>>{
                {bad, std::to_string(static_cast<int>(IdProblem::kBadCheckChar)), "1"},
                {good, std::to_string(static_cast<int>(IdProblem::kNone)), "2"}}));
}

TEST_F(ImportTest, FifteenDigitIdIsWarningAndStoredAs18) {
  std::string old15 = "520102800101123";
  std::string wide = MakeId(kCounty, "19800101", 123);
  Put("households.csv", Csv("households", {Household("H1", old15)}));
  Put("members.csv", Csv("members", {Member(old15, "H1")}));

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 0);
  EXPECT_EQ(s.warnings, 2);
  auto converted = WithCode(s.batch_id, "id_15_converted");
  ASSERT_EQ(converted.size(), 2u) << Describe(IssuesOf(s.batch_id));
  for (const IssueRow& i : converted) {
    EXPECT_FALSE(i.is_error);
    EXPECT_EQ(i.row_number, 1);
    EXPECT_EQ(i.value, old15);
    EXPECT_NE(i.message_en.find(wide), std::string::npos) << i.message_en;
  }
  EXPECT_EQ(Sql("SELECT id_number, id_number_raw FROM members"),
            (std::vector<std::vector<std::string>>{{wide, old15}}));
  EXPECT_EQ(Sql("SELECT head_id_number, head_id_number_raw FROM households"),
            (std::vector<std::vector<std::string>>{{wide, old15}}));
}

TEST_F(ImportTest, DirtyIdentityIsWarningButMissingMemberKeyIsRejected) {
  // A number whose check character is X, written with a lower-case x.
  std::string with_x;
  for (int seq = 1; with_x.empty() || with_x.back() != 'X'; ++seq)
    with_x = MakeId(kCounty, "19750505", seq);
  std::string lower = with_x;
  lower.back() = 'x';
  // Full-width digits and a space, as typed with a Chinese input method.
  std::string other = MakeId(kCounty, "19800808", 88);
  std::string typed = "５２０１０２ " + other.substr(6);
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv",
      Csv("members", {Member(lower, "H1"), Member(typed, "H1", "李四"), Member("", "H1", "王五")}));
  Put("deaths.csv", Csv("deaths", {Person(5, {{"id_number", ""}}), Person(6)}));

  ImportSummary s = Import();
  const FileSummary& members = FileOf(s, "members.csv");
  EXPECT_EQ(members.outcome.rows_imported, 2);
  EXPECT_EQ(members.outcome.rows_rejected, 1);
  EXPECT_EQ(Sql("SELECT id_number, id_number_raw FROM members ORDER BY source_row"),
            (std::vector<std::vector<std::string>>{{with_x, lower}, {other, typed}}));
  auto cleaned = WithCode(s.batch_id, "id_cleaned");
  ASSERT_EQ(cleaned.size(), 2u) << Describe(IssuesOf(s.batch_id));
  EXPECT_FALSE(cleaned[0].is_error);
  EXPECT_FALSE(cleaned[1].is_error);
  auto missing = WithCode(s.batch_id, "missing_key");
  ASSERT_EQ(missing.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_TRUE(missing[0].is_error);
  EXPECT_EQ(missing[0].row_number, 3);
  EXPECT_EQ(missing[0].column, "id_number");

  // A department row without an ID number is kept: linkage uses name, sex, birth date, region.
  const FileSummary& deaths = FileOf(s, "deaths.csv");
  EXPECT_EQ(deaths.outcome.rows_imported, 2);
  auto empty = WithCode(s.batch_id, "id_empty");
  ASSERT_EQ(empty.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_FALSE(empty[0].is_error);
  EXPECT_EQ(Rows("dept_deaths"), 2);
}

TEST_F(ImportTest, DuplicateHouseholdIdSecondRejectedFirstKept) {
  Row first = Household("H1");
  first["members"] = "3";
  Row again = Household("H1");
  again["members"] = "5";
  Put("households.csv", Csv("households", {first, Household("H2"), again}));

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 1);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].row_number, 3);
  EXPECT_EQ(issues[0].code, "duplicate_key");
  EXPECT_EQ(issues[0].column, "household_id");
  EXPECT_EQ(issues[0].value, "H1");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_NE(issues[0].message_en.find("row 1"), std::string::npos) << issues[0].message_en;
  EXPECT_EQ(Sql("SELECT household_id, members, source_row FROM households ORDER BY 1"),
            (std::vector<std::vector<std::string>>{{"H1", "3", "1"}, {"H2", "3", "2"}}));
}

// Keys are checked a chunk (2,048 rows) at a time, after the chunk is validated: a duplicate
// far from its first row, in a later chunk, is still found, and the first row is kept.
TEST_F(ImportTest, DuplicateInALaterChunkIsFound) {
  std::vector<Row> rows;
  for (int i = 1; i <= 5000; ++i) rows.push_back(Household(fmt::format("H{}", i)));
  rows[4499] = Household("H7");  // row 4500 repeats row 7's key
  Put("households.csv", Csv("households", rows));
  ImportSummary s = Import();
  const FileSummary& households = FileOf(s, "households.csv");
  EXPECT_EQ(households.outcome.rows_imported, 4999);
  EXPECT_EQ(households.outcome.rows_rejected, 1);
  auto dup = WithCode(s.batch_id, "duplicate_key");
  ASSERT_EQ(dup.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(dup[0].row_number, 4500);
  EXPECT_NE(dup[0].message_en.find("row 7"), std::string::npos) << dup[0].message_en;
  EXPECT_EQ(Sql("SELECT source_row FROM households WHERE household_id = 'H7'"),
            (std::vector<std::vector<std::string>>{{"7"}}));
}

TEST_F(ImportTest, MemberWhoseHouseholdIsMissingRejected) {
  Row unknown_village = Household("H2");
  unknown_village["village_code"] = "520102016999";
  Put("households.csv", Csv("households", {Household("H1"), unknown_village}));
  Put("members.csv", Csv("members", {Member(MakeId(kCounty, "19900101", 1), "H1"),
                                     Member(MakeId(kCounty, "19900101", 3), "H9"),
                                     Member(MakeId(kCounty, "19900101", 5), "H2")}));

  ImportSummary s = Import();
  const FileSummary& households = FileOf(s, "households.csv");
  EXPECT_EQ(households.outcome.rows_imported, 1);
  EXPECT_EQ(households.outcome.rows_rejected, 1);
  const FileSummary& members = FileOf(s, "members.csv");
  EXPECT_EQ(members.outcome.rows_imported, 1);
  EXPECT_EQ(members.outcome.rows_rejected, 2);

  auto region = WithCode(s.batch_id, "unknown_region");
  ASSERT_EQ(region.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(region[0].column, "village_code");
  EXPECT_EQ(region[0].value, "520102016999");
  auto missing = WithCode(s.batch_id, "household_missing");
  ASSERT_EQ(missing.size(), 2u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(missing[0].file_name, "members.csv");
  EXPECT_EQ(missing[0].row_number, 2);
  EXPECT_EQ(missing[0].column, "household_id");
  EXPECT_EQ(missing[0].value, "H9");
  EXPECT_TRUE(missing[0].is_error);
  EXPECT_EQ(missing[1].row_number, 3);
  EXPECT_EQ(missing[1].value, "H2");
  EXPECT_EQ(Sql("SELECT household_id, source_row FROM members"),
            (std::vector<std::vector<std::string>>{{"H1", "1"}}));
}

TEST_F(ImportTest, FileCutOffOutsideQuotesRejectsTheShortRow) {
  std::string text = Csv("households", {Household("H1"), Household("H2")});
  text += fmt::format("H3,{},{}", kVillage, MakeId(kCounty, "19700101", 11).substr(0, 9));
  Put("households.csv", text);

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 1);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].row_number, 3);
  EXPECT_EQ(issues[0].code, "short_row");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_EQ(Rows("households"), 2);
}

TEST_F(ImportTest, FileCutOffInsideOpenQuoteKeepsRowsBeforeIt) {
  std::string text = Csv("households", {Household("H1"), Household("H2")});
  // Row 3 opens a quote in its last field that is never closed: the rest of the file (rows
  // 4 and 5 included) is inside it.
  std::string row3 = CsvLine({"H3", std::string(kVillage)});
  row3.pop_back();
  text += row3 + ",\"unfinished\n" + Csv("households", {Household("H4"), Household("H5")});
  Put("households.csv", text);

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "households.csv");
  EXPECT_EQ(f.outcome.outcome, "imported");
  EXPECT_EQ(f.outcome.rows_imported, 2);
  EXPECT_EQ(f.outcome.rows_rejected, 1);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].row_number, 3);
  EXPECT_EQ(issues[0].code, "unreadable_rest");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_NE(issues[0].message_en.find("quote"), std::string::npos) << issues[0].message_en;
  EXPECT_EQ(Sql("SELECT household_id FROM households ORDER BY 1"),
            (std::vector<std::vector<std::string>>{{"H1"}, {"H2"}}));
}

TEST_F(ImportTest, QuotedFieldWithNewlineKeptIntact) {
  const std::string cadre = "第一帮扶组, \"老李\"\n第二行";
  Row h1 = Household("H1");
  h1["cadre_id"] = cadre;
  Put("households.csv", Csv("households", {h1, Household("H2")}));

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 0);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(One("SELECT cadre_id FROM households WHERE household_id = 'H1'"), cadre);
  // Row numbers count data rows, not physical lines.
  EXPECT_EQ(One("SELECT source_row FROM households WHERE household_id = 'H2'"), "2");
}

TEST_F(ImportTest, CrlfLineEndsAndUtf8BomImport) {
  std::string text = "\xEF\xBB\xBF" + Csv("households", {Household("H1"), Household("H2")});
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  Put("households.csv", crlf);

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(One("SELECT cadre_id FROM households WHERE household_id = 'H2'"), "C001");
}

TEST_F(ImportTest, Gb18030FileStoredAsUtf8) {
  const std::vector<std::string> names = {"张三", "欧阳娜娜", "阿依古丽·买买提", "李㐀"};
  std::vector<Row> members;
  for (size_t i = 0; i < names.size(); ++i)
    members.push_back(
        Member(MakeId(kCounty, "19900101", static_cast<int>(2 * i + 1)), "H1", names[i]));
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv", test::Utf8ToGb18030(Csv("members", members, /*chinese_header=*/true)));

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.csv");
  EXPECT_EQ(f.encoding, "GB18030");
  EXPECT_EQ(f.outcome.rows_imported, 4);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(One("SELECT encoding FROM batch_files WHERE file_name = 'members.csv'"), "GB18030");
  std::vector<std::vector<std::string>> expected;
  for (const std::string& n : names) expected.push_back({n});
  EXPECT_EQ(Sql("SELECT name FROM members ORDER BY source_row"), expected);
}

TEST_F(ImportTest, ChineseHeadersAndCodeLabelsAccepted) {
  Row h1 = Household("H1");
  h1["category"] = "低保贫困户";
  h1["primary_cause"] = "因病";
  std::string text = Csv("households", {h1, Household("H2")}, /*chinese_header=*/true);
  // Excel users type full-width brackets; the header must still match.
  size_t at = text.find("距主干路距离(公里)");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("距主干路距离(公里)").size(), "距主干路距离（公里）");
  Put("households.csv", text);

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 0);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(Sql("SELECT village_code, category, primary_cause, other_causes, road_km, "
                "income_wage_fen, income_business_fen FROM households WHERE household_id = 'H1'"),
            (std::vector<std::vector<std::string>>{
                {std::string(kVillage), "2", "1", "7;9", "1.2", "800000", "120050"}}));
}

// Writes a workbook whose first sheet holds `header` and `rows`; a cell whose value parses
// as a number is written as a number when its column is in `numeric_columns`.
void WriteXlsx(const fs::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows,
               const std::set<std::string>& numeric_columns) {
  lxw_workbook* wb = workbook_new(path.c_str());
  ASSERT_NE(wb, nullptr);
  lxw_worksheet* ws = workbook_add_worksheet(wb, nullptr);
  for (size_t c = 0; c < header.size(); ++c)
    worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), header[c].c_str(), nullptr);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& v = rows[r][c];
      auto row = static_cast<lxw_row_t>(r + 1);
      auto col = static_cast<lxw_col_t>(c);
      if (v.empty()) continue;
      if (numeric_columns.contains(header[c]))
        worksheet_write_number(ws, row, col, std::stod(v), nullptr);
      else
        worksheet_write_string(ws, row, col, v.c_str(), nullptr);
    }
  }
  ASSERT_EQ(workbook_close(wb), LXW_NO_ERROR);
}

// The cells of `rows` in the column order of `dataset`, defaults filled in.
std::vector<std::vector<std::string>> Cells(std::string_view dataset,
                                            const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const Row& r : rows) {
    Row full = test::DefaultRow(dataset);
    for (const auto& [k, v] : r) full[k] = v;
    std::vector<std::string> cells;
    for (const std::string& c : test::Columns(dataset)) cells.push_back(full[c]);
    out.push_back(std::move(cells));
  }
  return out;
}

TEST_F(ImportTest, XlsxIdStoredAsNumberRejectedIdAsTextImports) {
  std::string id1 = MakeId(kCounty, "19900101", 1), id2 = MakeId(kCounty, "19900101", 3);
  Put("households.csv", Csv("households", {Household("H1")}));
  lxw_workbook* wb = workbook_new((batch_ / "members.xlsx").c_str());
  ASSERT_NE(wb, nullptr);
  lxw_worksheet* ws = workbook_add_worksheet(wb, nullptr);
  lxw_format* date_format = workbook_add_format(wb);
  format_set_num_format(date_format, "yyyy-mm-dd");
  const auto& columns = test::Columns("members");
  auto cells = Cells("members", {Member(id1, "H1"), Member(id2, "H1", "李四")});
  for (size_t c = 0; c < columns.size(); ++c) {
    auto col = static_cast<lxw_col_t>(c);
    worksheet_write_string(ws, 0, col, columns[c].c_str(), nullptr);
    for (size_t r = 0; r < cells.size(); ++r) {
      auto row = static_cast<lxw_row_t>(r + 1);
      if (columns[c] == "id_number" && r == 0) {
        worksheet_write_number(ws, row, col, std::stod(cells[r][c]), nullptr);  // as Excel does
      } else if (columns[c] == "birth_date" && r == 1) {
        lxw_datetime birth = {1990, 1, 1, 0, 0, 0};  // a real Excel date cell
        worksheet_write_datetime(ws, row, col, &birth, date_format);
      } else
        worksheet_write_string(ws, row, col, cells[r][c].c_str(), nullptr);
    }
  }
  ASSERT_EQ(workbook_close(wb), LXW_NO_ERROR);

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.xlsx");
  EXPECT_EQ(f.encoding, "XLSX");
  EXPECT_EQ(f.outcome.rows_imported, 1);
  EXPECT_EQ(f.outcome.rows_rejected, 1);
  auto issues = WithCode(s.batch_id, "id_stored_as_number");
  ASSERT_EQ(issues.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(issues[0].file_name, "members.xlsx");
  EXPECT_EQ(issues[0].row_number, 1);
  EXPECT_EQ(issues[0].column, "id_number");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_EQ(Sql("SELECT id_number, name, birth_date FROM members"),
            (std::vector<std::vector<std::string>>{{id2, "李四", "1990-01-01"}}));
}

TEST_F(ImportTest, XlsxHouseholdsImportLikeCsv) {
  Row h2 = Household("H2", MakeId(kCounty, "19650303", 55), std::string(test::kVillage2));
  h2["status"] = "2";
  h2["exit_year"] = "2018";
  h2["income_transfer"] = "0.1";
  std::vector<Row> rows = {Household("H1"), h2, Household("H3")};
  Put("households.csv", Csv("households", rows));
  fs::path xlsx_batch = dir_ / "xlsx";
  fs::create_directories(xlsx_batch);
  // What a cadre's sheet holds: numbers as numbers (a 12-digit village code too), IDs as text.
  WriteXlsx(xlsx_batch / "households.xlsx", test::Columns("households"), Cells("households", rows),
            {"village_code", "category",        "primary_cause",   "registered_year", "status",
             "exit_year",    "members",         "housing_area_m2", "housing_safe",    "water_safe",
             "electricity",  "road_km",         "arable_land_mu",  "forest_land_mu",  "income_year",
             "income_wage",  "income_business", "income_property", "income_transfer", "lat",
             "lon"});

  ImportSummary from_csv = Import();
  test::TempDir other;
  auto xlsx_store = store::OpenSqliteStore(other / "xlsx.db");
  ASSERT_TRUE(xlsx_store.has_value()) << xlsx_store.error().ToString();
  auto from_xlsx = ImportPath(**xlsx_store, xlsx_batch, {});
  ASSERT_TRUE(from_xlsx.has_value()) << from_xlsx.error().ToString();

  EXPECT_EQ(from_csv.rows_imported, 3);
  EXPECT_EQ(from_xlsx->rows_imported, 3);
  EXPECT_EQ(from_xlsx->rows_rejected, 0);
  EXPECT_EQ(FileOf(*from_xlsx, "households.xlsx").encoding, "XLSX");
  auto xlsx_issues = test::Issues(**xlsx_store, from_xlsx->batch_id);
  EXPECT_TRUE(xlsx_issues.empty()) << Describe(xlsx_issues);

  std::string columns;
  for (const auto& row : Sql("SELECT name FROM pragma_table_info('households')"))
    if (row[0] != "file_id") columns += (columns.empty() ? "" : ", ") + row[0];
  std::string select = fmt::format("SELECT {} FROM households ORDER BY household_id", columns);
  auto csv_rows = Sql(select);
  ASSERT_EQ(csv_rows.size(), 3u);
  EXPECT_EQ(test::Query(other / "xlsx.db", select), csv_rows);
}

TEST_F(ImportTest, XlsxRowWithEmptyTrailingCellsImports) {
  // Excel writes no cell for an empty one, so a row whose last columns are empty is shorter
  // than the header. That is not a cut-off row.
  Row h1 = Household("H1");
  h1["cadre_id"] = "";
  h1["lon"] = "";
  std::vector<Row> rows = {h1, Household("H2")};
  WriteXlsx(batch_ / "households.xlsx", test::Columns("households"), Cells("households", rows), {});

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "households.xlsx");
  EXPECT_EQ(f.outcome.rows_imported, 2);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(
      Sql("SELECT household_id, lon, cadre_id FROM households ORDER BY 1"),
      (std::vector<std::vector<std::string>>{{"H1", "NULL", "NULL"}, {"H2", "106.71", "C001"}}));
}

TEST_F(ImportTest, XlsxFifteenDigitIdStoredAsNumberKeepsItsDigits) {
  // Excel holds 15 significant digits exactly: an old 15-digit ID typed as a number is intact
  // and imports like the text (with the 15-to-18 warning); only longer numbers lose digits.
  std::string old15 = "520102800101123";
  Put("households.csv", Csv("households", {Household("H1")}));
  WriteXlsx(batch_ / "members.xlsx", test::Columns("members"),
            Cells("members", {Member(old15, "H1")}), {"id_number"});

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.xlsx");
  EXPECT_EQ(f.outcome.rows_imported, 1);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  EXPECT_EQ(WithCode(s.batch_id, "id_15_converted").size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(One("SELECT id_number FROM members"), MakeId(kCounty, "19800101", 123));
}

TEST_F(ImportTest, LongRowWithExtraValuesIsReported) {
  // An unquoted comma in the last column shifts nothing but pushes a value past the header:
  // "C0,01" must not be stored silently as "C0".
  std::string text = Csv("households", {Household("H1")});
  std::string h2 = Csv("households", {Household("H2")});
  h2 = h2.substr(h2.find('\n') + 1);
  h2.insert(h2.size() - 1, ",01");
  text += h2;
  // Trailing empty cells, as spreadsheets export them, are harmless.
  std::string h3 = Csv("households", {Household("H3")});
  h3 = h3.substr(h3.find('\n') + 1);
  h3.insert(h3.size() - 1, ",,");
  text += h3;
  Put("households.csv", text);

  ImportSummary s = Import();
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].row_number, 2);
  EXPECT_EQ(issues[0].code, "long_row");
  EXPECT_TRUE(issues[0].is_error);
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.rows_rejected, 1);
  EXPECT_EQ(Sql("SELECT household_id FROM households ORDER BY 1"),
            (std::vector<std::vector<std::string>>{{"H1"}, {"H3"}}));
}

TEST_F(ImportTest, Utf8FileWithOneGbkRowRejectsOnlyThatRow) {
  // A UTF-8 file into which one name was pasted in GBK: the file is UTF-8, that row is bad.
  std::vector<Row> members;
  for (int i = 0; i < 20; ++i)
    members.push_back(
        Member(MakeId(kCounty, "19900101", 2 * i + 1), "H1", i % 2 ? "张三" : "李四"));
  std::string text = Csv("members", members);
  text += CsvLine({MakeId(kCounty, "19910101", 1), "H1", test::Utf8ToGb18030("王五")});
  text.pop_back();
  text += std::string(",1,1991-01-01,3,01,3,0,1,1,0,0,1,1\n");
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv", text);

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.csv");
  EXPECT_EQ(f.encoding, "UTF-8");
  EXPECT_EQ(f.outcome.rows_imported, 20);
  EXPECT_EQ(f.outcome.rows_rejected, 1);
  // Never mojibake: the good rows' names are stored as written.
  EXPECT_EQ(One("SELECT name FROM members WHERE source_row = 1"), "李四");
  EXPECT_EQ(One("SELECT count(*) FROM members WHERE name NOT IN ('张三', '李四')"), "0");
  auto bad = WithCode(s.batch_id, "bad_encoding");
  ASSERT_EQ(bad.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(bad[0].row_number, 21);
  EXPECT_EQ(bad[0].column, "name");
}

TEST_F(ImportTest, Gb18030AfterLongAsciiPrefixIsConverted) {
  // The first 64 KiB hold no Chinese text at all (names not filled in); later rows do.
  std::vector<Row> members;
  for (int i = 0; i < 1400; ++i)
    members.push_back(
        Member(MakeId(kCounty, i < 1000 ? "19900101" : "19900102", i % 1000), "H1", ""));
  for (int i = 0; i < 10; ++i)
    members.push_back(Member(MakeId(kCounty, "19910101", i), "H1", "欧阳娜娜"));
  std::string text = Csv("members", members);
  ASSERT_GT(text.find("欧阳娜娜"), 64u * 1024);
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv", test::Utf8ToGb18030(text));

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.csv");
  EXPECT_EQ(f.outcome.rows_imported, 1410);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  EXPECT_TRUE(WithCode(s.batch_id, "bad_encoding").empty()) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(One("SELECT count(*) FROM members WHERE name = '欧阳娜娜'"), "10");
}

TEST_F(ImportTest, Gb18030BadByteRightAfterAChunkEndingInCrIsReported) {
  // CRLF lines; the reader's first chunk is the 64 KiB encoding sample (kSniff in
  // csv_reader.cc) and here it ends between a CR and its LF. A byte that is not GB18030
  // follows in the next chunk: reading must stop there with an error, not end quietly as if
  // the file ended there.
  constexpr size_t kSample = 64 * 1024;
  std::string header = CsvLine(test::Columns("members"));
  auto line = [](int i, std::string_view name) {
    std::string l = CsvLine(
        {MakeId(kCounty, "19900101", i % 1000), "H" + std::to_string(i / 1000), std::string(name)});
    l.pop_back();
    return l + ",1,1990-01-01,3,01,3,0,1,1,0,0,1,1\r\n";
  };
  std::string gb = test::Utf8ToGb18030(header.substr(0, header.size() - 1) + "\r\n");
  int i = 0;
  for (std::string next;
       gb.size() + 2 * (next = test::Utf8ToGb18030(line(i, "张三"))).size() < kSample; ++i)
    gb += next;
  // Pad the name of one more row with spaces (trimmed on import) so that its CR is the last
  // byte of the sample.
  std::string pad_row = test::Utf8ToGb18030(line(i, "张三"));
  size_t missing = kSample - gb.size() - pad_row.size() + 1;  // +1: the LF goes beyond
  std::string name = "张三" + std::string(missing, ' ');
  gb += test::Utf8ToGb18030(line(i, name));
  ASSERT_EQ(gb.size(), kSample + 1);
  ASSERT_EQ(gb[kSample - 1], '\r');
  int rows_before = i + 1;
  // Then a row holding a byte that no GB18030 text has, then three good rows.
  std::string bad = test::Utf8ToGb18030(line(++i, "李四"));
  bad.replace(bad.find(test::Utf8ToGb18030("李四")), 4, "\xFF\xFF\xFF\xFF");
  gb += bad;
  for (int k = 0; k < 3; ++k) gb += test::Utf8ToGb18030(line(++i, "王五"));
  std::vector<Row> hh;
  for (int h = 0; h <= i / 1000; ++h) hh.push_back(Household("H" + std::to_string(h)));
  Put("households.csv", Csv("households", hh));
  Put("members.csv", gb);

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "members.csv");
  EXPECT_EQ(f.encoding, "GB18030");
  EXPECT_EQ(f.outcome.rows_imported, rows_before);
  auto rest = WithCode(s.batch_id, "unreadable_rest");
  ASSERT_EQ(rest.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(rest[0].row_number, rows_before + 1);
  EXPECT_NE(rest[0].message_en.find("GB18030"), std::string::npos) << rest[0].message_en;
}

TEST_F(ImportTest, UnknownColumnsAndFilesAreNeverFatal) {
  // Only the two required columns, and one the format does not know.
  std::string csv = CsvLine({"household_id", "village_code", "备注"});
  csv += CsvLine({"H1", std::string(kVillage), "老户"});
  csv += CsvLine({"H2", std::string(kVillage), ""});
  Put("households.csv", csv);
  Put("notes.txt", "not an exchange file");
  Put("_draft.csv", "ignored quietly");
  Put(".hidden.csv", "ignored quietly");

  ImportSummary s = Import();
  EXPECT_EQ(s.files_failed, 0);
  EXPECT_EQ(s.rows_imported, 2);
  EXPECT_EQ(s.ignored_files, std::vector<std::string>{"notes.txt"});
  auto unknown = WithCode(s.batch_id, "unknown_column");
  ASSERT_EQ(unknown.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(unknown[0].column, "备注");
  EXPECT_EQ(unknown[0].row_number, 0);
  EXPECT_FALSE(unknown[0].is_error);
  // Every optional column not in the file is named once, as a warning.
  auto missing = WithCode(s.batch_id, "missing_column");
  EXPECT_EQ(missing.size(), test::Columns("households").size() - 2)
      << Describe(IssuesOf(s.batch_id));
  for (const IssueRow& i : missing) EXPECT_FALSE(i.is_error);
  EXPECT_EQ(
      Sql("SELECT household_id, status, head_id_number FROM households ORDER BY 1"),
      (std::vector<std::vector<std::string>>{{"H1", "NULL", "NULL"}, {"H2", "NULL", "NULL"}}));
}

TEST_F(ImportTest, EmptyFileFailsOthersImport) {
  Put("households.csv", "");
  Put("civil_dibao.csv", Csv("civil_dibao", {Person(1)}));

  ImportSummary s = Import();
  EXPECT_EQ(s.files_failed, 1);
  const FileSummary& f = FileOf(s, "households.csv");
  EXPECT_EQ(f.outcome.outcome, "failed");
  EXPECT_NE(f.outcome.message.find("empty"), std::string::npos) << f.outcome.message;
  auto failed = WithCode(s.batch_id, "file_failed");
  ASSERT_EQ(failed.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(failed[0].file_name, "households.csv");
  EXPECT_EQ(failed[0].row_number, 0);
  EXPECT_EQ(FileOf(s, "civil_dibao.csv").outcome.rows_imported, 1);
  EXPECT_EQ(Rows("dept_civil_dibao"), 1);
}

TEST_F(ImportTest, HeaderOnlyFileImportsZeroRows) {
  Put("households.csv", Csv("households", {}));

  ImportSummary s = Import();
  EXPECT_EQ(s.files_failed, 0);
  const FileSummary& f = FileOf(s, "households.csv");
  EXPECT_EQ(f.outcome.outcome, "imported");
  EXPECT_EQ(f.outcome.rows_read, 0);
  EXPECT_EQ(f.outcome.rows_imported, 0);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  auto issues = IssuesOf(s.batch_id);
  ASSERT_EQ(issues.size(), 1u) << Describe(issues);
  EXPECT_EQ(issues[0].code, "no_rows");
  EXPECT_FALSE(issues[0].is_error);
  EXPECT_EQ(Rows("households"), 0);
}

TEST_F(ImportTest, BinaryFileNamedCsvFailsClearlyOthersImport) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\0\0\0\rIHDR\0\0\0\x10", 12);
  for (int i = 0; i < 4096; ++i) png.push_back(static_cast<char>((i * 7919) & 0xFF));
  Put("households.csv", png);
  // No NUL bytes, but neither UTF-8 nor GB18030.
  Put("deaths.csv", std::string(64, '\xFF') + "\x80\x80\n");
  // CSV text saved under an .xlsx name.
  Put("vehicles.xlsx", Csv("vehicles", {Person(3)}));
  Put("civil_dibao.csv", Csv("civil_dibao", {Person(1), Person(2)}));

  ImportSummary s = Import();
  EXPECT_EQ(s.files_failed, 3);
  const FileSummary& not_xlsx = FileOf(s, "vehicles.xlsx");
  EXPECT_EQ(not_xlsx.outcome.outcome, "failed");
  EXPECT_NE(not_xlsx.outcome.message.find("vehicles.xlsx"), std::string::npos)
      << not_xlsx.outcome.message;
  const FileSummary& binary = FileOf(s, "households.csv");
  EXPECT_EQ(binary.outcome.outcome, "failed");
  EXPECT_NE(binary.outcome.message.find("binary"), std::string::npos) << binary.outcome.message;
  const FileSummary& garbage = FileOf(s, "deaths.csv");
  EXPECT_EQ(garbage.outcome.outcome, "failed");
  EXPECT_NE(garbage.outcome.message.find("neither UTF-8 nor GB18030"), std::string::npos)
      << garbage.outcome.message;
  EXPECT_EQ(WithCode(s.batch_id, "file_failed").size(), 3u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(FileOf(s, "civil_dibao.csv").outcome.rows_imported, 2);
  EXPECT_EQ(Rows("dept_civil_dibao"), 2);
  EXPECT_EQ(Rows("households"), 0);
  EXPECT_EQ(Rows("dept_deaths"), 0);
}

// A batch with every kind of data and a rejected row, for the re-import tests.
void WriteMixedBatch(const fs::path& dir) {
  Row bad = Household("H3");
  bad["status"] = "5";
  test::WriteFile(dir / "households.csv",
                  Csv("households", {Household("H1"), Household("H2"), bad}));
  test::WriteFile(dir / "members.csv",
                  Csv("members", {Member(MakeId(kCounty, "19700101", 11), "H1"),
                                  Member(MakeId(kCounty, "19720202", 22), "H1", "李四"),
                                  Member(MakeId(kCounty, "19700303", 33), "H2", "王五")}));
  test::WriteFile(
      dir / "health_claims.csv",
      Csv("health_claims", {Person(1, {{"claim_id", "CL1"}}), Person(2, {{"claim_id", "CL2"}})}));
}

TEST_F(ImportTest, SameBatchTwiceChangesNothing) {
  WriteMixedBatch(batch_);
  ImportSummary first = Import();
  ASSERT_GT(first.batch_id, 0);
  EXPECT_EQ(first.rows_imported, 7);
  EXPECT_EQ(first.rows_rejected, 1);
  auto before = test::TableCounts(db_);

  ImportSummary second = Import();
  EXPECT_TRUE(second.nothing_changed);
  EXPECT_EQ(second.batch_id, 0);
  EXPECT_EQ(second.rows_imported, 0);
  ASSERT_EQ(second.files.size(), 3u);
  for (const FileSummary& f : second.files)
    EXPECT_EQ(f.outcome.outcome, "unchanged") << f.file_name;
  EXPECT_EQ(test::TableCounts(db_), before);
  auto latest = store_->LatestBatchId();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, first.batch_id);
}

TEST_F(ImportTest, NewerHouseholdsKeepsOldValuesInHistory) {
  WriteMixedBatch(batch_);
  ImportSummary first = Import();
  ASSERT_GT(first.batch_id, 0);

  // The next batch: H1 has exited poverty, H2 is the same, members and claims unchanged.
  fs::path next = dir_ / "next";
  WriteMixedBatch(next);
  Row h1 = Household("H1");
  h1["status"] = "2";
  h1["exit_year"] = "2019";
  Row bad = Household("H3");
  bad["status"] = "5";
  Put("households.csv", Csv("households", {h1, Household("H2"), bad}), next);

  ImportSummary second = Import(next);
  ASSERT_GT(second.batch_id, first.batch_id);
  const FileSummary& households = FileOf(second, "households.csv");
  EXPECT_EQ(households.outcome.outcome, "imported");
  EXPECT_EQ(households.outcome.updated, 1);
  EXPECT_EQ(households.outcome.unchanged, 1);
  EXPECT_EQ(households.outcome.inserted, 0);
  EXPECT_EQ(FileOf(second, "members.csv").outcome.outcome, "unchanged");
  EXPECT_EQ(FileOf(second, "health_claims.csv").outcome.outcome, "unchanged");

  EXPECT_EQ(Sql("SELECT batch_id, entity, entity_key, field, old_value, new_value FROM history "
                "ORDER BY field"),
            (std::vector<std::vector<std::string>>{
                {std::to_string(second.batch_id), "household", "H1", "exit_year", "NULL", "2019"},
                {std::to_string(second.batch_id), "household", "H1", "status", "1", "2"}}));
  EXPECT_EQ(Sql("SELECT status, exit_year FROM households WHERE household_id = 'H1'"),
            (std::vector<std::vector<std::string>>{{"2", "2019"}}));
  EXPECT_EQ(Rows("members"), 3);
}

TEST_F(ImportTest, NewerDepartmentSnapshotRecordsNewChangedGone) {
  Put("health_claims.csv",
      Csv("health_claims", {Person(1, {{"claim_id", "C1"}}), Person(2, {{"claim_id", "C2"}}),
                            Person(3, {{"claim_id", "C3"}})}));
  ImportSummary first = Import();
  ASSERT_GT(first.batch_id, 0);
  std::map<std::string, std::string> row_id;
  for (const auto& r : Sql("SELECT claim_id, row_id FROM dept_health_claims")) row_id[r[0]] = r[1];
  ASSERT_EQ(row_id.size(), 3u);

  fs::path next = dir_ / "next";
  Put("health_claims.csv",
      Csv("health_claims", {Person(4, {{"claim_id", "C4"}}), Person(1, {{"claim_id", "C1"}}),
                            Person(2, {{"claim_id", "C2"}, {"total_cost", "4500"}})}),
      next);
  ImportSummary second = Import(next);
  ASSERT_GT(second.batch_id, first.batch_id);
  const FileSummary& f = FileOf(second, "health_claims.csv");
  EXPECT_EQ(f.outcome.inserted, 1);
  EXPECT_EQ(f.outcome.updated, 1);
  EXPECT_EQ(f.outcome.unchanged, 1);
  EXPECT_EQ(f.outcome.removed, 1);

  auto now =
      Sql("SELECT claim_id, row_id, file_id, source_row, total_cost_fen, added_file_id "
          "FROM dept_health_claims ORDER BY claim_id");
  ASSERT_EQ(now.size(), 3u);
  std::string file_id = std::to_string(f.file_id);
  std::string first_file_id = std::to_string(FileOf(first, "health_claims.csv").file_id);
  // The unchanged and the changed row keep their row_id and the file that added them; each
  // names its row in the new file.
  EXPECT_EQ(now[0],
            (std::vector<std::string>{"C1", row_id["C1"], file_id, "2", "300050", first_file_id}));
  EXPECT_EQ(now[1],
            (std::vector<std::string>{"C2", row_id["C2"], file_id, "3", "450000", first_file_id}));
  // The new row is marked as added by the new file.
  EXPECT_EQ(now[2][0], "C4");
  EXPECT_EQ(now[2][5], file_id);

  // Changed and gone rows are listed for the batch (new ones are found by added_file_id).
  auto changes = Sql(fmt::format(
      "SELECT change, row_id FROM dept_changes WHERE file_id = {} ORDER BY change", f.file_id));
  EXPECT_EQ(changes, (std::vector<std::vector<std::string>>{{"changed", row_id["C2"]},
                                                            {"gone", row_id["C3"]}}));
  // The previous snapshot's batch stays recorded.
  EXPECT_EQ(Rows("import_batches"), 2);
}

TEST_F(ImportTest, SnapshotWithARejectedRowRemovesNothing) {
  Put("health_claims.csv",
      Csv("health_claims", {Person(1, {{"claim_id", "C1"}}), Person(2, {{"claim_id", "C2"}}),
                            Person(3, {{"claim_id", "C3"}})}));
  ImportSummary first = Import();
  ASSERT_GT(first.batch_id, 0);

  // C2 comes back with a bad date and is rejected; C3 is absent. Because a row was rejected,
  // the snapshot may be incomplete: no stored row is removed, and the report says so.
  fs::path next = dir_ / "next";
  Put("health_claims.csv",
      Csv("health_claims", {Person(1, {{"claim_id", "C1"}}),
                            Person(2, {{"claim_id", "C2"}, {"admit_date", "2020-02-30"}})}),
      next);
  ImportSummary second = Import(next);
  const FileSummary& f = FileOf(second, "health_claims.csv");
  EXPECT_EQ(f.outcome.rows_rejected, 1);
  EXPECT_EQ(f.outcome.removed, 0);
  EXPECT_EQ(Sql("SELECT claim_id FROM dept_health_claims ORDER BY claim_id"),
            (std::vector<std::vector<std::string>>{{"C1"}, {"C2"}, {"C3"}}));
  ASSERT_EQ(WithCode(second.batch_id, "missing_rows_kept").size(), 1u)
      << Describe(IssuesOf(second.batch_id));
  EXPECT_EQ(Rows("dept_changes"), 0);
}

TEST_F(ImportTest, RejectedMembersImportOnceTheirHouseholdArrives) {
  // Batch 1: the members file names a household that is not there yet.
  Put("households.csv", Csv("households", {Household("H1")}));
  Put("members.csv", Csv("members", {Member(MakeId(kCounty, "19900101", 1), "H1"),
                                     Member(MakeId(kCounty, "19900101", 3), "H2")}));
  ImportSummary first = Import();
  EXPECT_EQ(FileOf(first, "members.csv").outcome.rows_rejected, 1);
  // Batch 2: households.csv now holds H2; members.csv is the very same file. It must be read
  // again, not skipped as unchanged, and its second member now imports.
  Put("households.csv", Csv("households", {Household("H1"), Household("H2")}));
  ImportSummary second = Import();
  EXPECT_FALSE(second.nothing_changed);
  const FileSummary& members = FileOf(second, "members.csv");
  EXPECT_EQ(members.outcome.outcome, "imported");
  EXPECT_EQ(members.outcome.rows_rejected, 0);
  EXPECT_EQ(Sql("SELECT household_id FROM members ORDER BY household_id"),
            (std::vector<std::vector<std::string>>{{"H1"}, {"H2"}}));
  // Once clean, the same files again change nothing.
  EXPECT_TRUE(Import().nothing_changed);
}

TEST_F(ImportTest, MembersAloneCheckTheirHouseholdsAgainstEarlierBatches) {
  Put("households.csv", Csv("households", {Household("H1")}));
  Import();
  // A later batch with members only: H1 is stored, H7 never was.
  fs::path later = batch_.parent_path() / "later";
  fs::create_directories(later);
  Put("members.csv",
      Csv("members", {Member(MakeId(kCounty, "19900101", 1), "H1"),
                      Member(MakeId(kCounty, "19900101", 3), "H7")}),
      later);
  ImportSummary s = Import(later);
  const FileSummary& members = FileOf(s, "members.csv");
  EXPECT_EQ(members.outcome.rows_imported, 1);
  EXPECT_EQ(members.outcome.rows_rejected, 1);
  auto missing = WithCode(s.batch_id, "household_missing");
  ASSERT_EQ(missing.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(missing[0].value, "H7");
  EXPECT_EQ(Sql("SELECT household_id FROM members"),
            (std::vector<std::vector<std::string>>{{"H1"}}));
}

TEST_F(ImportTest, RegionsInBatchUpsertGoodRowsRejectWrongParent) {
  std::string text = CsvLine(test::Columns("regions"));
  text += CsvLine({"520102016099", "测试村", "5", std::string(test::kTownship)});
  text += CsvLine({"520102016098", "错父村", "5", "520102015000"});
  text += CsvLine({"520102016002", "新华路社区（更名）", "5", std::string(test::kTownship)});
  Put("regions.csv", text);
  Put("households.csv", Csv("households", {Household("H1", "", "520102016099"),
                                           Household("H2", "", "520102016098")}));

  ImportSummary s = Import();
  const FileSummary& regions = FileOf(s, "regions.csv");
  EXPECT_EQ(regions.outcome.outcome, "imported");
  EXPECT_EQ(regions.outcome.rows_imported, 2);
  EXPECT_EQ(regions.outcome.rows_rejected, 1);
  auto bad = WithCode(s.batch_id, "bad_region");
  ASSERT_EQ(bad.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(bad[0].file_name, "regions.csv");
  EXPECT_EQ(bad[0].row_number, 2);
  EXPECT_EQ(bad[0].column, "code");
  EXPECT_EQ(bad[0].value, "520102016098");
  EXPECT_TRUE(bad[0].is_error);

  EXPECT_EQ(Sql("SELECT code, name, level, parent_code FROM regions WHERE code IN "
                "('520102016099', '520102016098', '520102016002') ORDER BY code"),
            (std::vector<std::vector<std::string>>{
                {"520102016002", "新华路社区（更名）", "5", std::string(test::kTownship)},
                {"520102016099", "测试村", "5", std::string(test::kTownship)}}));
  // The new village is usable by the same batch's households; the rejected one is not.
  EXPECT_EQ(Sql("SELECT household_id, village_code FROM households"),
            (std::vector<std::vector<std::string>>{{"H1", "520102016099"}}));
  auto unknown = WithCode(s.batch_id, "unknown_region");
  ASSERT_EQ(unknown.size(), 1u) << Describe(IssuesOf(s.batch_id));
  EXPECT_EQ(unknown[0].value, "520102016098");
}

TEST_F(ImportTest, RegionsFileEndingInBlankLineRejectsNothing) {
  std::string text = CsvLine(test::Columns("regions"));
  text += CsvLine({"520102016099", "测试村", "5", std::string(test::kTownship)});
  text += "\n";
  Put("regions.csv", text);

  ImportSummary s = Import();
  const FileSummary& f = FileOf(s, "regions.csv");
  EXPECT_EQ(f.outcome.rows_imported, 1);
  EXPECT_EQ(f.outcome.rows_rejected, 0);
  EXPECT_TRUE(IssuesOf(s.batch_id).empty()) << Describe(IssuesOf(s.batch_id));
}

#if defined(__SANITIZE_ADDRESS__)
TEST_F(ImportTest, DISABLED_ManyRowsImportCompletely) {
#else
TEST_F(ImportTest, ManyRowsImportCompletely) {
#endif
  constexpr int kRows = 300000;
  std::string text = CsvLine(test::Columns("health_enrollment"));
  text.reserve(static_cast<size_t>(kRows) * 72);
  for (int i = 0; i < kRows; ++i) {
    int day = i / 1000;  // 300 distinct birth dates of 1000 people each
    std::string date =
        fmt::format("{:04d}{:02d}{:02d}", 1950 + day / 12, day % 12 + 1, 1 + day % 28);
    std::string id = MakeId(kCounty, date, i % 1000);
    fmt::format_to(std::back_inserter(text), "{},王五,{},{}-{}-{},{},2019\n", id, i % 2 ? 1 : 2,
                   date.substr(0, 4), date.substr(4, 2), date.substr(6, 2), kCounty);
  }
  Put("health_enrollment.csv", text);

  ImportSummary s = Import();
  EXPECT_EQ(s.rows_read, kRows);
  EXPECT_EQ(s.rows_imported, kRows);
  EXPECT_EQ(s.rows_rejected, 0);
  EXPECT_EQ(s.warnings, 0);
  EXPECT_EQ(Rows("dept_health_enrollment"), kRows);
  EXPECT_EQ(One(fmt::format("SELECT count(*) FROM dept_health_enrollment WHERE added_file_id = {}",
                            FileOf(s, "health_enrollment.csv").file_id)),
            std::to_string(kRows));
  EXPECT_EQ(One("SELECT max(source_row) FROM dept_health_enrollment"), std::to_string(kRows));
}

}  // namespace
}  // namespace fupin::exchange
