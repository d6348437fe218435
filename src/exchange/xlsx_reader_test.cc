#include "exchange/xlsx_reader.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/id_number.h"

namespace fupin::exchange {
namespace {

namespace fs = std::filesystem;
using Parts = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kMainNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr std::string_view kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

Result<std::vector<RawRow>> ReadAllRows(const fs::path& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<RowSource> source, OpenXlsx(path));
  std::vector<RawRow> rows;
  RawRow row;
  while (true) {
    ASSIGN_OR_RETURN(bool more, source->Next(row));
    if (!more) return rows;
    EXPECT_EQ(row.cells.size(), row.numeric.size());
    rows.push_back(row);
  }
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes a zip archive holding `parts`; `store` leaves them uncompressed.
void WriteZip(const fs::path& path, const Parts& parts, bool store = false) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(zip, nullptr) << "zip_open error " << error;
  for (const auto& [name, content] : parts) {
    zip_source_t* source = zip_source_buffer(zip, content.data(), content.size(), 0);
    ASSERT_NE(source, nullptr);
    zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(index, 0) << zip_strerror(zip);
    if (store) {
      ASSERT_EQ(zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0),
                0);
    }
  }
  ASSERT_EQ(zip_close(zip), 0) << zip_strerror(zip);
}

std::string Worksheet(std::string_view rows) {
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{}" xmlns:r="{}"><dimension ref="A1"/><sheetData>{}</sheetData></worksheet>)",
                     kMainNs, kRelNs, rows);
}

std::string SharedStringTable(std::string_view items) {
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{}">{}</sst>)", kMainNs,
                     items);
}

// Cell format 0 is General, 1 is built-in date format 14.
std::string DateStyles() {
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{}">
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/>
</cellXfs></styleSheet>)",
                     kMainNs);
}

// <Relationships> holding `items`.
std::string Relationships(std::string_view items) {
  return fmt::format(
      R"(<?xml version="1.0"?>)"
      R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
      "{}</Relationships>",
      items);
}

// One <Relationship>; `type` is a full type URI.
std::string Relationship(std::string_view id, std::string_view type, std::string_view target) {
  return fmt::format(R"(<Relationship Id="{}" Type="{}" Target="{}"/>)", id, type, target);
}

std::string RelType(std::string_view type) { return fmt::format("{}/{}", kRelNs, type); }

// A minimal hand-made workbook: one worksheet, and the shared strings and styles when given.
Parts MinimalXlsx(std::string sheet, std::string shared_strings = "", std::string styles = "",
                  std::string workbook_pr = "") {
  std::string rels = Relationship("rId1", RelType("worksheet"), "worksheets/sheet1.xml");
  Parts parts = {
      {"[Content_Types].xml", "<Types/>"},
      {"_rels/.rels",
       Relationships(Relationship("rId1", RelType("officeDocument"), "xl/workbook.xml"))},
      {"xl/workbook.xml",
       fmt::format(R"(<?xml version="1.0"?><workbook xmlns="{}" xmlns:r="{}">{})"
                   R"(<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>)",
                   kMainNs, kRelNs, workbook_pr)},
      {"xl/worksheets/sheet1.xml", std::move(sheet)},
  };
  if (!shared_strings.empty()) {
    rels += Relationship("rId2", RelType("sharedStrings"), "sharedStrings.xml");
    parts.emplace_back("xl/sharedStrings.xml", std::move(shared_strings));
  }
  if (!styles.empty()) {
    rels += Relationship("rId3", RelType("styles"), "styles.xml");
    parts.emplace_back("xl/styles.xml", std::move(styles));
  }
  parts.emplace_back("xl/_rels/workbook.xml.rels", Relationships(rels));
  return parts;
}

class XlsxReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("fupin_xlsx_{}_{}", getpid(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Path(std::string_view name) const { return dir_ / name; }

  // Opens a workbook with libxlsxwriter; the test writes cells and calls Close().
  lxw_worksheet* NewWorkbook(const fs::path& path, bool constant_memory = false) {
    lxw_workbook_options options = {};
    options.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
    workbook_ = workbook_new_opt(path.c_str(), &options);
    EXPECT_NE(workbook_, nullptr);
    return workbook_add_worksheet(workbook_, nullptr);
  }
  void Close() {
    ASSERT_EQ(workbook_close(workbook_), LXW_NO_ERROR);
    workbook_ = nullptr;
  }

  fs::path dir_;
  lxw_workbook* workbook_ = nullptr;
};

TEST_F(XlsxReaderTest, SharedStringsWithChineseText) {
  fs::path path = Path("households.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  worksheet_write_string(sheet, 0, 0, "户主姓名", nullptr);
  worksheet_write_string(sheet, 0, 1, "身份证号", nullptr);
  worksheet_write_string(sheet, 0, 2, "家庭人口", nullptr);
  worksheet_write_string(sheet, 1, 0, "张三", nullptr);
  worksheet_write_string(sheet, 1, 1, "520102199001011234", nullptr);
  worksheet_write_number(sheet, 1, 2, 4, nullptr);
  worksheet_write_string(sheet, 2, 0, "张三", nullptr);  // the same shared string again
  Close();

  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"户主姓名", "身份证号", "家庭人口"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{false, false, false}));
  EXPECT_EQ((*rows)[0].source_line, 1);
  EXPECT_EQ((*rows)[1].cells, (std::vector<std::string>{"张三", "520102199001011234", "4"}));
  EXPECT_EQ((*rows)[1].numeric, (std::vector<bool>{false, false, true}));
  EXPECT_EQ((*rows)[1].source_line, 2);
  EXPECT_EQ((*rows)[2].cells, (std::vector<std::string>{"张三"}));
}

TEST_F(XlsxReaderTest, IdNumberStoredAsNumberIsMarkedAndNotAValidId) {
  fs::path path = Path("numbers.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  worksheet_write_number(sheet, 0, 0, 520102199001011234.0, nullptr);
  worksheet_write_number(sheet, 0, 1, 3.25, nullptr);
  worksheet_write_number(sheet, 0, 2, -7, nullptr);
  Close();

  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const RawRow& row = (*rows)[0];
  ASSERT_EQ(row.cells.size(), 3u);
  EXPECT_EQ(row.numeric, (std::vector<bool>{true, true, true}));
  EXPECT_NE(row.cells[0], "520102199001011234");
  EXPECT_NE(NormalizeIdNumber(row.cells[0]).problem, IdProblem::kNone) << row.cells[0];
  EXPECT_EQ(row.cells[1], "3.25");
  EXPECT_EQ(row.cells[2], "-7");
}

TEST_F(XlsxReaderTest, NumberTextIsKeptAsWritten) {
  fs::path path = Path("as_written.xlsx");
  WriteZip(path,
           MinimalXlsx(Worksheet(R"(<row r="1"><c r="A1"><v>520102199001011000</v></c>)"
                                 R"(<c r="B1" t="n"><v>5.20102199001011E+17</v></c></row>)")));
  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cells,
            (std::vector<std::string>{"520102199001011000", "5.20102199001011E+17"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{true, true}));
}

TEST_F(XlsxReaderTest, DateFormattedNumbersBecomeDates) {
  fs::path path = Path("dates.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  lxw_format* builtin = workbook_add_format(workbook_);
  format_set_num_format_index(builtin, 14);
  lxw_format* iso = workbook_add_format(workbook_);
  format_set_num_format(iso, "yyyy-mm-dd");
  lxw_format* chinese = workbook_add_format(workbook_);
  format_set_num_format(chinese, "yyyy\"年\"m\"月\"d\"日\"");
  lxw_format* decimals = workbook_add_format(workbook_);
  format_set_num_format(decimals, "0.00");
  lxw_format* quoted = workbook_add_format(workbook_);
  format_set_num_format(quoted, "\"day \"0;[Red]-0");
  constexpr double k2023Jan1 = 44927;
  worksheet_write_number(sheet, 0, 0, k2023Jan1, builtin);
  worksheet_write_number(sheet, 0, 1, k2023Jan1, iso);
  worksheet_write_number(sheet, 0, 2, k2023Jan1, chinese);
  worksheet_write_number(sheet, 0, 3, k2023Jan1, decimals);
  worksheet_write_number(sheet, 0, 4, k2023Jan1, quoted);
  worksheet_write_number(sheet, 0, 5, 0.5, iso);  // a bare time names no day
  worksheet_write_number(sheet, 0, 6, 32874.75, iso);
  Close();

  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"2023-01-01", "2023-01-01", "2023-01-01",
                                                        "44927", "44927", "0.5", "1990-01-01"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{false, false, false, true, true, true, false}));
}

TEST_F(XlsxReaderTest, Date1904System) {
  fs::path path = Path("mac.xlsx");
  WriteZip(path, MinimalXlsx(Worksheet(R"(<row r="1"><c r="A1" s="1"><v>0</v></c>)"
                                       R"(<c r="B1" s="1"><v>43465</v></c></row>)"),
                             "", DateStyles(), R"(<workbookPr date1904="1"/>)"));
  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"1904-01-01", "2023-01-01"}));
}

TEST_F(XlsxReaderTest, SkippedColumnsAndEmptyRows) {
  fs::path path = Path("sparse.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  lxw_format* bold = workbook_add_format(workbook_);
  format_set_bold(bold);
  worksheet_write_string(sheet, 0, 0, "a", nullptr);
  worksheet_write_string(sheet, 0, 3, "d", nullptr);
  worksheet_write_blank(sheet, 0, 5, bold);  // a trailing styled empty cell
  worksheet_write_number(sheet, 2, 2, 5, nullptr);
  worksheet_write_blank(sheet, 4, 1, bold);  // a row with nothing in it
  worksheet_write_string(sheet, 9, 1, "x", nullptr);
  Close();

  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"a", "", "", "d"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ((*rows)[0].source_line, 1);
  EXPECT_EQ((*rows)[1].cells, (std::vector<std::string>{"", "", "5"}));
  EXPECT_EQ((*rows)[1].numeric, (std::vector<bool>{false, false, true}));
  EXPECT_EQ((*rows)[1].source_line, 3);
  EXPECT_EQ((*rows)[2].cells, (std::vector<std::string>{"", "x"}));
  EXPECT_EQ((*rows)[2].source_line, 10);
}

TEST_F(XlsxReaderTest, InlineStringsRichTextAndMissingReferences) {
  fs::path path = Path("handmade.xlsx");
  std::string sheet = Worksheet(
      // No r attributes at all: row 1, columns A, B, C.
      R"(<row><c t="inlineStr"><is><t>姓名</t></is></c>)"
      R"(<c t="inlineStr"><is><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r>)"
      R"(<rPh sb="0" eb="1"><t>ちょう</t></rPh></is></c><c><v>12</v></c></row>)"
      // Row 3 (row 2 absent); cells after B3 carry on at C, D, E; G3 and H3 are empty.
      R"(<row r="3"><c r="B3" t="s"><v>0</v></c><c t="str"><f>A1</f><v>公式_x000D_结果</v></c>)"
      R"(<c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c><c r="G3" t="s"/><c r="H3" s="0"/></row>)"
      // A row without r follows the previous one: 4.
      "<row><c r=\"A4\" t=\"inlineStr\"><is><t xml:space=\"preserve\"> 空格 _x005F_x </t></is>"
      "</c><c t=\"b\"><v>0</v></c></row>\n"
      R"(<row r="6"><c r="A6" s="1"/><c r="B6" t="inlineStr"><is><t></t></is></c></row>)"
      R"(<row r="7"><c r="A7" t="d"><v>2021-03-04T00:00:00</v></c></row>)");
  std::string shared =
      SharedStringTable(R"(<si><r><t>贵</t></r><r><rPr><sz val="11"/></rPr><t>州</t></r>)"
                        R"(<rPh sb="0" eb="1"><t>き</t></rPh><phoneticPr fontId="1"/></si>)");
  WriteZip(path, MinimalXlsx(sheet, shared, DateStyles()));

  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"姓名", "张三", "12"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{false, false, true}));
  EXPECT_EQ((*rows)[0].source_line, 1);
  EXPECT_EQ((*rows)[1].cells, (std::vector<std::string>{"", "贵州", "公式\r结果", "TRUE", "#N/A"}));
  EXPECT_EQ((*rows)[1].numeric, (std::vector<bool>{false, false, false, false, false}));
  EXPECT_EQ((*rows)[1].source_line, 3);
  EXPECT_EQ((*rows)[2].cells, (std::vector<std::string>{" 空格 _x ", "FALSE"}));
  EXPECT_EQ((*rows)[2].source_line, 4);
  EXPECT_EQ((*rows)[3].cells, (std::vector<std::string>{"2021-03-04"}));
  EXPECT_EQ((*rows)[3].source_line, 7);
}

TEST_F(XlsxReaderTest, StrictNamespacesAndPrefixedElements) {
  fs::path path = Path("strict.xlsx");
  constexpr std::string_view kStrictMain = "http://purl.oclc.org/ooxml/spreadsheetml/main";
  constexpr std::string_view kStrictRel = "http://purl.oclc.org/ooxml/officeDocument/relationships";
  Parts parts = {
      {"_rels/.rels", Relationships(Relationship("a", fmt::format("{}/officeDocument", kStrictRel),
                                                 "/book/main.xml"))},
      {"book/main.xml",
       fmt::format(R"(<x:workbook xmlns:x="{}" xmlns:rel="{}"><x:sheets>)"
                   R"(<x:sheet name="S" sheetId="1" rel:id="s1"/></x:sheets></x:workbook>)",
                   kStrictMain, kStrictRel)},
      {"book/_rels/main.xml.rels",
       Relationships(
           Relationship("s1", fmt::format("{}/worksheet", kStrictRel),
                        "./sheets/../sheets/one.xml") +
           Relationship("ss", fmt::format("{}/sharedStrings", kStrictRel), "strings.xml"))},
      {"book/sheets/one.xml",
       fmt::format(R"(<x:worksheet xmlns:x="{}"><x:sheetData><x:row x:spans="1:2">)"
                   R"(<x:c t="s"><x:v>0</x:v></x:c><x:c><x:v>1.5</x:v></x:c>)"
                   R"(</x:row></x:sheetData></x:worksheet>)",
                   kStrictMain)},
      {"book/strings.xml",
       fmt::format(R"(<x:sst xmlns:x="{}"><x:si><x:t>严格</x:t></x:si></x:sst>)", kStrictMain)},
  };
  WriteZip(path, parts);
  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"严格", "1.5"}));
  EXPECT_EQ((*rows)[0].numeric, (std::vector<bool>{false, true}));
}

TEST_F(XlsxReaderTest, FirstWorksheetInWorkbookOrder) {
  fs::path path = Path("order.xlsx");
  Parts parts = MinimalXlsx(Worksheet(R"(<row r="1"><c r="A1"><v>1</v></c></row>)"));
  for (auto& [name, content] : parts) {
    if (name == "xl/workbook.xml") {
      content = fmt::format(
          R"(<workbook xmlns="{}" xmlns:r="{}"><sheets><sheet name="图" sheetId="3" r:id="rId9"/>)"
          R"(<sheet name="第二" sheetId="2" r:id="rId2"/><sheet name="第一" sheetId="1" r:id="rId1"/>)"
          R"(</sheets></workbook>)",
          kMainNs, kRelNs);
    } else if (name == "xl/_rels/workbook.xml.rels") {
      content =
          Relationships(Relationship("rId1", RelType("worksheet"), "worksheets/sheet1.xml") +
                        Relationship("rId2", RelType("worksheet"), "/xl/worksheets/sheet2.xml") +
                        Relationship("rId9", RelType("chartsheet"), "chartsheets/sheet1.xml"));
    }
  }
  parts.emplace_back("xl/worksheets/sheet2.xml",
                     Worksheet(R"(<row r="1"><c r="A1"><v>2</v></c></row>)"));
  parts.emplace_back("xl/chartsheets/sheet1.xml", "<chartsheet/>");
  WriteZip(path, parts);
  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"2"}));
}

TEST_F(XlsxReaderTest, RandomBytesAreNotAnXlsx) {
  fs::path path = Path("random.xlsx");
  std::mt19937 random(20240601);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  WriteFile(path, bytes);
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.error().message().find(path.string()), std::string::npos)
      << source.error().message();
}

TEST_F(XlsxReaderTest, EncryptedWorkbookIsExplained) {
  fs::path path = Path("protected.xlsx");
  WriteFile(path, std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(1024, '\0'));
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.error().message().find("encrypted"), std::string::npos);
}

TEST_F(XlsxReaderTest, MissingFileIsNotFound) {
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(Path("absent.xlsx"));
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kNotFound);
}

TEST_F(XlsxReaderTest, TruncatedFileIsAnError) {
  fs::path path = Path("full.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  for (int i = 0; i < 100; ++i) worksheet_write_string(sheet, i, 0, "数据", nullptr);
  Close();
  std::string bytes = ReadFile(path);
  for (size_t size : {size_t{0}, size_t{1}, size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
    fs::path truncated = Path(fmt::format("truncated_{}.xlsx", size));
    WriteFile(truncated, std::string_view(bytes).substr(0, size));
    Result<std::vector<RawRow>> rows = ReadAllRows(truncated);
    ASSERT_FALSE(rows.has_value()) << "size " << size;
    EXPECT_EQ(rows.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(rows.error().message().find(truncated.string()), std::string::npos);
  }
}

TEST_F(XlsxReaderTest, DamagedSheetDataFailsTheChecksum) {
  fs::path path = Path("damaged.xlsx");
  WriteZip(path, MinimalXlsx(Worksheet(R"(<row r="1"><c r="A1"><v>12345</v></c></row>)")),
           /*store=*/true);
  std::string bytes = ReadFile(path);
  size_t at = bytes.find("<v>12345</v>");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 7] = '6';  // still well-formed XML, but not what was zipped
  WriteFile(path, bytes);

  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  RawRow row;
  Result<bool> next = (*source)->Next(row);
  while (next.has_value() && *next) next = (*source)->Next(row);
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(next.error().message().find("xl/worksheets/sheet1.xml"), std::string::npos)
      << next.error().message();
  // The reader is finished: the error stays.
  EXPECT_FALSE((*source)->Next(row).has_value());
}

TEST_F(XlsxReaderTest, BrokenSheetXmlNamesFileAndLine) {
  fs::path path = Path("broken.xlsx");
  WriteZip(path, MinimalXlsx(Worksheet("<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>\n"
                                       "<row r=\"2\"><c r=\"A2\"><v>2</v></row>")));
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  RawRow row;
  Result<bool> first = (*source)->Next(row);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_TRUE(*first);
  Result<bool> second = (*source)->Next(row);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(second.error().message().find(path.string()), std::string::npos);
  EXPECT_NE(second.error().message().find("line 3"), std::string::npos) << second.error().message();
}

TEST_F(XlsxReaderTest, BrokenSharedStringsFailOpen) {
  fs::path path = Path("broken_strings.xlsx");
  WriteZip(path, MinimalXlsx(Worksheet(""), SharedStringTable("<si><t>a</si>")));
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.error().message().find("xl/sharedStrings.xml"), std::string::npos);
}

TEST_F(XlsxReaderTest, DoctypeIsRefused) {
  fs::path path = Path("laughs.xlsx");
  std::string bomb =
      R"(<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">)"
      R"(<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><sst><si><t>&b;</t></si></sst>)";
  WriteZip(path, MinimalXlsx(Worksheet(""), bomb));
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_NE(source.error().message().find("DOCTYPE"), std::string::npos);
}

TEST_F(XlsxReaderTest, WorkbookWithoutWorksheetIsNotAnXlsx) {
  fs::path path = Path("no_sheet.xlsx");
  Parts parts = MinimalXlsx(Worksheet(""));
  for (auto& [name, content] : parts) {
    if (name == "xl/workbook.xml") content = fmt::format(R"(<workbook xmlns="{}"/>)", kMainNs);
  }
  WriteZip(path, parts);
  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.error().message().find("no worksheet"), std::string::npos);

  WriteZip(path, {{"readme.txt", "not a workbook"}});
  source = OpenXlsx(path);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code(), StatusCode::kInvalidArgument);
}

TEST_F(XlsxReaderTest, BadCellsAreErrorsNamingTheRow) {
  struct Case {
    std::string rows;
    std::string_view message;
  };
  std::vector<Case> cases = {
      {R"(<row r="4"><c r="A4" t="s"><v>1</v></c></row>)", "sheet row 4"},
      {R"(<row r="4"><c r="A4" t="s"><v>x</v></c></row>)", "shared string index"},
      {R"(<row r="4"><c r="1A"><v>1</v></c></row>)", "cell reference '1A'"},
      {R"(<row r="4"><c r="XFE4"><v>1</v></c></row>)", "cell reference 'XFE4'"},
      {R"(<row r="-1"><c><v>1</v></c></row>)", "row number '-1'"},
      {R"(<row r="4"><c t="q"><v>1</v></c></row>)", "unknown cell type"},
  };
  for (const Case& c : cases) {
    fs::path path = Path("bad_cell.xlsx");
    WriteZip(path, MinimalXlsx(Worksheet(c.rows), SharedStringTable("<si><t>only</t></si>")));
    Result<std::vector<RawRow>> rows = ReadAllRows(path);
    ASSERT_FALSE(rows.has_value()) << c.message;
    EXPECT_EQ(rows.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(rows.error().message().find(c.message), std::string::npos) << rows.error().message();
  }
}

TEST_F(XlsxReaderTest, NotAWorksheetRoot) {
  fs::path path = Path("chart_as_sheet.xlsx");
  WriteZip(path, MinimalXlsx("<chartsheet/>"));
  Result<std::vector<RawRow>> rows = ReadAllRows(path);
  ASSERT_FALSE(rows.has_value());
  EXPECT_NE(rows.error().message().find("not a worksheet"), std::string::npos);
}

// Every damaged variant must come back as a Status: this is the crash net for the reader.
TEST_F(XlsxReaderTest, MutatedFilesNeverCrash) {
  fs::path path = Path("seed.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path);
  lxw_format* date = workbook_add_format(workbook_);
  format_set_num_format_index(date, 14);
  for (int i = 0; i < 20; ++i) {
    worksheet_write_string(sheet, i, 0, "户主", nullptr);
    worksheet_write_number(sheet, i, 2, i * 1.5, nullptr);
    worksheet_write_number(sheet, i, 3, 40000 + i, date);
  }
  Close();
  const std::string seed = ReadFile(path);
  std::mt19937 random(7);
  fs::path mutated = Path("mutated.xlsx");
  for (int round = 0; round < 400; ++round) {
    std::string bytes = seed;
    int flips = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < flips; ++i) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    WriteFile(mutated, bytes);
    Result<std::vector<RawRow>> rows = ReadAllRows(mutated);
    if (!rows.has_value()) {
      EXPECT_EQ(rows.error().code(), StatusCode::kInvalidArgument) << rows.error().ToString();
    }
  }
}

TEST_F(XlsxReaderTest, LargeSheetStreams) {
  constexpr int kRows = 200000;
  fs::path path = Path("large.xlsx");
  lxw_worksheet* sheet = NewWorkbook(path, /*constant_memory=*/true);  // inline strings
  worksheet_write_string(sheet, 0, 0, "身份证号", nullptr);
  worksheet_write_string(sheet, 0, 1, "姓名", nullptr);
  worksheet_write_string(sheet, 0, 2, "人口", nullptr);
  for (int i = 1; i <= kRows; ++i) {
    worksheet_write_string(sheet, i, 0, fmt::format("52010219900101{:04}", i % 10000).c_str(),
                           nullptr);
    worksheet_write_string(sheet, i, 1, fmt::format("户主{}", i).c_str(), nullptr);
    worksheet_write_number(sheet, i, 2, i % 7, nullptr);
  }
  Close();

  Result<std::unique_ptr<RowSource>> source = OpenXlsx(path);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  RowSource& reader = **source;
  const uint64_t total = reader.BytesTotal();
  ASSERT_GT(total, uint64_t{10} << 20);
  RawRow row;
  int64_t count = 0;
  uint64_t last_bytes = 0;
  while (true) {
    Result<bool> next = reader.Next(row);
    ASSERT_TRUE(next.has_value()) << next.error().ToString();
    if (!*next) break;
    ++count;
    ASSERT_EQ(row.source_line, count);
    ASSERT_GE(reader.BytesRead(), last_bytes);
    last_bytes = reader.BytesRead();
    if (count == 1) {
      EXPECT_LT(reader.BytesRead(), total / 10) << "the first row needed most of the sheet";
    }
    if (count == kRows + 1) {
      EXPECT_EQ(row.cells, (std::vector<std::string>{"520102199001010000", "户主200000", "3"}));
      EXPECT_EQ(row.numeric, (std::vector<bool>{false, false, true}));
    }
  }
  EXPECT_EQ(count, kRows + 1);
  EXPECT_EQ(reader.BytesRead(), total);
  Result<bool> after = reader.Next(row);
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(*after);
}

// A cell over kMaxCellBytes no longer fails the file: it is cut just past the limit, so the
// importer rejects that row as too long and the rows after it are read.
TEST_F(XlsxReaderTest, OverlongCellIsCutJustPastTheLimitAndReadingGoesOn) {
  const std::string big(3 * kMaxCellBytes, 'x');
  std::string rows = "<row><c t=\"str\"><v>" + big + "</v></c></row>" +
                     R"(<row><c t="inlineStr"><is><t>)" + big + "</t><t>" + big +
                     "</t></is></c></row>" + R"(<row><c t="str"><v>)";
  for (size_t i = 0; i < kMaxCellBytes / 7 + 10; ++i) rows += "_x0041_";
  rows += R"(</v></c></row><row><c t="s"><v>0</v></c></row>)";
  fs::path path = Path("long_cell.xlsx");
  WriteZip(path, MinimalXlsx(Worksheet(rows), SharedStringTable("<si><t>" + big + "</t></si>")));
  Result<std::vector<RawRow>> read = ReadAllRows(path);
  ASSERT_TRUE(read.has_value()) << read.error().message();
  ASSERT_EQ(read->size(), 4u);
  for (const RawRow& row : *read) EXPECT_EQ(row.cells[0].size(), kMaxCellBytes + 1);
}

}  // namespace
}  // namespace fupin::exchange
