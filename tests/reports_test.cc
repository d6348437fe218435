// The standard report templates against real parts: a small generated province imported,
// linked and checked by the default rules, then each template's figures compared with SQL over
// the same SQLite file (and, for persons reached by a policy, with fupin's own query model);
// county, village and English reports; the errors; and every template written as XLSX and PDF
// and read back (libzip, poppler's pdftotext).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "analytics/query.h"
#include "analytics/snapshot.h"
#include "exchange/import.h"
#include "gen/generator.h"
#include "link/linker.h"
#include "reports/file_reading_test_util.h"
#include "reports/pdf_writer.h"
#include "reports/templates.h"
#include "reports/xlsx_writer.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "service/report.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin::reports {
namespace {

namespace fs = std::filesystem;

constexpr int kDigits[] = {2, 4, 6, 9, 12};  // significant digits of a code per level

// The SQL expression of a household's region at the level with `digits` significant digits.
std::string RegionExpr(const std::string& column, int digits) {
  if (digits == 12) return column;
  return fmt::format("substr({}, 1, {}) || '{}'", column, digits, std::string(12 - digits, '0'));
}

double Num(const Cell& cell) {
  const double* v = std::get_if<double>(&cell);
  return v ? *v : std::nan("");
}

std::string Text(const Cell& cell) {
  const std::string* s = std::get_if<std::string>(&cell);
  return s ? *s : std::string();
}

const Table* TableOf(const Document& doc, size_t section) {
  if (section >= doc.sections.size()) return nullptr;
  return std::get_if<Table>(&doc.sections[section].content);
}

const Chart* ChartOf(const Document& doc, size_t section) {
  if (section >= doc.sections.size()) return nullptr;
  return std::get_if<Chart>(&doc.sections[section].content);
}

// 37110 as "37,110", as the writers print integers.
std::string Thousands(double value) {
  const std::string digits = fmt::format("{}", static_cast<int64_t>(std::llround(value)));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A rule's Chinese name as the default rules file gives it.
std::string RuleNameZh(const std::string& id) {
  static const std::map<std::string, std::string> names = [] {
    std::map<std::string, std::string> out;
    auto set = rules::DefaultRuleSet();
    if (set)
      for (const rules::Rule& r : set->rules) out[r.id] = r.name_zh;
    return out;
  }();
  auto it = names.find(id);
  return it == names.end() ? "(no rule " + id + ")" : it->second;
}

class ReportsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    gen::GenOptions options;
    options.scale = 0.005;
    options.seed = 5;
    options.out = *dir_ / "batch";
    ASSERT_TRUE(gen::Generate(options));
    auto store = store::OpenSqliteStore(Db());
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    auto s = exchange::ImportPath(*store_, options.out, {});
    ASSERT_TRUE(s) << s.error().ToString();
    link::LinkOptions lo;
    lo.actor.user = "test";
    ASSERT_TRUE(link::RunLinker(*store_, lo));
    auto rules = rules::DefaultRuleSet();
    ASSERT_TRUE(rules);
    rules::RunOptions ro;
    ro.actor.user = "test";
    auto run = rules::RunRules(*store_, *rules, ro);
    ASSERT_TRUE(run) << run.error().ToString();
    auto snap = analytics::BuildSnapshot(*store_);
    ASSERT_TRUE(snap) << snap.error().ToString();
    snap_ = std::make_unique<analytics::Snapshot>(std::move(*snap));
  }
  static void TearDownTestSuite() {
    snap_.reset();
    store_.reset();
    dir_.reset();
  }
  void SetUp() override { ASSERT_TRUE(snap_ && store_) << "the suite's setup failed"; }

  static fs::path Db() { return *dir_ / "r.db"; }
  static std::string Year() { return std::to_string(snap_->data_year); }

  static Result<Document> Build(const std::string& name, const std::string& region = "",
                                bool english = false, int year = 0) {
    ReportRequest request;
    request.template_name = name;
    request.region = region;
    request.year = year;
    request.english = english;
    request.date = "2021-01-05";
    return BuildReport(*snap_, *store_, request);
  }

  // SQL rows keyed by every column but the last (joined with '|'), to the last as a number.
  static std::map<std::string, double> SqlCounts(const std::string& sql) {
    std::map<std::string, double> out;
    for (const auto& row : test::Query(Db(), sql)) {
      std::string key;
      for (size_t c = 0; c + 1 < row.size(); ++c) key += (c ? "|" : "") + row[c];
      out[key] = std::stod(row.back());
    }
    return out;
  }
  static std::vector<std::string> SqlColumn(const std::string& sql) {
    std::vector<std::string> out;
    for (const auto& row : test::Query(Db(), sql)) out.push_back(row.at(0));
    return out;
  }
  static double Get(const std::map<std::string, double>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
  }
  // Region code -> name at a level (1 province .. 5 village as in the regions table).
  static std::map<std::string, std::string> RegionNames(int level) {
    std::map<std::string, std::string> out;
    for (const auto& row :
         test::Query(Db(), fmt::format("SELECT code, name FROM regions WHERE level = {}", level)))
      out[row[0]] = row[1];
    return out;
  }
  // The codes of the sub-regions of `prefix` at the level with `digits` digits that hold
  // villages, sorted.
  static std::vector<std::string> Children(const std::string& prefix, int digits) {
    return SqlColumn(fmt::format(
        "SELECT DISTINCT {} FROM regions WHERE level = 5 AND code LIKE '{}%' ORDER BY 1",
        RegionExpr("code", digits), prefix));
  }
  // Every real ID number of the store (members and flags).
  static std::set<std::string> RealIdNumbers() {
    const auto ids = SqlColumn(
        "SELECT id_number FROM members WHERE id_number <> '' UNION SELECT id_number FROM flags "
        "WHERE id_number <> ''");
    return {ids.begin(), ids.end()};
  }

  // The registry table of `doc` (the region `prefix`, rows at the level of `child` = 1..4 in
  // kDigits) against SQL: households and persons per sub-region and status, the totals row
  // and the chart. Returns the total persons (NaN when the table is missing).
  static double ExpectRegistryMatchesSql(const Document& doc, const std::string& prefix,
                                         int child) {
    const int digits = kDigits[child];
    const std::string where =
        fmt::format(" h.income_year = {} AND h.village_code LIKE '{}%' ", Year(), prefix);
    const std::string region = RegionExpr("h.village_code", digits);
    const auto households = SqlCounts(fmt::format(
        "SELECT {}, h.status, count(*) FROM households h WHERE{}GROUP BY 1, 2", region, where));
    const auto persons = SqlCounts(fmt::format(
        "SELECT {}, h.status, count(*) FROM members m JOIN households h USING (household_id) "
        "WHERE{}GROUP BY 1, 2",
        region, where));
    const std::vector<std::string> statuses =
        SqlColumn("SELECT DISTINCT status FROM households WHERE status IS NOT NULL ORDER BY 1");
    const std::vector<std::string> children = Children(prefix, digits);
    const auto names = RegionNames(child + 1);
    const size_t s = statuses.size();
    EXPECT_GE(s, 4u);

    const Table* t = TableOf(doc, 0);
    EXPECT_TRUE(t);
    if (!t) return std::nan("");
    EXPECT_EQ(t->columns.size(), 2 + 2 * (s + 1));
    if (t->columns.size() != 2 + 2 * (s + 1)) return std::nan("");
    // The column of status 1 is 未脱贫 as every report counts it: statuses 1 and 3 (返贫),
    // which has its own column as "of which".
    const std::map<std::string, std::string> labels = {{"1", "未脱贫"},
                                                       {"2", "已脱贫（享受政策）"},
                                                       {"3", "其中返贫"},
                                                       {"4", "已脱贫（不再享受政策）"},
                                                       {"9", "注销"}};
    if (!doc.english)
      for (size_t i = 0; i < s; ++i) {
        EXPECT_EQ(t->columns[3 + i].header, labels.at(statuses[i]));
        EXPECT_EQ(t->columns[4 + s + i].header, labels.at(statuses[i]));
      }
    const auto column = [](const std::map<std::string, double>& counts, const std::string& key,
                           const std::string& status) {
      return Get(counts, key + "|" + status) + (status == "1" ? Get(counts, key + "|3") : 0);
    };
    EXPECT_EQ(t->rows.size(), children.size());
    if (t->rows.size() != children.size()) return std::nan("");
    double all_households = 0, all_persons = 0;
    for (size_t r = 0; r < children.size(); ++r) {
      const std::vector<Cell>& row = t->rows[r];
      const std::string& code = children[r];
      EXPECT_EQ(Text(row[0]), code);
      EXPECT_EQ(Text(row[1]), names.at(code)) << code;
      double h_total = 0, p_total = 0;
      for (size_t i = 0; i < s; ++i) {
        const double h = Get(households, code + "|" + statuses[i]);
        const double p = Get(persons, code + "|" + statuses[i]);
        EXPECT_EQ(Num(row[3 + i]), column(households, code, statuses[i]))
            << code << " status " << statuses[i];
        EXPECT_EQ(Num(row[4 + s + i]), column(persons, code, statuses[i]))
            << code << " status " << statuses[i];
        h_total += h;
        p_total += p;
      }
      EXPECT_EQ(Num(row[2]), h_total) << code;
      EXPECT_EQ(Num(row[3 + s]), p_total) << code;
      all_households += h_total;
      all_persons += p_total;
    }
    // Every household of the region falls in some row.
    double sql_households = 0, sql_persons = 0;
    for (const auto& [k, v] : households) sql_households += v;
    for (const auto& [k, v] : persons) sql_persons += v;
    EXPECT_GT(sql_households, 0);
    EXPECT_EQ(all_households, sql_households);
    EXPECT_EQ(all_persons, sql_persons);
    EXPECT_EQ(all_households,
              test::QueryInt(Db(), "SELECT count(*) FROM households h WHERE" + where));

    EXPECT_EQ(t->totals.size(), t->columns.size());
    if (t->totals.size() == t->columns.size()) {
      EXPECT_EQ(Text(t->totals[0]), doc.english ? "Total" : "合计");
      EXPECT_EQ(Num(t->totals[2]), sql_households);
      EXPECT_EQ(Num(t->totals[3 + s]), sql_persons);
      for (size_t i = 0; i < s; ++i) {
        double h = 0, p = 0;
        for (const std::string& code : children) {
          h += column(households, code, statuses[i]);
          p += column(persons, code, statuses[i]);
        }
        EXPECT_EQ(Num(t->totals[3 + i]), h) << statuses[i];
        EXPECT_EQ(Num(t->totals[4 + s + i]), p) << statuses[i];
      }
    }

    const Chart* chart = ChartOf(doc, 1);
    EXPECT_TRUE(chart);
    if (chart) {
      EXPECT_EQ(chart->categories.size(), children.size());
      for (size_t r = 0; r < children.size() && r < chart->categories.size(); ++r)
        EXPECT_EQ(chart->categories[r], names.at(children[r]));
      // The bars: 未脱贫 and each status that is not poor, adding up to the persons.
      std::vector<std::string> bars;
      for (const std::string& st : statuses)
        if (st != "3") bars.push_back(st);
      EXPECT_EQ(chart->series.size(), bars.size());
      for (size_t i = 0; i < chart->series.size() && i < bars.size(); ++i) {
        EXPECT_EQ(chart->series[i].values.size(), children.size());
        for (size_t r = 0; r < children.size() && r < chart->series[i].values.size(); ++r)
          EXPECT_EQ(chart->series[i].values[r], column(persons, children[r], bars[i]));
      }
    }
    return sql_persons;
  }

  static std::unique_ptr<test::TempDir> dir_;
  static std::unique_ptr<store::Store> store_;
  static std::unique_ptr<analytics::Snapshot> snap_;
};
std::unique_ptr<test::TempDir> ReportsTest::dir_;
std::unique_ptr<store::Store> ReportsTest::store_;
std::unique_ptr<analytics::Snapshot> ReportsTest::snap_;

// ---- 1. each template's figures against SQL -----------------------------------------------

TEST_F(ReportsTest, RegistryPerPrefectureEqualsSql) {
  auto doc = Build("registry");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->title, "建档立卡贫困人口统计表");
  EXPECT_EQ(doc->sheet_name, "建档立卡贫困人口统计表");
  EXPECT_EQ(doc->region_code, "520000000000");
  EXPECT_EQ(doc->region_name, "贵州省");
  EXPECT_EQ(doc->year, snap_->data_year);
  EXPECT_EQ(doc->date, "2021-01-05");
  EXPECT_FALSE(doc->english);
  ASSERT_EQ(doc->sections.size(), 2u);
  const double persons = ExpectRegistryMatchesSql(*doc, "52", 1);
  // Every household of the generated province has the data year's income.
  EXPECT_EQ(persons, test::QueryInt(Db(), "SELECT count(*) FROM members"));
}

TEST_F(ReportsTest, CausesPerPrimaryCauseEqualSqlAndSharesSumToOne) {
  auto doc = Build("causes");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->title, "致贫原因分析表");
  ASSERT_EQ(doc->sections.size(), 3u);
  const std::string where = " h.income_year = " + Year() + " ";
  const auto households =
      SqlCounts("SELECT primary_cause, count(*) FROM households h WHERE" + where + "GROUP BY 1");
  const auto poor = SqlCounts(
      "SELECT primary_cause, sum(status IN (1, 3)) FROM households h WHERE" + where + "GROUP BY 1");
  const auto persons = SqlCounts(
      "SELECT h.primary_cause, count(*) FROM members m JOIN households h USING (household_id) "
      "WHERE" +
      where + "GROUP BY 1");
  const std::vector<std::string> causes = SqlColumn(
      "SELECT DISTINCT primary_cause FROM households WHERE primary_cause IS NOT NULL ORDER BY 1");
  const double all =
      static_cast<double>(test::QueryInt(Db(), "SELECT count(*) FROM households h WHERE" + where));
  ASSERT_GT(causes.size(), 5u);
  ASSERT_GT(all, 0);

  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->columns.size(), 5u);
  ASSERT_EQ(t->rows.size(), causes.size());
  const std::map<std::string, std::string> labels = {
      {"1", "因病"}, {"2", "因残"}, {"3", "因学"}, {"99", "其他"}};
  double shares = 0, sum_persons = 0, sum_poor = 0;
  for (size_t r = 0; r < causes.size(); ++r) {
    const std::vector<Cell>& row = t->rows[r];
    const std::string& cause = causes[r];
    if (labels.contains(cause)) {
      EXPECT_EQ(Text(row[0]), labels.at(cause));
    }
    EXPECT_EQ(Num(row[1]), Get(households, cause)) << cause;
    EXPECT_DOUBLE_EQ(Num(row[2]), Get(households, cause) / all) << cause;
    EXPECT_EQ(Num(row[3]), Get(persons, cause)) << cause;
    EXPECT_EQ(Num(row[4]), Get(poor, cause)) << cause;
    shares += Num(row[2]);
    sum_persons += Get(persons, cause);
    sum_poor += Get(poor, cause);
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  ASSERT_EQ(t->totals.size(), 5u);
  EXPECT_EQ(Text(t->totals[0]), "合计");
  EXPECT_EQ(Num(t->totals[1]), all);
  EXPECT_EQ(Num(t->totals[2]), 1.0);
  EXPECT_EQ(Num(t->totals[3]), sum_persons);
  EXPECT_EQ(Num(t->totals[4]), sum_poor);

  const Chart* chart = ChartOf(*doc, 1);
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->categories.size(), causes.size());
  ASSERT_EQ(chart->series.size(), 1u);
  ASSERT_EQ(chart->series[0].values.size(), causes.size());
  for (size_t r = 0; r < causes.size(); ++r) {
    EXPECT_EQ(chart->categories[r], Text(t->rows[r][0]));
    EXPECT_EQ(chart->series[0].values[r], Get(households, causes[r]));
  }

  // Households per prefecture and cause.
  const auto cells =
      SqlCounts("SELECT " + RegionExpr("h.village_code", 4) +
                ", primary_cause, count(*) FROM households h WHERE" + where + "GROUP BY 1, 2");
  const std::vector<std::string> prefectures = Children("52", 4);
  const Table* x = TableOf(*doc, 2);
  ASSERT_TRUE(x);
  ASSERT_EQ(x->columns.size(), 3 + causes.size());
  ASSERT_EQ(x->rows.size(), prefectures.size());
  double sum = 0;
  for (size_t r = 0; r < prefectures.size(); ++r) {
    const std::vector<Cell>& row = x->rows[r];
    EXPECT_EQ(Text(row[0]), prefectures[r]);
    double total = 0;
    for (size_t i = 0; i < causes.size(); ++i) {
      const double n = Get(cells, prefectures[r] + "|" + causes[i]);
      EXPECT_EQ(Num(row[3 + i]), n) << prefectures[r] << " cause " << causes[i];
      total += n;
    }
    EXPECT_EQ(Num(row[2]), total) << prefectures[r];
    sum += total;
  }
  EXPECT_EQ(sum, all);
  ASSERT_EQ(x->totals.size(), x->columns.size());
  EXPECT_EQ(Num(x->totals[2]), all);
}

TEST_F(ReportsTest, ProgressExitedPersonsPerYearAndCumulativeEqualSql) {
  auto doc = Build("progress");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->title, "脱贫进度表");
  const std::string join = " FROM members m JOIN households h USING (household_id) ";
  const auto registered_h = SqlCounts(
      "SELECT registered_year, count(*) FROM households WHERE registered_year IS NOT NULL "
      "AND status IN (1, 2, 3, 4) GROUP BY 1");
  const auto registered_p = SqlCounts("SELECT h.registered_year, count(*)" + join +
                                      "WHERE h.registered_year IS NOT NULL AND h.status IN (1, 2, "
                                      "3, 4) GROUP BY 1");
  const auto exited_h = SqlCounts(
      "SELECT exit_year, count(*) FROM households WHERE exit_year IS NOT NULL AND status IN (2, "
      "4) GROUP BY 1");
  const auto exited_p =
      SqlCounts("SELECT h.exit_year, count(*)" + join +
                "WHERE h.exit_year IS NOT NULL AND h.status IN (2, 4) GROUP BY 1");
  const int64_t first = test::QueryInt(Db(), "SELECT min(registered_year) FROM households");
  const int64_t last = snap_->data_year;
  ASSERT_GT(first, 2000);
  ASSERT_GE(last, first);

  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->columns.size(), 8u);
  ASSERT_EQ(t->rows.size(), static_cast<size_t>(last - first + 1));
  double registered_cum = 0, exited_cum = 0;
  for (int64_t y = first; y <= last; ++y) {
    const std::vector<Cell>& row = t->rows[static_cast<size_t>(y - first)];
    const std::string key = std::to_string(y);
    registered_cum += Get(registered_p, key);
    exited_cum += Get(exited_p, key);
    EXPECT_EQ(Text(row[0]), key);
    EXPECT_EQ(Num(row[1]), Get(registered_h, key)) << key;
    EXPECT_EQ(Num(row[2]), Get(registered_p, key)) << key;
    EXPECT_EQ(Num(row[3]), Get(exited_h, key)) << key;
    EXPECT_EQ(Num(row[4]), Get(exited_p, key)) << key;
    EXPECT_EQ(Num(row[5]), exited_cum) << key;
    EXPECT_EQ(Num(row[6]), registered_cum - exited_cum) << key;
    EXPECT_DOUBLE_EQ(Num(row[7]), registered_cum > 0 ? exited_cum / registered_cum : 0) << key;
  }
  EXPECT_GT(exited_cum, 0);
  EXPECT_EQ(exited_cum, test::QueryInt(Db(), "SELECT count(*)" + join +
                                                 "WHERE h.exit_year <= " + std::to_string(last)));

  const Chart* chart = ChartOf(*doc, 1);
  ASSERT_TRUE(chart);
  ASSERT_EQ(chart->series.size(), 2u);
  ASSERT_EQ(chart->categories.size(), t->rows.size());
  ASSERT_EQ(chart->series[0].values.size(), t->rows.size());
  ASSERT_EQ(chart->series[1].values.size(), t->rows.size());
  for (size_t r = 0; r < t->rows.size(); ++r) {
    EXPECT_EQ(chart->categories[r], Text(t->rows[r][0]));
    EXPECT_EQ(chart->series[0].values[r], Num(t->rows[r][4]));
    EXPECT_EQ(chart->series[1].values[r], Num(t->rows[r][6]));
  }

  // An earlier year stops there.
  auto earlier = Build("progress", "", false, static_cast<int>(last) - 1);
  ASSERT_TRUE(earlier) << earlier.error().ToString();
  const Table* e = TableOf(*earlier, 0);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->rows.size(), t->rows.size() - 1);
  EXPECT_EQ(e->rows, std::vector<std::vector<Cell>>(t->rows.begin(), t->rows.end() - 1));
}

// 年末剩余贫困人口 in the data year is the registry's poor population of that year (未脱贫 and
// 返贫), as the registry report counts it: households removed from the registry (注销) are
// neither exited nor still poor.
TEST_F(ReportsTest, ProgressRemainingInTheDataYearIsThePoorPopulation) {
  auto doc = Build("progress");
  ASSERT_TRUE(doc) << doc.error().ToString();
  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  ASSERT_FALSE(t->rows.empty());
  const std::string join = " FROM members m JOIN households h USING (household_id) ";
  const int64_t poor = test::QueryInt(Db(), "SELECT count(*)" + join + "WHERE h.status IN (1, 3)");
  const int64_t removed = test::QueryInt(Db(), "SELECT count(*)" + join + "WHERE h.status = 9");
  EXPECT_EQ(Num(t->rows.back()[6]), static_cast<double>(poor))
      << "persons of removed (注销, status 9) households in the registry: " << removed;
}

TEST_F(ReportsTest, PolicyPersonsReachedEqualTheQueryModelAndRatesAreCountOverPersons) {
  auto doc = Build("policy");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->title, "政策落实情况表");
  const std::string pref = RegionExpr("h.village_code", 4);
  const std::string where = " h.income_year = " + Year() + " ";
  const auto persons = SqlCounts(
      "SELECT " + pref + ", count(*) FROM members m JOIN households h USING (household_id) WHERE" +
      where + "GROUP BY 1");
  const auto poor = SqlCounts(
      "SELECT " + pref +
      ", sum(h.status IN (1, 3)) FROM members m JOIN households h USING (household_id) WHERE" +
      where + "GROUP BY 1");
  // Linked persons are not expressible in plain SQL: fupin's own query model answers.
  auto linked =
      analytics::RunQuery(*snap_, {{"persons"}, {"prefecture", "linked"}, {{"year", {Year()}}}});
  ASSERT_TRUE(linked) << linked.error().ToString();
  std::map<std::string, double> reached;
  for (const auto& row : linked->rows) reached[row[0] + "|" + row[1]] = std::stod(row[2]);
  const std::vector<std::string> prefectures = Children("52", 4);

  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->rows.size(), prefectures.size());
  ASSERT_EQ(t->totals.size(), t->columns.size());
  ASSERT_EQ(t->groups.size(), 1u);
  // The policy groups by their captions, each over a persons and a rate column.
  const std::map<std::string, std::string> datasets = {
      {"医保参保", "health_enrollment"}, {"医疗报销救助", "health_claims"},
      {"低保", "civil_dibao"},           {"残疾人证", "disability"},
      {"教育资助", "edu_students"},      {"就业", "hr_employment"},
      {"易地搬迁", "relocation"}};
  std::vector<std::pair<int, std::string>> policies;  // first column, data set
  for (const HeaderGroup& g : t->groups[0])
    if (datasets.contains(g.text)) {
      EXPECT_EQ(g.span, 2) << g.text;
      policies.emplace_back(g.first, datasets.at(g.text));
    }
  ASSERT_EQ(policies.size(), datasets.size());
  ASSERT_EQ(policies.front().second, "health_enrollment");

  double all = 0, all_poor = 0;
  std::map<std::string, double> all_reached;
  for (size_t r = 0; r < prefectures.size(); ++r) {
    const std::vector<Cell>& row = t->rows[r];
    const std::string& code = prefectures[r];
    const double n = Get(persons, code);
    EXPECT_EQ(Text(row[0]), code);
    EXPECT_EQ(Num(row[2]), n) << code;
    EXPECT_EQ(Num(row[3]), Get(poor, code)) << code;
    for (const auto& [col, dataset] : policies) {
      const double k = Get(reached, code + "|" + dataset);
      EXPECT_EQ(Num(row[static_cast<size_t>(col)]), k) << code << " " << dataset;
      EXPECT_DOUBLE_EQ(Num(row[static_cast<size_t>(col) + 1]), n > 0 ? k / n : 0)
          << code << " " << dataset;
      all_reached[dataset] += k;
    }
    all += n;
    all_poor += Get(poor, code);
  }
  EXPECT_GT(all_reached["health_enrollment"], 0);
  EXPECT_EQ(Num(t->totals[2]), all);
  EXPECT_EQ(Num(t->totals[3]), all_poor);
  for (const auto& [col, dataset] : policies) {
    EXPECT_EQ(Num(t->totals[static_cast<size_t>(col)]), all_reached[dataset]) << dataset;
    EXPECT_DOUBLE_EQ(Num(t->totals[static_cast<size_t>(col) + 1]), all_reached[dataset] / all)
        << dataset;
  }

  // Policy gaps by prefecture and rule, against the flags table (open and verified).
  const std::string gaps =
      " FROM flags WHERE state IN ('open', 'verified') AND "
      "substr(rule, 1, 4) = 'GAP_' ";
  const std::vector<std::string> rules = SqlColumn("SELECT DISTINCT rule" + gaps + "ORDER BY 1");
  ASSERT_FALSE(rules.empty());
  const auto flags = SqlCounts("SELECT " + RegionExpr("village_code", 4) + ", rule, count(*)" +
                               gaps + "GROUP BY 1, 2");
  const Table* x = TableOf(*doc, 2);
  ASSERT_TRUE(x);
  ASSERT_EQ(x->columns.size(), 2 + rules.size());
  // Headed by the rules' Chinese names, not their ids.
  for (size_t i = 0; i < rules.size(); ++i)
    EXPECT_EQ(x->columns[2 + i].header, RuleNameZh(rules[i]));
  ASSERT_EQ(x->rows.size(), prefectures.size());
  for (size_t r = 0; r < prefectures.size(); ++r)
    for (size_t i = 0; i < rules.size(); ++i)
      EXPECT_EQ(Num(x->rows[r][2 + i]), Get(flags, prefectures[r] + "|" + rules[i]))
          << prefectures[r] << " " << rules[i];
}

TEST_F(ReportsTest, FlagListHoldsEveryOpenFlagWithIdNumbersMasked) {
  auto doc = Build("flags");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->title, "疑点核查清单");
  const int64_t open = test::QueryInt(Db(), "SELECT count(*) FROM flags WHERE state = 'open'");
  ASSERT_GT(open, 100);
  const auto by_rule =
      SqlCounts("SELECT rule, count(*) FROM flags WHERE state = 'open' GROUP BY 1");

  // The summary names each rule in Chinese beside its id.
  const Table* summary = TableOf(*doc, 0);
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->rows.size(), by_rule.size());
  for (const auto& row : summary->rows) {
    EXPECT_EQ(Text(row[0]), RuleNameZh(Text(row[1])));
    EXPECT_EQ(Num(row[2]), Get(by_rule, Text(row[1]))) << Text(row[1]);
  }
  ASSERT_EQ(summary->totals.size(), 3u);
  EXPECT_EQ(Num(summary->totals[2]), static_cast<double>(open));
  std::map<std::string, double> by_name;
  for (const auto& [rule, n] : by_rule) by_name[RuleNameZh(rule)] += n;

  const Table* list = TableOf(*doc, 1);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->columns.size(), 8u);
  ASSERT_EQ(list->rows.size(), static_cast<size_t>(open));
  const std::set<std::string> real = RealIdNumbers();
  ASSERT_GT(real.size(), 1000u);
  const std::regex masked(R"(^\d{6}\*+\w{4}$)");
  std::map<std::string, double> listed;
  int64_t with_id = 0;
  // The first column is the flag's stable id (疑点编号), each open flag once.
  std::set<std::string> open_ids;
  for (const auto& row : test::Query(Db(), "SELECT flag_id FROM flags WHERE state = 'open'"))
    open_ids.insert(row[0]);
  std::set<std::string> listed_ids;
  for (size_t r = 0; r < list->rows.size(); ++r) {
    const std::vector<Cell>& row = list->rows[r];
    const std::string flag_id = std::to_string(static_cast<int64_t>(Num(row[0])));
    EXPECT_TRUE(open_ids.contains(flag_id)) << "row " << r + 1 << ": " << flag_id;
    EXPECT_TRUE(listed_ids.insert(flag_id).second) << "row " << r + 1 << ": " << flag_id;
    ++listed[Text(row[1])];
    const std::string id = Text(row[5]);
    if (id.empty()) continue;
    ++with_id;
    EXPECT_TRUE(std::regex_match(id, masked)) << "row " << r + 1 << ": " << id;
    EXPECT_FALSE(real.contains(id)) << "row " << r + 1 << ": " << id;
  }
  EXPECT_EQ(listed, by_name);
  EXPECT_EQ(with_id, test::QueryInt(Db(),
                                    "SELECT count(*) FROM flags WHERE state = 'open' AND "
                                    "id_number <> ''"));
}

// The list says its ID numbers are masked (身份证号已脱敏); no other cell of it may show one
// whole either.
TEST_F(ReportsTest, FlagListShowsNoIdNumberWholeInAnyCell) {
  const std::set<std::string> real = RealIdNumbers();
  const std::regex id18(R"(\d{17}[\dX])");
  for (const bool english : {false, true}) {
    auto doc = Build("flags", "", english);
    ASSERT_TRUE(doc) << doc.error().ToString();
    const Table* list = TableOf(*doc, 1);
    ASSERT_TRUE(list);
    int64_t revealed = 0;
    std::string example;
    for (const auto& row : list->rows)
      for (const Cell& cell : row) {
        const std::string text = Text(cell);
        for (std::sregex_iterator it(text.begin(), text.end(), id18), end; it != end; ++it)
          if (real.contains(it->str())) {
            if (!revealed++) example = text;
          }
      }
    EXPECT_EQ(revealed, 0) << (english ? "English" : "Chinese")
                           << " list; first cell showing one: " << example;
  }
}

// Item 3: reports mask names as well as ID numbers. The evidence of a flag names the members
// of its household (姓名（身份证号）); no cell of any template, in either language, shows the
// name of a member of a flagged household whole, and the flag list shows them masked.
TEST_F(ReportsTest, NoTemplateShowsAMembersNameWhole) {
  std::set<std::string> names;
  for (const std::string& name :
       SqlColumn("SELECT DISTINCT m.name FROM members m JOIN flags f USING (household_id) "
                 "WHERE f.state = 'open' AND length(m.name) >= 2"))
    names.insert(name);
  ASSERT_GT(names.size(), 50u);
  int64_t masked_shown = 0;
  for (const bool english : {false, true})
    for (const TemplateInfo& info : Templates()) {
      auto doc = Build(info.name, "", english);
      ASSERT_TRUE(doc) << info.name << ": " << doc.error().ToString();
      int64_t revealed = 0;
      std::string example;
      for (const Section& section : doc->sections) {
        const Table* t = std::get_if<Table>(&section.content);
        if (!t) continue;
        for (const auto& row : t->rows)
          for (const Cell& cell : row) {
            const std::string text = Text(cell);
            if (text.find("*（") != std::string::npos || text.find("* (") != std::string::npos)
              ++masked_shown;
            for (const std::string& name : names)
              if (text.find(name + (english ? " (" : "（")) != std::string::npos) {
                if (!revealed++) example = name + ": " + text;
              }
          }
      }
      EXPECT_EQ(revealed, 0) << info.name << (english ? " en" : " zh") << "; first: " << example;
    }
  EXPECT_GT(masked_shown, 0);  // the list does show the (masked) names
}

// Item 12: a flag list longer than an XLSX sheet failed after building all of it ("report
// needs 1685509 rows ... use CSV"). Now its size is known first and the province gets a
// summary sheet and then one sheet per county. The sheet limit is lowered so that this
// province's list does not fit; every open flag is on its county's sheet.
TEST_F(ReportsTest, FlagListLongerThanASheetIsWrittenAsSummaryAndOneSheetPerCounty) {
  const int64_t open = test::QueryInt(Db(), "SELECT count(*) FROM flags WHERE state = 'open'");
  const auto counties = SqlCounts(
      "SELECT substr(village_code, 1, 6), count(*) FROM flags WHERE state = 'open' GROUP BY 1");
  ASSERT_GT(counties.size(), 3u);
  int64_t largest = 0;
  for (const auto& [code, n] : counties) largest = std::max(largest, static_cast<int64_t>(n));
  ASSERT_LT(largest * 2, open);

  service::ReportOptions options;
  options.template_name = "flags";
  options.max_sheet_rows = largest + 100;  // each county fits, the province does not
  const std::string path = (*dir_ / "split.xlsx").string();
  auto outcome = service::WriteReport(*snap_, *store_, options, path);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->sheets, static_cast<int>(counties.size()) + 1);
  const auto workbook = ReadZipPart(path, "xl/workbook.xml");
  ASSERT_TRUE(workbook);
  // The summary first, then the counties by name.
  const size_t summary = workbook->find(R"(<sheet name="汇总")");
  ASSERT_NE(summary, std::string::npos) << *workbook;
  const auto names = RegionNames(3);
  for (const auto& [code, n] : counties)
    EXPECT_GT(workbook->find("<sheet name=\"" + names.at(code + "000000") + "\""), summary) << code;
  // The summary's totals (by rule, by county) are the open flags, and it lists no flag.
  const auto first = ReadZipPart(path, "xl/worksheets/sheet1.xml");
  ASSERT_TRUE(first);
  const std::string total = fmt::format("<v>{}</v>", open);
  const size_t at = first->find(total);
  EXPECT_NE(at, std::string::npos) << *first;
  EXPECT_NE(first->find(total, at + 1), std::string::npos) << *first;
  EXPECT_LT(first->size(), 40000u);
  // Each county's sheet holds its open flags: count the rows with a masked ID or household
  // of that county in column E (户编号) on every county sheet.
  int64_t listed = 0;
  for (size_t sheet = 2; sheet <= counties.size() + 1; ++sheet) {
    const auto xml = ReadZipPart(path, fmt::format("xl/worksheets/sheet{}.xml", sheet));
    ASSERT_TRUE(xml) << sheet;
    // Text cells in column E: the header 户编号 and one household per listed flag.
    static const std::regex household_cell(R"(<c r="E\d+" [^>]*t="s")");
    const auto rows = std::distance(std::sregex_iterator(xml->begin(), xml->end(), household_cell),
                                    std::sregex_iterator());
    listed += rows - 1;  // the header cell 户编号
  }
  EXPECT_EQ(listed, open);

  // A county longer than a sheet on its own is refused naming it and the CSV command.
  options.max_sheet_rows = largest - 1 + 16;
  const std::string refused = (*dir_ / "refused.xlsx").string();
  auto no = service::WriteReport(*snap_, *store_, options, refused);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no.error().message().find("--out 疑点-"), std::string::npos) << no.error().message();
  EXPECT_NE(no.error().message().find(".csv"), std::string::npos) << no.error().message();
  EXPECT_FALSE(fs::exists(refused));
  EXPECT_FALSE(fs::exists(refused + ".tmp"));

  // At Excel's own limit the same list is one sheet.
  options.max_sheet_rows = reports::kMaxSheetRows;
  const std::string whole = (*dir_ / "whole.xlsx").string();
  auto one = service::WriteReport(*snap_, *store_, options, whole);
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(one->sheets, 1);
  EXPECT_FALSE(ReadZipPart(whole, "xl/worksheets/sheet2.xml"));
}

// A server takes the snapshot for one step of a report at a time (a View of its holder, which
// an edit's delta waits for): the whole document of a report once, and for a list split by
// county the index and summary, then each county's list, each its own step, with the file
// written outside them. The split report is the same as with one snapshot throughout.
TEST_F(ReportsTest, ReportTakesTheSnapshotOnceForEachStepAndWritesOutsideIt) {
  const auto counties = SqlCounts(
      "SELECT substr(village_code, 1, 6), count(*) FROM flags WHERE state = 'open' GROUP BY 1");
  int64_t largest = 0;
  for (const auto& [code, n] : counties) largest = std::max(largest, static_cast<int64_t>(n));
  int calls = 0;
  bool inside = false;
  const service::SnapshotUse counting =
      [&](const std::function<Status(const analytics::Snapshot&)>& fn) {
        EXPECT_FALSE(inside) << "a step inside a step";
        ++calls;
        inside = true;
        Status status = fn(*snap_);
        inside = false;
        return status;
      };
  service::ReportOptions options;
  options.template_name = "flags";
  options.max_sheet_rows = largest + 100;  // split by county
  const std::string stepped = (*dir_ / "stepped.xlsx").string();
  auto outcome = service::WriteReport(counting, *store_, options, stepped);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->sheets, static_cast<int>(counties.size()) + 1);
  // The size check, the index with the summary, then one per county.
  EXPECT_EQ(calls, static_cast<int>(counties.size()) + 2);
  const std::string whole = (*dir_ / "one-snapshot.xlsx").string();
  ASSERT_TRUE(service::WriteReport(*snap_, *store_, options, whole));
  for (size_t sheet = 1; sheet <= counties.size() + 1; ++sheet) {
    const std::string part = fmt::format("xl/worksheets/sheet{}.xml", sheet);
    EXPECT_EQ(ReadZipPart(stepped, part), ReadZipPart(whole, part)) << part;
  }
  EXPECT_EQ(ReadZipPart(stepped, "xl/sharedStrings.xml"),
            ReadZipPart(whole, "xl/sharedStrings.xml"));

  calls = 0;
  options.template_name = "causes";
  options.format = service::ReportFormat::kPdf;
  ASSERT_TRUE(service::WriteReport(counting, *store_, options, (*dir_ / "causes.pdf").string()));
  EXPECT_EQ(calls, 1);
}

// A county's list built from an index read before a household was flagged (the server applies
// edits between the steps of a long report): the names the index lacks are read for the
// list, so its evidence is masked just the same.
TEST_F(ReportsTest, FlagListMasksNamesTheIndexDidNotHave) {
  reports::ReportRequest request;
  request.template_name = "flags";
  request.region = "520000000000";
  auto index = reports::IndexFlagList(*snap_, *store_, request);
  ASSERT_TRUE(index) << index.error().ToString();
  ASSERT_FALSE(index->counties.empty());
  ASSERT_FALSE(index->names.empty());
  const reports::FlagListIndex full = *index;
  index->names.clear();
  int64_t masked = 0;
  for (const reports::RegionCount& county : full.counties) {
    request.region = county.code;
    auto with_names = reports::BuildFlagList(*snap_, *store_, request, full);
    ASSERT_TRUE(with_names) << with_names.error().ToString();
    auto without = reports::BuildFlagList(*snap_, *store_, request, *index);
    ASSERT_TRUE(without) << without.error().ToString();
    const Table* a = TableOf(*with_names, 1);
    const Table* b = TableOf(*without, 1);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->rows.size(), b->rows.size());
    for (size_t r = 0; r < a->rows.size(); ++r) {
      EXPECT_EQ(Text(a->rows[r][6]), Text(b->rows[r][6])) << county.code << " row " << r;
      if (Text(b->rows[r][6]).find("*（") != std::string::npos) ++masked;
    }
  }
  EXPECT_GT(masked, 0);  // the evidence does quote names, masked
}

// Item 12 for paper: a flag list of thousands of pages is refused before it is laid out,
// with the XLSX command that works.
TEST_F(ReportsTest, PdfFlagListTooLongForPaperIsRefusedWithTheXlsxCommand) {
  const int64_t open = test::QueryInt(Db(), "SELECT count(*) FROM flags WHERE state = 'open'");
  service::ReportOptions options;
  options.template_name = "flags";
  options.format = service::ReportFormat::kPdf;
  options.max_pdf_flags = open / 2;
  const std::string path = (*dir_ / "long.pdf").string();
  auto refused = service::WriteReport(*snap_, *store_, options, path);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("--region 520000000000 --out 疑点.xlsx"),
            std::string::npos)
      << refused.error().message();
  EXPECT_FALSE(fs::exists(path));
  options.max_pdf_flags = open * 2;
  ASSERT_TRUE(service::WriteReport(*snap_, *store_, options, path));
  EXPECT_TRUE(fs::exists(path));
}

// The server's way in: the same report rendered into memory is the file's bytes, and the
// scratch directory is left empty.
TEST_F(ReportsTest, RenderedReportIsTheWrittenFile) {
  service::ReportOptions options;
  options.template_name = "causes";
  options.format = service::ReportFormat::kCsv;
  options.date = "2021-01-05";
  const fs::path scratch = *dir_ / "scratch";
  fs::create_directories(scratch);
  auto bytes = service::RenderReport(*snap_, *store_, options, scratch.string());
  ASSERT_TRUE(bytes) << bytes.error().ToString();
  const fs::path path = *dir_ / "causes.csv";
  ASSERT_TRUE(service::WriteReport(*snap_, *store_, options, path.string()));
  EXPECT_EQ(*bytes, test::ReadFile(path));
  EXPECT_TRUE(bytes->starts_with("\xEF\xBB\xBF致贫原因分析表"));
  EXPECT_TRUE(fs::is_empty(scratch));
  options.year = 2030;
  auto refused = service::RenderReport(*snap_, *store_, options, scratch.string());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("2030"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(scratch));
}

// ---- 2. county, village and English reports ----------------------------------------------

TEST_F(ReportsTest, CountyReportHasTownshipRows) {
  const auto top = test::Query(Db(),
                               "SELECT substr(village_code, 1, 6), count(*) FROM households "
                               "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1");
  ASSERT_EQ(top.size(), 1u);
  const std::string county = top[0][0];
  auto doc = Build("registry", county + "000000");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->region_code, county + "000000");
  EXPECT_EQ(doc->region_name, RegionNames(3).at(county + "000000"));
  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  EXPECT_GT(t->rows.size(), 1u);
  const auto townships = RegionNames(4);
  for (const auto& row : t->rows) {
    EXPECT_TRUE(townships.contains(Text(row[0]))) << Text(row[0]);
    EXPECT_TRUE(Text(row[0]).starts_with(county)) << Text(row[0]);
  }
  ExpectRegistryMatchesSql(*doc, county, 3);

  // The county by its significant digits: the same report.
  auto short_code = Build("registry", county);
  ASSERT_TRUE(short_code) << short_code.error().ToString();
  EXPECT_EQ(short_code->region_code, doc->region_code);
  const Table* s = TableOf(*short_code, 0);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rows, t->rows);
  EXPECT_EQ(s->totals, t->totals);

  // The county's open flags.
  auto flags = Build("flags", county);
  ASSERT_TRUE(flags) << flags.error().ToString();
  const Table* list = TableOf(*flags, 1);
  ASSERT_TRUE(list);
  EXPECT_EQ(static_cast<int64_t>(list->rows.size()),
            test::QueryInt(Db(),
                           "SELECT count(*) FROM flags WHERE state = 'open' AND "
                           "village_code LIKE '" +
                               county + "%'"));
}

TEST_F(ReportsTest, VillageReportHasTheVillageItselfAsItsRow) {
  const auto top = test::Query(Db(),
                               "SELECT village_code, count(*) FROM households GROUP BY 1 "
                               "ORDER BY 2 DESC, 1 LIMIT 1");
  ASSERT_EQ(top.size(), 1u);
  const std::string village = top[0][0];
  auto doc = Build("registry", village);
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->region_code, village);
  EXPECT_EQ(doc->region_name, RegionNames(5).at(village));
  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(Text(t->rows[0][0]), village);
  EXPECT_EQ(Text(t->rows[0][1]), doc->region_name);
  ExpectRegistryMatchesSql(*doc, village, 4);
  EXPECT_EQ(Num(t->rows[0][2]), std::stod(top[0][1]));

  // The other sub-region templates also have the one row.
  for (const std::string name : {"causes", "policy"}) {
    auto other = Build(name, village);
    ASSERT_TRUE(other) << name << ": " << other.error().ToString();
    const Table* last = nullptr;
    for (size_t i = 0; i < other->sections.size(); ++i)
      if (const Table* x = TableOf(*other, i);
          x && !x->columns.empty() && x->columns[0].header == "区划代码")
        last = x;
    ASSERT_TRUE(last) << name;
    ASSERT_EQ(last->rows.size(), 1u) << name;
    EXPECT_EQ(Text(last->rows[0][0]), village) << name;
  }
}

// Whether `text` is plain ASCII (no Chinese left in an English report's own labels).
bool Ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

TEST_F(ReportsTest, EnglishReportsHaveEnglishTitlesAndLabels) {
  ASSERT_EQ(Templates().size(), 5u);
  for (const TemplateInfo& info : Templates()) {
    auto doc = Build(info.name, "", true);
    ASSERT_TRUE(doc) << info.name << ": " << doc.error().ToString();
    EXPECT_TRUE(doc->english);
    EXPECT_EQ(doc->title, info.title_en);
    EXPECT_TRUE(Ascii(doc->title)) << doc->title;
    EXPECT_EQ(doc->sheet_name, info.name);
    for (const Section& section : doc->sections) {
      if (const Table* t = std::get_if<Table>(&section.content)) {
        EXPECT_TRUE(Ascii(t->title)) << info.name << ": " << t->title;
        EXPECT_TRUE(Ascii(t->note)) << info.name << ": " << t->note;
        for (const Column& c : t->columns)
          EXPECT_TRUE(Ascii(c.header)) << info.name << ": " << c.header;
        for (const auto& row : t->groups)
          for (const HeaderGroup& g : row)
            EXPECT_TRUE(Ascii(g.text)) << info.name << ": " << g.text;
        if (!t->totals.empty()) {
          EXPECT_EQ(Text(t->totals[0]), "Total") << info.name;
        }
      } else {
        const Chart& chart = std::get<Chart>(section.content);
        EXPECT_TRUE(Ascii(chart.title)) << info.name << ": " << chart.title;
        EXPECT_TRUE(Ascii(chart.value_axis)) << info.name << ": " << chart.value_axis;
        for (const auto& s : chart.series)
          EXPECT_TRUE(Ascii(s.name)) << info.name << ": " << s.name;
      }
    }
  }
  auto doc = Build("registry", "", true);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->title, "Registered poor population");
  const Table* t = TableOf(*doc, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->title, "By sub-region and status");
  EXPECT_EQ(t->columns[0].header, "Code");
  EXPECT_EQ(t->columns[3].header, "Poor");
  // The same figures as in Chinese.
  ExpectRegistryMatchesSql(*doc, "52", 1);
}

// ---- 3. errors --------------------------------------------------------------------------

TEST_F(ReportsTest, UnknownTemplateIsRefusedWithTheListOfTemplates) {
  auto zh = Build("registr");
  ASSERT_FALSE(zh);
  EXPECT_NE(zh.error().message().find("未知报表模板“registr”"), std::string::npos)
      << zh.error().message();
  auto doc = Build("registr", "", true);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), StatusCode::kInvalidArgument);
  const std::string& message = doc.error().message();
  EXPECT_NE(message.find("unknown template 'registr'"), std::string::npos) << message;
  for (const char* name : {"registry", "causes", "progress", "policy", "flags"})
    EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_FALSE(Build(""));
}

TEST_F(ReportsTest, UnknownRegionIsRefused) {
  for (const std::string region : {"990000000000", "5299", "520102999999", "abc"}) {
    auto zh = Build("registry", region);
    ASSERT_FALSE(zh) << region;
    EXPECT_NE(zh.error().message().find("未知区划“" + region + "”"), std::string::npos)
        << zh.error().message();
    auto doc = Build("registry", region, true);
    ASSERT_FALSE(doc) << region;
    EXPECT_EQ(doc.error().code(), StatusCode::kInvalidArgument) << region;
    EXPECT_NE(doc.error().message().find("unknown region '" + region + "'"), std::string::npos)
        << doc.error().message();
  }
  EXPECT_FALSE(Build("flags", "990000000000"));
}

TEST_F(ReportsTest, YearWithoutDataIsRefusedNamingTheYears) {
  const int absent = snap_->data_year - 3;
  for (const std::string name : {"registry", "causes", "policy", "flags"}) {
    auto doc = Build(name, "", true, absent);
    ASSERT_FALSE(doc) << name;
    EXPECT_EQ(doc.error().code(), StatusCode::kInvalidArgument) << name;
    const std::string& message = doc.error().message();
    EXPECT_NE(message.find("no data for year " + std::to_string(absent)), std::string::npos)
        << message;
    EXPECT_NE(message.find("report can show: " + Year()), std::string::npos) << message;
  }
  // A year after the data: every template refuses it, progress and flags too (they used to
  // answer with an empty report), in Chinese by default.
  const int future = snap_->data_year + 11;
  const std::string first_registered = std::to_string(test::QueryInt(
      Db(), "SELECT min(registered_year) FROM households WHERE registered_year > 0"));
  for (const TemplateInfo& info : Templates()) {
    auto doc = Build(info.name, "", false, future);
    ASSERT_FALSE(doc) << info.name;
    const std::string& message = doc.error().message();
    EXPECT_NE(message.find("数据中没有 " + std::to_string(future) + " 年度"), std::string::npos)
        << message;
    EXPECT_NE(message.find(info.name == "progress" ? first_registered + "–" + Year() : Year()),
              std::string::npos)
        << message;
  }
  // Progress shows any year from the first registration up to the data year.
  auto early = Build("progress", "", false, std::stoi(first_registered));
  ASSERT_TRUE(early) << early.error().ToString();
  EXPECT_FALSE(Build("progress", "", false, std::stoi(first_registered) - 1));
  // The data year given explicitly is the default.
  auto given = Build("registry", "", false, snap_->data_year);
  ASSERT_TRUE(given) << given.error().ToString();
  EXPECT_EQ(given->year, snap_->data_year);
}

// ---- 4. end to end through the writers -----------------------------------------------------

// A figure the document prints: the largest integer in the first table's totals row, or in
// its last row when it has none (total persons, open flags, cumulative exited persons).
double AFigure(const Document& doc) {
  const Table* t = TableOf(doc, 0);
  if (!t) return std::nan("");
  const std::vector<Cell>& cells = t->totals.empty() ? t->rows.back() : t->totals;
  double best = 0;
  for (size_t c = 0; c < cells.size(); ++c)
    if (t->columns[c].format == NumberFormat::kInteger && Num(cells[c]) > best)
      best = Num(cells[c]);
  return best;
}

TEST_F(ReportsTest, EveryTemplateWritesXlsxAndPdfWithItsTitleAndFigures) {
  const bool poppler = std::system("command -v pdftotext >/dev/null") == 0;
  if (!poppler) ADD_FAILURE() << "poppler-utils (pdftotext) not installed: PDFs not read back";
  test::TempDir out;
  for (const TemplateInfo& info : Templates()) {
    SCOPED_TRACE(info.name);
    auto doc = Build(info.name);
    ASSERT_TRUE(doc) << doc.error().ToString();
    const double figure = AFigure(*doc);
    ASSERT_GT(figure, 999) << "want a figure with a thousands separator";
    if (info.name == "registry") {
      EXPECT_EQ(figure, test::QueryInt(Db(), "SELECT count(*) FROM members"));
    }

    const std::string xlsx = (out / (info.name + ".xlsx")).string();
    const Status written = WriteXlsx(*doc, xlsx);
    ASSERT_TRUE(written.ok()) << written.ToString();
    const auto strings = ReadZipPart(xlsx, "xl/sharedStrings.xml");
    ASSERT_TRUE(strings) << "no xl/sharedStrings.xml";
    EXPECT_NE(strings->find(info.title_zh), std::string::npos);
    const auto sheet = ReadZipPart(xlsx, "xl/worksheets/sheet1.xml");
    ASSERT_TRUE(sheet) << "no xl/worksheets/sheet1.xml";
    EXPECT_NE(sheet->find("<mergeCell "), std::string::npos);
    EXPECT_NE(sheet->find(fmt::format("<v>{}</v>", static_cast<int64_t>(figure))),
              std::string::npos)
        << figure;

    const std::string pdf = (out / (info.name + ".pdf")).string();
    const Status printed = WritePdf(*doc, pdf);
    ASSERT_TRUE(printed.ok()) << printed.ToString();
    if (!poppler) continue;
    std::string text = RunCommand(fmt::format("pdftotext -layout '{}' -", pdf));
    std::erase(text, ' ');  // pdftotext may part CJK characters with spaces
    EXPECT_NE(text.find(info.title_zh), std::string::npos);
    EXPECT_NE(text.find(Thousands(figure)), std::string::npos) << Thousands(figure);
  }
}

}  // namespace
}  // namespace fupin::reports
