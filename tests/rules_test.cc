// The rules over a generated province (every planted case found by its rule) and the life of
// flags across runs (verified and dismissed kept, closed when no longer true, reopened when
// true again), on a real SQLite file through the real import and linker.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "exchange/import.h"
#include "gen/generator.h"
#include "link/linker.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;

struct Planted {
  std::string kind, household_id, id_number;
};

std::vector<Planted> ReadPlanted(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Planted> out;
  while (std::getline(in, line)) {
    std::stringstream s(line);
    Planted p;
    std::getline(s, p.kind, ',');
    std::getline(s, p.household_id, ',');
    std::getline(s, p.id_number, ',');
    out.push_back(std::move(p));
  }
  return out;
}

// Writes the CSV `text` to `out` without its data row `row` (1 = the first after the header):
// a department's next snapshot with one record gone.
void WriteWithoutRow(const std::string& text, int64_t row, const fs::path& out) {
  std::istringstream lines(text);
  std::string line, without;
  for (int64_t i = 0; std::getline(lines, line); ++i)
    if (i != row) without += line + "\n";
  test::WriteFile(out, without);
}

// The rule that must find each planted kind (docs/rules.md).
const std::map<std::string, std::string>& RuleOfKind() {
  static const std::map<std::string, std::string> m = {
      {"vehicle_owner", "EXC_VEHICLE"},
      {"business_owner", "EXC_BUSINESS"},
      {"property_owner", "EXC_PROPERTY"},
      {"public_servant", "EXC_PUBLIC_SERVANT"},
      {"died_active", "EXC_DECEASED"},
      {"exit_ready", "EXIT_READY"},
      {"at_risk", "RISK_UNSTABLE"},
      {"exited_not_secured", "RISK_NOT_SECURED"},
      {"student_no_subsidy", "GAP_STUDENT_AID"},
      {"dibao_missing", "GAP_DIBAO"},
      {"uninsured", "GAP_UNINSURED"},
      {"child_out_of_school", "GAP_SCHOOL"},
      {"member_count_mismatch", "DQ_MEMBER_COUNT"},
      {"two_households", "DQ_TWO_HOUSEHOLDS"},
  };
  return m;
}

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gen::GenOptions options;
    options.scale = 0.01;
    options.seed = 7;
    options.out = tmp_ / "batch";
    auto generated = gen::Generate(options);
    ASSERT_TRUE(generated) << generated.error().ToString();
    Open();
    Import(options.out);
    Link();
    auto set = rules::DefaultRuleSet();
    ASSERT_TRUE(set) << set.error().ToString();
    rules_ = std::move(*set);
  }
  void Open() {
    store_.reset();
    auto s = store::OpenSqliteStore(tmp_ / "f.db");
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
  }
  void Import(const fs::path& dir) {
    auto s = exchange::ImportPath(*store_, dir, {});
    ASSERT_TRUE(s) << s.error().ToString();
    ASSERT_EQ(s->rows_rejected, 0);
  }
  void Link() {
    link::LinkOptions o;
    o.actor.user = "test";
    auto s = link::RunLinker(*store_, o);
    ASSERT_TRUE(s) << s.error().ToString();
  }
  rules::RunReport Run() {
    rules::RunOptions o;
    o.actor.user = "test";
    auto r = rules::RunRules(*store_, rules_, o);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : rules::RunReport{};
  }
  std::vector<store::FlagRow> Flags(const store::FlagFilter& filter = {}) {
    std::vector<store::FlagRow> out;
    EXPECT_TRUE(store_->Rules()
                    .ForEachFlag(filter,
                                 [&](const store::FlagRow& r) {
                                   out.push_back(r);
                                   return OkStatus();
                                 })
                    .ok());
    return out;
  }

  test::TempDir tmp_;
  std::unique_ptr<store::Store> store_;
  rules::RuleSet rules_;
};

TEST_F(RulesTest, EveryPlantedCaseIsFoundByItsRule) {
  const rules::RunReport report = Run();
  EXPECT_EQ(report.outcome.closed, 0);
  EXPECT_EQ(report.as_of, "2019-12-31");
  std::set<std::tuple<std::string, std::string, std::string>> raised;
  std::map<std::string, int64_t> per_rule;
  for (const store::FlagRow& f : Flags()) {
    raised.insert({f.flag.rule, f.flag.household_id, f.flag.id_number});
    ++per_rule[f.flag.rule];
    EXPECT_EQ(f.state, store::FlagState::kOpen);
    EXPECT_FALSE(f.flag.evidence_zh.empty());
    EXPECT_FALSE(f.flag.evidence_en.empty());
  }
  const std::vector<Planted> planted = ReadPlanted(tmp_ / "batch" / "_truth" / "planted.csv");
  ASSERT_GT(planted.size(), 300u);
  std::map<std::string, int> found, total;
  std::map<std::string, std::set<std::string>> planted_households;
  for (const Planted& p : planted) {
    const auto it = RuleOfKind().find(p.kind);
    ASSERT_NE(it, RuleOfKind().end()) << "a planted kind without a rule: " << p.kind;
    ++total[p.kind];
    planted_households[it->second].insert(p.household_id);
    // Household-scope rules flag the household; person-scope rules the planted person.
    bool hit = raised.count({it->second, p.household_id, ""}) > 0 ||
               (!p.id_number.empty() && raised.count({it->second, p.household_id, p.id_number}));
    if (hit) {
      ++found[p.kind];
    } else {
      ADD_FAILURE() << p.kind << " in household " << p.household_id << " (" << p.id_number
                    << ") not flagged by " << it->second;
    }
  }
  EXPECT_EQ(found, total);  // recall 100% for every planted kind
  // Rules whose only cause in the generated data is their planted kind: every flag is one,
  // except where the linker tied a department record to the wrong person (never by an
  // exact ID).
  std::set<std::pair<std::string, int64_t>> exact;
  ASSERT_TRUE(store_->Links()
                  .ForEachLinkRow([&](const store::LinkExportRow& r) {
                    if (r.stage == store::LinkStage::kExact)
                      exact.insert({std::string(r.dataset), r.source_row});
                    return OkStatus();
                  })
                  .ok());
  int outside = 0, flags = 0;
  for (const char* rule : {"EXC_VEHICLE", "EXC_BUSINESS", "EXC_PROPERTY", "EXC_PUBLIC_SERVANT",
                           "EXC_DECEASED", "EXIT_READY", "GAP_STUDENT_AID", "GAP_SCHOOL",
                           "GAP_DIBAO", "GAP_UNINSURED", "DQ_MEMBER_COUNT", "RISK_NOT_SECURED"}) {
    for (const store::FlagRow& f : Flags({"", rule, std::nullopt})) {
      ++flags;
      if (planted_households[rule].count(f.flag.household_id)) continue;
      ++outside;
      EXPECT_FALSE(f.flag.evidence_dataset.empty()) << rule << ": " << f.flag.evidence_en;
      EXPECT_FALSE(exact.count({f.flag.evidence_dataset, f.flag.evidence_row}))
          << rule << " raised outside the planted cases on an exact link: " << f.flag.evidence_en;
    }
  }
  EXPECT_LE(outside * 100, flags);  // precision at least 99%
  // The generated registry is clean otherwise.
  EXPECT_EQ(per_rule["DQ_INVALID_ID"], 0);
  EXPECT_EQ(per_rule["DQ_IMPOSSIBLE_AGE"], 0);
  EXPECT_EQ(per_rule["GAP_DISABILITY_CERT"], 0);
  EXPECT_EQ(per_rule["GAP_MEDICAL_AID"], 0);
  // The report counts what the store holds.
  int64_t reported = 0;
  for (int64_t n : report.flags_by_rule) reported += n;
  EXPECT_EQ(reported, static_cast<int64_t>(raised.size()));
  EXPECT_EQ(report.outcome.opened, reported);
}

TEST_F(RulesTest, FlagsKeepTheirStateCloseAndReopen) {
  const rules::RunReport first = Run();
  std::vector<store::FlagRow> vehicles = Flags({"", "EXC_VEHICLE", std::nullopt});
  ASSERT_GE(vehicles.size(), 2u);
  const store::FlagRow verified = vehicles[0];
  const store::FlagRow dismissed = vehicles[1];
  EXPECT_EQ(verified.flag.evidence_dataset, "vehicles");
  EXPECT_GT(verified.flag.evidence_row, 0);
  store::RulesStore& rs = store_->Rules();
  ASSERT_TRUE(rs.SetFlagState("EXC_VEHICLE", verified.flag.household_id, verified.flag.id_number,
                              store::FlagState::kVerified, "入户核实：有小轿车",
                              Actor{.user = "cadre1"})
                  .ok());
  ASSERT_TRUE(rs.SetFlagState("EXC_VEHICLE", dismissed.flag.household_id, dismissed.flag.id_number,
                              store::FlagState::kDismissed, "车辆已过户", Actor{.user = "cadre2"})
                  .ok());
  EXPECT_EQ(rs.SetFlagState("EXC_VEHICLE", "nope", "", store::FlagState::kVerified, "",
                            Actor{.user = "x"})
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(rs.SetFlagState("EXC_VEHICLE", verified.flag.household_id, verified.flag.id_number,
                            store::FlagState::kClosed, "", Actor{.user = "x"})
                .code(),
            StatusCode::kInvalidArgument);

  // The same data again: every flag holds, nothing new, states kept.
  const rules::RunReport second = Run();
  EXPECT_EQ(second.outcome.opened, 0);
  EXPECT_EQ(second.outcome.closed, 0);
  EXPECT_EQ(second.outcome.kept, first.outcome.opened);
  auto state_of = [&](const store::FlagRow& f) {
    for (const store::FlagRow& r : Flags({"", f.flag.rule, std::nullopt}))
      if (r.flag.household_id == f.flag.household_id && r.flag.id_number == f.flag.id_number)
        return r;
    ADD_FAILURE() << "flag gone";
    return store::FlagRow{};
  };
  EXPECT_EQ(state_of(verified).state, store::FlagState::kVerified);
  EXPECT_EQ(state_of(verified).note, "入户核实：有小轿车");
  EXPECT_EQ(state_of(verified).decided_by, "cadre1");
  EXPECT_EQ(state_of(dismissed).state, store::FlagState::kDismissed);
  EXPECT_EQ(state_of(verified).first_run, first.outcome.run_id);
  EXPECT_EQ(state_of(verified).updated_run, first.outcome.run_id);  // unchanged since

  // A new vehicles snapshot without the verified flag's car: that flag closes, the other
  // keeps its verdict.
  const std::string text = test::ReadFile(tmp_ / "batch" / "vehicles.csv");
  WriteWithoutRow(text, verified.flag.evidence_row, tmp_ / "batch2" / "vehicles.csv");
  Import(tmp_ / "batch2");
  Link();
  const rules::RunReport third = Run();
  EXPECT_EQ(third.outcome.closed, 1);
  EXPECT_EQ(third.outcome.opened, 0);
  EXPECT_EQ(state_of(verified).state, store::FlagState::kClosed);
  EXPECT_EQ(state_of(dismissed).state, store::FlagState::kDismissed);
  EXPECT_EQ(rs.SetFlagState("EXC_VEHICLE", verified.flag.household_id, verified.flag.id_number,
                            store::FlagState::kVerified, "", Actor{.user = "x"})
                .code(),
            StatusCode::kFailedPrecondition);

  // The car is back: the flag holds again and is open for a new look.
  test::WriteFile(tmp_ / "batch3" / "vehicles.csv", text);
  Import(tmp_ / "batch3");
  Link();
  const rules::RunReport fourth = Run();
  EXPECT_EQ(fourth.outcome.reopened, 1);
  EXPECT_EQ(fourth.outcome.closed, 0);
  EXPECT_EQ(state_of(verified).state, store::FlagState::kOpen);
  EXPECT_EQ(Flags({"", "", store::FlagState::kClosed}).size(), 0u);
}

TEST_F(RulesTest, RegionFilterSelectsHouseholdsUnderTheRegion) {
  Run();
  const std::vector<store::FlagRow> all = Flags();
  const std::vector<store::FlagRow> guiyang = Flags({"5201", "", std::nullopt});
  ASSERT_FALSE(guiyang.empty());
  EXPECT_LT(guiyang.size(), all.size());
  size_t expected = 0;
  for (const store::FlagRow& f : all) expected += f.flag.village_code.starts_with("5201");
  EXPECT_EQ(guiyang.size(), expected);
}

TEST_F(RulesTest, HouseholdFilterSelectsExactlyThatHouseholdsFlags) {
  Run();
  const std::vector<store::FlagRow> all = Flags();
  ASSERT_FALSE(all.empty());
  const std::string hid = all.back().flag.household_id;
  store::FlagFilter filter;
  filter.household_id = hid;
  const std::vector<store::FlagRow> one = Flags(filter);
  size_t expected = 0;
  for (const store::FlagRow& f : all) expected += f.flag.household_id == hid;
  ASSERT_EQ(one.size(), expected);
  for (const store::FlagRow& f : one) EXPECT_EQ(f.flag.household_id, hid);
  filter.household_id = "no such household";
  EXPECT_TRUE(Flags(filter).empty());
}

TEST_F(RulesTest, ARunOfOtherRulesLeavesFlagsAloneAndGoneRowsWarn) {
  const rules::RunReport first = Run();
  const size_t before = Flags({"", "", store::FlagState::kOpen}).size();
  ASSERT_GT(before, 0u);
  // A rules file with one rule: only that rule's flags can close.
  auto one = rules::ParseRuleSet(
      "version = 1\n[[rule]]\nid = 'ONLY'\nname_zh = 'x'\nname_en = 'x'\n"
      "category = 'data_quality'\nseverity = 'low'\nscope = 'household'\n"
      "condition = 'household.members > 100'\nexplain_zh = 'x'\nexplain_en = 'x'\n",
      "one.toml");
  ASSERT_TRUE(one) << one.error().ToString();
  rules::RunOptions o;
  auto r = rules::RunRules(*store_, *one, o);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->outcome.closed, 0);
  EXPECT_EQ(Flags({"", "", store::FlagState::kOpen}).size(), before);

  // A new vehicles snapshot imported but not linked yet: the run warns and leaves the gone
  // rows out (their flags close).
  const std::vector<store::FlagRow> vehicles = Flags({"", "EXC_VEHICLE", std::nullopt});
  ASSERT_FALSE(vehicles.empty());
  WriteWithoutRow(test::ReadFile(tmp_ / "batch" / "vehicles.csv"), vehicles[0].flag.evidence_row,
                  tmp_ / "batch2" / "vehicles.csv");
  Import(tmp_ / "batch2");
  const rules::RunReport second = Run();
  bool warned = false;
  for (const std::string& w : second.warnings)
    warned |= w.find("run fupin link") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_GE(second.outcome.closed, 1);
  EXPECT_LT(second.outcome.closed, first.outcome.opened / 10);
}

}  // namespace
}  // namespace fupin
