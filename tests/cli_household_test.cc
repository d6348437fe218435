// `fupin household edit|history` and `fupin changes` run as a user runs them: the real
// binary on a real SQLite file (src/cli/household_command.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fupin_process.h"
#include "test_files.h"

namespace fupin {
namespace {

TEST(CliHouseholdTest, EditWithVersionSeeItInHistoryChangesAndQuery) {
  test::TempDir dir;
  const std::string head = test::MakeId(test::kCounty, "19700101", 11);
  test::Row h = test::Household("H1", head, std::string(test::kVillage));
  h["status"] = "2";
  h["members"] = "1";
  test::Row m = test::Member(head, "H1", "王强");
  m["relation"] = "1";
  test::WriteFile(dir / "batch" / "households.csv", test::Csv("households", {h}));
  test::WriteFile(dir / "batch" / "members.csv", test::Csv("members", {m}));
  const std::string db = (dir / "f.db").string();
  const auto scratch = dir.path();
  ASSERT_EQ(test::RunFupin(scratch, {"import", (dir / "batch").string(), "--db", db}).exit_code, 0);
  auto history = test::RunFupin(scratch, {"household", "history", "H1", "--db", db, "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.Show();
  const int64_t version = nlohmann::json::parse(history.out).at("version").get<int64_t>();

  auto edit =
      test::RunFupin(scratch, {"--lang", "en", "household", "edit", "H1", "--db", db, "--version",
                               std::to_string(version), "--set", "status=未脱贫", "--reason",
                               "收入下降", "--member", head + ":health=3", "--json"});
  ASSERT_EQ(edit.exit_code, 0) << edit.Show();
  const auto outcome = nlohmann::json::parse(edit.out);
  EXPECT_GT(outcome.at("version").get<int64_t>(), version);
  EXPECT_EQ(outcome.at("changed").size(), 2u);

  // The same version again is stale: refused, exit 1, the message names the version.
  auto stale =
      test::RunFupin(scratch, {"--lang", "en", "household", "edit", "H1", "--db", db, "--version",
                               std::to_string(version), "--set", "income_wage=1"});
  EXPECT_EQ(stale.exit_code, 1) << stale.Show();
  EXPECT_NE(stale.err.find("read it again"), std::string::npos) << stale.err;
  // A field that may not be edited: refused, naming it.
  auto bad = test::RunFupin(scratch, {"--lang", "en", "household", "edit", "H1", "--db", db,
                                      "--version", "0", "--set", "village_code=520102016002"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("village_code"), std::string::npos) << bad.err;

  auto changes = test::RunFupin(scratch, {"changes", "--db", db, "--since", "0", "--json"});
  ASSERT_EQ(changes.exit_code, 0) << changes.Show();
  const auto feed = nlohmann::json::parse(changes.out);
  ASSERT_EQ(feed.at("changes").size(), 2u) << changes.out;
  bool member_masked = false;
  for (const auto& c : feed.at("changes")) {
    EXPECT_EQ(c.at("source"), "edit");
    EXPECT_EQ(c.at("reason"), "收入下降");
    if (c.at("entity") == "member") member_masked = c.at("member").get<std::string>() != head;
  }
  EXPECT_TRUE(member_masked);
  EXPECT_EQ(feed.at("next_cursor"), feed.at("changes").back().at("cursor"));
  EXPECT_EQ(changes.out.find(head), std::string::npos);  // the ID number never shown whole

  // The query answers from the edited registry.
  auto query = test::RunFupin(
      scratch, {"--lang", "en", "query", "--db", db, "--measure", "households", "--by", "status"});
  ASSERT_EQ(query.exit_code, 0) << query.Show();
  EXPECT_NE(query.out.find("not yet out of poverty"), std::string::npos) << query.out;
}

}  // namespace
}  // namespace fupin
