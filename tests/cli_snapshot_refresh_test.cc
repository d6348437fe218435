// `fupin query` after `fupin household edit` in another process, run as a user runs them:
// the saved snapshot reads just the edited household again ("refreshed edits"), not the
// whole registry, and its answer moves (analytics/snapshot.h OpenSnapshot).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fupin_process.h"
#include "test_files.h"

namespace fupin {
namespace {

TEST(CliSnapshotRefreshTest, AQueryAfterAnEditInAnotherProcessReadsOnlyTheEdit) {
  test::TempDir dir;
  std::vector<test::Row> hh, mm;
  for (int i = 0; i < 3; ++i) {
    const std::string hid = "H" + std::to_string(i);
    const std::string head = test::MakeId(test::kCounty, "19700101", 2 * i + 11);
    test::Row h = test::Household(hid, head, std::string(test::kVillage));
    h["status"] = "2";
    h["housing_safe"] = "1";
    h["members"] = "1";
    hh.push_back(h);
    test::Row m = test::Member(head, hid, "王强");
    m["relation"] = "1";
    mm.push_back(m);
  }
  test::WriteFile(dir / "batch" / "households.csv", test::Csv("households", hh));
  test::WriteFile(dir / "batch" / "members.csv", test::Csv("members", mm));
  const std::string db = (dir / "f.db").string();
  const auto scratch = dir.path();
  ASSERT_EQ(test::RunFupin(scratch, {"import", (dir / "batch").string(), "--db", db}).exit_code, 0);
  const std::vector<std::string> query = {
      "--lang",     "en",   "query",        "--db",     db,   "--measure",
      "households", "--by", "housing_safe", "--format", "csv"};
  auto first = test::RunFupin(scratch, query);
  ASSERT_EQ(first.exit_code, 0) << first.Show();
  EXPECT_NE(first.err.find("built"), std::string::npos) << first.err;

  auto edit = test::RunFupin(scratch, {"household", "edit", "H1", "--db", db, "--version", "0",
                                       "--set", "housing_safe=0"});
  ASSERT_EQ(edit.exit_code, 0) << edit.Show();

  auto second = test::RunFupin(scratch, query);
  ASSERT_EQ(second.exit_code, 0) << second.Show();
  EXPECT_NE(second.err.find("refreshed edits"), std::string::npos) << second.err;
  EXPECT_NE(first.out, second.out);
  // The same answer as a snapshot built from scratch.
  std::filesystem::remove(db + ".snapshot");
  auto fresh = test::RunFupin(scratch, query);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.Show();
  EXPECT_NE(fresh.err.find("built"), std::string::npos) << fresh.err;
  EXPECT_EQ(second.out, fresh.out);
}

}  // namespace
}  // namespace fupin
