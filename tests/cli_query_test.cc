// `fupin query`, `fupin portrait` and `fupin stats` as a user runs them (issue 13, points 3, 4,
// 5 and 9): the real binary (FUPIN_BINARY) on a temporary SQLite file. Labels and region
// names instead of bare codes, code order, JSON numbers, refusals that name an unknown value,
// masking and yuan in a portrait's history, tables lined up by display width, CSV for Excel.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
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

// Terminal columns of UTF-8 text, computed here without core/: CJK ideographs, CJK
// punctuation and full-width forms take 2.
int Columns(std::string_view s) {
  int width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    char32_t cp = c;
    int n = 1;
    if (c >= 0xF0) {
      n = 4, cp = c & 0x07;
    } else if (c >= 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if (c >= 0xC0) {
      n = 2, cp = c & 0x1F;
    }
    for (int k = 1; k < n && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    i += static_cast<size_t>(n);
    width += (cp >= 0x3000 && cp <= 0x9FFF) || (cp >= 0xFF00 && cp <= 0xFF60) ? 2 : 1;
  }
  return width;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The display column at which `needle` starts in `line`, or -1.
int ColumnOf(const std::string& line, std::string_view needle) {
  const size_t at = line.find(needle);
  return at == std::string::npos ? -1 : Columns(std::string_view(line).substr(0, at));
}

class CliQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    batch_ = dir_ / "batch";
  }
  FupinRun Fupin(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--db", db_.string()});
    return test::RunFupin(dir_.path(), args);
  }
  FupinRun Import(const fs::path& dir) {
    return test::RunFupin(dir_.path(), {"import", dir.string(), "--db", db_.string()});
  }
  // Households of two villages: H1 (status 1, cause 10, 2 members), H2 (status 2, cause 2),
  // H3 (status 1, cause 1), in 520102016001 unless said.
  void ImportBatch() {
    Row h1 = Household("H1");
    h1["primary_cause"] = "10";
    Row h2 = Household("H2", MakeId(kCounty, "19700303", 33), "520102016002");
    h2["status"] = "2";
    h2["exit_year"] = "2016";
    h2["primary_cause"] = "2";
    Row h3 = Household("H3", MakeId(kCounty, "19800505", 55));
    h3["primary_cause"] = "1";
    test::WriteFile(batch_ / "households.csv", Csv("households", {h1, h2, h3}));
    test::WriteFile(batch_ / "members.csv",
                    Csv("members", {Member(MakeId(kCounty, "19700101", 11), "H1", "张三丰"),
                                    Member(MakeId(kCounty, "19720202", 22), "H1", "李四"),
                                    Member(MakeId(kCounty, "19700303", 33), "H2", "王五"),
                                    Member(MakeId(kCounty, "19800505", 55), "H3", "赵六")}));
    const FupinRun r = Import(batch_);
    ASSERT_EQ(r.exit_code, 0) << r.Show();
  }

  test::TempDir dir_;
  fs::path db_, batch_;
};

// Point 4: labels and region names by default, codes with --codes.
TEST_F(CliQueryTest, QueryShowsLabelsAndRegionNamesAndCodesOnRequest) {
  ImportBatch();
  FupinRun q = Fupin({"query", "--measure", "households", "--by", "village,status"});
  ASSERT_EQ(q.exit_code, 0) << q.Show();
  EXPECT_EQ(q.out,
            "village,status,households\n纪念塔社区,未脱贫,2\n新华路社区,已脱贫（享受政策）,1\n");
  FupinRun c = Fupin({"query", "--measure", "households", "--by", "village,status", "--codes"});
  ASSERT_EQ(c.exit_code, 0) << c.Show();
  EXPECT_EQ(c.out, "village,status,households\n520102016001,1,2\n520102016002,2,1\n");
  FupinRun list = Fupin({"query", "--list", "--where", "village=520102016001"});
  ASSERT_EQ(list.exit_code, 0) << list.Show();
  EXPECT_NE(list.out.find("H1,纪念塔社区,未脱贫,一般贫困户,交通条件落后,2,"), std::string::npos)
      << list.out;
  FupinRun lj = Fupin({"query", "--list", "--where", "village=520102016001", "--format", "json"});
  ASSERT_EQ(lj.exit_code, 0) << lj.Show();
  const nlohmann::json households = nlohmann::json::parse(lj.out)["households"];
  ASSERT_EQ(households.size(), 2u) << lj.out;
  EXPECT_EQ(households[0]["primary_cause"], "10");
  EXPECT_EQ(households[0]["primary_cause_label"], "交通条件落后");
  EXPECT_TRUE(households[0]["per_capita_income"].is_number()) << lj.out;
  FupinRun en = Fupin({"query", "--measure", "persons", "--by", "sex", "--lang", "en"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_TRUE(en.out.starts_with("sex,persons\nmale,")) << en.out;
}

// Point 4: coded dimensions in code order, 1, 2, 10, not 1, 10, 2.
TEST_F(CliQueryTest, QuerySortsCodesAsNumbers) {
  ImportBatch();
  FupinRun q = Fupin({"query", "--measure", "households", "--by", "primary_cause", "--codes"});
  ASSERT_EQ(q.exit_code, 0) << q.Show();
  EXPECT_EQ(q.out, "primary_cause,households\n1,1\n2,1\n10,1\n");
  FupinRun l = Fupin({"query", "--measure", "households", "--by", "primary_cause"});
  ASSERT_EQ(l.exit_code, 0) << l.Show();
  EXPECT_EQ(l.out, "primary_cause,households\n因病,1\n因残,1\n交通条件落后,1\n");
}

// Point 4: JSON has codes and labels, and numbers as numbers.
TEST_F(CliQueryTest, QueryJsonHasCodesLabelsAndNumbers) {
  ImportBatch();
  FupinRun j = Fupin({"query", "--measure", "households,persons,mean_income", "--by",
                      "county,status", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.Show();
  const nlohmann::json rows = nlohmann::json::parse(j.out);
  ASSERT_EQ(rows.size(), 2u) << j.out;
  EXPECT_EQ(rows[0]["county"], "520102000000");
  EXPECT_EQ(rows[0]["county_label"], "南明区");
  EXPECT_EQ(rows[0]["status"], "1");
  EXPECT_EQ(rows[0]["status_label"], "未脱贫");
  ASSERT_TRUE(rows[0]["households"].is_number_integer()) << j.out;
  EXPECT_EQ(rows[0]["households"].get<int>(), 2);
  EXPECT_EQ(rows[0]["persons"].get<int>(), 3);
  ASSERT_TRUE(rows[0]["mean_income"].is_number()) << j.out;
  EXPECT_EQ(rows[1]["status_label"], "已脱贫（享受政策）");
}

// Point 5: the labels the importer accepts are accepted in --where, and give the same answer
// as the code.
TEST_F(CliQueryTest, QueryWhereAcceptsLabels) {
  ImportBatch();
  for (const auto& [label, code] : std::vector<std::pair<std::string, std::string>>{
           {"status=未脱贫", "status=1"},
           {"status=已脱贫 (享受政策)", "status=2"},
           {"primary_cause=交通条件落后", "primary_cause=10"},
           {"county=南明区", "county=520102"},
           {"sex=男", "sex=1"}}) {
    FupinRun by_label = Fupin({"query", "--measure", "households,persons", "--where", label});
    FupinRun by_code = Fupin({"query", "--measure", "households,persons", "--where", code});
    ASSERT_EQ(by_label.exit_code, 0) << by_label.Show();
    ASSERT_EQ(by_code.exit_code, 0) << by_code.Show();
    EXPECT_EQ(by_label.out, by_code.out) << label;
    EXPECT_NE(by_label.out, "households,persons\n0,0\n") << label;
  }
  FupinRun list = Fupin({"query", "--list", "--where", "status=未脱贫", "--codes"});
  ASSERT_EQ(list.exit_code, 0) << list.Show();
  EXPECT_NE(list.out.find("H1,520102016001,1,"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("H2,"), std::string::npos) << list.out;
}

// Point 5: an unknown code, label, rule, region or year is refused, naming it.
TEST_F(CliQueryTest, QueryRefusesUnknownValuesNamingThem) {
  ImportBatch();
  for (const std::string where :
       {"status=7", "status=半脱贫", "flag=NOPE", "county=529999", "village=南明村", "year=2030",
        "age_band=3-5", "linked=nope_data"}) {
    FupinRun r = Fupin({"query", "--measure", "households", "--where", where});
    EXPECT_EQ(r.exit_code, 2) << where << r.Show();
    EXPECT_EQ(r.out, "") << where;
    const std::string value = where.substr(where.find('=') + 1);
    EXPECT_NE(r.err.find(value), std::string::npos) << where << r.err;
    EXPECT_NE(r.err.find("错误"), std::string::npos) << r.err;
    FupinRun list = Fupin({"query", "--list", "--where", where});
    EXPECT_EQ(list.exit_code, 2) << where << list.Show();
  }
  FupinRun dim = Fupin({"query", "--measure", "households", "--by", "gender"});
  EXPECT_EQ(dim.exit_code, 2) << dim.Show();
  EXPECT_NE(dim.err.find("没有维度 'gender'"), std::string::npos) << dim.err;
  FupinRun en = Fupin({"query", "--measure", "households", "--where", "status=7", "--lang", "en"});
  EXPECT_EQ(en.exit_code, 2);
  EXPECT_NE(en.err.find("no such status code"), std::string::npos) << en.err;
  EXPECT_NE(en.err.find("1 not yet out of poverty"), std::string::npos) << en.err;
  // A rule of the rule set that raised no flag is a valid filter with an empty answer.
  FupinRun known = Fupin({"query", "--measure", "households", "--where", "flag=EXC_VEHICLE"});
  EXPECT_EQ(known.exit_code, 0) << known.Show();
}

// Point 9: a terminal table lines up Chinese text by display width.
TEST_F(CliQueryTest, QueryTableLinesUpByDisplayWidth) {
  ImportBatch();
  FupinRun t = Fupin({"query", "--measure", "households,persons", "--by", "status,primary_cause",
                      "--format", "table"});
  ASSERT_EQ(t.exit_code, 0) << t.Show();
  const std::vector<std::string> lines = Lines(t.out);
  ASSERT_EQ(lines.size(), 5u) << t.out;  // header, rule, 3 rows
  EXPECT_EQ(lines[0].substr(0, lines[0].find(' ')), "脱贫状态");
  // Right-aligned counts end in the same column; the cause column starts in the same column.
  for (const std::string& line : lines) EXPECT_EQ(Columns(line), Columns(lines[0])) << t.out;
  const int cause = ColumnOf(lines[2], "因病");
  EXPECT_GT(cause, 0) << t.out;
  EXPECT_EQ(ColumnOf(lines[3], "交通条件落后"), cause) << t.out;
  EXPECT_EQ(ColumnOf(lines[0], "主要致贫原因"), cause) << t.out;
}

// Point 9: CSV written to a file carries the UTF-8 BOM Excel needs; stdout stays plain.
TEST_F(CliQueryTest, QueryCsvFileHasUtf8Bom) {
  ImportBatch();
  const fs::path out = dir_ / "q.csv";
  FupinRun q = Fupin({"query", "--measure", "households", "--by", "status", "--out", out.string()});
  ASSERT_EQ(q.exit_code, 0) << q.Show();
  EXPECT_EQ(test::ReadFile(out), "\xEF\xBB\xBFstatus,households\n未脱贫,2\n已脱贫（享受政策）,1\n");
  EXPECT_FALSE(fs::exists(out.string() + ".part"));
  FupinRun s = Fupin({"query", "--measure", "households", "--by", "status"});
  EXPECT_EQ(s.out, "status,households\n未脱贫,2\n已脱贫（享受政策）,1\n");
}

// Point 3: the change history masks ID numbers and names, shows money in yuan and codes as
// labels; --unmask shows them whole.
TEST_F(CliQueryTest, PortraitHistoryIsMaskedInYuanAndLabels) {
  ImportBatch();
  const std::string old_head = MakeId(kCounty, "19700101", 11);
  const std::string new_head = MakeId(kCounty, "19720202", 22);
  Row h1 = Household("H1", new_head);
  h1["primary_cause"] = "10";
  h1["status"] = "2";
  h1["exit_year"] = "2016";
  h1["income_wage"] = "9234.5";
  const fs::path second = dir_ / "batch2";
  test::WriteFile(second / "households.csv", Csv("households", {h1}));
  test::WriteFile(second / "members.csv",
                  Csv("members", {Member(old_head, "H1", "张三"), Member(new_head, "H1", "李四")}));
  const FupinRun r = Import(second);
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  ASSERT_GT(test::QueryInt(db_, "SELECT count(*) FROM history"), 0);

  FupinRun p = Fupin({"portrait", "--household", "H1"});
  ASSERT_EQ(p.exit_code, 0) << p.Show();
  const std::string history = p.out.substr(p.out.find("变更历史"));
  for (const std::string& secret : {old_head, new_head, std::string("张三丰")})
    EXPECT_EQ(p.out.find(secret), std::string::npos) << secret << "\n" << p.out;
  EXPECT_NE(history.find(old_head.substr(0, 6) + "********" + old_head.substr(14)),
            std::string::npos)
      << history;
  EXPECT_NE(history.find("张**"), std::string::npos) << history;  // 张三丰 -> 张三
  EXPECT_NE(history.find("8000.00"), std::string::npos) << history;
  EXPECT_NE(history.find("9234.50"), std::string::npos) << history;
  EXPECT_EQ(history.find("923450"), std::string::npos) << history;
  EXPECT_NE(history.find("工资性收入"), std::string::npos) << history;
  EXPECT_NE(history.find("未脱贫"), std::string::npos) << history;
  EXPECT_NE(history.find("已脱贫"), std::string::npos) << history;
  // The portrait's own fields: labels, the village by name.
  EXPECT_NE(p.out.find("纪念塔社区"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("交通条件落后"), std::string::npos) << p.out;

  FupinRun j = Fupin({"portrait", "--household", "H1", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.Show();
  const nlohmann::json o = nlohmann::json::parse(j.out);
  bool wage = false, status = false;
  for (const auto& h : o["history"]) {
    if (h["field"] == "income_wage_fen") {
      wage = true;
      EXPECT_EQ(h["new"], "9234.50");
    }
    if (h["field"] == "status") {
      status = true;
      EXPECT_EQ(h["new"], "已脱贫（享受政策）");
      EXPECT_EQ(h["new_code"], "2");
    }
  }
  EXPECT_TRUE(wage && status) << j.out;
  EXPECT_EQ(o["household"]["status"], "已脱贫（享受政策）");
  EXPECT_EQ(o["household"]["status_code"], "2");
  for (const std::string& secret : {old_head, new_head})
    EXPECT_EQ(j.out.find(secret), std::string::npos) << secret;

  FupinRun u = Fupin({"portrait", "--household", "H1", "--unmask"});
  ASSERT_EQ(u.exit_code, 0) << u.Show();
  EXPECT_NE(u.out.find(new_head), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("张三丰"), std::string::npos) << u.out;
}

// Point 3: the flags' evidence quotes members by name and ID number; the portrait masks both
// unless --unmask.
TEST_F(CliQueryTest, PortraitMasksNamesAndIdsQuotedInFlagEvidence) {
  ImportBatch();
  const FupinRun run = test::RunFupin(dir_.path(), {"rules", "run", "--db", db_.string()});
  ASSERT_LE(run.exit_code, 1) << run.Show();
  const std::string head = MakeId(kCounty, "19700101", 11);
  FupinRun u = Fupin({"portrait", "--household", "H1", "--unmask"});
  ASSERT_EQ(u.exit_code, 0) << u.Show();
  const std::string unmasked_flags = u.out.substr(u.out.find("疑点"));
  // The evidence does quote the head's name (the test needs it to).
  ASSERT_NE(unmasked_flags.find("张三丰"), std::string::npos) << u.out;
  FupinRun p = Fupin({"portrait", "--household", "H1"});
  ASSERT_EQ(p.exit_code, 0) << p.Show();
  const std::string flags = p.out.substr(p.out.find("疑点"));
  for (const std::string secret : {"张三丰", "李四"})
    EXPECT_EQ(p.out.find(secret), std::string::npos) << secret << "\n" << p.out;
  EXPECT_EQ(p.out.find(head), std::string::npos) << p.out;
  EXPECT_NE(flags.find("张**"), std::string::npos) << flags;
}

// Point 5 (portrait): a household or village that does not exist is named, zh and en.
TEST_F(CliQueryTest, PortraitOfAnUnknownHouseholdOrVillageNamesIt) {
  ImportBatch();
  FupinRun h = Fupin({"portrait", "--household", "H404"});
  EXPECT_EQ(h.exit_code, 1) << h.Show();
  EXPECT_NE(h.err.find("户 H404 不在建档立卡名单中"), std::string::npos) << h.err;
  FupinRun he = Fupin({"portrait", "--household", "H404", "--lang", "en"});
  EXPECT_NE(he.err.find("no household H404"), std::string::npos) << he.err;
  FupinRun v = Fupin({"portrait", "--village", "520102999999"});
  EXPECT_EQ(v.exit_code, 1) << v.Show();
  EXPECT_NE(v.err.find("没有村 520102999999"), std::string::npos) << v.err;
  // A village portrait shows labels and lines its tables up.
  FupinRun ok = Fupin({"portrait", "--village", "520102016001"});
  ASSERT_EQ(ok.exit_code, 0) << ok.Show();
  EXPECT_NE(ok.out.find("未脱贫"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("交通条件落后"), std::string::npos) << ok.out;
}

// Point 9: fupin stats lines its columns up with Chinese names.
TEST_F(CliQueryTest, StatsTablesLineUpByDisplayWidth) {
  ImportBatch();
  FupinRun s = Fupin({"stats"});
  ASSERT_EQ(s.exit_code, 0) << s.Show();
  const std::vector<std::string> lines = Lines(s.out);
  size_t header = 0;
  while (header < lines.size() && lines[header].find("市州代码") == std::string::npos) ++header;
  ASSERT_LT(header + 2, lines.size()) << s.out;
  const int end = Columns(lines[header]);
  const int status = ColumnOf(lines[header], "脱贫状态");
  for (size_t i = header + 2; i < lines.size(); ++i) {
    EXPECT_EQ(Columns(lines[i]), end) << s.out;
    EXPECT_TRUE(ColumnOf(lines[i], "未脱贫") == status || ColumnOf(lines[i], "已脱贫") == status)
        << s.out;
  }
}

}  // namespace
}  // namespace fupin
