// The flags worklist round trip, run as a user runs it: `fupin export flags` gives every
// flag a stable id and 核查结果 / 核查备注 columns; `fupin flags import` brings the filled-in
// worklist back (CSV or XLSX), checks every row and applies all or nothing. Also: export
// filters that name nothing refuse, exports mask IDs and names unless --unmask and carry a
// BOM, and `rules run` progress says what it counts. Checked against the SQLite file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xlsxwriter.h>

#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "fupin_process.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::Csv;
using test::FupinRun;
using test::Household;
using test::kCounty;
using test::MakeId;
using test::Member;
using test::Row;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Splits CSV text (no quoted line breaks) into rows of cells, the BOM dropped.
std::vector<std::vector<std::string>> ParseCsv(std::string text) {
  if (text.starts_with(kBom)) text.erase(0, kBom.size());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      row.push_back(cell);
      cell.clear();
      rows.push_back(row);
      row.clear();
    } else {
      cell += c;
    }
  }
  return rows;
}

class FlagsImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    batch_ = dir_ / "batch";
    fs::create_directories(batch_);
    // 2 households (H1 declares 3 members, lists 2; H2 lists 1): DQ_MEMBER_COUNT twice;
    // 李四 of H1 owns a car: EXC_VEHICLE.
    test::WriteFile(batch_ / "households.csv",
                    Csv("households", {Household("H1"), Household("H2", "", "520102016002")}));
    test::WriteFile(batch_ / "members.csv",
                    Csv("members", {Member(MakeId(kCounty, "19700101", 11), "H1"),
                                    Member(car_owner_, "H1", "李四"),
                                    Member(MakeId(kCounty, "19700303", 33), "H2", "王五")}));
    test::WriteFile(batch_ / "vehicles.csv", Csv("vehicles", {Car()}));
    ASSERT_EQ(Fupin({"import", batch_.string(), "--db", db_.string()}).exit_code, 0);
    ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
    ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  }

  Row Car() const {
    Row car = test::DefaultRow("vehicles");
    car["id_number"] = car_owner_;
    car["name"] = "李四";
    car["sex"] = "2";
    car["birth_date"] = "1972-02-02";
    car["plate"] = "贵A88888";
    car["vehicle_type"] = "小型轿车";
    return car;
  }

  FupinRun Fupin(const std::vector<std::string>& args) { return test::RunFupin(dir_.path(), args); }

  // The worklist as exported (CSV, the given language), header first.
  std::vector<std::vector<std::string>> Worklist(const std::vector<std::string>& extra = {},
                                                 bool en = false) {
    const fs::path out = dir_ / "worklist.csv";
    std::vector<std::string> args = {"export",     "flags", "--db",
                                     db_.string(), "--out", out.string()};
    if (en) args.insert(args.begin(), {"--lang", "en"});
    args.insert(args.end(), extra.begin(), extra.end());
    FupinRun r = Fupin(args);
    EXPECT_EQ(r.exit_code, 0) << r.Show();
    return ParseCsv(test::ReadFile(out));
  }

  // flag_id -> "state|note", straight from the SQLite file.
  std::map<std::string, std::string> States() {
    std::map<std::string, std::string> out;
    for (const auto& r :
         test::Query(db_, "SELECT flag_id, state, coalesce(note, '') FROM flags ORDER BY 1"))
      out[r[0]] = r[1] + "|" + r[2];
    return out;
  }

  std::string FlagId(const std::string& rule, const std::string& household) {
    auto rows = test::Query(db_, "SELECT flag_id FROM flags WHERE rule = '" + rule +
                                     "' AND household_id = '" + household + "'");
    return rows.empty() ? "" : rows[0][0];
  }

  const std::string car_owner_ = MakeId(kCounty, "19720202", 22);
  test::TempDir dir_;
  fs::path db_, batch_;
};

// Columns of the Chinese worklist.
constexpr size_t kId = 0, kRule = 1, kHousehold = 3, kIdNumber = 4, kEvidence = 6, kVerdict = 10,
                 kNote = 11;

TEST_F(FlagsImportTest, EveryExportedFlagHasTheStoreIdWhichSurvivesAnotherRun) {
  auto before = Worklist({"--unmask"});
  ASSERT_GE(before.size(), 4u);
  EXPECT_EQ(before[0][kId], "疑点编号");
  EXPECT_EQ(before[0][kVerdict], "核查结果");
  EXPECT_EQ(before[0][kNote], "核查备注");
  std::map<std::string, std::string> id_of;  // rule/household/ID -> flag id
  for (size_t i = 1; i < before.size(); ++i) {
    const auto& r = before[i];
    EXPECT_EQ(r[kId], test::Query(db_, "SELECT flag_id FROM flags WHERE rule = '" + r[kRule] +
                                           "' AND household_id = '" + r[kHousehold] +
                                           "' AND id_number = '" + r[kIdNumber] + "'")[0][0]);
    id_of[r[kRule] + "/" + r[kHousehold] + "/" + r[kIdNumber]] = r[kId];
  }
  // The car goes: its flag closes; it comes back: the flag reopens under the same id.
  test::WriteFile(batch_ / "vehicles.csv", Csv("vehicles", {}));
  ASSERT_EQ(Fupin({"import", batch_.string(), "--db", db_.string()}).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  test::WriteFile(batch_ / "vehicles.csv", Csv("vehicles", {Car()}));
  ASSERT_EQ(Fupin({"import", batch_.string(), "--db", db_.string()}).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  auto after = Worklist({"--unmask"});
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 1; i < after.size(); ++i) {
    const auto& r = after[i];
    EXPECT_EQ(id_of[r[kRule] + "/" + r[kHousehold] + "/" + r[kIdNumber]], r[kId])
        << r[kRule] << " " << r[kHousehold];
  }
}

TEST_F(FlagsImportTest, CsvVerdictsInChineseAreAppliedWithNotesAndHistory) {
  auto rows = Worklist();
  const std::string vehicle = FlagId("EXC_VEHICLE", "H1");
  const std::string count = FlagId("DQ_MEMBER_COUNT", "H1");
  ASSERT_FALSE(vehicle.empty());
  ASSERT_FALSE(count.empty());
  std::string filled = std::string(kBom) + test::CsvLine(rows[0]);
  for (size_t i = 1; i < rows.size(); ++i) {
    auto r = rows[i];
    if (r[kId] == vehicle) {
      r[kVerdict] = "核实属实";
      r[kNote] = "入户核实，车辆属实";
    } else if (r[kId] == count) {
      r[kVerdict] = " 误报 ";
    }
    filled += test::CsvLine(r);
  }
  test::WriteFile(dir_ / "filled.csv", filled);
  const auto events_before = test::QueryInt(db_, "SELECT count(*) FROM flag_events");
  FupinRun r = Fupin({"flags", "import", (dir_ / "filled.csv").string(), "--db", db_.string(),
                      "--user", "cadre7"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto states = States();
  EXPECT_EQ(states[vehicle], "verified|入户核实，车辆属实");
  EXPECT_EQ(states[count], "dismissed|");
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flags WHERE decided_by = 'cadre7'"), 2);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flag_events"), events_before + 2);
  // Each row reported: the two changes, the others without a verdict.
  EXPECT_NE(r.out.find("疑点 " + vehicle), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("待核查 -> 已核实"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("待核查 -> 误报"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("更改: 2"), std::string::npos) << r.out;
  // The next export shows the verdicts; importing it again changes nothing.
  auto again = Worklist();
  for (size_t i = 1; i < again.size(); ++i)
    if (again[i][kId] == vehicle) {
      EXPECT_EQ(again[i][kVerdict], "已核实");
    }
  const fs::path out = dir_ / "worklist.csv";
  FupinRun same = Fupin({"flags", "import", out.string(), "--db", db_.string()});
  ASSERT_EQ(same.exit_code, 0) << same.Show();
  EXPECT_NE(same.out.find("更改: 0; 无变化: 2"), std::string::npos) << same.out;
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flag_events"), events_before + 2);
}

TEST_F(FlagsImportTest, XlsxWorklistWithEnglishVerdictsIsApplied) {
  const std::string vehicle = FlagId("EXC_VEHICLE", "H1");
  const std::string count = FlagId("DQ_MEMBER_COUNT", "H2");
  ASSERT_FALSE(count.empty());
  // As Excel saves it: the English header, ids as numbers, one verdict capitalised.
  const fs::path xlsx = dir_ / "filled.xlsx";
  lxw_workbook* wb = workbook_new(xlsx.c_str());
  lxw_worksheet* ws = workbook_add_worksheet(wb, "flags");
  const char* header[] = {"flag_id", "rule", "household_id", "verdict", "note"};
  for (lxw_col_t c = 0; c < 5; ++c) worksheet_write_string(ws, 0, c, header[c], nullptr);
  worksheet_write_number(ws, 1, 0, std::stod(vehicle), nullptr);
  worksheet_write_string(ws, 1, 1, "EXC_VEHICLE", nullptr);
  worksheet_write_string(ws, 1, 3, "Dismissed", nullptr);
  worksheet_write_string(ws, 1, 4, "car sold in 2018", nullptr);
  worksheet_write_string(ws, 2, 0, count.c_str(), nullptr);
  worksheet_write_string(ws, 2, 3, "verified", nullptr);
  ASSERT_EQ(workbook_close(wb), LXW_NO_ERROR);
  FupinRun r = Fupin({"--lang", "en", "flags", "import", xlsx.string(), "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto states = States();
  EXPECT_EQ(states[vehicle], "dismissed|car sold in 2018");
  EXPECT_EQ(states[count], "verified|");
  EXPECT_NE(r.out.find("open -> dismissed"), std::string::npos) << r.out;
}

TEST_F(FlagsImportTest, OneBadRowAppliesNothingAndEveryProblemIsReported) {
  const std::string vehicle = FlagId("EXC_VEHICLE", "H1");
  const std::string count1 = FlagId("DQ_MEMBER_COUNT", "H1");
  const std::string count2 = FlagId("DQ_MEMBER_COUNT", "H2");
  const auto other = test::Query(db_,
                                 "SELECT flag_id, rule FROM flags WHERE rule NOT IN "
                                 "('EXC_VEHICLE', 'DQ_MEMBER_COUNT') LIMIT 1");
  ASSERT_EQ(other.size(), 1u);
  // The car goes: EXC_VEHICLE closes (no longer holds).
  test::WriteFile(batch_ / "vehicles.csv", Csv("vehicles", {}));
  ASSERT_EQ(Fupin({"import", batch_.string(), "--db", db_.string()}).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(States()[vehicle], "closed|");
  const auto before = States();
  const auto events = test::QueryInt(db_, "SELECT count(*) FROM flag_events");
  std::string filled = test::CsvLine({"疑点编号", "规则", "户编号", "核查结果", "核查备注"});
  filled += test::CsvLine({count1, "DQ_MEMBER_COUNT", "H1", "已核实", "fine"});  // line 2: good
  filled += test::CsvLine({"999999", "", "", "误报", ""});                       // 3: no such flag
  filled += test::CsvLine({count2, "", "", "maybe", ""});                        // 4: bad verdict
  filled += test::CsvLine({count1, "", "", "误报", ""});                         // 5: twice
  filled += test::CsvLine({vehicle, "", "", "已核实", ""});                      // 6: closed
  filled += test::CsvLine({other[0][0], "EXC_VEHICLE", "", "误报", ""});         // 7: wrong rule
  filled += test::CsvLine({"abc", "", "", "误报", ""});                          // 8: not an id
  test::WriteFile(dir_ / "bad.csv", filled);
  FupinRun r = Fupin({"flags", "import", (dir_ / "bad.csv").string(), "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 3) << r.Show();
  EXPECT_EQ(States(), before);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flag_events"), events);
  for (const std::string& expected : std::vector<std::string>{
           std::string("没有编号为 999999 的疑点"), "核查结果“maybe”无法识别",
           "疑点 " + count1 + " 在第 2 行已出现", "疑点 " + vehicle + " 已不成立",
           "疑点 " + other[0][0] + " 属于规则 " + other[0][1] + "，本行写的是 EXC_VEHICLE",
           std::string("疑点编号“abc”不是编号"), std::string("错误: 6")})
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  for (int line = 3; line <= 8; ++line)
    EXPECT_TRUE(std::regex_search(r.out, std::regex(fmt::format("行 +{}  .*错误", line))))
        << line << "\n"
        << r.out;
  EXPECT_NE(r.err.find("全部未写入"), std::string::npos) << r.err;
}

TEST_F(FlagsImportTest, DryRunReportsButChangesNothing) {
  const std::string count = FlagId("DQ_MEMBER_COUNT", "H1");
  const auto before = States();
  test::WriteFile(dir_ / "f.csv", test::CsvLine({"flag_id", "verdict", "note"}) +
                                      test::CsvLine({count, "verified", "seen"}));
  FupinRun r = Fupin({"--lang", "en", "flags", "import", (dir_ / "f.csv").string(), "--db",
                      db_.string(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_NE(r.out.find("open -> verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run"), std::string::npos) << r.out;
  EXPECT_EQ(States(), before);
}

TEST_F(FlagsImportTest, AFileThatIsNotAWorklistIsRefusedNamingTheColumn) {
  test::WriteFile(dir_ / "f.csv", "rule,household_id\nEXC_VEHICLE,H1\n");
  FupinRun r = Fupin({"flags", "import", (dir_ / "f.csv").string(), "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("疑点编号"), std::string::npos) << r.err;
  FupinRun missing =
      Fupin({"flags", "import", (dir_ / "none.xlsx").string(), "--db", db_.string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.Show();
}

TEST_F(FlagsImportTest, ExportRefusesAnUnknownRuleRegionOrCategoryNamingIt) {
  const fs::path out = dir_ / "f.csv";
  for (const auto& [option, value] :
       std::vector<std::pair<std::string, std::string>>{{"--rule", "NOPE"},
                                                        {"--region", "529999"},
                                                        {"--category", "exclusoin"},
                                                        {"--state", "done"}}) {
    FupinRun r = Fupin({"--lang", "en", "export", "flags", "--db", db_.string(), "--out",
                        out.string(), option, value});
    EXPECT_NE(r.exit_code, 0) << option << r.Show();
    EXPECT_NE(r.err.find(option + " " + value), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << option;
  }
  // Known values still work, even when they select nothing.
  EXPECT_EQ(Worklist({"--rule", "EXC_DECEASED"}).size(), 1u);
  EXPECT_EQ(Worklist({"--category", "exclusion"}).size(), 2u);
  // A region selects the flags of its villages, counted here with SQL.
  EXPECT_EQ(static_cast<int64_t>(Worklist({"--region", "520102"}).size()),
            1 + test::QueryInt(db_,
                               "SELECT count(*) FROM flags WHERE village_code LIKE "
                               "'520102%'"));
  EXPECT_EQ(static_cast<int64_t>(Worklist({"--region", std::string(test::kVillage2)}).size()),
            1 + test::QueryInt(db_, "SELECT count(*) FROM flags WHERE village_code = '" +
                                        std::string(test::kVillage2) + "'"));
  EXPECT_GT(test::QueryInt(db_, "SELECT count(*) FROM flags WHERE village_code = '" +
                                    std::string(test::kVillage2) + "'"),
            0);
}

TEST_F(FlagsImportTest, ExportMasksIdsAndNamesUnlessUnmaskAndStartsWithABom) {
  const fs::path out = dir_ / "worklist.csv";
  Worklist({"--rule", "EXC_VEHICLE"});
  const std::string masked = test::ReadFile(out);
  EXPECT_TRUE(masked.starts_with(kBom));
  EXPECT_EQ(masked.find(car_owner_), std::string::npos) << masked;
  EXPECT_EQ(masked.find("李四"), std::string::npos) << masked;
  const std::string masked_id = car_owner_.substr(0, 6) + "********" + car_owner_.substr(14);
  auto rows = ParseCsv(masked);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][kIdNumber], masked_id);
  EXPECT_NE(rows[1][kEvidence].find("李*（" + masked_id + "）"), std::string::npos)
      << rows[1][kEvidence];
  auto full = Worklist({"--rule", "EXC_VEHICLE", "--unmask"});
  EXPECT_EQ(full[1][kIdNumber], car_owner_);
  EXPECT_NE(full[1][kEvidence].find("李四（" + car_owner_ + "）"), std::string::npos);
  EXPECT_NE(full[1][kEvidence].find("贵A88888"), std::string::npos);
}

TEST_F(FlagsImportTest, RulesRunProgressSaysWhatItCounts) {
  FupinRun zh = Fupin({"rules", "run", "--db", db_.string()});
  ASSERT_EQ(zh.exit_code, 0) << zh.Show();
  EXPECT_NE(zh.err.find("已读取 households：2 行"), std::string::npos) << zh.err;
  EXPECT_NE(zh.err.find("已读取 members：3 行"), std::string::npos) << zh.err;
  FupinRun en = Fupin({"--lang", "en", "rules", "run", "--db", db_.string()});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_NE(en.err.find("loaded members: 3 rows"), std::string::npos) << en.err;
}

}  // namespace
}  // namespace fupin
