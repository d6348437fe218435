#include "rules/rule_set.h"

#include <gtest/gtest.h>

namespace fupin::rules {
namespace {

constexpr std::string_view kHeader = R"(version = 1
[thresholds]
gap = 12
[[line]]
kind = "exit"
province = "520000000000"
year = 2019
yuan = 3747
source = "test"
)";

std::string RuleText(std::string_view condition, std::string_view extra = "") {
  return std::string(kHeader) + "[[rule]]\nid = \"R1\"\nname_zh = \"规则\"\nname_en = \"rule\"\n" +
         "category = \"exclusion\"\nseverity = \"high\"\nscope = \"person\"\n" +
         std::string(extra) + "condition = " + std::string(condition) +
         "\nexplain_zh = \"{member}\"\nexplain_en = \"{member}\"\n";
}

TEST(RuleSetTest, DefaultRulesCompile) {
  Result<RuleSet> set = DefaultRuleSet();
  ASSERT_TRUE(set.has_value()) << set.error().message();
  EXPECT_GE(set->rules.size(), 20u);
  int per_category[kCategoryCount] = {};
  for (const Rule& r : set->rules) ++per_category[static_cast<int>(r.category)];
  for (int c = 0; c < kCategoryCount; ++c) EXPECT_GT(per_category[c], 0) << c;
  EXPECT_EQ(set->thresholds.Line(LineKind::kExit, "520102001001", 2019), 3747);
  EXPECT_EQ(set->thresholds.Line(LineKind::kNbs, "520102001001", 2014), 2800);
  EXPECT_EQ(set->thresholds.Line(LineKind::kMonitoring, "520102001001", 2021), 6000);
  EXPECT_EQ(set->thresholds.Line(LineKind::kExit, "520102001001", 2030), std::nullopt);
  EXPECT_EQ(set->sha256.size(), 64u);
}

TEST(RuleSetTest, ValidFileLoads) {
  Result<RuleSet> set = ParseRuleSet(RuleText("'any(member.vehicles, v => true)'"), "t.toml");
  ASSERT_TRUE(set.has_value()) << set.error().message();
  ASSERT_EQ(set->rules.size(), 1u);
  EXPECT_TRUE(set->rules[0].person);
  const int veh = Schema::Get().DatasetEntity("vehicles");
  EXPECT_TRUE(set->usage.records[static_cast<size_t>(veh)]);
}

TEST(RuleSetTest, ConditionErrorNamesLineAndColumn) {
  // The condition starts on line 16 (after 9 header lines and 6 rule lines).
  Result<RuleSet> set = ParseRuleSet(RuleText("'member.age > 1 and member.agge > 2'"), "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().message(), "t.toml:17:40: rule R1 condition: member has no field 'agge'");
  set = ParseRuleSet(RuleText("'''\nmember.age > 1\n  and bogus > 2'''"), "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().message(), "t.toml:19:7: rule R1 condition: unknown name 'bogus'");
}

TEST(RuleSetTest, WholeFileRefusedOnAnyError) {
  std::string text = RuleText("'member.age > 1'");
  text += "[[rule]]\nid = \"R1\"\n";
  Result<RuleSet> set = ParseRuleSet(text, "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("rule id 'R1' is used twice"), std::string::npos);

  set = ParseRuleSet(RuleText("'member.age > 1'", "categry = \"risk\"\n"), "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("t.toml:17:11: unknown key 'categry'"), std::string::npos)
      << set.error().message();

  set = ParseRuleSet(RuleText("'member.age > 1'", "risk_type = \"因病\"\n"), "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("only to rules of category risk"), std::string::npos);

  set = ParseRuleSet("version = 1\n[[rule]]\nid = 'x'\n", "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("upper-case"), std::string::npos);

  set = ParseRuleSet("version = 1\nrule = [ { id = 'X', \n", "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().message().rfind("t.toml:", 0), 0u);

  set = ParseRuleSet("version = 2\n", "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("version = 1"), std::string::npos);

  set = ParseRuleSet(std::string(kHeader) +
                         "[[line]]\nkind = 'exit'\nprovince = '520000000000'\n"
                         "year = 2019\nyuan = 3000\nsource = 'x'\n",
                     "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("a second exit line"), std::string::npos);
}

TEST(RuleSetTest, TemplateErrorsArePlaced) {
  std::string text = std::string(kHeader) +
                     "[[rule]]\nid = 'R2'\nname_zh = 'x'\nname_en = 'x'\ncategory = 'risk'\n"
                     "severity = 'low'\nscope = 'household'\ncondition = 'household.status == 2'\n"
                     "explain_zh = '收入{household.incom}'\nexplain_en = 'x'\n";
  Result<RuleSet> set = ParseRuleSet(text, "t.toml");
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().message(),
            "t.toml:18:28: rule R2 explain_zh: household has no field 'incom'");
}

TEST(RuleSetTest, PersonRulesGetAHouseholdGuard) {
  Result<RuleSet> set = DefaultRuleSet();
  ASSERT_TRUE(set.has_value()) << set.error().message();
  for (const Rule& r : set->rules) {
    if (r.id == "EXC_VEHICLE" || r.id == "EXC_DECEASED" || r.id == "RISK_JOB_LOSS") {
      ASSERT_TRUE(r.household_guard) << r.id;
      // The guard reads the household's status and nothing per member.
      EXPECT_NE(r.household_guard->op, Op::kAny) << r.id;
    }
    if (r.id == "DQ_TWO_HOUSEHOLDS" || r.id == "DQ_AGE_RELATION" || !r.person) {
      EXPECT_FALSE(r.household_guard) << r.id;
    }
  }
  // Conjuncts that read the member or bind a witness stay out of the guard.
  Result<RuleSet> one = ParseRuleSet(
      RuleText("'household.status in [1, 2] and member.age > 3 and household.members > 2 and "
               "any(members, m => m.age > 60)'"),
      "t.toml");
  ASSERT_TRUE(one.has_value()) << one.error().message();
  const Node* guard = one->rules[0].household_guard.get();
  ASSERT_TRUE(guard);
  ASSERT_EQ(guard->op, Op::kAnd);
  EXPECT_EQ(guard->kids[0].op, Op::kIn);
  EXPECT_EQ(guard->kids[1].op, Op::kGt);
  EXPECT_EQ(guard->kids[1].kids[0].op, Op::kField);
  EXPECT_EQ(guard->kids[1].kids[0].slot, 0);
}

TEST(RuleSetTest, AMissingFileOrADirectoryIsAClearError) {
  Result<RuleSet> missing = LoadRuleSet("/nonexistent/rules.toml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find("rules file /nonexistent/rules.toml"),
            std::string::npos);
  Result<RuleSet> dir = LoadRuleSet(FUPIN_SOURCE_DIR);
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().message().find("is not a file"), std::string::npos)
      << dir.error().message();
}

}  // namespace
}  // namespace fupin::rules
