#include "rules/expr.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/date.h"

namespace fupin::rules {
namespace {

int F(int entity, std::string_view name) {
  const int f = Schema::Get().FindField(entity, name);
  EXPECT_GE(f, 0) << name;
  return f;
}

// One household with three members; the second member has two vehicle records.
class ExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Schema& s = Schema::Get();
    data_.tables.resize(static_cast<size_t>(s.EntityCount()));
    data_.linked.resize(static_cast<size_t>(s.EntityCount()));
    for (int e = 0; e < s.EntityCount(); ++e)
      data_.tables[static_cast<size_t>(e)].cols.resize(s.entity(e).fields.size());
    Table& h = data_.tables[kHousehold];
    h.rows = 1;
    h.cols[F(kHousehold, "household_id")].PushText("5201020010010001");
    h.cols[F(kHousehold, "village_code")].PushText("520102001001");
    h.cols[F(kHousehold, "status")].PushNum(1);
    h.cols[F(kHousehold, "other_causes")].PushText("4;11");
    h.cols[F(kHousehold, "per_capita_income")].PushNum(3800.5);
    h.cols[F(kHousehold, "income_year")].PushNum(2019);
    h.cols[F(kHousehold, "cadre_id")].PushText("");
    Table& m = data_.tables[kMember];
    m.rows = 3;
    const char* names[] = {"张三", "李四", "王五"};
    const double ages[] = {45, 20, 8};
    const double school[] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
      m.cols[F(kMember, "name")].PushText(names[i]);
      m.cols[F(kMember, "id_number")].PushText("52010219800101001" + std::to_string(i));
      m.cols[F(kMember, "age")].PushNum(ages[i]);
      m.cols[F(kMember, "in_school")].PushNum(school[i]);
      m.cols[F(kMember, "birth_date")].PushNum(i == 2 ? Column::Missing() : 3650.0 * i);
    }
    data_.member_begin = {0, 3};
    const int veh = s.DatasetEntity("vehicles");
    Table& v = data_.tables[static_cast<size_t>(veh)];
    v.rows = 2;
    v.cols[F(veh, "vehicle_type")].PushText("普通二轮摩托车");
    v.cols[F(veh, "vehicle_type")].PushText("小型轿车");
    v.cols[F(veh, "plate")].PushText("贵A12345");
    v.cols[F(veh, "plate")].PushText("贵A54321");
    v.cols[F(veh, "source_row")].PushNum(7);
    v.cols[F(veh, "source_row")].PushNum(9);
    data_.linked[static_cast<size_t>(veh)].begin = {0, 0, 2, 2};
    data_.linked[static_cast<size_t>(veh)].index = {0, 1};
    thresholds_.values["school_age_min"] = 7;
    thresholds_.lines[static_cast<int>(LineKind::kExit)].push_back(
        {"520000000000", 2019, 3747, "t"});
    thresholds_.lines[static_cast<int>(LineKind::kNbs)].push_back({"", 2019, 3218, "t"});
  }

  // Compiles `text` with person scope and evaluates it for member `member`.
  bool Check(std::string_view text, uint32_t member = 0) {
    Usage usage;
    Compiler c(thresholds_, usage, true);
    CompileError e;
    auto n = c.Condition(text, e);
    EXPECT_TRUE(n) << text << ": " << e.message << " at " << e.pos;
    if (!n) return false;
    Env env = MakeEnv(c, member);
    return EvalBool(*n, env);
  }
  Env MakeEnv(const Compiler& c, uint32_t member) {
    Env env;
    env.data = &data_;
    env.thresholds = &thresholds_;
    env.region = "520102001001";
    env.Reset(c.SlotCount(), 0);
    env.slots[1] = member;
    env.Bind(1, true);
    return env;
  }
  CompileError Error(std::string_view text, bool person = true) {
    Usage usage;
    Compiler c(thresholds_, usage, person);
    CompileError e;
    EXPECT_FALSE(c.Condition(text, e)) << text;
    return e;
  }

  RuleData data_;
  Thresholds thresholds_;
};

TEST_F(ExprTest, ComparisonsAndLogic) {
  EXPECT_TRUE(Check("household.status == 1"));
  EXPECT_FALSE(Check("household.status != 1"));
  EXPECT_TRUE(Check("household.status in [1, 3] and not household.status in [2]"));
  EXPECT_TRUE(Check("household.status not in [2, 4] && !(household.status > 1)"));
  EXPECT_TRUE(Check("household.per_capita_income * 2 - 1 > 7599.9 or false"));
  EXPECT_TRUE(Check("household.household_id == \"5201020010010001\""));
  EXPECT_TRUE(Check("member.name == '张三'"));
  EXPECT_TRUE(Check("has(household.other_causes, 11) and not has(household.other_causes, 1)"));
  EXPECT_TRUE(Check("contains(member.name, '三')"));
}

TEST_F(ExprTest, MissingValuesCompareFalse) {
  EXPECT_TRUE(Check("household.cadre_id == null"));
  EXPECT_FALSE(Check("household.cadre_id == 'x'"));
  EXPECT_FALSE(Check("household.cadre_id != 'x'"));
  EXPECT_TRUE(Check("member.birth_date == null", 2));
  EXPECT_FALSE(Check("member.birth_date > date('1960-01-01')", 2));
  EXPECT_TRUE(Check("coalesce(member.birth_date, date('2000-01-01')) > date('1999-12-31')", 2));
  EXPECT_TRUE(Check("is_null(1 / 0)"));
}

TEST_F(ExprTest, LinesFollowTheRegionAndYear) {
  EXPECT_TRUE(Check("exit_line(2019) == 3747 and nbs_line(2019) == 3218"));
  EXPECT_TRUE(Check("exit_line(2018) == null and monitoring_line(2019) == null"));
  EXPECT_TRUE(Check("household.per_capita_income > exit_line(household.income_year)"));
  EXPECT_TRUE(Check("threshold('school_age_min') == 7"));
}

TEST_F(ExprTest, QuantifiersOverMembersAndRecords) {
  EXPECT_TRUE(Check("count(members) == 3"));
  EXPECT_TRUE(Check("count(members, m => m.age >= 18) == 2"));
  EXPECT_TRUE(Check("sum(members, m => m.age) == 73"));
  EXPECT_TRUE(Check("min(members, m => m.age) == 8 and max(members, n => n.age) == 45"));
  EXPECT_TRUE(Check("all(members, m => m.age > 5)"));
  EXPECT_FALSE(Check("any(member.vehicles, v => true)", 0));
  EXPECT_TRUE(Check("count(member.vehicles) == 2", 1));
  EXPECT_TRUE(Check("any(member.vehicles, v => not contains(v.vehicle_type, '摩托'))", 1));
  EXPECT_TRUE(Check("count(household.vehicles) == 2", 0));
  EXPECT_TRUE(Check("any(members, m => any(m.vehicles, v => v.plate == '贵A54321'))"));
  EXPECT_TRUE(Check("count(members, m => m.age >= 7 and m.age <= 15 and m.in_school == 0) == 1"));
}

TEST_F(ExprTest, DatesAndArithmetic) {
  EXPECT_TRUE(Check("member.birth_date == date('1970-01-01')", 0));
  EXPECT_TRUE(Check("member.birth_date - date('1970-01-01') == 3650", 1));
  EXPECT_TRUE(Check("year(member.birth_date + 366) == 1971", 0));
  EXPECT_TRUE(Check("abs(-3) == 3 and min(2, 5) == 2 and max(2, 5) == 5"));
  data_.as_of_days = 3650;
  EXPECT_TRUE(Check("as_of == date('1979-12-30') and member.birth_date < as_of", 0));
}

TEST_F(ExprTest, TemplatesNameTheWitness) {
  Usage usage;
  Compiler c(thresholds_, usage, true);
  CompileError e;
  auto n = c.Condition("any(member.vehicles, v => not contains(v.vehicle_type, '摩托'))", e);
  ASSERT_TRUE(n) << e.message;
  Compiler::Template zh, en;
  ASSERT_TRUE(c.CompileTemplate("{member}有{v.vehicle_type}，号牌{v.plate}：{v}；{{括号}}", zh, e))
      << e.message;
  ASSERT_TRUE(c.CompileTemplate(
      "{member} owns {v.vehicle_type} ({v}), income {household.per_capita_income}", en, e));
  Env env = MakeEnv(c, 1);
  ASSERT_TRUE(EvalBool(*n, env));
  EXPECT_EQ(Render(zh, env, Lang::kZh),
            "李四（520102198001010011）有小型轿车，号牌贵A54321：公安 车辆（vehicles.csv "
            "第9行）；{括号}");
  EXPECT_EQ(Render(en, env, Lang::kEn),
            "李四 (520102198001010011) owns 小型轿车 (vehicles.csv row 9), income 3800.5");
  // A variable whose quantifier did not hold renders as a dash.
  Env other = MakeEnv(c, 0);
  ASSERT_FALSE(EvalBool(*n, other));
  Compiler::Template t;
  ASSERT_TRUE(c.CompileTemplate("[{v.plate}]", t, e));
  EXPECT_EQ(Render(t, other, Lang::kEn), "[—]");
}

TEST_F(ExprTest, ErrorsNameThePlaceAndReason) {
  CompileError e = Error("household.sttus == 1");
  EXPECT_EQ(e.pos, 10u);
  EXPECT_NE(e.message.find("no field 'sttus'"), std::string::npos) << e.message;
  e = Error("household.status == '1'");
  EXPECT_NE(e.message.find("cannot compare a number with a text"), std::string::npos);
  e = Error("household.status = 1");
  EXPECT_NE(e.message.find("=="), std::string::npos);
  e = Error("member.age > 3", false);
  EXPECT_NE(e.message.find("scope = \"person\""), std::string::npos) << e.message;
  e = Error("any(members, m => m.age) ");
  EXPECT_NE(e.message.find("needs a bool"), std::string::npos) << e.message;
  e = Error("any(members, m => m.age > 1) and m.age > 2");
  EXPECT_NE(e.message.find("only known inside"), std::string::npos) << e.message;
  e = Error("threshold('nope') > 1");
  EXPECT_NE(e.message.find("no threshold named 'nope'"), std::string::npos);
  e = Error("household.status");
  EXPECT_NE(e.message.find("must be true or false"), std::string::npos);
  e = Error("frobnicate(1)");
  EXPECT_NE(e.message.find("unknown function"), std::string::npos);
  e = Error("(household.status == 1");
  EXPECT_NE(e.message.find("')'"), std::string::npos);
  e = Error("'open");
  EXPECT_NE(e.message.find("not closed"), std::string::npos);
  e = Error("household.vehicles == 1");
  EXPECT_NE(e.message.find("collection cannot be compared"), std::string::npos) << e.message;
}

TEST_F(ExprTest, WitnessesOnlyFromWhatMadeTheConditionTrue) {
  Usage usage;
  Compiler c(thresholds_, usage, true);
  CompileError e;
  // The car binds v, but that branch fails (the member is 20): the other branch holds.
  auto n =
      c.Condition("(any(member.vehicles, v => true) and member.age < 18) or member.age > 0", e);
  ASSERT_TRUE(n) << e.message;
  Compiler::Template t;
  ASSERT_TRUE(c.CompileTemplate("[{v.plate}] [{v}] [{count(household.vehicles)}]", t, e))
      << e.message;
  Env env = MakeEnv(c, 1);
  ASSERT_TRUE(EvalBool(*n, env));
  EXPECT_EQ(Render(t, env, Lang::kEn), "[—] [—] [2]");

  // A collection of a member variable that is not bound is missing, not member row 0's.
  Usage u2;
  Compiler h(thresholds_, u2, false);
  auto cond = h.Condition("household.status == 1 or any(members, m => count(m.vehicles) > 5)", e);
  ASSERT_TRUE(cond) << e.message;
  Compiler::Template t2;
  ASSERT_TRUE(h.CompileTemplate("{m}:{count(m.vehicles)}", t2, e)) << e.message;
  Env env2;
  env2.data = &data_;
  env2.thresholds = &thresholds_;
  env2.Reset(h.SlotCount(), 0);
  ASSERT_TRUE(EvalBool(*cond, env2));
  EXPECT_EQ(Render(t2, env2, Lang::kEn), "—:—");

  // not(...) binds nothing.
  auto neg =
      c.Condition("not any(member.business, b => true) and any(member.vehicles, w => true)", e);
  ASSERT_TRUE(neg) << e.message;
  Env env3 = MakeEnv(c, 1);
  ASSERT_TRUE(EvalBool(*neg, env3));
}

TEST_F(ExprTest, HostileInputGetsAClearError) {
  CompileError e = Error(std::string(500, '(') + "1 == 1" + std::string(500, ')'));
  EXPECT_NE(e.message.find("nests too deeply"), std::string::npos) << e.message;
  e = Error(std::string(300, '-') + "1 > 0");
  EXPECT_NE(e.message.find("nests too deeply"), std::string::npos) << e.message;
  std::string chain = "household.status == 1";
  for (int i = 0; i < 6000; ++i) chain += " or household.status == 1";
  e = Error(chain);
  EXPECT_NE(e.message.find("too long"), std::string::npos) << e.message;
  e = Error("household.status == （1）");
  EXPECT_NE(e.message.find("U+FF08"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("full-width"), std::string::npos) << e.message;
  e = Error("member.name == \xe2\x80\x9c张三\xe2\x80\x9d");
  EXPECT_NE(e.message.find("ASCII quotes"), std::string::npos) << e.message;
  e = Error("household.status == 1\xff");
  EXPECT_NE(e.message.find("not UTF-8"), std::string::npos) << e.message;
  e = Error("household.per_capita_income > 1" + std::string(400, '0'));
  EXPECT_NE(e.message.find("bad number"), std::string::npos) << e.message;
  e = Error("any(members, m => true) or any(members, m => false)");
  EXPECT_NE(e.message.find("already a variable"), std::string::npos) << e.message;
  // A closing brace inside a quoted text of a template is text.
  Usage usage;
  Compiler c(thresholds_, usage, true);
  Compiler::Template t;
  ASSERT_TRUE(c.CompileTemplate("{contains(member.name, \"}\")}!", t, e)) << e.message;
  Env env = MakeEnv(c, 0);
  EXPECT_EQ(Render(t, env, Lang::kEn), "no!");
}

TEST_F(ExprTest, YearsBetweenCountsWholeYears) {
  EXPECT_TRUE(Check("years_between(date('1970-01-01'), date('1982-01-01')) == 12"));
  EXPECT_TRUE(Check("years_between(date('1970-01-01'), date('1981-12-31')) == 11"));
  EXPECT_TRUE(Check("years_between(date('1982-01-01'), date('1970-01-01')) == -12"));
  EXPECT_TRUE(Check("years_between(date('1981-12-31'), date('1970-01-01')) == -11"));
  EXPECT_TRUE(Check("years_between(date('2000-02-29'), date('2001-02-28')) == 0"));
  EXPECT_TRUE(Check("is_null(years_between(member.birth_date, as_of))", 2));
}

}  // namespace
}  // namespace fupin::rules
