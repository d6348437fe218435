// The data contract in the repository (issue 13): docs/exchange-format.md is what the
// catalogue the importer validates against generates, and `fupin template` writes blank XLSX
// templates that a department officer fills and `fupin import` reads as they are.
#include "service/contract.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "core/code_lists.h"
#include "core/datasets.h"
#include "fupin_process.h"
#include "reports/file_reading_test_util.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::FupinRun;

const fs::path kDoc = fs::path(FUPIN_SOURCE_DIR) / "docs" / "exchange-format.md";

TEST(ContractDocTest, CommittedDocIsWhatTheCatalogueGenerates) {
  const std::string doc = test::ReadFile(kDoc);
  auto regenerated = service::SpliceContract(doc);
  ASSERT_TRUE(regenerated.has_value()) << regenerated.error().message();
  EXPECT_TRUE(*regenerated == doc)
      << "docs/exchange-format.md differs from the catalogue: run `fupin template --markdown "
         "docs/exchange-format.md`";
}

TEST(ContractDocTest, DocNamesEveryColumnWithItsMeaningAndEveryCode) {
  const std::string doc = test::ReadFile(kDoc);
  for (const DatasetSpec& d : AllDatasets()) {
    EXPECT_NE(doc.find(fmt::format("### `{}` {}", d.name, d.title_zh)), std::string::npos)
        << d.name;
    for (const FieldSpec& f : d.fields) {
      EXPECT_FALSE(f.note_zh.empty()) << d.name << "." << f.name << " has no meaning";
      EXPECT_FALSE(f.note_en.empty()) << d.name << "." << f.name << " has no meaning";
      EXPECT_NE(doc.find(fmt::format("| `{}` | {} |", f.name, f.label_zh)), std::string::npos)
          << d.name << "." << f.name;
      EXPECT_NE(doc.find(std::string(f.note_zh)), std::string::npos) << d.name << "." << f.name;
      if (!f.code_list.empty()) {
        EXPECT_NE(FindCodeList(f.code_list), nullptr) << f.code_list;
      }
    }
  }
  for (const CodeList& list : AllCodeLists())
    for (const CodeEntry& e : list.entries)
      EXPECT_NE(doc.find(fmt::format(" | {} |", e.label_zh)), std::string::npos)
          << list.name << " " << e.code;
  // The removal code list and the "how fupin reads it" sections after the contract.
  EXPECT_NE(doc.find("| 2 | 婚出 | married out |"), std::string::npos);
  EXPECT_GT(doc.find("## Re-imports"), doc.find(service::kContractEnd));
}

TEST(ContractDocTest, SpliceRefusesADocWithoutMarkers) {
  auto none = service::SpliceContract("# a doc\n");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.error().message().find("BEGIN GENERATED CONTRACT"), std::string::npos);
  auto reversed = service::SpliceContract(std::string(service::kContractEnd) + "\n" +
                                          std::string(service::kContractBegin));
  EXPECT_FALSE(reversed.has_value());
}

class TemplateTest : public ::testing::Test {
 protected:
  FupinRun Fupin(const std::vector<std::string>& args) { return test::RunFupin(dir_.path(), args); }
  test::TempDir dir_;
};

TEST_F(TemplateTest, MarkdownCommandRewritesTheGeneratedPart) {
  const std::string doc = test::ReadFile(kDoc);
  const size_t begin = doc.find(service::kContractBegin) + service::kContractBegin.size();
  const size_t end = doc.find(service::kContractEnd);
  const fs::path stale = dir_ / "exchange-format.md";
  test::WriteFile(stale, doc.substr(0, begin) + "\nold text\n" + doc.substr(end));
  FupinRun run = Fupin({"template", "--markdown", stale.string()});
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  EXPECT_TRUE(test::ReadFile(stale) == doc);
  const fs::path plain = dir_ / "plain.md";
  test::WriteFile(plain, "# no markers\n");
  FupinRun bad = Fupin({"--lang", "en", "template", "--markdown", plain.string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.Show();
  EXPECT_EQ(test::ReadFile(plain), "# no markers\n");
}

std::string Part(const fs::path& xlsx, const std::string& part) {
  auto text = reports::ReadZipPart(xlsx.string(), part);
  EXPECT_TRUE(text.has_value()) << xlsx << " has no " << part;
  return text.value_or("");
}

// The number format id of the style `style` in styles.xml's cellXfs.
std::string NumFmtOfStyle(const std::string& styles, int style) {
  size_t at = styles.find("<cellXfs");
  for (int i = 0; i <= style && at != std::string::npos; ++i) at = styles.find("<xf ", at + 1);
  if (at == std::string::npos) return "";
  std::smatch m;
  std::string xf = styles.substr(at, styles.find('>', at) - at);
  return std::regex_search(xf, m, std::regex("numFmtId=\"(\\d+)\"")) ? m[1].str() : "";
}

TEST_F(TemplateTest, MembersTemplateHasChineseHeadersDropDownsAndTextIds) {
  FupinRun run = Fupin({"template", "members", "--out", (dir_ / "t").string()});
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  const fs::path xlsx = dir_ / "t" / "members.xlsx";
  ASSERT_TRUE(fs::exists(xlsx));
  const std::string strings = Part(xlsx, "xl/sharedStrings.xml");
  for (const FieldSpec& f : FindDataset("members")->fields)
    EXPECT_NE(strings.find(fmt::format("<t>{}</t>", f.label_zh)), std::string::npos) << f.name;
  for (const CodeEntry& e : FindCodeList("left_reason")->entries)
    EXPECT_NE(strings.find(fmt::format("<t>{}</t>", e.label_zh)), std::string::npos) << e.code;
  const std::string sheet = Part(xlsx, "xl/worksheets/sheet1.xml");
  // Header row frozen.
  EXPECT_NE(sheet.find("ySplit=\"1\""), std::string::npos) << sheet.substr(0, 600);
  // sex is column D: a list read from 代码表.
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(sheet, m,
                        std::regex("<dataValidation type=\"list\"[^>]*sqref=\"D2:D1048576\"[^>]*>"
                                   "<formula1>([^<]*)</formula1>")))
      << sheet;
  EXPECT_NE(m[1].str().find("代码表!$"), std::string::npos) << m[1];
  // id_number (column A) formatted as text: built-in format 49 is "@".
  ASSERT_TRUE(
      std::regex_search(sheet, m, std::regex("<col min=\"1\" max=\"1\"[^>]*style=\"(\\d+)\"")))
      << sheet;
  EXPECT_EQ(NumFmtOfStyle(Part(xlsx, "xl/styles.xml"), std::stoi(m[1])), "49");
  // The explanation sheet and the code list sheet.
  const std::string workbook = Part(xlsx, "xl/workbook.xml");
  EXPECT_NE(workbook.find("name=\"说明\""), std::string::npos);
  EXPECT_NE(workbook.find("name=\"代码表\""), std::string::npos);
  EXPECT_NE(strings.find(std::string(FindDataset("members")->fields[0].note_zh)),
            std::string::npos);
}

TEST_F(TemplateTest, AllWritesEveryDataSetAndAnUnknownNameIsRefused) {
  FupinRun run = Fupin({"template", "all", "--out", (dir_ / "all").string()});
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "all")) {
    EXPECT_EQ(e.path().extension(), ".xlsx") << e.path();
    ++files;
  }
  EXPECT_EQ(files, AllDatasets().size());
  FupinRun bad = Fupin({"template", "memebers", "--out", (dir_ / "bad").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.Show();
  EXPECT_NE(bad.err.find("memebers"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "memebers.xlsx"));
}

// Fills the first sheet of a template with rows of inline strings, as an officer would.
void Fill(const fs::path& xlsx, const std::vector<std::vector<std::string>>& rows) {
  std::string sheet = Part(xlsx, "xl/worksheets/sheet1.xml");
  std::string xml;
  for (size_t r = 0; r < rows.size(); ++r) {
    xml += fmt::format("<row r=\"{}\">", r + 2);
    for (size_t c = 0; c < rows[r].size(); ++c) {
      if (rows[r][c].empty()) continue;
      xml += fmt::format("<c r=\"{}{}\" t=\"inlineStr\"><is><t>{}</t></is></c>",
                         static_cast<char>('A' + c), r + 2, rows[r][c]);
    }
    xml += "</row>";
  }
  const size_t header_end = sheet.find("</row>");
  ASSERT_NE(header_end, std::string::npos);
  sheet.insert(header_end + 6, xml);
  int error = 0;
  zip_t* zip = zip_open(xlsx.c_str(), 0, &error);
  ASSERT_NE(zip, nullptr);
  zip_source_t* src = zip_source_buffer(zip, sheet.data(), sheet.size(), 0);
  ASSERT_GE(zip_file_add(zip, "xl/worksheets/sheet1.xml", src, ZIP_FL_OVERWRITE), 0);
  ASSERT_EQ(zip_close(zip), 0);
}

TEST_F(TemplateTest, FilledTemplatesImport) {
  const fs::path batch = dir_ / "batch";
  ASSERT_EQ(Fupin({"template", "households", "--out", batch.string()}).exit_code, 0);
  ASSERT_EQ(Fupin({"template", "members", "--out", batch.string()}).exit_code, 0);
  const std::string head = test::MakeId(test::kCounty, "19700101", 11);
  const std::string child = test::MakeId(test::kCounty, "20100505", 22);
  // household_id, village_code, head_id_number, category (a drop-down label)
  Fill(batch / "households.xlsx", {{"0012", std::string(test::kVillage), head, "一般贫困户"}});
  // id_number, household_id, name, sex, birth_date, relation, ethnicity
  Fill(batch / "members.xlsx", {{head, "0012", "张三", "男", "1970-01-01", "户主", "汉族"},
                                {child, "0012", "张小", "女", "2010-05-05", "之女", "苗族"}});
  const fs::path db = dir_ / "f.db";
  FupinRun run = Fupin({"import", batch.string(), "--db", db.string()});
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  EXPECT_EQ(test::Query(db, "SELECT household_id, category FROM households"),
            (std::vector<std::vector<std::string>>{{"0012", "1"}}));
  EXPECT_EQ(test::Query(db,
                        "SELECT id_number, sex, relation, ethnicity FROM members ORDER BY "
                        "relation"),
            (std::vector<std::vector<std::string>>{{head, "1", "1", "1"}, {child, "2", "4", "6"}}));
  EXPECT_EQ(test::QueryInt(db,
                           "SELECT count(*) FROM import_issues WHERE code IN "
                           "('unknown_column', 'missing_column')"),
            0);
}

}  // namespace
}  // namespace fupin
