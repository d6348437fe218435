// A small registry for the edit, change-feed and snapshot-holder tests: `households`
// households in test::kVillage (H0000, H0001, ...) and one in test::kZunyiVillage (Z0000),
// each with two members, imported into a real SQLite file, the default rules run over it,
// and its analytics snapshot built. Every household starts exited (status 2) with safe
// housing and water, so RISK_NOT_SECURED holds nowhere until an edit makes housing unsafe.
// Not thread-safe to set up; the stores it opens are each for one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "analytics/snapshot.h"
#include "exchange/import.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin::test {

struct EditWorld {
  TempDir dir;
  std::filesystem::path db;
  std::vector<std::string> households;        // ids in test::kVillage
  std::vector<std::vector<std::string>> ids;  // member ID numbers per household, ascending
  std::unique_ptr<rules::RuleSet> rules;

  explicit EditWorld(int count = 20) : db(dir / "edit.db") {
    std::vector<Row> hh, mm;
    auto add = [&](const std::string& hid, std::string_view village, int n) {
      const std::string head = MakeId(kCounty, "19700101", 2 * n + 1);
      const std::string spouse = MakeId(kCounty, "19720101", 2 * n + 2);
      Row h = Household(hid, head, std::string(village));
      h["status"] = "2";
      h["exit_year"] = "2018";
      h["housing_safe"] = "1";
      h["water_safe"] = "1";
      h["members"] = "2";
      h["income_year"] = "2019";
      h["income_wage"] = "12000";
      hh.push_back(h);
      Row a = Member(head, hid, "张伟");
      a["relation"] = "1";
      a["birth_date"] = "1970-01-01";
      a["sex"] = "1";
      Row b = Member(spouse, hid, "李芳");
      b["relation"] = "2";
      b["birth_date"] = "1972-01-01";
      b["sex"] = "2";
      mm.push_back(a);
      mm.push_back(b);
      std::vector<std::string> both = {head, spouse};
      std::sort(both.begin(), both.end());
      return both;
    };
    for (int i = 0; i < count; ++i) {
      households.push_back(fmt::format("H{:04d}", i));
      ids.push_back(add(households.back(), kVillage, i));
    }
    add("Z0000", kZunyiVillage, count);
    WriteFile(dir / "batch" / "households.csv", Csv("households", hh));
    WriteFile(dir / "batch" / "members.csv", Csv("members", mm));
    auto store = Open();
    auto imported = exchange::ImportPath(*store, dir / "batch", {});
    EXPECT_TRUE(imported) << imported.error().ToString();
    auto set = rules::DefaultRuleSet();
    EXPECT_TRUE(set) << set.error().ToString();
    rules = std::make_unique<rules::RuleSet>(std::move(*set));
    rules::RunOptions ro;
    ro.actor.user = "test";
    auto run = rules::RunRules(*store, *rules, ro);
    EXPECT_TRUE(run) << run.error().ToString();
  }

  std::unique_ptr<store::Store> Open() const {
    auto store = store::OpenSqliteStore(db);
    EXPECT_TRUE(store) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  analytics::Snapshot Build() const {
    auto store = Open();
    auto snap = analytics::BuildSnapshot(*store);
    EXPECT_TRUE(snap) << snap.error().ToString();
    return snap ? std::move(*snap) : analytics::Snapshot{};
  }
};

}  // namespace fupin::test
