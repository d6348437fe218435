// Registry removals (减员, issue 13): a member leaves a household by a row with left_reason
// and left_date, stays in the store and its history, and is no longer counted; a full
// members.csv that leaves out a current member of a household it names reports the member
// (member_missing) and keeps it. The real `fupin` binary on a real SQLite file.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
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
using test::Query;
using test::QueryInt;
using test::Row;

// The members file with the removal columns after the spec's columns.
std::string MembersCsv(const std::vector<Row>& rows) {
  std::vector<std::string> header = test::Columns("members");
  header.push_back("left_reason");
  header.push_back("left_date");
  std::string out = test::CsvLine(header);
  Row defaults = test::DefaultRow("members");
  for (const Row& row : rows) {
    std::vector<std::string> cells;
    for (const std::string& c : header) {
      auto it = row.find(c);
      cells.push_back(it != row.end() ? it->second : defaults[c]);
    }
    out += test::CsvLine(cells);
  }
  return out;
}

// The ID as shown masked, computed here: first 6 and last 4 kept.
std::string Masked(const std::string& id18) {
  return id18.substr(0, 6) + "********" + id18.substr(14);
}

class RemovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    // H1 has A, B, C; H2 has D.
    test::WriteFile(dir_ / "b1" / "households.csv",
                    Csv("households", {Household("H1"), Household("H2", "", "520102016002")}));
    test::WriteFile(dir_ / "b1" / "members.csv",
                    Csv("members", {Member(a_, "H1"), Member(b_, "H1", "李四"),
                                    Member(c_, "H1", "王五"), Member(d_, "H2", "赵六")}));
    FupinRun first = Import(dir_ / "b1");
    ASSERT_EQ(first.exit_code, 0) << first.Show();
  }

  FupinRun Fupin(const std::vector<std::string>& args) { return test::RunFupin(dir_.path(), args); }
  FupinRun Import(const fs::path& batch) {
    return Fupin({"import", batch.string(), "--db", db_.string(), "--json"});
  }
  // The issues of the newest batch with `code`: (column, value, message_zh, message_en).
  std::vector<std::vector<std::string>> IssuesCoded(const std::string& code) {
    return Query(db_,
                 "SELECT i.column_name, i.value, i.message_zh, i.message_en, i.severity FROM "
                 "import_issues i JOIN batch_files f USING (file_id) WHERE f.batch_id = (SELECT "
                 "max(batch_id) FROM import_batches) AND i.code = '" +
                     code + "' ORDER BY i.value");
  }
  int64_t Persons() {
    FupinRun q = Fupin({"query", "--db", db_.string(), "--measure", "persons"});
    EXPECT_EQ(q.exit_code, 0) << q.Show();
    return std::stoll(q.out.substr(q.out.find('\n') + 1));
  }

  test::TempDir dir_;
  fs::path db_;
  const std::string a_ = MakeId(kCounty, "19700101", 11);
  const std::string b_ = MakeId(kCounty, "19720202", 22);
  const std::string c_ = MakeId(kCounty, "19950303", 33);
  const std::string d_ = MakeId(kCounty, "19600404", 44);
};

TEST_F(RemovalsTest, FullReimportLeavingOutAMemberWarnsWithHouseholdAndMaskedIdAndKeepsIt) {
  // H1's file without C; H2 not in the file at all.
  test::WriteFile(dir_ / "b2" / "members.csv",
                  Csv("members", {Member(a_, "H1"), Member(b_, "H1", "李四")}));
  FupinRun run = Import(dir_ / "b2");
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  auto missing = IssuesCoded("member_missing");
  ASSERT_EQ(missing.size(), 1u) << run.Show();  // C only: D's household is not in the file
  EXPECT_EQ(missing[0][0], "id_number");
  EXPECT_EQ(missing[0][1], Masked(c_));
  EXPECT_NE(missing[0][2].find("户H1"), std::string::npos) << missing[0][2];
  EXPECT_NE(missing[0][3].find("household H1"), std::string::npos) << missing[0][3];
  EXPECT_EQ(missing[0][4], "warning");
  EXPECT_EQ(missing[0][2].find(c_), std::string::npos) << "the whole ID must not be shown";
  // Listed in the import report, and the member is still there and counted.
  auto j = nlohmann::json::parse(run.out);
  const std::string report = test::ReadFile(j["report"]["csv"].get<std::string>());
  EXPECT_NE(report.find("member_missing"), std::string::npos) << report;
  EXPECT_NE(report.find(Masked(c_)), std::string::npos) << report;
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM members WHERE left_reason IS NULL"), 4);
  EXPECT_EQ(Persons(), 4);
  // A file without the removal columns is not warned about them.
  EXPECT_TRUE(IssuesCoded("missing_column").empty());
}

TEST_F(RemovalsTest, MemberWhoLeftIsKeptInHistoryAndNotCounted) {
  Row left = Member(c_, "H1", "王五");
  left["left_reason"] = "死亡";  // the Chinese label, as the template's drop-down writes it
  left["left_date"] = "2024-05-01";
  test::WriteFile(dir_ / "b2" / "members.csv",
                  MembersCsv({Member(a_, "H1"), Member(b_, "H1", "李四"), left}));
  FupinRun run = Import(dir_ / "b2");
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  EXPECT_TRUE(IssuesCoded("member_missing").empty()) << run.Show();
  // The row stays, with its removal, and the change is in the history.
  EXPECT_EQ(Query(db_, "SELECT left_reason, left_date FROM members WHERE id_number = '" + c_ + "'"),
            (std::vector<std::vector<std::string>>{{"1", "2024-05-01"}}));
  EXPECT_EQ(Query(db_,
                  "SELECT field, coalesce(old_value, 'NULL'), new_value FROM history WHERE "
                  "entity = 'member' AND entity_key = 'H1/" +
                      c_ + "' ORDER BY field"),
            (std::vector<std::vector<std::string>>{{"left_date", "NULL", "2024-05-01"},
                                                   {"left_reason", "NULL", "1"}}));
  // Not counted: the snapshot's persons, the statistics, the rule run.
  EXPECT_EQ(Persons(), 3);
  FupinRun stats = Fupin({"stats", "--db", db_.string(), "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.Show();
  int64_t members = 0;
  const nlohmann::json stats_json = nlohmann::json::parse(stats.out);
  for (const auto& r : stats_json["by_prefecture"]) members += r["members"].get<int64_t>();
  EXPECT_EQ(members, 3) << stats.out;
  FupinRun rules = Fupin({"rules", "run", "--db", db_.string(), "--json", "--quiet"});
  ASSERT_EQ(rules.exit_code, 0) << rules.Show();
  EXPECT_EQ(nlohmann::json::parse(rules.out)["members"], 3) << rules.out;
  // The next full file leaves C out: no warning, C has left.
  test::WriteFile(dir_ / "b3" / "members.csv",
                  Csv("members", {Member(a_, "H1"), Member(b_, "H1", "李四")}));
  FupinRun again = Import(dir_ / "b3");
  ASSERT_EQ(again.exit_code, 0) << again.Show();
  EXPECT_TRUE(IssuesCoded("member_missing").empty()) << again.Show();
  EXPECT_EQ(Persons(), 3);
}

// Evidence raised while a member belonged to the household still quotes their name after they
// leave: masking must still know that name (flags worklist, portrait).
TEST_F(RemovalsTest, NameOfAMemberWhoLeftStaysMaskedInEvidence) {
  Row car = test::DefaultRow("vehicles");
  car["id_number"] = c_;
  car["name"] = "王五";
  car["birth_date"] = "1995-03-03";
  car["plate"] = "贵A88888";
  test::WriteFile(dir_ / "b2" / "vehicles.csv", Csv("vehicles", {car}));
  ASSERT_EQ(Import(dir_ / "b2").exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_EQ(Fupin({"rules", "run", "--db", db_.string(), "--quiet"}).exit_code, 0);
  ASSERT_GT(QueryInt(db_, "SELECT count(*) FROM flags WHERE evidence_zh LIKE '%王五%'"), 0)
      << "no flag quotes the member's name: the test proves nothing";

  Row left = Member(c_, "H1", "王五");
  left["left_reason"] = "迁出";
  left["left_date"] = "2024-05-01";
  test::WriteFile(dir_ / "b3" / "members.csv",
                  MembersCsv({Member(a_, "H1"), Member(b_, "H1", "李四"), left}));
  ASSERT_EQ(Import(dir_ / "b3").exit_code, 0);

  const fs::path out = dir_ / "flags.csv";
  FupinRun exp = Fupin({"export", "flags", "--db", db_.string(), "--out", out.string()});
  ASSERT_EQ(exp.exit_code, 0) << exp.Show();
  const std::string worklist = test::ReadFile(out);
  EXPECT_EQ(worklist.find("王五"), std::string::npos) << worklist;
  EXPECT_NE(worklist.find("王*"), std::string::npos) << worklist;
  FupinRun portrait = Fupin({"portrait", "--db", db_.string(), "--household", "H1"});
  ASSERT_EQ(portrait.exit_code, 0) << portrait.Show();
  EXPECT_EQ(portrait.out.find("王五"), std::string::npos) << portrait.out;
}

TEST_F(RemovalsTest, UnknownLeftReasonRejectsTheRow) {
  Row left = Member(c_, "H1", "王五");
  left["left_reason"] = "失踪";
  test::WriteFile(dir_ / "b2" / "members.csv", MembersCsv({Member(a_, "H1"), left}));
  FupinRun run = Import(dir_ / "b2");
  EXPECT_EQ(run.exit_code, 3) << run.Show();
  auto bad = IssuesCoded("unknown_code");
  ASSERT_EQ(bad.size(), 1u) << run.Show();
  EXPECT_EQ(bad[0][0], "left_reason");
  EXPECT_EQ(bad[0][1], "失踪");
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM members WHERE left_reason IS NULL"), 4);
}

TEST_F(RemovalsTest, DatabaseOfSchema4GetsTheRemovalColumns) {
  // Make the database look as an older fupin left it: no removal columns, migration 5 not
  // recorded (every migration not yet recorded is applied, in order).
  Query(db_, "ALTER TABLE members DROP COLUMN left_reason");
  Query(db_, "ALTER TABLE members DROP COLUMN left_date");
  Query(db_, "DELETE FROM schema_migrations WHERE version = 5");
  Row left = Member(c_, "H1", "王五");
  left["left_reason"] = "3";
  left["left_date"] = "2025-01-02";
  test::WriteFile(dir_ / "b2" / "members.csv",
                  MembersCsv({Member(a_, "H1"), Member(b_, "H1", "李四"), left}));
  FupinRun run = Import(dir_ / "b2");
  ASSERT_EQ(run.exit_code, 0) << run.Show();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM schema_migrations WHERE version = 5"), 1);
  EXPECT_EQ(QueryInt(db_, "SELECT left_reason FROM members WHERE id_number = '" + c_ + "'"), 3);
  EXPECT_EQ(Persons(), 3);
}

}  // namespace
}  // namespace fupin
