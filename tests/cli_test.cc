// The `fupin` command run as a user runs it: the real binary (FUPIN_BINARY) in a child
// process on a temporary SQLite file, checking exit statuses, output, reports, and that a
// process killed in the middle of an import leaves the database as it was.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "core/id_number.h"
#include "fupin_process.h"
#include "store/sqlite/sqlite_store.h"
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

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    batch_ = dir_ / "batch";
    fs::create_directories(batch_);
  }

  FupinRun Fupin(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    return test::RunFupin(dir_.path(), args, env);
  }
  FupinRun Import(const fs::path& path, std::vector<std::string> extra = {},
                  const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = {"import", path.string(), "--db", db_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Fupin(args, env);
  }

  // A clean batch: 2 households, 3 members, every row valid.
  void WriteCleanBatch(const fs::path& dir) {
    test::WriteFile(dir / "households.csv",
                    Csv("households", {Household("H1"), Household("H2", "", "520102016002")}));
    test::WriteFile(dir / "members.csv",
                    Csv("members", {Member(MakeId(kCounty, "19700101", 11), "H1"),
                                    Member(MakeId(kCounty, "19720202", 22), "H1", "李四"),
                                    Member(MakeId(kCounty, "19700303", 33), "H2", "王五")}));
  }

  test::TempDir dir_;
  fs::path db_;
  fs::path batch_;
};

TEST_F(CliTest, ImportExitsZeroWhenEveryRowImported) {
  WriteCleanBatch(batch_);
  FupinRun r = Import(batch_);
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto counts = test::TableCounts(db_);
  EXPECT_EQ(counts["households"], 2);
  EXPECT_EQ(counts["members"], 3);
  EXPECT_EQ(counts["import_batches"], 1);
  EXPECT_EQ(counts["import_issues"], 0);
  // Progress goes to stderr, naming the files.
  EXPECT_NE(r.err.find("members.csv"), std::string::npos) << r.Show();
  EXPECT_FALSE(fs::exists(db_.string() + ".reports/import-1-issues.csv"));
}

TEST_F(CliTest, ImportExitsThreeWhenRowsRejectedAndWritesTheReport) {
  WriteCleanBatch(batch_);
  Row bad = Household("H3");
  bad["category"] = "7";
  test::WriteFile(batch_ / "households.csv", Csv("households", {Household("H1"), bad}));
  FupinRun r = Import(batch_);
  ASSERT_EQ(r.exit_code, 3) << r.Show();
  fs::path reports = db_.string() + ".reports";
  EXPECT_TRUE(fs::exists(reports / "import-1-issues.xlsx")) << r.Show();
  ASSERT_TRUE(fs::exists(reports / "import-1-issues.csv")) << r.Show();
  std::string csv = test::ReadFile(reports / "import-1-issues.csv");
  EXPECT_TRUE(csv.starts_with("\xEF\xBB\xBF")) << "Excel needs the BOM to read UTF-8";
  EXPECT_NE(csv.find("households.csv,2,category,7,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("unknown_code"), std::string::npos) << csv;
  EXPECT_FALSE(fs::exists(reports / "import-1-issues.csv.part"));
  EXPECT_EQ(test::TableCounts(db_)["households"], 1);
}

// The issue report is an output that shows people: an ID number or name quoted in it is
// masked like everywhere else; file, row and column still point to the value (issue 13).
TEST_F(CliTest, IssueReportMasksIdNumbersAndNames) {
  WriteCleanBatch(batch_);
  const std::string bad_check = test::WithBadCheckChar(MakeId(kCounty, "19800101", 41));
  std::string spaced = MakeId(kCounty, "19800101", 52);
  const std::string cleaned = spaced;
  spaced.insert(7, " ");
  Row odd = test::DefaultRow("vehicles");
  odd["id_number"] = spaced;
  odd["name"] = "Zhang San欧阳";
  odd["plate"] = "贵A12345";
  Row wrong = test::DefaultRow("vehicles");
  wrong["id_number"] = bad_check;
  wrong["plate"] = "贵A54321";
  test::WriteFile(batch_ / "Vehicles.csv", Csv("vehicles", {odd, wrong}));  // any case
  FupinRun r = Import(batch_);
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  const fs::path reports = db_.string() + ".reports";
  const std::string csv = test::ReadFile(reports / "import-1-issues.csv");
  for (const std::string& whole : {bad_check, spaced, cleaned, std::string("Zhang San欧阳")})
    EXPECT_EQ(csv.find(whole), std::string::npos) << whole << " shown whole:\n" << csv;
  EXPECT_NE(csv.find("Vehicles.csv,1,id_number," + MaskIdNumber(spaced)), std::string::npos) << csv;
  EXPECT_NE(csv.find("Vehicles.csv,2,id_number," + MaskIdNumber(bad_check)), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("id_cleaned"), std::string::npos) << csv;
  EXPECT_NE(csv.find("name_odd_chars"), std::string::npos) << csv;
  EXPECT_NE(csv.find("Z**********"), std::string::npos) << csv;
  // The store keeps what was sent.
  EXPECT_EQ(
      test::QueryInt(db_, "SELECT count(*) FROM import_issues WHERE value = '" + bad_check + "'"),
      1);
}

TEST_F(CliTest, ImportExitsOneWhenThePathDoesNotExistAndLeavesTheDbAlone) {
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  auto before = test::TableCounts(db_);

  FupinRun r = Import(dir_ / "no-such-folder");
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("no-such-folder"), std::string::npos) << r.Show();
  EXPECT_EQ(test::TableCounts(db_), before);
}

TEST_F(CliTest, ImportOfAMissingPathCreatesNoDatabase) {
  FupinRun r = Import(dir_ / "no-such-folder");
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_FALSE(fs::exists(db_))
      << "\"import failed, the database is unchanged\", yet it was created";
}

TEST_F(CliTest, FileLevelWarningsReachTheReport) {
  // Every row imports, but a column was ignored and optional columns are missing: the user
  // must be able to see that somewhere.
  std::string csv = test::CsvLine({"household_id", "village_code", "head_id_number", "备注"});
  csv +=
      test::CsvLine({"H1", std::string(test::kVillage), MakeId(kCounty, "19700101", 11), "老户"});
  test::WriteFile(batch_ / "households.csv", csv);
  FupinRun r = Import(batch_);
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  fs::path report = fs::path(db_.string() + ".reports") / "import-1-issues.csv";
  ASSERT_TRUE(fs::exists(report)) << r.Show();
  std::string text = test::ReadFile(report);
  EXPECT_NE(text.find("unknown_column"), std::string::npos) << text;
  EXPECT_NE(text.find("missing_column"), std::string::npos) << text;
}

TEST_F(CliTest, BadCommandLineExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"import"},
      {"import", batch_.string()},  // no --db
      {"frobnicate"},
      {"import", batch_.string(), "--db", db_.string(), "--no-such-flag"},
      {"--lang", "fr", "stats", "--db", db_.string()},
  };
  for (const auto& args : bad) {
    FupinRun r = Fupin(args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("fupin {}\n", fmt::join(args, " ")) << r.Show();
  }
  EXPECT_FALSE(fs::exists(db_));
}

TEST_F(CliTest, JsonSummaryParses) {
  WriteCleanBatch(batch_);
  FupinRun r = Import(batch_, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out;
  EXPECT_EQ(j["batch_id"], 1);
  EXPECT_EQ(j["nothing_changed"], false);
  EXPECT_EQ(j["rows_read"], 5);
  EXPECT_EQ(j["rows_imported"], 5);
  EXPECT_EQ(j["rows_rejected"], 0);
  EXPECT_EQ(j["warnings"], 0);
  EXPECT_EQ(j["files_failed"], 0);
  ASSERT_EQ(j["files"].size(), 2u) << j.dump(2);
  std::map<std::string, nlohmann::json> files;
  for (const auto& f : j["files"]) files[f["file"]] = f;
  EXPECT_EQ(files["households.csv"]["dataset"], "households");
  EXPECT_EQ(files["households.csv"]["encoding"], "UTF-8");
  EXPECT_EQ(files["households.csv"]["rows_imported"], 2);
  EXPECT_EQ(files["members.csv"]["rows_imported"], 3);
  EXPECT_EQ(files["members.csv"]["outcome"], "imported");

  FupinRun again = Import(batch_, {"--json"});
  ASSERT_EQ(again.exit_code, 0) << again.Show();
  nlohmann::json k = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_FALSE(k.is_discarded()) << again.out;
  EXPECT_EQ(k["nothing_changed"], true);
  EXPECT_EQ(k["batch_id"], 0);
  EXPECT_EQ(k["rows_imported"], 0);
}

TEST_F(CliTest, StatsJsonShowsTablesAndHouseholdsPerPrefectureAndStatus) {
  Row exited = Household("H3");
  exited["status"] = "2";
  exited["exit_year"] = "2019";
  Row zunyi = Household("Z1", "", std::string(test::kZunyiVillage));
  test::WriteFile(batch_ / "households.csv",
                  Csv("households", {Household("H1"), Household("H2"), exited, zunyi}));
  test::WriteFile(batch_ / "members.csv",
                  Csv("members", {Member(MakeId(kCounty, "19700101", 1), "H1"),
                                  Member(MakeId(kCounty, "19700101", 3), "H1"),
                                  Member(MakeId(kCounty, "19700101", 5), "H2"),
                                  Member(MakeId(kCounty, "19700101", 7), "H3"),
                                  Member(MakeId("520302", "19700101", 9), "Z1")}));
  ASSERT_EQ(Import(batch_).exit_code, 0);

  FupinRun r = Fupin({"stats", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["batches"], 1);
  EXPECT_EQ(j["tables"]["households"], 4);
  EXPECT_EQ(j["tables"]["members"], 5);
  EXPECT_EQ(j["tables"]["import_batches"], 1);
  EXPECT_EQ(j["tables"]["regions"], test::TableCounts(db_)["regions"]);
  std::vector<std::tuple<std::string, std::string, int, int, int>> got;
  for (const auto& p : j["by_prefecture"])
    got.emplace_back(p["prefecture_code"], p["prefecture"], p["status"], p["households"],
                     p["members"]);
  std::vector<std::tuple<std::string, std::string, int, int, int>> want = {
      {std::string(test::kGuiyang), "贵阳市", 1, 2, 3},
      {std::string(test::kGuiyang), "贵阳市", 2, 1, 1},
      {std::string(test::kZunyi), "遵义市", 1, 1, 1},
  };
  EXPECT_EQ(got, want) << j["by_prefecture"].dump(2);
}

TEST_F(CliTest, StatsOnAMissingDatabaseExitsOne) {
  FupinRun r = Fupin({"stats", "--db", (dir_ / "none.db").string()});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_FALSE(fs::exists(dir_ / "none.db"));
}

// The batch imported on top of the clean one in the crash test: H1 changes, 40 households
// and 80 members are new, and a department file arrives: 155 data rows.
constexpr int kBigBatchRows = 2 + 40 + 3 + 80 + 30;
void WriteBigBatch(const fs::path& dir) {
  Row h1 = Household("H1");
  h1["status"] = "2";
  h1["exit_year"] = "2020";
  std::vector<Row> households = {h1, Household("H2", "", "520102016002")};
  std::vector<Row> members = {Member(MakeId(kCounty, "19700101", 11), "H1"),
                              Member(MakeId(kCounty, "19720202", 22), "H1", "李四"),
                              Member(MakeId(kCounty, "19700303", 33), "H2", "王五")};
  for (int i = 0; i < 40; ++i) {
    std::string id = fmt::format("N{:03d}", i);
    households.push_back(Household(id));
    members.push_back(Member(MakeId(kCounty, "19800101", 2 * i), id));
    members.push_back(Member(MakeId(kCounty, "19800101", 2 * i + 1), id, "李四"));
  }
  std::vector<Row> claims;
  for (int i = 0; i < 30; ++i) {
    Row c = {{"claim_id", fmt::format("CL{:03d}", i)},
             {"id_number", MakeId(kCounty, "19800101", 2 * i)}};
    claims.push_back(c);
  }
  test::WriteFile(dir / "households.csv", Csv("households", households));
  test::WriteFile(dir / "members.csv", Csv("members", members));
  test::WriteFile(dir / "health_claims.csv", Csv("health_claims", claims));
}

TEST_F(CliTest, KilledImportLeavesTheDatabaseAsBeforeThenReimportSucceeds) {
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  const auto before = test::TableCounts(db_);
  const auto h1_before = test::Query(db_, "SELECT * FROM households WHERE household_id = 'H1'");
  fs::path big = dir_ / "big";
  WriteBigBatch(big);

  // Killed in the first file, in the middle of each later file, and at the last row.
  for (int kill_after : {1, 30, 60, 130, kBigBatchRows}) {
    SCOPED_TRACE(fmt::format("killed after {} rows", kill_after));
    FupinRun r = Import(big, {}, {fmt::format("FUPIN_FAULT_KILL_AFTER_ROWS={}", kill_after)});
    ASSERT_EQ(r.signal, SIGKILL) << r.Show();

    auto opened = store::OpenSqliteStore(db_);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    opened->reset();
    EXPECT_EQ(test::TableCounts(db_), before);
    EXPECT_EQ(test::Query(db_, "SELECT * FROM households WHERE household_id = 'H1'"), h1_before);
    EXPECT_EQ(test::Query(db_, "PRAGMA integrity_check"),
              (std::vector<std::vector<std::string>>{{"ok"}}));
  }

  FupinRun r = Import(big, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["rows_imported"], kBigBatchRows);
  EXPECT_EQ(j["batch_id"], 2) << "the killed imports left no batch behind";
  auto after = test::TableCounts(db_);
  EXPECT_EQ(after["households"], 42);
  EXPECT_EQ(after["members"], 83);
  EXPECT_EQ(after["dept_health_claims"], 30);
  EXPECT_EQ(after["import_batches"], 2);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM history WHERE entity_key = 'H1'"), 2);
}

TEST_F(CliTest, LangEnGivesEnglishHeadings) {
  WriteCleanBatch(batch_);
  FupinRun zh = Fupin({"import", batch_.string(), "--db", db_.string()});
  ASSERT_EQ(zh.exit_code, 0) << zh.Show();
  EXPECT_NE(zh.out.find("文件"), std::string::npos) << zh.out;
  EXPECT_NE(zh.out.find("合计"), std::string::npos) << zh.out;

  fs::path other = dir_ / "other";
  WriteCleanBatch(other);
  test::WriteFile(other / "households.csv", Csv("households", {Household("H1")}));
  FupinRun en = Fupin({"--lang", "en", "import", other.string(), "--db", db_.string()});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  for (std::string_view heading : {"file", "encoding", "rows read", "imported", "rejected",
                                   "warnings", "outcome", "total", "batch"})
    EXPECT_NE(en.out.find(heading), std::string::npos) << heading << " in\n" << en.out;
  EXPECT_EQ(en.out.find("合计"), std::string::npos) << en.out;

  FupinRun stats = Fupin({"--lang", "en", "stats", "--db", db_.string()});
  ASSERT_EQ(stats.exit_code, 0) << stats.Show();
  EXPECT_NE(stats.out.find("table"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("households"), std::string::npos) << stats.out;
  EXPECT_EQ(stats.out.find("行数"), std::string::npos) << stats.out;

  FupinRun env = Fupin({"stats", "--db", db_.string()}, {"FUPIN_LANG=en"});
  ASSERT_EQ(env.exit_code, 0) << env.Show();
  EXPECT_EQ(env.out.find("行数"), std::string::npos) << env.out;
}

TEST_F(CliTest, LangEnAfterTheSubcommandWorksToo) {
  WriteCleanBatch(batch_);
  FupinRun en = Fupin({"import", batch_.string(), "--db", db_.string(), "--lang", "en"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_NE(en.out.find("rows read"), std::string::npos) << en.out;
}

}  // namespace
}  // namespace fupin

namespace fupin {
namespace {

// ---- fupin link, export, link-files ----------------------------------------------------

TEST_F(CliTest, LinkThenExportLinksAndFindings) {
  WriteCleanBatch(batch_);
  Row exact = test::DefaultRow("disability");
  exact["id_number"] = MakeId(kCounty, "19720202", 22);
  exact["name"] = "李四";
  exact["birth_date"] = "1972-02-02";
  Row outsider = test::DefaultRow("disability");  // a valid ID of nobody in the registry
  test::WriteFile(batch_ / "disability.csv", Csv("disability", {exact, outsider}));
  ASSERT_EQ(Import(batch_).exit_code, 0);

  FupinRun link = Fupin({"link", "--db", db_.string(), "--json", "--quiet"});
  ASSERT_EQ(link.exit_code, 0) << link.Show();
  nlohmann::json j = nlohmann::json::parse(link.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << link.out;
  EXPECT_EQ(j["full"], true);
  EXPECT_EQ(j["registry_members"], 3);
  ASSERT_EQ(j["datasets"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["datasets"][0]["dataset"], "disability");
  EXPECT_EQ(j["datasets"][0]["exact"], 1);
  EXPECT_EQ(j["datasets"][0]["unlinked"], 1) << j.dump(2);
  EXPECT_TRUE(j["timings"].contains("exact_s"));

  fs::path out = dir_ / "links.csv";
  FupinRun exp =
      Fupin({"export", "links", "--db", db_.string(), "--out", out.string(), "--unmask"});
  ASSERT_EQ(exp.exit_code, 0) << exp.Show();
  EXPECT_EQ(test::ReadFile(out),
            "\xEF\xBB\xBF"
            "dataset,row,id_number,stage,weight\n"
            "disability,1," +
                MakeId(kCounty, "19720202", 22) + ",exact,\ndisability,2,,unlinked,\n");
  fs::path findings = dir_ / "findings.csv";
  FupinRun f = Fupin({"export", "findings", "--db", db_.string(), "--out", findings.string()});
  ASSERT_EQ(f.exit_code, 0) << f.Show();
  EXPECT_EQ(test::ReadFile(findings),
            "\xEF\xBB\xBF"
            "kind,id_number,household_id,other_id_number,other_household_id,detail\n");

  FupinRun again = Fupin({"--lang", "en", "link", "--db", db_.string()});
  ASSERT_EQ(again.exit_code, 0) << again.Show();
  EXPECT_NE(again.out.find("nothing to link"), std::string::npos) << again.out;
}

TEST_F(CliTest, LinkErrorsExitOneOrTwo) {
  FupinRun missing = Fupin({"link", "--db", (dir_ / "none.db").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.Show();
  EXPECT_FALSE(fs::exists(dir_ / "none.db"));
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  FupinRun bad = Fupin({"link", "--db", db_.string(), "--lower", "0.9", "--upper", "0.5"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Show();
  FupinRun no_out = Fupin({"export", "links", "--db", db_.string()});
  EXPECT_EQ(no_out.exit_code, 2) << no_out.Show();
  FupinRun unwritable = Fupin({"export", "links", "--db", db_.string(), "--out",
                               (dir_ / "no-such-dir" / "l.csv").string()});
  EXPECT_EQ(unwritable.exit_code, 1) << unwritable.Show();
}

TEST_F(CliTest, LinkFilesReportsConfigErrorsWithTheLine) {
  test::WriteFile(dir_ / "c.toml",
                  "left_key = \"id\"\n[[field]]\ncolumn = \"name\"\nkind = \"nmae\"\n");
  test::WriteFile(dir_ / "a.csv", "id,name\n1,王小明\n2,李四\n");
  FupinRun r = Fupin({"--lang", "en", "link-files", "--config", (dir_ / "c.toml").string(),
                      "--left", (dir_ / "a.csv").string(), "--out", (dir_ / "p.csv").string()});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("c.toml:4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nmae"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "p.csv"));
}

TEST_F(CliTest, RulesCheckAcceptsTheDefaultAndRefusesABadFileWithItsLine) {
  FupinRun def = Fupin({"rules", "default"});
  ASSERT_EQ(def.exit_code, 0) << def.Show();
  test::WriteFile(dir_ / "mine.toml", def.out);
  FupinRun ok = Fupin({"--lang", "en", "rules", "check", (dir_ / "mine.toml").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.Show();
  EXPECT_NE(ok.out.find("no errors"), std::string::npos) << ok.out;
  // One typo in one condition refuses the whole file, naming line and column.
  std::string text = def.out;
  const size_t at = text.find("household.status in [1, 2, 3] and any(member.deaths");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 16, "household.statsu");
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  test::WriteFile(dir_ / "bad.toml", text);
  FupinRun bad = Fupin({"--lang", "en", "rules", "check", (dir_ / "bad.toml").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.Show();
  EXPECT_NE(bad.err.find(fmt::format("bad.toml:{}:11: rule EXC_DECEASED condition: household has "
                                     "no field 'statsu'",
                                     line)),
            std::string::npos)
      << bad.err;
  FupinRun missing = Fupin({"rules", "check", (dir_ / "none.toml").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.Show();
}

TEST_F(CliTest, RulesRunThenExportAndDecideFlags) {
  WriteCleanBatch(batch_);
  Row car = test::DefaultRow("vehicles");
  car["id_number"] = MakeId(kCounty, "19720202", 22);
  car["name"] = "李四";
  car["sex"] = "2";
  car["birth_date"] = "1972-02-02";
  car["plate"] = "贵A88888";
  car["vehicle_type"] = "小型轿车";
  test::WriteFile(batch_ / "vehicles.csv", Csv("vehicles", {car}));
  ASSERT_EQ(Import(batch_).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);

  FupinRun run = Fupin({"rules", "run", "--db", db_.string(), "--json", "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out;
  std::map<std::string, int64_t> flags;
  for (const auto& r : j["rules"]) flags[r["rule"]] = r["flags"];
  EXPECT_EQ(flags["EXC_VEHICLE"], 1) << j.dump(2);
  EXPECT_EQ(flags["DQ_MEMBER_COUNT"], 2) << j.dump(2);  // 3 declared, 2 and 1 listed
  EXPECT_EQ(j["opened"], flags["EXC_VEHICLE"] + flags["DQ_MEMBER_COUNT"] + flags["GAP_UNINSURED"] +
                             flags["RISK_UNSTABLE"] + flags["EXIT_READY"]);
  EXPECT_EQ(j["households"], 2);

  const fs::path csv = dir_ / "flags.csv";
  FupinRun exp = Fupin({"export", "flags", "--db", db_.string(), "--out", csv.string(), "--rule",
                        "EXC_VEHICLE", "--unmask"});
  ASSERT_EQ(exp.exit_code, 0) << exp.Show();
  const std::string id = MakeId(kCounty, "19720202", 22);
  EXPECT_EQ(
      test::ReadFile(csv),
      "\xEF\xBB\xBF疑点编号,规则,类别,户编号,身份证号,状态,证据,村代码,证据来源,证据行号,"
      "核查结果,核查备注\n1,EXC_VEHICLE,exclusion,H1," +
          id + ",open,李四（" + id +
          "）在公安车辆登记中有小型轿车，号牌贵A88888，登记于2017-05-06：公安 车辆（vehicles.csv "
          "第1行）,520102016001,vehicles,1,,\n");

  FupinRun set =
      Fupin({"flags", "set", "--db", db_.string(), "--rule", "EXC_VEHICLE", "--household", "H1",
             "--id", id, "--state", "verified", "--note", "入户核实", "--user", "cadre"});
  ASSERT_EQ(set.exit_code, 0) << set.Show();
  FupinRun wrong = Fupin({"flags", "set", "--db", db_.string(), "--rule", "EXC_VEHICLE",
                          "--household", "H2", "--state", "verified"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.Show();
  FupinRun bad_state = Fupin({"flags", "set", "--db", db_.string(), "--rule", "EXC_VEHICLE",
                              "--household", "H1", "--state", "closed"});
  EXPECT_EQ(bad_state.exit_code, 2) << bad_state.Show();

  // Running again keeps the verdict; English evidence on request; XLSX written whole.
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  FupinRun en = Fupin({"--lang", "en", "export", "flags", "--db", db_.string(), "--out",
                       csv.string(), "--state", "verified", "--unmask"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  const std::string verified = test::ReadFile(csv);
  EXPECT_NE(verified.find("1,EXC_VEHICLE,exclusion,H1," + id + ",verified,"), std::string::npos)
      << verified;
  EXPECT_NE(verified.find("has a 小型轿车 registered, plate 贵A88888"), std::string::npos)
      << verified;
  const fs::path xlsx = dir_ / "flags.xlsx";
  FupinRun x = Fupin({"export", "flags", "--db", db_.string(), "--out", xlsx.string(), "--region",
                      "520102016001"});
  ASSERT_EQ(x.exit_code, 0) << x.Show();
  EXPECT_EQ(test::ReadFile(xlsx).substr(0, 2), "PK");
  EXPECT_FALSE(fs::exists(dir_ / "flags.xlsx.part"));
  FupinRun bad_out = Fupin({"export", "flags", "--db", db_.string(), "--out", "f.txt"});
  EXPECT_EQ(bad_out.exit_code, 2) << bad_out.Show();
}

TEST_F(CliTest, RulesRunWithABadRulesFileChangesNothing) {
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  const int64_t runs = test::QueryInt(db_, "SELECT count(*) FROM rule_runs");
  const int64_t flags = test::QueryInt(db_, "SELECT count(*) FROM flags");
  ASSERT_EQ(runs, 1);
  test::WriteFile(dir_ / "bad.toml",
                  "version = 1\n[[rule]]\nid = 'R'\nname_zh = 'x'\nname_en = 'x'\n"
                  "category = 'risk'\nseverity = 'low'\nscope = 'household'\n"
                  "condition = 'household.status =='\nexplain_zh = 'x'\nexplain_en = 'x'\n");
  FupinRun r =
      Fupin({"rules", "run", "--db", db_.string(), "--rules", (dir_ / "bad.toml").string()});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("bad.toml:9:"), std::string::npos) << r.err;
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM rule_runs"), runs);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flags"), flags);
}

TEST_F(CliTest, QueryGivesCsvAndJsonAndRefusesUnknownNames) {
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  FupinRun q = Fupin({"query", "--db", db_.string(), "--measure", "persons,households", "--by",
                      "village,status", "--codes"});
  ASSERT_EQ(q.exit_code, 0) << q.Show();
  EXPECT_EQ(q.out, "village,status,persons,households\n520102016001,1,2,1\n520102016002,1,1,1\n");
  FupinRun j = Fupin({"query", "--db", db_.string(), "--measure", "households", "--where",
                      "village=520102016002", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.Show();
  EXPECT_EQ(j.out, "[{\"households\":1}]\n");
  FupinRun bad = Fupin({"query", "--db", db_.string(), "--measure", "peeple"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Show();
  EXPECT_NE(bad.err.find("peeple"), std::string::npos) << bad.err;
  // Poverty measures: a line above every income makes everyone poor, one below no one; the
  // rules' exit line by income year is the default.
  FupinRun all =
      Fupin({"query", "--db", db_.string(), "--measure", "fgt_p0,persons", "--line", "1000000"});
  ASSERT_EQ(all.exit_code, 0) << all.Show();
  EXPECT_EQ(all.out, "fgt_p0,persons\n1.000000,3\n");
  FupinRun none =
      Fupin({"query", "--db", db_.string(), "--measure", "fgt_p0,fgt_p1,fgt_p2", "--line", "0.01"});
  ASSERT_EQ(none.exit_code, 0) << none.Show();
  EXPECT_EQ(none.out, "fgt_p0,fgt_p1,fgt_p2\n0.000000,0.000000,0.000000\n");
  FupinRun nbs = Fupin({"query", "--db", db_.string(), "--measure", "fgt_p0,mpi_m0", "--by",
                        "village", "--line", "nbs", "--codes"});
  ASSERT_EQ(nbs.exit_code, 0) << nbs.Show();
  EXPECT_TRUE(nbs.out.starts_with("village,fgt_p0,mpi_m0\n520102016001,")) << nbs.out;
  // The default rules have exit lines for 2017-2020 only; the batch's incomes are of 2015.
  FupinRun exit_line = Fupin({"query", "--db", db_.string(), "--measure", "fgt_p0"});
  EXPECT_EQ(exit_line.exit_code, 1) << exit_line.Show();
  EXPECT_NE(exit_line.err.find("收入年度 2015 的 exit 贫困线"), std::string::npos) << exit_line.err;
  FupinRun mpi = Fupin({"query", "--db", db_.string(), "--measure", "mpi_h,mpi_ch_income", "--line",
                        "1000000", "--mpi-indicators", "income:1,housing:1", "--mpi-k", "0.5"});
  ASSERT_EQ(mpi.exit_code, 0) << mpi.Show();
  EXPECT_EQ(mpi.out, "mpi_h,mpi_ch_income\n1.000000,1.000000\n");
  for (std::vector<std::string> args : {std::vector<std::string>{"--line", "lots"},
                                        {"--line", "-5"},
                                        {"--mpi-indicators", "income:heavy"},
                                        {"--mpi-indicators", "roads"},
                                        {"--mpi-k", "2"}}) {
    std::vector<std::string> cmd = {"query", "--db", db_.string(), "--measure", "mpi_h"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    FupinRun r = Fupin(cmd);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << r.Show();
    EXPECT_NE(r.err.find("错误"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, SnapshotListReportAndPortrait) {
  WriteCleanBatch(batch_);
  ASSERT_EQ(Import(batch_).exit_code, 0);
  FupinRun snap = Fupin({"snapshot", "--db", db_.string()});
  ASSERT_EQ(snap.exit_code, 0) << snap.Show();
  EXPECT_TRUE(fs::exists(db_.string() + ".snapshot"));
  // Drill-down to the households of a village.
  FupinRun list = Fupin(
      {"query", "--db", db_.string(), "--list", "--where", "village=520102016001", "--codes"});
  ASSERT_EQ(list.exit_code, 0) << list.Show();
  EXPECT_EQ(list.out.substr(0, list.out.find('\n')),
            "household_id,village,status,category,primary_cause,members,per_capita_income,flags");
  EXPECT_NE(list.out.find(",520102016001,"), std::string::npos) << list.out;
  // Reports: XLSX and PDF, and a clear error for an unknown template or region.
  for (const char* ext : {".xlsx", ".pdf"}) {
    const std::string out = (dir_ / (std::string("r") + ext)).string();
    FupinRun r = Fupin({"report", "--db", db_.string(), "--template", "registry", "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.Show();
    EXPECT_GT(fs::file_size(out), 1000u);
  }
  FupinRun bad = Fupin(
      {"report", "--db", db_.string(), "--template", "nope", "--out", (dir_ / "x.pdf").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.Show();
  EXPECT_NE(bad.err.find("registry"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.pdf"));
  FupinRun region = Fupin({"report", "--db", db_.string(), "--template", "causes", "--region",
                           "529999000000", "--out", (dir_ / "y.xlsx").string()});
  EXPECT_EQ(region.exit_code, 1) << region.Show();
  FupinRun ext = Fupin(
      {"report", "--db", db_.string(), "--template", "causes", "--out", (dir_ / "y.txt").string()});
  EXPECT_EQ(ext.exit_code, 2) << ext.Show();
  // Portraits: a village and a household, personal data masked.
  FupinRun v =
      Fupin({"portrait", "--db", db_.string(), "--village", "520102016001", "--format", "json"});
  ASSERT_EQ(v.exit_code, 0) << v.Show();
  EXPECT_NE(v.out.find("\"code\":\"520102016001\""), std::string::npos) << v.out;
  const auto hh = test::Query(db_, "SELECT household_id FROM households ORDER BY 1 LIMIT 1");
  ASSERT_EQ(hh.size(), 1u);
  FupinRun h = Fupin({"portrait", "--db", db_.string(), "--household", hh[0][0]});
  ASSERT_EQ(h.exit_code, 0) << h.Show();
  for (const auto& m : test::Query(db_, "SELECT id_number, name FROM members"))
    EXPECT_EQ(h.out.find(m[0]), std::string::npos) << "unmasked ID " << m[0];
  FupinRun none = Fupin({"portrait", "--db", db_.string(), "--household", "nope"});
  EXPECT_EQ(none.exit_code, 1) << none.Show();
}

}  // namespace
}  // namespace fupin
