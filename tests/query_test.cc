// The query model against SQL: the same questions asked of fupin's query engine and of
// SQLite over the same store give the same answers.
#include "analytics/query.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "exchange/import.h"
#include "gen/generator.h"
#include "rules/engine.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;

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
    auto data = rules::LoadRuleData(**store, analytics::QueryFields(), {});
    ASSERT_TRUE(data) << data.error().ToString();
    data_ = new rules::RuleData(std::move(*data));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete dir_;
  }

  // fupin's answer and SQLite's, row by row.
  void ExpectSame(const analytics::QuerySpec& spec, const std::string& sql) {
    auto got = analytics::RunQuery(*data_, spec);
    ASSERT_TRUE(got) << got.error().ToString();
    const auto want = test::Query(*dir_ / "q.db", sql);
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

  static test::TempDir* dir_;
  static rules::RuleData* data_;
};
test::TempDir* QueryTest::dir_ = nullptr;
rules::RuleData* QueryTest::data_ = nullptr;

TEST_F(QueryTest, PersonsAndHouseholdsByCountyForPoorHouseholds) {
  ExpectSame({{"persons", "households"}, {"county"}, {{"status", {"1", "3"}}}},
             "SELECT substr(h.village_code, 1, 6) || '000000', count(*), "
             "count(DISTINCT h.household_id) FROM members m JOIN households h USING "
             "(household_id) WHERE h.status IN (1, 3) GROUP BY 1 ORDER BY 1");
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
  auto any = analytics::RunQuery(*data_, {{"households"}, {"county"}, {}});
  ASSERT_TRUE(any);
  const std::string county = any->rows.front()[0];
  ExpectSame({{"persons", "poor_persons", "exited_persons"},
              {"sex", "primary_cause"},
              {{"county", {county}}}},
             "SELECT m.sex, h.primary_cause, count(*), sum(h.status IN (1, 3)), "
             "sum(h.status IN (2, 4)) FROM members m JOIN households h USING (household_id) "
             "WHERE substr(h.village_code, 1, 6) || '000000' = '" +
                 county + "' GROUP BY 1, 2 ORDER BY 1, 2");
}

TEST_F(QueryTest, UnknownNamesAreRefusedWithTheList) {
  auto bad = analytics::RunQuery(*data_, {{"peeple"}, {}, {}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown measure 'peeple'"), std::string::npos);
  EXPECT_NE(bad.error().message().find("persons"), std::string::npos);
  bad = analytics::RunQuery(*data_, {{"persons"}, {"countyy"}, {}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown dimension 'countyy'"), std::string::npos);
}

}  // namespace
}  // namespace fupin
