// Tests for the XLSX and PDF report writers: real files in a temporary directory, read back
// as a zip (XLSX) and through poppler's pdftotext/pdfinfo (PDF).
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/csv_writer.h"
#include "reports/file_reading_test_util.h"
#include "reports/pdf_writer.h"
#include "reports/unnamed_file.h"
#include "reports/xlsx_writer.h"

namespace fupin::reports {
namespace {

namespace fs = std::filesystem;

// A county table with a two-level header:
//   县名称 | 贫困户 (贫困户数, 脱贫状态 (已脱贫, 未脱贫)) | 收入与指数 (人均纯收入, 脱贫率, FGT P1)
Table CountyTable(int rows) {
  Table table;
  table.title = "各县贫困人口";
  table.groups = {{{"贫困户", 1, 3}, {"收入与指数", 4, 3}}, {{"脱贫状态", 2, 2}}};
  table.columns = {{"县名称", NumberFormat::kText, 14},
                   {"贫困户数", NumberFormat::kInteger, 10},
                   {"已脱贫", NumberFormat::kInteger, 10},
                   {"未脱贫", NumberFormat::kInteger, 10},
                   {"人均纯收入（元）", NumberFormat::kMoney, 16},
                   {"脱贫率", NumberFormat::kPercent, 10},
                   {"FGT P1", NumberFormat::kDecimal, 10}};
  double households = 0;
  for (int i = 0; i < rows; ++i) {
    table.rows.push_back(
        {fmt::format("县{}", i), 1234.0 + i, 1000.0, 234.0 + i, 1234.56, 0.1234, 0.0123});
    households += 1234.0 + i;
  }
  table.rows.push_back({std::monostate{}, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0});  // an empty name
  table.totals = {"合计", households + 1, 1000.0 * rows, 0.0, 2345.67, 0.5, 0.1};
  table.note = "注：数据截至2020年底。";
  return table;
}

Chart CountyChart() {
  Chart chart;
  chart.title = "各县贫困人口分布";
  chart.categories = {"七星关区", "大方县", "黔西县", "金沙县", "织金县"};
  chart.series = {{"贫困人口", {52000, 41000, 38500, 27000, 45000}},
                  {"已脱贫", {30000, 25000, 21000, 20000, 22000}}};
  chart.value_axis = "人";
  return chart;
}

Document SampleDocument(int rows) {
  Document doc;
  doc.title = "建档立卡贫困人口统计表";
  doc.region_name = "贵州省";
  doc.region_code = "520000000000";
  doc.year = 2020;
  doc.date = "2021-01-05";
  doc.sheet_name = "贵州省 2020";
  doc.sections.push_back({CountyTable(rows)});
  doc.sections.push_back({CountyChart()});
  return doc;
}

class WritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("fupin_reports_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

bool HavePoppler() {
  return std::system("command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null") == 0;
}

int PdfPages(const std::string& path) {
  const std::string info = RunCommand(fmt::format("pdfinfo '{}'", path));
  const size_t at = info.find("Pages:");
  return at == std::string::npos ? -1 : std::atoi(info.c_str() + at + 6);
}

// The XML of cell `ref` ("B8") in a worksheet, from <c r="B8" to </c>; empty when missing.
std::string CellXml(const std::string& sheet, const std::string& ref) {
  const size_t begin = sheet.find(fmt::format(R"(<c r="{}" )", ref));
  if (begin == std::string::npos) return "";
  const size_t end = sheet.find("</c>", begin);
  return end == std::string::npos ? "" : sheet.substr(begin, end + 4 - begin);
}

// `text` without spaces: pdftotext drops the narrow spaces between CJK characters.
std::string WithoutSpaces(std::string text) {
  std::erase(text, ' ');
  return text;
}

// pdftotext's pages (it ends each with a form feed).
std::vector<std::string> PdfText(const std::string& path) {
  const std::string text = RunCommand(fmt::format("pdftotext -layout '{}' -", path));
  std::vector<std::string> pages;
  size_t begin = 0;
  for (size_t end; (end = text.find('\f', begin)) != std::string::npos; begin = end + 1)
    pages.push_back(text.substr(begin, end - begin));
  return pages;
}

TEST_F(WritersTest, XlsxHoldsTitleMergedHeaderNumbersAndChart) {
  const std::string path = PathOf("report.xlsx");
  const Status status = WriteXlsx(SampleDocument(3), path);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const std::optional<std::string> workbook = ReadZipPart(path, "xl/workbook.xml");
  ASSERT_TRUE(workbook);
  EXPECT_NE(workbook->find(R"(<sheet name="贵州省 2020")"), std::string::npos) << *workbook;
  const std::optional<std::string> strings = ReadZipPart(path, "xl/sharedStrings.xml");
  ASSERT_TRUE(strings);
  for (const char* text :
       {"建档立卡贫困人口统计表", "区划：贵州省（520000000000）", "制表日期：2021-01-05", "贫困户",
        "脱贫状态", "人均纯收入（元）", "合计", "注：数据截至2020年底。"})
    EXPECT_NE(strings->find(text), std::string::npos) << text;

  const std::optional<std::string> sheet = ReadZipPart(path, "xl/worksheets/sheet1.xml");
  ASSERT_TRUE(sheet);
  // Rows 1-2 heading, 3 blank, 4 caption, 5-7 header band, 8- body.
  for (const char* range : {"A1:G1", "A2:G2",                              // title, region line
                            "B5:D5", "E5:G5", "C6:D6",                     // header groups
                            "A5:A7", "B6:B7", "E6:E7", "F6:F7", "G6:G7"})  // columns under no group
    EXPECT_NE(sheet->find(fmt::format(R"(<mergeCell ref="{}"/>)", range)), std::string::npos)
        << range;
  EXPECT_NE(
      sheet->find(R"(<pane ySplit="7" topLeftCell="A8" activePane="bottomLeft" state="frozen"/>)"),
      std::string::npos);
  // Numbers are numbers: 1234 households in B8, 1234.56 yuan in E8, 0.1234 in F8.
  // (A cell with t="s" would be a shared string; a number has no type.)
  const std::pair<const char*, const char*> numbers[] = {{"B8", "1234"},
                                                         {"E8", "1234.56"},
                                                         {"F8", "0.1234"},
                                                         {"G8", "0.0123"},
                                                         {"B12", "3706"}};  // the totals row
  for (const auto& [ref, value] : numbers) {
    const std::string cell = CellXml(*sheet, ref);
    EXPECT_TRUE(cell.ends_with(fmt::format("><v>{}</v></c>", value))) << ref << ": " << cell;
    EXPECT_EQ(cell.find(" t="), std::string::npos) << ref << ": " << cell;
  }
  EXPECT_NE(CellXml(*sheet, "A12").find(R"( t="s")"), std::string::npos);  // 合计 is text
  const std::optional<std::string> styles = ReadZipPart(path, "xl/styles.xml");
  ASSERT_TRUE(styles);
  for (const char* format : {"#,##0", "#,##0.00", "0.00%", "0.0000"})
    EXPECT_NE(styles->find(fmt::format(R"(formatCode="{}")", format)), std::string::npos) << format;

  const std::optional<std::string> chart = ReadZipPart(path, "xl/charts/chart1.xml");
  ASSERT_TRUE(chart);
  EXPECT_NE(chart->find("<c:barChart>"), std::string::npos);
  EXPECT_NE(chart->find("各县贫困人口分布"), std::string::npos);
  EXPECT_NE(chart->find("'贵州省 2020'!$A$"), std::string::npos);  // categories from the cells
  EXPECT_NE(chart->find("<a:t>人</a:t>"), std::string::npos);      // the value axis name
}

// A group with no group above it grows up to the top of the band, and a column under a group
// only in the upper row has its own header merged down from the row below.
TEST_F(WritersTest, XlsxHeaderBandHasNoEmptyCell) {
  Table table;
  table.groups = {{{"甲", 0, 2}}, {{"乙", 2, 2}}};
  table.columns = {{"一"}, {"二"}, {"三"}, {"四"}};
  table.rows = {{"a", "b", "c", "d"}};
  Document doc = SampleDocument(1);
  doc.sections = {{table}};
  const std::string path = PathOf("band.xlsx");
  ASSERT_TRUE(WriteXlsx(doc, path).ok());
  const std::optional<std::string> sheet = ReadZipPart(path, "xl/worksheets/sheet1.xml");
  ASSERT_TRUE(sheet);
  // Rows 1-2 heading, 3 blank, 4-6 header band (no caption), 7 body.
  for (const char* range : {"A4:B4", "C4:D5", "A5:A6", "B5:B6"})
    EXPECT_NE(sheet->find(fmt::format(R"(<mergeCell ref="{}"/>)", range)), std::string::npos)
        << range;
  EXPECT_NE(sheet->find(R"(<mergeCells count="6">)"), std::string::npos);  // and the heading's 2
  EXPECT_NE(sheet->find(R"(topLeftCell="A7")"), std::string::npos);
}

TEST_F(WritersTest, XlsxRejectsBadSheetNames) {
  Document doc = SampleDocument(1);
  for (const std::string name :
       {"", "a/b", "a[1]", "x:y", "who?", "a*", "back\\slash", "'quoted'",
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二"}) {
    doc.sheet_name = name;
    const std::string path = PathOf("bad.xlsx");
    const Status status = WriteXlsx(doc, path);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_FALSE(fs::exists(path)) << name;
  }
  doc.sheet_name = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一";  // 31
  EXPECT_TRUE(WriteXlsx(doc, PathOf("ok.xlsx")).ok());
}

TEST_F(WritersTest, WritersRejectRowsThatDoNotMatchTheColumns) {
  Document doc = SampleDocument(2);
  std::get<Table>(doc.sections[0].content).rows[1].pop_back();
  EXPECT_EQ(WriteXlsx(doc, PathOf("r.xlsx")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WritePdf(doc, PathOf("r.pdf")).code(), StatusCode::kInvalidArgument);
  doc = SampleDocument(2);
  std::get<Table>(doc.sections[0].content).groups[0][1].span = 4;  // past the last column
  EXPECT_EQ(WriteXlsx(doc, PathOf("r.xlsx")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WritePdf(doc, PathOf("r.pdf")).code(), StatusCode::kInvalidArgument);
  doc = SampleDocument(2);
  std::get<Chart>(doc.sections[1].content).series[0].values.pop_back();
  EXPECT_EQ(WriteXlsx(doc, PathOf("r.xlsx")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WritePdf(doc, PathOf("r.pdf")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(WritersTest, MissingDirectoryIsAClearErrorAndLeavesNoFile) {
  const Document doc = SampleDocument(2);
  for (const char* name : {"report.xlsx", "report.pdf"}) {
    const std::string path = (dir_ / "no-such-dir" / name).string();
    const Status status =
        fs::path(path).extension() == ".pdf" ? WritePdf(doc, path) : WriteXlsx(doc, path);
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << name;
    EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
}

TEST_F(WritersTest, RewritingReplacesTheFileWhole) {
  const std::string path = PathOf("report.xlsx");
  ASSERT_TRUE(WriteXlsx(SampleDocument(2), path).ok());
  ASSERT_TRUE(WriteXlsx(SampleDocument(5), path).ok());
  EXPECT_TRUE(ReadZipPart(path, "xl/worksheets/sheet1.xml"));
  EXPECT_EQ(std::vector<fs::path>(fs::directory_iterator(dir_), {}).size(), 1u);
}

TEST_F(WritersTest, PdfSpansPagesRepeatingTheHeader) {
  if (!HavePoppler()) GTEST_SKIP() << "poppler-utils (pdftotext, pdfinfo) not installed";
  const std::string path = PathOf("report.pdf");
  const Status status = WritePdf(SampleDocument(300), path);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const int pages = PdfPages(path);
  ASSERT_GT(pages, 2);
  // The text is drawn in the CJK font, embedded (so not as empty boxes of a Latin font).
  EXPECT_NE(RunCommand(fmt::format("pdffonts '{}'", path)).find("NotoSansCJK"), std::string::npos);
  const std::vector<std::string> text = PdfText(path);
  ASSERT_EQ(static_cast<int>(text.size()), pages);
  const std::string& first = text.front();
  for (const char* part : {"建档立卡贫困人口统计表", "区划：贵州省（520000000000）",
                           "制表日期：2021-01-05", "各县贫困人口", "贫困户", "脱贫状态", "县名称",
                           "人均纯收入（元）", "1,234.56", "12.34%", "0.0123", "1,234"})
    EXPECT_NE(first.find(part), std::string::npos) << part;
  EXPECT_NE(WithoutSpaces(first).find(fmt::format("第1页/共{}页", pages)), std::string::npos)
      << first;
  // The header band comes again on page 2, above rows that go on from page 1.
  for (const char* part : {"贫困户", "脱贫状态", "县名称", "FGT P1"})
    EXPECT_NE(text[1].find(part), std::string::npos) << part;
  EXPECT_NE(WithoutSpaces(text[1]).find(fmt::format("第2页/共{}页", pages)), std::string::npos);
  const std::string& last = text.back();
  EXPECT_NE(WithoutSpaces(last).find(fmt::format("第{}页/共{}页", pages, pages)),
            std::string::npos);
  std::string all;
  for (const std::string& page : text) all += page;
  for (const char* part : {"县299", "合计", "415,051", "注：数据截至2020年底。", "各县贫困人口分布",
                           "七星关区", "已脱贫"})
    EXPECT_NE(all.find(part), std::string::npos) << part;
}

TEST_F(WritersTest, PdfInEnglishNumbersPagesInEnglish) {
  if (!HavePoppler()) GTEST_SKIP() << "poppler-utils (pdftotext, pdfinfo) not installed";
  Document doc = SampleDocument(2);
  doc.english = true;
  doc.title = "Registered poor population";
  const std::string path = PathOf("report.pdf");
  ASSERT_TRUE(WritePdf(doc, path).ok());
  const std::vector<std::string> text = PdfText(path);
  ASSERT_FALSE(text.empty());
  EXPECT_NE(text[0].find("Registered poor population"), std::string::npos);
  EXPECT_NE(text[0].find("Date: 2021-01-05"), std::string::npos);
  EXPECT_NE(text[0].find(fmt::format("Page 1 of {}", text.size())), std::string::npos);
}

TEST_F(WritersTest, WideTableTurnsThePageToLandscape) {
  if (!HavePoppler()) GTEST_SKIP() << "poppler-utils (pdftotext, pdfinfo) not installed";
  Document doc = SampleDocument(2);
  for (Column& column : std::get<Table>(doc.sections[0].content).columns) column.width = 24;
  const std::string path = PathOf("wide.pdf");
  ASSERT_TRUE(WritePdf(doc, path).ok());
  EXPECT_NE(RunCommand(fmt::format("pdfinfo '{}'", path)).find("842 x 595 pts"), std::string::npos);
}

// A list whose evidence is longer than its column (item 8: the PDF cut it with "…", losing
// the plate, the company or the file row at its end): the cell wraps, every word is printed.
TEST_F(WritersTest, PdfWrapsLongCellsInsteadOfCuttingThem) {
  if (!HavePoppler()) GTEST_SKIP() << "poppler-utils (pdftotext, pdfinfo) not installed";
  Document doc = SampleDocument(1);
  Table list;
  list.title = "待核查疑点";
  list.columns = {{"序号", NumberFormat::kInteger, 6},
                  {"规则", NumberFormat::kText, 12},
                  {"疑点说明", NumberFormat::kText, 30}};
  for (int i = 1; i <= 3; ++i)
    list.rows.push_back(
        {double(i), "家庭成员为企业法定代表人或股东",
         fmt::format("张*（520602********4410）在住建登记中于2016-07-03在遵义市购买商品房133.1平方"
                     "米，又在市场监管登记中是水城区盛世农资经营部的法定代表人：住建 商品房"
                     "（property.csv 第{}行）",
                     1014 + i)});
  doc.sections = {{std::move(list)}};
  const std::string path = PathOf("wrap.pdf");
  ASSERT_TRUE(WritePdf(doc, path).ok());
  // pdftotext gives even a cut text whole (cairo maps the "…" glyph to the text it stands
  // for), so the test looks at the lines: a wrapped cell ends lines below where it starts,
  // while a cut one is all on its first line.
  std::string all;
  for (const std::string& page : PdfText(path)) all += page;
  std::vector<std::string> lines;
  for (size_t begin = 0, end; begin < all.size(); begin = end + 1) {
    end = all.find('\n', begin);
    if (end == std::string::npos) end = all.size();
    lines.push_back(WithoutSpaces(all.substr(begin, end - begin)));
  }
  for (int i = 1; i <= 3; ++i) {
    const std::string tail = fmt::format("第{}行）", 1014 + i);
    const auto end = std::find_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(tail) != std::string::npos;
    });
    ASSERT_NE(end, lines.end()) << tail << " missing:\n" << all;
    EXPECT_EQ(end->find("在住建登记中"), std::string::npos)
        << "the evidence is on one line, so it was cut: " << *end;
    EXPECT_EQ(end->find("…"), std::string::npos) << *end;
  }
}

// Item 8: no page holds only a total row. For every row count around a page break, the page
// with the totals also shows a data row of the table.
TEST_F(WritersTest, PdfTotalsRowNeverStandsAloneOnAPage) {
  if (!HavePoppler()) GTEST_SKIP() << "poppler-utils (pdftotext, pdfinfo) not installed";
  int checked_breaks = 0;
  for (int rows = 40; rows <= 75; ++rows) {
    Document doc = SampleDocument(0);
    Table table;
    table.columns = {{"名称", NumberFormat::kText, 20}, {"户数", NumberFormat::kInteger, 10}};
    for (int i = 1; i <= rows; ++i) table.rows.push_back({fmt::format("第{}行", i), double(i)});
    table.totals = {"合计", rows * (rows + 1) / 2.0};
    doc.sections = {{std::move(table)}};
    const std::string path = PathOf(fmt::format("totals-{}.pdf", rows));
    ASSERT_TRUE(WritePdf(doc, path).ok());
    const std::vector<std::string> pages = PdfText(path);
    ASSERT_FALSE(pages.empty());
    const std::string last = WithoutSpaces(pages.back());
    ASSERT_NE(last.find("合计"), std::string::npos) << rows << " rows:\n" << last;
    if (pages.size() < 2) continue;
    ++checked_breaks;
    EXPECT_NE(last.find(fmt::format("第{}行", rows)), std::string::npos)
        << rows << " rows: the last page holds the totals without the last row:\n"
        << last;
  }
  EXPECT_GT(checked_breaks, 0);
}

// Item 9: an interrupted report leaves nothing. While a report is written, nothing new has
// a name in its directory (a kill then leaves nothing to clean); the file gets its name
// whole, replacing the old one, and a file never committed is gone.
TEST_F(WritersTest, UnnamedFileHasNoNameUntilCommitted) {
  const std::string path = PathOf("report.csv");
  {
    std::ofstream old(path);
    old << "old";
  }
  const auto names = [this] {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_))
      out.push_back(entry.path().filename().string());
    return out;
  };
  {
    auto file = UnnamedFile::Create(path);
    ASSERT_TRUE(file) << file.error().ToString();
    std::ofstream out((*file)->scratch(), std::ios::binary);
    out << "half a report";
    out.flush();
    EXPECT_EQ(names(), std::vector<std::string>{"report.csv"});
  }  // dropped, as a failed writer drops it
  EXPECT_EQ(names(), std::vector<std::string>{"report.csv"});
  {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "old");
  }
  auto file = UnnamedFile::Create(path);
  ASSERT_TRUE(file);
  {
    std::ofstream out((*file)->scratch(), std::ios::binary);
    out << "new report";
  }
  EXPECT_EQ(names(), std::vector<std::string>{"report.csv"});
  ASSERT_TRUE((*file)->Commit().ok());
  EXPECT_EQ(names(), std::vector<std::string>{"report.csv"});
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "new report");
  // Each writer goes through it: a PDF written over the CSV leaves only the two files.
  ASSERT_TRUE(WritePdf(SampleDocument(30), PathOf("r.pdf")).ok());
  ASSERT_TRUE(WriteXlsx(SampleDocument(30), PathOf("r.xlsx")).ok());
  ASSERT_TRUE(WriteCsv(SampleDocument(30), PathOf("r2.csv")).ok());
  auto all = names();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"r.pdf", "r.xlsx", "r2.csv", "report.csv"}));
}

// A CSV report opens in Excel: UTF-8 with a byte-order mark, quoted fields where needed,
// header groups before their columns' headers, numbers plain.
TEST_F(WritersTest, CsvHasABomHeaderGroupsAndPlainNumbers) {
  Document doc = SampleDocument(2);
  std::get<Table>(doc.sections[0].content).rows[0][0] = std::string("县,\"甲\"");
  const std::string path = PathOf("r.csv");
  ASSERT_TRUE(WriteCsv(doc, path).ok());
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(text.starts_with("\xEF\xBB\xBF建档立卡贫困人口统计表\r\n")) << text;
  EXPECT_NE(text.find("贫困户/脱贫状态/已脱贫"), std::string::npos) << text;
  EXPECT_NE(text.find("\"县,\"\"甲\"\"\",1234,1000,234,1234.56,12.34%,0.0123\r\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("合计,"), std::string::npos) << text;
  EXPECT_NE(text.find("七星关区,52000,30000"), std::string::npos) << text;
}

// A province report (17,964 villages): run by hand for timings with
// --gtest_also_run_disabled_tests --gtest_filter='*Province*'.
TEST_F(WritersTest, DISABLED_ProvinceSizedTable) {
  const Document doc = SampleDocument(20000);
  for (const char* name : {"province.xlsx", "province.pdf"}) {
    const auto start = std::chrono::steady_clock::now();
    const std::string path = PathOf(name);
    const Status status =
        fs::path(path).extension() == ".pdf" ? WritePdf(doc, path) : WriteXlsx(doc, path);
    ASSERT_TRUE(status.ok()) << status.ToString();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    fmt::print("{}: {:.2f} s, {} bytes\n", name, took.count(), fs::file_size(path));
  }
  if (HavePoppler()) fmt::print("PDF pages: {}\n", PdfPages(PathOf("province.pdf")));
}

}  // namespace
}  // namespace fupin::reports
