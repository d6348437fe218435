// The analytics snapshot and the query model against SQL: the same questions asked of fupin's
// query engine and of SQLite over the same store give the same answers; the snapshot file
// round-trips; a one-household change gives what a rebuild from the store gives.
#include "analytics/query.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "analytics/portrait.h"
#include "analytics/poverty_measures.h"
#include "exchange/import.h"
#include "gen/generator.h"
#include "link/linker.h"
#include "rules/engine.h"
#include "rules/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using analytics::QuerySpec;

class QueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    gen::GenOptions options;
    options.scale = 0.005;
    options.seed = 5;
    options.out = *dir_ / "batch";
    ASSERT_TRUE(gen::Generate(options));
    auto store = store::OpenSqliteStore(*dir_ / "q.db");
    ASSERT_TRUE(store) << store.error().ToString();
    auto s = exchange::ImportPath(**store, options.out, {});
    ASSERT_TRUE(s) << s.error().ToString();
    link::LinkOptions lo;
    lo.actor.user = "test";
    ASSERT_TRUE(link::RunLinker(**store, lo));
    auto rules = rules::DefaultRuleSet();
    ASSERT_TRUE(rules);
    rules::RunOptions ro;
    ro.actor.user = "test";
    auto run = rules::RunRules(**store, *rules, ro);
    ASSERT_TRUE(run) << run.error().ToString();
    auto snap = analytics::BuildSnapshot(**store);
    ASSERT_TRUE(snap) << snap.error().ToString();
    snap_ = new analytics::Snapshot(std::move(*snap));
  }
  static void TearDownTestSuite() {
    delete snap_;
    delete dir_;
  }
  static fs::path Db() { return *dir_ / "q.db"; }

  // fupin's answer and SQLite's, row by row.
  static void ExpectSame(const analytics::Snapshot& snap, const QuerySpec& spec,
                         const std::string& sql) {
    auto got = analytics::RunQuery(snap, spec);
    ASSERT_TRUE(got) << got.error().ToString();
    const auto want = test::Query(Db(), sql);
    ASSERT_EQ(got->rows.size(), want.size()) << sql;
    ASSERT_FALSE(want.empty());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got->rows[i].size(), want[i].size());
      for (size_t c = 0; c < want[i].size(); ++c) {
        if (got->rows[i][c] == want[i][c]) continue;
        // A mean printed with two decimals may round its last digit either way, depending
        // on the order of the additions.
        char* end = nullptr;
        const double a = std::strtod(got->rows[i][c].c_str(), &end);
        const double b = std::strtod(want[i][c].c_str(), nullptr);
        EXPECT_TRUE(*end == '\0' && std::abs(a - b) <= 0.0101)
            << sql << " row " << i << " column " << c << ": " << got->rows[i][c] << " vs "
            << want[i][c];
      }
    }
  }
  static void ExpectSame(const QuerySpec& spec, const std::string& sql) {
    ExpectSame(*snap_, spec, sql);
  }
  static std::vector<std::vector<std::string>> Rows(const analytics::Snapshot& snap,
                                                    const QuerySpec& spec) {
    auto r = analytics::RunQuery(snap, spec);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? r->rows : std::vector<std::vector<std::string>>{};
  }

  static test::TempDir* dir_;
  static analytics::Snapshot* snap_;
};
test::TempDir* QueryTest::dir_ = nullptr;
analytics::Snapshot* QueryTest::snap_ = nullptr;

const std::string kMembersJoin = " FROM members m JOIN households h USING (household_id) ";

// Per-capita income as the rules engine derives it (rules/engine.cc: missing parts left out,
// the yuan total over the members, rounded to the fen), in the same floating-point steps.
const std::string kPerCapita =
    "CASE WHEN coalesce(income_wage_fen, income_business_fen, income_property_fen, "
    "income_transfer_fen) IS NULL OR members <= 0 THEN NULL ELSE round((coalesce(income_wage_fen "
    "/ 100.0, 0) + coalesce(income_business_fen / 100.0, 0) + coalesce(income_property_fen / "
    "100.0, 0) + coalesce(income_transfer_fen / 100.0, 0)) / members * 100) / 100 END";

TEST_F(QueryTest, PersonsAndHouseholdsByCountyForPoorHouseholds) {
  ExpectSame({{"persons", "households"}, {"county"}, {{"status", {"1", "3"}}}},
             "SELECT substr(h.village_code, 1, 6) || '000000', count(*), "
             "count(DISTINCT h.household_id)" +
                 kMembersJoin + "WHERE h.status IN (1, 3) GROUP BY 1 ORDER BY 1");
}

TEST_F(QueryTest, HouseholdMeasuresByPrefectureAndStatus) {
  ExpectSame({{"households", "poor_households", "mean_income", "income_wage"},
              {"prefecture", "status"},
              {}},
             "SELECT substr(village_code, 1, 4) || '00000000', status, count(*), "
             "sum(status IN (1, 3)), printf('%.2f', avg(round((income_wage_fen + "
             "income_business_fen + income_property_fen + income_transfer_fen) / 100.0 / "
             "members, 2))), printf('%.2f', sum(income_wage_fen) / 100.0) FROM households "
             "GROUP BY 1, 2 ORDER BY 1, 2");
}

TEST_F(QueryTest, PersonsBySexAndPrimaryCauseInOneCounty) {
  const auto any = Rows(*snap_, {{"households"}, {"county"}, {}});
  ASSERT_FALSE(any.empty());
  const std::string county = any.front()[0];
  ExpectSame({{"persons", "poor_persons", "exited_persons"},
              {"sex", "primary_cause"},
              {{"county", {county}}}},
             "SELECT m.sex, h.primary_cause, count(*), sum(h.status IN (1, 3)), "
             "sum(h.status IN (2, 4))" +
                 kMembersJoin + "WHERE substr(h.village_code, 1, 6) || '000000' = '" + county +
                 "' GROUP BY 1, 2 ORDER BY 1, 2");
  // The same county given by its significant digits.
  EXPECT_EQ(Rows(*snap_, {{"persons"}, {"sex"}, {{"county", {county.substr(0, 6)}}}}),
            Rows(*snap_, {{"persons"}, {"sex"}, {{"county", {county}}}}));
}

TEST_F(QueryTest, IncidenceByHousingAndWaterWithMemberFilter) {
  ExpectSame({{"persons", "incidence"}, {"housing_safe", "water_safe"}, {{"labor", {"1", "2"}}}},
             "SELECT coalesce(h.housing_safe, ''), coalesce(h.water_safe, ''), count(*), "
             "printf('%.4f', 1.0 * sum(h.status IN (1, 3)) / count(*))" +
                 kMembersJoin + "WHERE m.labor IN (1, 2) GROUP BY 1, 2 ORDER BY 1, 2");
}

TEST_F(QueryTest, VillageLevelAndAgeBands) {
  ExpectSame({{"persons"}, {"village", "age_band"}, {{"prefecture", {"520300000000"}}}},
             "SELECT h.village_code, CASE WHEN m.birth_date IS NULL THEN '' "
             "WHEN (CAST(strftime('%Y', '" +
                 std::to_string(snap_->data_year) +
                 "-12-31') AS INTEGER) - CAST(substr(m.birth_date, 1, 4) AS INTEGER) - "
                 "(substr(m.birth_date, 6, 5) > '12-31')) <= 6 THEN '0-6' "
                 "WHEN (" +
                 std::to_string(snap_->data_year) +
                 " - CAST(substr(m.birth_date, 1, 4) AS INTEGER)) <= 15 THEN '7-15' "
                 "WHEN (" +
                 std::to_string(snap_->data_year) +
                 " - CAST(substr(m.birth_date, 1, 4) AS INTEGER)) <= 59 THEN '16-59' "
                 "ELSE '60+' END AS band, count(*)" +
                 kMembersJoin +
                 // Age bands in code order: 0-6, 7-15, 16-59, 60+ (not as text).
                 "WHERE substr(h.village_code, 1, 4) = '5203' GROUP BY 1, 2 "
                 "ORDER BY 1, CAST(band AS INTEGER), band");
}

TEST(CodeLess, NumbersByValueTextByBytesMissingFirst) {
  using analytics::CodeLess;
  EXPECT_TRUE(CodeLess("2", "10"));
  EXPECT_FALSE(CodeLess("10", "2"));
  EXPECT_TRUE(CodeLess("9", "12"));
  EXPECT_TRUE(CodeLess("", "1"));
  EXPECT_FALSE(CodeLess("1", ""));
  EXPECT_TRUE(CodeLess("0-6", "7-15"));
  EXPECT_TRUE(CodeLess("7-15", "16-59"));
  EXPECT_TRUE(CodeLess("16-59", "60+"));
  EXPECT_TRUE(
      CodeLess("1", "01"));  // equal numbers: the shorter text first, so the order is strict
  EXPECT_FALSE(CodeLess("01", "1"));
  EXPECT_FALSE(CodeLess("5", "5"));
  EXPECT_TRUE(CodeLess("520102000000", "520103000000"));
  EXPECT_TRUE(CodeLess("EXC_VEHICLE", "EXIT_READY"));
}

// Coded dimensions come in code order, 1, 2, ... 10, 11, 12, not as text (1, 10, 11, 2):
// the causes by SQLite's integer order.
TEST_F(QueryTest, CodedDimensionsInCodeOrder) {
  ExpectSame({{"households"}, {"primary_cause"}},
             "SELECT coalesce(primary_cause, ''), count(*) FROM households "
             "GROUP BY 1 ORDER BY primary_cause IS NOT NULL, CAST(primary_cause AS INTEGER)");
  const auto rows = Rows(*snap_, {{"households"}, {"primary_cause"}});
  ASSERT_GT(rows.size(), 10u);  // the generator uses causes past 9
}

TEST_F(QueryTest, MedianIncomeByCounty) {
  const auto rows = test::Query(
      Db(),
      "SELECT substr(village_code, 1, 6) || '000000', round((income_wage_fen + "
      "income_business_fen + income_property_fen + income_transfer_fen) / 100.0 / members, 2) "
      "FROM households WHERE members > 0 ORDER BY 1");
  std::map<std::string, std::vector<double>> by;
  for (const auto& r : rows)
    if (r[1] != "NULL") by[r[0]].push_back(std::stod(r[1]));
  const auto got = Rows(*snap_, {{"median_income"}, {"county"}, {}});
  ASSERT_EQ(got.size(), by.size());
  size_t i = 0;
  for (auto& [county, v] : by) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    EXPECT_EQ(got[i][0], county);
    EXPECT_NEAR(std::stod(got[i][1]), median, 0.0101) << county;
    ++i;
  }
}

// Medians through both paths: a few groups use the rank histogram, many groups (villages)
// collect the ranks; a member dimension puts a household in each group of its members, and a
// region filter applies inside the histogram's walk.
TEST_F(QueryTest, MedianIncomeBySexInAPrefectureAndByVillage) {
  auto medians = [](const std::vector<std::vector<std::string>>& rows) {
    std::map<std::string, std::vector<double>> by;
    for (const auto& r : rows)
      if (r[1] != "NULL") by[r[0]].push_back(std::stod(r[1]));
    std::map<std::string, double> out;
    for (auto& [k, v] : by) {
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      out[k] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    return out;
  };
  auto check = [&](const QuerySpec& spec, const std::string& sql) {
    const auto want = medians(test::Query(Db(), sql));
    const auto got = Rows(*snap_, spec);
    ASSERT_EQ(got.size(), want.size()) << sql;
    ASSERT_GT(got.size(), 1u);
    for (const auto& r : got) {
      ASSERT_TRUE(want.contains(r[0])) << r[0];
      EXPECT_NEAR(std::stod(r[1]), want.at(r[0]), 0.0051) << r[0];
    }
  };
  check({{"median_income"}, {"sex"}, {{"prefecture", {"5203"}}}},
        "SELECT sex, y FROM (SELECT DISTINCT m.sex, h.household_id, " + kPerCapita +
            " AS y FROM households h JOIN members m USING (household_id) WHERE "
            "substr(h.village_code, 1, 4) = '5203')");
  check({{"median_income"}, {"village"}, {}},
        "SELECT village_code, " + kPerCapita + " FROM households");
}

// monitored_persons: members of households with an open or verified flag of a `risk` rule
// (docs/query.md), by county from households and by sex from members, against the flags table.
TEST_F(QueryTest, MonitoredPersonsAreMembersOfHouseholdsWithActiveRiskFlags) {
  const std::string monitored =
      " h.household_id IN (SELECT household_id FROM flags WHERE category = 'risk' AND state IN "
      "('open', 'verified')) ";
  ExpectSame({{"monitored_persons"}, {"county"}, {}},
             "SELECT substr(h.village_code, 1, 6) || '000000', sum(" + monitored + ")" +
                 kMembersJoin + "GROUP BY 1 ORDER BY 1");
  ExpectSame({{"persons", "monitored_persons"}, {"prefecture"}, {}},
             "SELECT substr(h.village_code, 1, 4) || '00000000', count(*), sum(" + monitored + ")" +
                 kMembersJoin + "GROUP BY 1 ORDER BY 1");
  ExpectSame({{"monitored_persons"}, {"sex"}, {}}, "SELECT coalesce(m.sex, ''), sum(" + monitored +
                                                       ")" + kMembersJoin +
                                                       "GROUP BY 1 ORDER BY 1");
  // Within the households with any flag (the region summary's question): the same total.
  std::vector<std::string> rules = snap_->rules;
  ExpectSame({{"monitored_persons"}, {}, {{"flag", rules}}},
             "SELECT count(*)" + kMembersJoin + "WHERE" + monitored);
  auto r = analytics::RunQuery(*snap_, {{"monitored_persons"}, {}, {}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_FALSE(r->from_cube);
  EXPECT_GT(r->values.at(0).at(0), 0);
}

// income_band: per-capita income over the line, in band order, against SQL; a filter on a
// band; refused without a line.
TEST_F(QueryTest, IncomeBandsAgainstTheLineEqualSql) {
  QuerySpec spec{{"households", "persons"}, {"county", "income_band"}, {}};
  spec.poverty.line = 4000;
  const std::string band =
      "CASE WHEN pc IS NULL THEN '' WHEN pc < 2000 THEN '<0.5' WHEN pc < 4000 THEN '0.5-1' WHEN "
      "pc < 6000 THEN '1-1.5' WHEN pc < 8000 THEN '1.5-2' WHEN pc < 12000 THEN '2-3' ELSE '>=3' "
      "END";
  const std::string order =
      "CASE b WHEN '' THEN 0 WHEN '<0.5' THEN 1 WHEN '0.5-1' THEN 2 WHEN '1-1.5' THEN 3 WHEN "
      "'1.5-2' THEN 4 WHEN '2-3' THEN 5 ELSE 6 END";
  const std::string hh = "(SELECT household_id, village_code, " + band + " AS b FROM (SELECT *, " +
                         kPerCapita + " AS pc FROM households))";
  ExpectSame(spec,
             "SELECT substr(h.village_code, 1, 6) || '000000' AS c, b, count(DISTINCT "
             "h.household_id), count(*) FROM members m JOIN " +
                 hh + " h USING (household_id) GROUP BY c, b ORDER BY c, " + order);
  QuerySpec filtered{{"households"}, {}, {{"income_band", {"<0.5", "0.5-1"}}}};
  filtered.poverty.line = 4000;
  ExpectSame(filtered, "SELECT count(*) FROM " + hh + " WHERE b IN ('<0.5', '0.5-1')");
  auto no_line = analytics::RunQuery(*snap_, {{"households"}, {"income_band"}, {}});
  ASSERT_FALSE(no_line);
  EXPECT_NE(no_line.error().message().find("income_band"), std::string::npos);
}

TEST_F(QueryTest, FlagsByRuleAndByCountyMatchTheFlagsTable) {
  const std::string active = " state IN ('open', 'verified') ";
  auto got = Rows(*snap_, {{"flagged_households", "flags"}, {"flag"}, {}});
  ASSERT_FALSE(got.empty());
  ASSERT_EQ(got.front()[0], "");  // households without flags
  EXPECT_EQ(got.front()[1], "0");
  got.erase(got.begin());
  const auto want = test::Query(Db(),
                                "SELECT rule, count(DISTINCT household_id), count(*) FROM "
                                "flags WHERE" +
                                    active + "GROUP BY 1 ORDER BY 1");
  ASSERT_GT(want.size(), 5u);
  EXPECT_EQ(got, want);
  ExpectSame(
      {{"flags", "flagged_households"}, {"county"}, {{"flag", {"GAP_UNINSURED", "DQ_INVALID_ID"}}}},
      "SELECT substr(village_code, 1, 6) || '000000', count(*), count(DISTINCT "
      "household_id) FROM flags WHERE" +
          active + "AND rule IN ('GAP_UNINSURED', 'DQ_INVALID_ID') GROUP BY 1 ORDER BY 1");
  // Households with no flag at all.
  ExpectSame({{"households"}, {}, {{"flag", {""}}}},
             "SELECT count(*) FROM households WHERE household_id NOT IN (SELECT household_id "
             "FROM flags WHERE" +
                 active + ")");
}

TEST_F(QueryTest, LinkedPersonsPerDatasetMatchTheRulesLoader) {
  // Persons with at least one linked record per data set, as the rules engine's loader sees
  // the links (a separate path from the snapshot's).
  auto store = store::OpenSqliteStore(Db());
  ASSERT_TRUE(store);
  rules::RuleSet all;
  const rules::Schema& schema = rules::Schema::Get();
  for (int e = 2; e < schema.EntityCount(); ++e) all.usage.records[static_cast<size_t>(e)] = true;
  auto data = rules::LoadRuleData(**store, all, {});
  ASSERT_TRUE(data) << data.error().ToString();
  std::map<std::string, int64_t> want;
  for (int e = 2; e < schema.EntityCount(); ++e) {
    int64_t n = 0;
    for (uint32_t m = 0; m < data->tables[rules::kMember].rows; ++m)
      n += !data->linked[static_cast<size_t>(e)].Of(m).empty();
    if (n) want[schema.entity(e).name] = n;
  }
  ASSERT_GT(want.size(), 5u);
  auto got = Rows(*snap_, {{"persons"}, {"linked"}, {}});
  std::map<std::string, int64_t> have;
  for (const auto& r : got)
    if (!r[0].empty()) have[r[0]] = std::stoll(r[1]);
  EXPECT_EQ(have, want);
  // A filter on a linked data set counts each person once.
  const auto one = Rows(*snap_, {{"persons"}, {}, {{"linked", {"health_enrollment"}}}});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(std::stoll(one[0][0]), want["health_enrollment"]);
}

TEST_F(QueryTest, DrillDownListsTheHouseholdsOfAVillage) {
  const auto villages = Rows(*snap_, {{"households"}, {"village"}, {}});
  ASSERT_FALSE(villages.empty());
  const std::string village = villages.back()[0];
  auto list = analytics::ListHouseholds(*snap_, {{"village", {village}}}, 0, 1000);
  ASSERT_TRUE(list) << list.error().ToString();
  EXPECT_EQ(list->total, std::stoll(villages.back()[1]));
  const auto want = test::Query(
      Db(), "SELECT household_id, status, members FROM households WHERE village_code = '" +
                village + "' ORDER BY household_id");
  ASSERT_EQ(list->rows.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(list->rows[i].household_id, want[i][0]);
    EXPECT_EQ(list->rows[i].status, want[i][1]);
    EXPECT_EQ(list->rows[i].village_code, village);
  }
  // Paging.
  auto page = analytics::ListHouseholds(*snap_, {{"village", {village}}}, 1, 1);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->rows.size(), std::min<size_t>(1, want.size() - 1));
  if (!page->rows.empty()) {
    EXPECT_EQ(page->rows[0].household_id, want[1][0]);
  }
}

// FGT P0, P1, P2 by county against SQL over the households table (per-capita income as the
// rules engine derives it; each household weighted by its member rows) and, for the province,
// against the poverty-measures library (DOMAIN.md §7.1).
TEST_F(QueryTest, FgtByCountyEqualsSqlAndTheLibrary) {
  QuerySpec spec{{"fgt_p0", "fgt_p1", "fgt_p2"}, {"county"}, {}};
  spec.poverty.line = 3000;
  auto got = analytics::RunQuery(*snap_, spec);
  ASSERT_TRUE(got) << got.error().ToString();
  const auto want = test::Query(
      Db(),
      "WITH h AS (SELECT substr(village_code, 1, 6) || '000000' AS c, (SELECT count(*) FROM "
      "members m WHERE m.household_id = households.household_id) AS w, " +
          kPerCapita +
          " AS y FROM households WHERE members > 0), g AS (SELECT c, w, CASE WHEN y < 3000 THEN "
          "(3000 - y) / 3000.0 ELSE 0 END AS gap FROM h WHERE y IS NOT NULL) SELECT c, "
          "1.0 * sum(w * (gap > 0)) / sum(w), sum(w * gap) / sum(w), sum(w * gap * gap) / sum(w) "
          "FROM g GROUP BY c ORDER BY c");
  ASSERT_EQ(got->rows.size(), want.size());
  double poor = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got->rows[i][0], want[i][0]);
    for (size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(got->values[i][c], std::stod(want[i][c + 1]), 1e-9) << want[i][0] << " " << c;
    poor += got->values[i][0];
  }
  EXPECT_GT(poor, 0);  // some county has people below the line

  // The province through the library: incomes per household, weights its members.
  const auto rows = test::Query(
      Db(), "SELECT " + kPerCapita +
                ", (SELECT count(*) FROM members m WHERE "
                "m.household_id = households.household_id) FROM households WHERE members > 0");
  std::vector<double> incomes, weights;
  for (const auto& r : rows) {
    if (r[0] == "NULL") continue;
    incomes.push_back(std::stod(r[0]));
    weights.push_back(std::stod(r[1]));
  }
  auto fgt = analytics::ComputeFgt(incomes, 3000, weights);
  ASSERT_TRUE(fgt);
  spec.by.clear();
  auto province = analytics::RunQuery(*snap_, spec);
  ASSERT_TRUE(province);
  ASSERT_EQ(province->values.size(), 1u);
  EXPECT_NEAR(province->values[0][0], fgt->p0, 1e-9);
  EXPECT_NEAR(province->values[0][1], fgt->p1, 1e-9);
  EXPECT_NEAR(province->values[0][2], fgt->p2, 1e-9);
  EXPECT_EQ(province->rows[0][0], fmt::format("{:.6f}", fgt->p0));
}

// Alkire–Foster by prefecture against the library (DOMAIN.md §7.2) on a deprivation matrix
// built from the rules engine's loader, a path apart from the snapshot: one row per member,
// the household's deprivations repeated (income below the line, unsafe housing, unsafe water,
// a member aged 7-15 out of school, a member uninsured or missing from the enrolment data).
TEST_F(QueryTest, AlkireFosterByPrefectureEqualsTheLibraryOnTheLoadersData) {
  auto store = store::OpenSqliteStore(Db());
  ASSERT_TRUE(store);
  const rules::Schema& schema = rules::Schema::Get();
  const int enrolment = schema.DatasetEntity("health_enrollment");
  ASSERT_GT(enrolment, 1);
  rules::RuleSet use;
  for (const char* f : {"village_code", "per_capita_income", "housing_safe", "water_safe"})
    use.usage.Use(rules::kHousehold, schema.FindField(rules::kHousehold, f));
  for (const char* f : {"age", "in_school", "medical_insured"})
    use.usage.Use(rules::kMember, schema.FindField(rules::kMember, f));
  use.usage.records[static_cast<size_t>(enrolment)] = true;
  auto data = rules::LoadRuleData(**store, use, {});
  ASSERT_TRUE(data) << data.error().ToString();
  auto col = [&](int entity, const char* f) -> const rules::Column& {
    return data->tables[static_cast<size_t>(entity)]
        .cols[static_cast<size_t>(schema.FindField(entity, f))];
  };
  const auto& village = col(rules::kHousehold, "village_code");
  const auto& income = col(rules::kHousehold, "per_capita_income");
  const auto& housing = col(rules::kHousehold, "housing_safe");
  const auto& water = col(rules::kHousehold, "water_safe");
  const auto& age = col(rules::kMember, "age");
  const auto& in_school = col(rules::kMember, "in_school");
  const auto& insured = col(rules::kMember, "medical_insured");
  const auto& enrolled = data->linked[static_cast<size_t>(enrolment)];

  constexpr double kLine = 3000;
  std::vector<std::string> prefectures;
  std::vector<double> achievements;  // 1 = not deprived, 0 = deprived; cutoffs 1
  std::vector<int64_t> group;
  for (uint32_t h = 0; h < data->Households(); ++h) {
    const double y = income.Num(h);
    if (std::isnan(y)) continue;
    bool school = false, medical = false;
    const uint32_t mb = data->member_begin[h], me = data->member_begin[h + 1];
    for (uint32_t m = mb; m < me; ++m) {
      school |= age.Num(m) > 6 && age.Num(m) <= 15 && in_school.Num(m) == 0;
      medical |= insured.Num(m) == 0 || enrolled.Of(m).empty();
    }
    const std::string pref = std::string(village.Text(h).substr(0, 4)) + "00000000";
    auto it = std::find(prefectures.begin(), prefectures.end(), pref);
    if (it == prefectures.end()) it = prefectures.insert(prefectures.end(), pref);
    for (uint32_t m = mb; m < me; ++m) {
      achievements.insert(achievements.end(),
                          {y < kLine ? 0.0 : 1.0, housing.Num(h) == 0 ? 0.0 : 1.0,
                           water.Num(h) == 0 ? 0.0 : 1.0, school ? 0.0 : 1.0, medical ? 0.0 : 1.0});
      group.push_back(it - prefectures.begin());
    }
  }
  const std::vector<double> cutoffs(5, 1), weights(5, 0.2);
  auto want = analytics::ComputeAlkireFosterByGroup(achievements, cutoffs, weights, 1.0 / 3, group);
  ASSERT_TRUE(want) << want.error().ToString();

  const std::vector<std::string> names = {"income", "housing", "water", "schooling",
                                          "medical_insurance"};
  QuerySpec spec{{"mpi_h", "mpi_a", "mpi_m0", "mpi_poor_persons"}, {"prefecture"}, {}};
  for (const auto& n : names) spec.measures.push_back("mpi_ch_" + n);
  for (const auto& n : names) spec.measures.push_back("mpi_contrib_" + n);
  spec.poverty.line = kLine;
  auto got = analytics::RunQuery(*snap_, spec);
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->rows.size(), want->size());
  double m0 = 0;
  for (const auto& [g, r] : *want) {
    const std::string& pref = prefectures[static_cast<size_t>(g)];
    auto row = std::find_if(got->rows.begin(), got->rows.end(),
                            [&](const auto& x) { return x[0] == pref; });
    ASSERT_NE(row, got->rows.end()) << pref;
    const auto& v = got->values[static_cast<size_t>(row - got->rows.begin())];
    EXPECT_NEAR(v[0], r.h, 1e-9) << pref;
    if (r.poor) {
      EXPECT_NEAR(v[1], r.a, 1e-9) << pref;
    }
    EXPECT_NEAR(v[2], r.m0, 1e-9) << pref;
    EXPECT_EQ(v[3], static_cast<double>(r.poor)) << pref;
    for (size_t j = 0; j < 5; ++j) {
      EXPECT_NEAR(v[4 + j], r.censored_headcount[j], 1e-9) << pref << " " << names[j];
      if (r.m0 > 0) {
        EXPECT_NEAR(v[9 + j], r.contribution[j], 1e-9) << pref << " " << names[j];
      }
    }
    m0 += r.m0;
  }
  EXPECT_GT(m0, 0);  // someone is multidimensionally poor

  // Weights and k as given: income counted twice over housing, k = 1/2 (income alone).
  QuerySpec two{{"mpi_h", "fgt_p0"}, {}, {}};
  two.poverty.line = kLine;
  two.poverty.indicators = {{"income", 2}, {"housing", 1}, {"water", 1}};
  two.poverty.k = 0.5;
  auto r2 = analytics::RunQuery(*snap_, two);
  ASSERT_TRUE(r2) << r2.error().ToString();
  // With income weighing half, exactly the income-poor plus those deprived in both others.
  int64_t n = 0, poor = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    const double* a = &achievements[i * 5];
    ++n;
    poor += a[0] == 0 || (a[1] == 0 && a[2] == 0);
  }
  EXPECT_NEAR(r2->values[0][0], static_cast<double>(poor) / static_cast<double>(n), 1e-9);
  EXPECT_GE(r2->values[0][0], r2->values[0][1] - 1e-9);
}

TEST_F(QueryTest, PovertyParametersAreChecked) {
  QuerySpec spec{{"fgt_p0"}, {}, {}};
  auto r = analytics::RunQuery(*snap_, spec);  // no line
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("--line"), std::string::npos);
  // Lines per income year from the default rules: the exit line of the data year.
  auto rules = rules::DefaultRuleSet();
  ASSERT_TRUE(rules);
  spec.poverty.lines = analytics::LinesByYear(*snap_, rules->thresholds, rules::LineKind::kExit);
  ASSERT_TRUE(spec.poverty.lines.contains(snap_->data_year));
  r = analytics::RunQuery(*snap_, spec);
  ASSERT_TRUE(r) << r.error().ToString();
  QuerySpec fixed = spec;
  fixed.poverty.lines.clear();
  fixed.poverty.line = spec.poverty.lines.at(snap_->data_year);
  fixed.where = {{"year", {std::to_string(snap_->data_year)}}};
  spec.where = fixed.where;
  EXPECT_EQ(Rows(*snap_, spec), Rows(*snap_, fixed));

  QuerySpec bad{{"mpi_ch_electricity"}, {}, {}};
  r = analytics::RunQuery(*snap_, bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not among the MPI indicators"), std::string::npos);
  bad.measures = {"mpi_ch_roads"};
  r = analytics::RunQuery(*snap_, bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown MPI indicator 'roads'"), std::string::npos);
  bad.measures = {"mpi_h"};
  bad.poverty.k = 0;
  EXPECT_FALSE(analytics::RunQuery(*snap_, bad));
  bad.poverty.k = 0.5;
  bad.poverty.indicators = {{"housing", -1}};
  EXPECT_FALSE(analytics::RunQuery(*snap_, bad));
  bad.poverty.indicators = {{"housing", 1}, {"housing", 2}};
  EXPECT_FALSE(analytics::RunQuery(*snap_, bad));
  // Without the income indicator no line is needed.
  bad.poverty.indicators = {{"housing", 1}, {"water", 1}};
  EXPECT_TRUE(analytics::RunQuery(*snap_, bad));
}

TEST_F(QueryTest, UnknownNamesAreRefusedWithTheList) {
  auto bad = analytics::RunQuery(*snap_, {{"peeple"}, {}, {}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown measure 'peeple'"), std::string::npos);
  EXPECT_NE(bad.error().message().find("persons"), std::string::npos);
  bad = analytics::RunQuery(*snap_, {{"persons"}, {"countyy"}, {}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown dimension 'countyy'"), std::string::npos);
  bad = analytics::RunQuery(*snap_, {{"persons"}, {"flag", "linked"}, {}});
  ASSERT_FALSE(bad);
  // A region that is not one: an error, not an empty answer; "52010" is no prefix.
  for (const char* county : {"529999", "52010", "520102000001"}) {
    bad = analytics::RunQuery(*snap_, {{"persons"}, {}, {{"county", {county}}}});
    ASSERT_FALSE(bad) << county;
    EXPECT_NE(bad.error().message().find(std::string("county=") + county), std::string::npos)
        << bad.error().message();
  }
}

TEST_F(QueryTest, SnapshotFileRoundTripsAndADamagedOneIsRebuilt) {
  const std::string path = (*dir_ / "copy.snapshot").string();
  ASSERT_TRUE(analytics::SaveSnapshot(*snap_, path).ok());
  auto loaded = analytics::LoadSnapshot(path);
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  for (const QuerySpec& q :
       std::vector<QuerySpec>{{{"persons", "poor_persons", "mean_income"}, {"county", "sex"}, {}},
                              {{"flags"}, {"flag"}, {{"prefecture", {"520100000000"}}}},
                              {{"persons"}, {"linked"}, {}}})
    EXPECT_EQ(Rows(*loaded, q), Rows(*snap_, q));
  EXPECT_NE(loaded->Find(snap_->HouseholdId(3)), UINT32_MAX);

  // Cut short: refused with a clear error.
  const auto size = fs::file_size(path);
  fs::resize_file(path, size / 2);
  auto cut = analytics::LoadSnapshot(path);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message().find("damaged or cut short"), std::string::npos);
  test::WriteFile(path, "not a snapshot at all");
  ASSERT_FALSE(analytics::LoadSnapshot(path));

  // OpenSnapshot beside a database: built, then loaded, and a damaged file is rebuilt.
  auto store = store::OpenSqliteStore(Db());
  ASSERT_TRUE(store);
  std::string how;
  auto first = analytics::OpenSnapshot(**store, Db().string(), {}, &how);
  ASSERT_TRUE(first);
  EXPECT_EQ(how, "built");
  auto second = analytics::OpenSnapshot(**store, Db().string(), {}, &how);
  ASSERT_TRUE(second);
  EXPECT_EQ(how, "loaded");
  test::WriteFile(Db().string() + ".snapshot", "garbage");
  auto third = analytics::OpenSnapshot(**store, Db().string(), {}, &how);
  ASSERT_TRUE(third);
  EXPECT_EQ(how, "built");
  EXPECT_EQ(Rows(*third, {{"persons"}, {"status"}, {}}),
            Rows(*snap_, {{"persons"}, {"status"}, {}}));
}

// Flag decisions reach the snapshot by reading only the flags again.
TEST_F(QueryTest, RefreshReadsOnlyTheFlagsAfterADecision) {
  auto store = store::OpenSqliteStore(Db());
  ASSERT_TRUE(store);
  auto snap = analytics::BuildSnapshot(**store);
  ASSERT_TRUE(snap);
  const auto flag = test::Query(Db(),
                                "SELECT rule, household_id, id_number FROM flags WHERE state = "
                                "'open' AND rule = 'GAP_UNINSURED' LIMIT 1");
  ASSERT_EQ(flag.size(), 1u);
  const QuerySpec q{{"flags"}, {}, {{"flag", {"GAP_UNINSURED"}}}};
  const int64_t before = std::stoll(Rows(*snap, q)[0][0]);
  ASSERT_TRUE((*store)
                  ->Rules()
                  .SetFlagState(flag[0][0], flag[0][1], flag[0][2] == "NULL" ? "" : flag[0][2],
                                store::FlagState::kDismissed, "checked", Actor{.user = "test"})
                  .ok());
  auto read = analytics::Refresh(**store, *snap);
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(*read, std::vector<std::string>{"flags"});
  EXPECT_EQ(std::stoll(Rows(*snap, q)[0][0]), before - 1);
  auto again = analytics::Refresh(**store, *snap);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  // Put it back for the other tests.
  ASSERT_TRUE((*store)
                  ->Rules()
                  .SetFlagState(flag[0][0], flag[0][1], flag[0][2] == "NULL" ? "" : flag[0][2],
                                store::FlagState::kOpen, "", Actor{.user = "test"})
                  .ok());
}

// One household changed in memory gives the answers a rebuild from the store gives after the
// same change is imported: in place (same village, same members) and appended (moved).
TEST_F(QueryTest, OneHouseholdChangeEqualsARebuild) {
  test::TempDir tmp;
  fs::copy_file(Db(), tmp / "u.db");
  auto store = store::OpenSqliteStore(tmp / "u.db");
  ASSERT_TRUE(store);
  auto snap = analytics::BuildSnapshot(**store);
  ASSERT_TRUE(snap);

  // Two households from the generated file: one changes its cause, one moves village.
  std::ifstream in(*dir_ / "batch" / "households.csv");
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  auto cells = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream s(line);
    std::string c;
    while (std::getline(s, c, ',')) out.push_back(c);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
  };
  const std::vector<std::string> cols = cells(header);
  auto col = [&](std::string_view name) {
    return static_cast<size_t>(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  std::vector<std::string> a = cells(first), b = cells(second);
  ASSERT_EQ(a.size(), cols.size());
  a[col("primary_cause")] = a[col("primary_cause")] == "3" ? "4" : "3";
  b[col("village_code")] = std::string(test::kZunyiVillage);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
    return s + "\n";
  };
  test::WriteFile(tmp / "change" / "households.csv", header + "\n" + join(a) + join(b));

  for (const auto& [row, village, cause] :
       {std::tuple{a, std::string(), std::string()}, std::tuple{b, std::string(), std::string()}}) {
    (void)village;
    (void)cause;
    const uint32_t h = snap->Find(row[col("household_id")]);
    ASSERT_NE(h, UINT32_MAX);
    analytics::HouseholdRecord r = snap->Record(h);
    r.village_code = row[col("village_code")];
    r.dims[analytics::kPrimaryCause] = row[col("primary_cause")];
    ASSERT_TRUE(snap->UpsertHousehold(r).ok());
  }
  EXPECT_GT(snap->households, snap->sorted_households);  // the moved one was appended

  auto imported = exchange::ImportPath(**store, tmp / "change", {});
  ASSERT_TRUE(imported) << imported.error().ToString();
  ASSERT_EQ(imported->rows_rejected, 0);
  auto rebuilt = analytics::BuildSnapshot(**store);
  ASSERT_TRUE(rebuilt);
  for (const QuerySpec& q : std::vector<QuerySpec>{
           {{"households", "persons", "mean_income", "flags"}, {"village", "primary_cause"}, {}},
           {{"persons", "poor_persons"}, {"county", "sex"}, {{"prefecture", {"520300000000"}}}},
           {{"flagged_households"}, {"flag"}, {{"village", {std::string(test::kZunyiVillage)}}}},
           {{"persons"}, {"linked"}, {{"county", {"520302"}}}}})
    EXPECT_EQ(Rows(*snap, q), Rows(*rebuilt, q)) << q.by[0];
  auto moved =
      analytics::ListHouseholds(*snap, {{"village", {std::string(test::kZunyiVillage)}}}, 0, 100);
  ASSERT_TRUE(moved);
  bool found = false;
  for (const auto& r : moved->rows) found |= r.household_id == b[col("household_id")];
  EXPECT_TRUE(found);

  // A removed household is gone from every count.
  const auto before = Rows(*snap, {{"households"}, {}, {}});
  EXPECT_TRUE(snap->RemoveHousehold(a[col("household_id")]));
  EXPECT_FALSE(snap->RemoveHousehold(a[col("household_id")]));
  EXPECT_EQ(std::stoll(Rows(*snap, {{"households"}, {}, {}})[0][0]), std::stoll(before[0][0]) - 1);
  // An unknown village changes nothing.
  analytics::HouseholdRecord bad = snap->Record(snap->Find(b[col("household_id")]));
  bad.village_code = "529999999999";
  EXPECT_FALSE(snap->UpsertHousehold(bad).ok());
}

// The cube (Snapshot::Cube) answers what it can exactly as the scan does: every region level
// as group and as filter, each household dimension, status as group and filter, income sums;
// and it stays exact through upserts in place, appended ones, a new code and a removal.
TEST_F(QueryTest, CubeAnswersEqualTheScan) {
  analytics::Snapshot snap = *snap_;
  const std::vector<QuerySpec> specs = {
      {{"households", "persons"}, {"prefecture"}, {}},
      {{"poor_persons", "poor_households", "incidence"}, {"county"}, {}},
      {{"persons", "households", "exited_persons", "returned_persons"}, {"status"}, {}},
      {{"households"}, {"primary_cause"}, {}},
      {{"poor_households"}, {"county", "primary_cause"}, {}},
      {{"persons"}, {"prefecture", "status"}, {}},
      {{"exited_persons"}, {"exit_year"}, {}},
      {{"households"}, {"registered_year", "status"}, {}},
      {{"persons", "poor_persons"}, {"village"}, {{"township", {"520102016"}}}},
      {{"households"}, {"housing_safe"}, {{"prefecture", {"5205"}}, {"status", {"1", "3"}}}},
      {{"households", "persons"},
       {"prefecture"},
       {{"village", {std::string(test::kZunyiVillage)}}}},
      {{"households"}, {"category"}, {{"category", {"1", ""}}, {"county", {"520302", "520102"}}}},
      {{"mean_income", "income_wage", "income_transfer", "households"}, {"county"}, {}},
      {{"mean_income", "income_business", "income_property"},
       {"status"},
       {{"prefecture", {"5203"}}}},
      {{"persons", "households"}, {}, {}},
      {{"households"}, {"water_safe", "status"}, {{"status", {"2"}}}},
      {{"median_income", "mean_income"}, {"prefecture"}, {}},
      {{"median_income"}, {"county"}, {{"status", {"2", "4"}}}},
      {{"median_income", "households"}, {"status"}, {{"prefecture", {"5203"}}}},
      {{"median_income"}, {}, {{"county", {"520302"}}}},
      {{"households", "persons"}, {"housing_safe", "water_safe"}, {{"prefecture", {"5205"}}}},
      {{"households"},
       {"electricity", "status"},
       {{"water_safe", {"0"}}, {"housing_safe", {"1", ""}}}},
      {{"flagged_households", "flags", "households", "persons"}, {"flag"}, {}},
      {{"flags", "flagged_households", "poor_persons"},
       {"county", "flag"},
       {{"status", {"1", "3"}}}},
      {{"flags", "flagged_households"}, {"prefecture"}, {{"flag", {"GAP_UNINSURED"}}}},
      {{"households", "persons"}, {"status"}, {{"flag", {""}}, {"prefecture", {"5203"}}}},
      {{"persons"}, {"age_band", "sex"}, {{"status", {"1", "3"}}}},
      {{"persons", "incidence"}, {"health", "labor"}, {}},
      {{"persons", "exited_persons"}, {"in_school"}, {{"age_band", {"7-15"}}}},
      {{"poor_persons"}, {"medical_insured", "status"}, {{"province", {"52"}}}},
      {{"persons"}, {"linked"}, {{"status", {"1", "3"}}}},
      {{"persons", "incidence"}, {"county", "linked"}, {}},
      {{"persons", "exited_persons"}, {"prefecture"}, {{"linked", {"health_enrollment"}}}},
      {{"persons"}, {"status"}, {{"linked", {""}}, {"county", {"520302"}}}},
  };
  auto same = [&](const analytics::Snapshot& s, const char* when) {
    for (QuerySpec q : specs) {
      auto cube = analytics::RunQuery(s, q);
      q.use_cube = false;
      auto scan = analytics::RunQuery(s, q);
      ASSERT_TRUE(cube && scan);
      // Medians come from the cube while the income ranks are valid (until an upsert).
      const bool median = q.measures[0] == "median_income";
      EXPECT_EQ(cube->from_cube, !median || s.ranks_valid) << q.measures[0] << " " << when;
      EXPECT_FALSE(scan->from_cube);
      ASSERT_EQ(cube->rows.size(), scan->rows.size()) << when << " " << q.measures[0];
      for (size_t i = 0; i < scan->rows.size(); ++i)
        for (size_t c = 0; c < scan->rows[i].size(); ++c) {
          if (c >= q.by.size() && std::string_view(q.measures[c - q.by.size()]).find("income") !=
                                      std::string_view::npos) {
            // Sums in another order: the last printed digit may differ.
            EXPECT_NEAR(cube->values[i][c - q.by.size()], scan->values[i][c - q.by.size()],
                        1e-6 * std::max(1.0, std::abs(scan->values[i][c - q.by.size()])))
                << when;
          } else {
            EXPECT_EQ(cube->rows[i][c], scan->rows[i][c]) << when << " " << q.measures[0];
          }
        }
    }
  };
  ASSERT_TRUE(snap.cube.valid);
  same(snap, "as built");
  ASSERT_TRUE(snap.RemoveHousehold(snap.HouseholdId(3)));
  ASSERT_TRUE(snap.ranks_valid);
  same(snap, "after a removal");
  // In place (same village and members), moved (appended), with a cause never seen, removed.
  uint32_t h1 = 0, h2 = 1;
  analytics::HouseholdRecord r1 = snap.Record(h1);
  r1.dims[analytics::kStatus] = r1.dims[analytics::kStatus] == "1" ? "2" : "1";
  r1.money[analytics::kWage] = 12345.5;
  ASSERT_TRUE(snap.UpsertHousehold(r1).ok());
  analytics::HouseholdRecord r2 = snap.Record(h2);
  r2.village_code = std::string(test::kZunyiVillage);
  r2.members.pop_back();
  ASSERT_TRUE(snap.UpsertHousehold(r2).ok());
  same(snap, "after two upserts");
  analytics::HouseholdRecord r3 = snap.Record(5);
  r3.dims[analytics::kPrimaryCause] = "77";  // a code the dictionary has not seen
  ASSERT_TRUE(snap.UpsertHousehold(r3).ok());
  same(snap, "after a new code");
  ASSERT_TRUE(snap.RemoveHousehold(snap.HouseholdId(7)));
  same(snap, "after upserts and a removal");
  // Questions the cube cannot answer are scanned.
  EXPECT_FALSE(analytics::RunQuery(*snap_, {{"median_income"}, {}, {{"township", {"520302001"}}}})
                   ->from_cube);  // medians only down to counties
  QuerySpec two{{"households"}, {"housing_safe", "primary_cause"}, {}};
  EXPECT_FALSE(analytics::RunQuery(snap, two)->from_cube);
  EXPECT_EQ(Rows(snap, two), [&] {
    two.use_cube = false;
    return Rows(snap, two);
  }());
}

TEST_F(QueryTest, HouseholdPortraitHasEverythingMasked) {
  auto store = store::OpenSqliteStore(Db());
  ASSERT_TRUE(store);
  // A household with flags and linked records.
  const auto pick = test::Query(Db(),
                                "SELECT household_id FROM flags WHERE rule = "
                                "'DQ_MEMBER_COUNT' ORDER BY household_id LIMIT 1");
  ASSERT_EQ(pick.size(), 1u);
  const std::string id = pick[0][0];
  auto p = analytics::ReadHouseholdPortrait(**store, id);
  ASSERT_TRUE(p) << p.error().ToString();
  const auto members = test::Query(
      Db(), "SELECT id_number, name FROM members WHERE household_id = '" + id + "' ORDER BY 1");
  ASSERT_EQ(p->members.size(), members.size());
  bool saw_flag = false;
  for (const auto& f : p->flags) saw_flag |= f.flag.rule == "DQ_MEMBER_COUNT";
  EXPECT_TRUE(saw_flag);
  // No full ID number or name anywhere in the portrait.
  std::string all;
  for (const auto& f : p->household) all += f.value + "|";
  for (const auto& m : p->members)
    for (const auto& f : m) all += f.value + "|";
  for (const auto& r : p->records) {
    all += r.member_id + "|";
    for (const auto& f : r.fields) all += f.value + "|";
  }
  for (const auto& m : members) {
    EXPECT_EQ(all.find(m[0]), std::string::npos) << m[0];
    EXPECT_EQ(all.find("|" + m[1] + "|"), std::string::npos) << m[1];
  }
  EXPECT_NE(all.find("********"), std::string::npos);
  // The linked records are those of the snapshot's link bits for this household.
  const uint32_t h = snap_->Find(id);
  ASSERT_NE(h, UINT32_MAX);
  std::set<std::string> want, got;
  for (uint32_t m = snap_->member_begin[h]; m < snap_->member_begin[h + 1]; ++m)
    for (size_t d = 0; d < snap_->datasets.size(); ++d)
      if (snap_->m_linked[m] >> d & 1) want.insert(snap_->datasets[d]);
  for (const auto& r : p->records) got.insert(r.dataset);
  EXPECT_EQ(got, want);
  EXPECT_FALSE(analytics::ReadHouseholdPortrait(**store, "no-such-household"));
}

TEST_F(QueryTest, VillagePortraitAddsUpToTheVillage) {
  const auto villages = Rows(*snap_, {{"households", "persons"}, {"village"}, {}});
  ASSERT_FALSE(villages.empty());
  const auto& v = villages[villages.size() / 2];
  auto p = analytics::BuildVillagePortrait(*snap_, v[0]);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_FALSE(p->name.empty());
  EXPECT_EQ(p->households.total, std::stoll(v[1]));
  for (const auto& [title, r] : p->sections) {
    if (title != "status") continue;
    int64_t households = 0, persons = 0;
    for (const auto& row : r.rows) {
      households += std::stoll(row[1]);
      persons += std::stoll(row[2]);
    }
    EXPECT_EQ(households, std::stoll(v[1]));
    EXPECT_EQ(persons, std::stoll(v[2]));
  }
  EXPECT_FALSE(analytics::BuildVillagePortrait(*snap_, "529999999999"));
}

}  // namespace
}  // namespace fupin
