// The snapshot keeps up with edits and flag decisions without rebuilding: edits made through
// another connection (as `fupin household edit` in another process, or another server
// thread's store) reach a SnapshotHolder's and a snapshot file's snapshot by reading just
// the edited households; a flag decision refreshes only flags; an import of registry files
// still rebuilds. Every refreshed snapshot is compared, table by table, with a fresh
// BuildSnapshot of the same store (analytics/snapshot.h, analytics/snapshot_holder.h).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analytics/query.h"
#include "analytics/snapshot.h"
#include "analytics/snapshot_holder.h"
#include "edit_fixture.h"
#include "service/household_edit.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using service::HouseholdEdit;

Actor Cadre() {
  Actor a;
  a.user = "cadre1";
  a.role = Role::kCadre;
  a.region = std::string(test::kVillage);
  return a;
}

// The snapshot's tables as CSV lines, sorted (appended households come last in a
// snapshot that took upserts, in village order in a fresh one).
std::map<std::string, std::vector<std::string>> Tables(const analytics::Snapshot& s,
                                                       const fs::path& dir) {
  EXPECT_TRUE(analytics::ExportSnapshotCsv(s, dir.string()).ok());
  std::map<std::string, std::vector<std::string>> out;
  for (const char* name : {"households.csv", "members.csv", "flags.csv"}) {
    std::ifstream in(dir / name);
    std::string line;
    while (std::getline(in, line)) out[name].push_back(line);
    std::sort(out[name].begin(), out[name].end());
  }
  return out;
}

// Answers to questions the dashboard asks, cube and scan alike.
std::vector<std::vector<std::string>> Answers(const analytics::Snapshot& s) {
  std::vector<std::vector<std::string>> out;
  const std::vector<analytics::QuerySpec> specs = {
      {{"households", "persons"}, {"status"}, {}},
      {{"households"}, {"housing_safe", "water_safe"}, {}},
      {{"flagged_households", "flags"}, {}, {}},
      {{"persons"}, {"health"}, {}},
      {{"median_income", "households"}, {"county"}, {}},
  };
  for (analytics::QuerySpec spec : specs)
    for (bool cube : {true, false}) {
      spec.use_cube = cube;
      auto q = analytics::RunQuery(s, spec);
      EXPECT_TRUE(q) << q.error().ToString();
      if (!q) continue;
      for (auto row : q->rows) {
        row.push_back(cube ? "cube" : "scan");
        out.push_back(std::move(row));
      }
    }
  return out;
}

class SnapshotRefreshTest : public ::testing::Test {
 protected:
  SnapshotRefreshTest() : holder_(world_.Build()), other_(world_.Build()), store_(world_.Open()) {}

  int64_t Version(const std::string& hid) {
    auto head = store_->Edits().Head(hid);
    EXPECT_TRUE(head && *head);
    return head && *head ? (*head)->version : -1;
  }
  // An edit made elsewhere: its own connection and its own holder (another process).
  void EditElsewhere(const std::string& hid, HouseholdEdit e) {
    auto store = world_.Open();
    e.version = Version(hid);
    auto out = service::EditHousehold(*store, other_, *world_.rules, Cadre(), hid, e, Lang::kEn);
    ASSERT_TRUE(out) << out.error().ToString();
  }
  // The holder's snapshot is what a fresh build of the store makes.
  void ExpectLikeAFreshBuild(const char* where) {
    SCOPED_TRACE(where);
    const analytics::Snapshot fresh = world_.Build();
    std::map<std::string, std::vector<std::string>> got;
    std::vector<std::vector<std::string>> answers;
    {
      auto view = holder_.Read();
      got = Tables(*view, world_.dir / "got");
      answers = Answers(*view);
      EXPECT_EQ(view->version, fresh.version);
    }
    EXPECT_EQ(got, Tables(fresh, world_.dir / "want"));
    EXPECT_EQ(answers, Answers(fresh));
  }
  std::string HousingOf(const std::string& hid) {
    auto view = holder_.Read();
    const uint32_t h = view->Find(hid);
    return h == UINT32_MAX ? "<none>" : view->Record(h).dims[analytics::kHousingSafe];
  }

  test::EditWorld world_;
  analytics::SnapshotHolder holder_;
  analytics::SnapshotHolder other_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(SnapshotRefreshTest, AnEditFromAnotherConnectionShowsWithoutARebuild) {
  const std::string hid = world_.households[0];
  EditElsewhere(hid, {0, "返贫监测", {{"status", "1"}, {"income_wage", "800"}}, {}, {}, {}, ""});
  EditElsewhere(world_.households[1],
                {0, "", {}, {{world_.ids[1][0], {{"health", "3"}}}}, {}, {}, ""});
  {
    auto view = holder_.Read();
    EXPECT_EQ(view->Record(view->Find(hid)).dims[analytics::kStatus], "2");  // not seen yet
  }
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  const auto stats = holder_.refresh_stats();
  EXPECT_EQ(stats.full_builds, 0);
  EXPECT_EQ(stats.incremental, 1);
  EXPECT_EQ(stats.last, "edits");
  {
    auto view = holder_.Read();
    EXPECT_EQ(view->Record(view->Find(hid)).dims[analytics::kStatus], "1");
  }
  ExpectLikeAFreshBuild("after two edits elsewhere");
  // Nothing moved since: nothing is refreshed.
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().refreshes, 1);
}

TEST_F(SnapshotRefreshTest, EditsAppliedAsDeltasOnlyMoveTheWatermark) {
  // Through the holder itself (a server's own edits): applied at once as deltas; the refresh
  // then has nothing to read or copy.
  for (int i : {2, 3}) {
    const std::string hid = world_.households[i];
    auto out = service::EditHousehold(*store_, holder_, *world_.rules, Cadre(), hid,
                                      {Version(hid), "", {{"housing_safe", "0"}}, {}, {}, {}, ""},
                                      Lang::kEn);
    ASSERT_TRUE(out) << out.error().ToString();
    EXPECT_EQ(out->flags_raised, 1);
    EXPECT_EQ(HousingOf(hid), "0");
  }
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  auto stats = holder_.refresh_stats();
  EXPECT_EQ(stats.last, "deltas");
  EXPECT_EQ(stats.refreshes, 1);
  EXPECT_EQ(stats.incremental, 0);
  EXPECT_EQ(stats.full_builds, 0);
  ExpectLikeAFreshBuild("after edits applied as deltas");
  // One more through the holder and one elsewhere: the gap makes the refresh read both
  // households again, the one the holder has already harmlessly.
  const std::string mine = world_.households[4], theirs = world_.households[5];
  auto out =
      service::EditHousehold(*store_, holder_, *world_.rules, Cadre(), mine,
                             {Version(mine), "", {{"water_safe", "0"}}, {}, {}, {}, ""}, Lang::kEn);
  ASSERT_TRUE(out) << out.error().ToString();
  EditElsewhere(theirs, {0, "", {{"income_wage", "700"}}, {}, {}, {}, ""});
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  stats = holder_.refresh_stats();
  EXPECT_EQ(stats.last, "edits");
  EXPECT_EQ(stats.incremental, 1);
  EXPECT_EQ(stats.full_builds, 0);
  ExpectLikeAFreshBuild("after an edit applied and one read");
}

// An edit committed whose delta is on its way (Expect, as EditHousehold does between its
// commit and Apply) is not read from the store by a refresh meanwhile; once forgotten (its
// delta will not come), the next refresh reads it.
TEST_F(SnapshotRefreshTest, AnEditExpectedAsADeltaIsNotReadMeanwhile) {
  const std::string hid = world_.households[6];
  EditElsewhere(hid, {0, "", {{"income_wage", "600"}}, {}, {}, {}, ""});
  auto version = store_->GetDataVersion();
  ASSERT_TRUE(version);
  holder_.Expect(version->edits);
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().incremental, 0);
  EXPECT_EQ(holder_.refresh_stats().full_builds, 0);
  holder_.Forget(version->edits);
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().incremental, 1);
  EXPECT_EQ(holder_.refresh_stats().last, "edits");
  ExpectLikeAFreshBuild("after an expected edit was forgotten");
}

TEST_F(SnapshotRefreshTest, AnEditRaisingAFlagElsewhereBringsTheFlag) {
  const std::string hid = world_.households[3];
  EditElsewhere(hid, {0, "", {{"housing_safe", "0"}}, {}, {}, {}, ""});
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "edits");
  EXPECT_EQ(holder_.refresh_stats().full_builds, 0);
  {
    auto view = holder_.Read();
    const auto counts = view->FlagCounts(view->Find(hid));
    EXPECT_NE(std::find(counts.begin(), counts.end(),
                        std::pair<std::string, uint16_t>{"RISK_NOT_SECURED", 1}),
              counts.end());
  }
  ExpectLikeAFreshBuild("after an edit raising a flag");
}

TEST_F(SnapshotRefreshTest, AMemberLeavingElsewhereReadsTheLinksAgain) {
  const std::string hid = world_.households[4];
  EditElsewhere(hid, {0,
                      "外嫁",
                      {},
                      {{world_.ids[4][1], {{"left_reason", "2"}, {"left_date", "2020-03-01"}}}},
                      {},
                      {},
                      ""});
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().full_builds, 0);
  EXPECT_EQ(holder_.refresh_stats().last, "edits,links");
  {
    auto view = holder_.Read();
    const uint32_t h = view->Find(hid);
    ASSERT_NE(h, UINT32_MAX);
    EXPECT_EQ(view->member_begin[h + 1] - view->member_begin[h], 1u);
  }
  ExpectLikeAFreshBuild("after a member left");
}

TEST_F(SnapshotRefreshTest, AFlagDecisionRefreshesOnlyFlags) {
  const std::string hid = world_.households[5];
  EditElsewhere(hid, {0, "", {{"housing_safe", "0"}}, {}, {}, {}, ""});
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  ASSERT_EQ(holder_.refresh_stats().last, "edits");
  {
    auto view = holder_.Read();
    const auto counts = view->FlagCounts(view->Find(hid));
    ASSERT_NE(std::find(counts.begin(), counts.end(),
                        std::pair<std::string, uint16_t>{"RISK_NOT_SECURED", 1}),
              counts.end());
  }
  // A person dismisses the flag: only flags move.
  ASSERT_TRUE(store_->Rules()
                  .SetFlagState("RISK_NOT_SECURED", hid, "", store::FlagState::kDismissed,
                                "checked on site", Cadre())
                  .ok());
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  const auto stats = holder_.refresh_stats();
  EXPECT_EQ(stats.last, "flags");
  EXPECT_EQ(stats.full_builds, 0);
  EXPECT_EQ(stats.incremental, 2);
  {
    auto view = holder_.Read();
    for (const auto& [rule, n] : view->FlagCounts(view->Find(hid)))
      EXPECT_NE(rule, "RISK_NOT_SECURED") << n;  // dismissed: no longer active
  }
  ExpectLikeAFreshBuild("after a flag decision");
}

TEST_F(SnapshotRefreshTest, AFailedIncrementalRefreshLeavesTheServingSnapshot) {
  const std::string hid = world_.households[8];
  EditElsewhere(hid, {0, "", {{"housing_safe", "0"}}, {}, {}, {}, ""});
  const std::vector<std::vector<std::string>> before = Answers(*holder_.Read());
  // The households cannot be read: the refresh of the copy fails half-way.
  test::Query(world_.db, "ALTER TABLE households RENAME TO households_away");
  const Status failed = holder_.Refresh(*store_);
  test::Query(world_.db, "ALTER TABLE households_away RENAME TO households");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(holder_.refresh_stats().failed, 1);
  EXPECT_EQ(holder_.refresh_stats().refreshes, 0);
  EXPECT_EQ(Answers(*holder_.Read()), before);
  EXPECT_EQ(HousingOf(hid), "1");
  // The next one reads the same edit again.
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "edits");
  EXPECT_EQ(HousingOf(hid), "0");
  ExpectLikeAFreshBuild("after a failed refresh and a good one");
}

TEST_F(SnapshotRefreshTest, ManyEditedHouseholdsAreRebuiltNotPatched) {
  EditElsewhere(world_.households[9], {0, "", {{"income_wage", "100"}}, {}, {}, {}, ""});
  EditElsewhere(world_.households[10], {0, "", {{"income_wage", "200"}}, {}, {}, {}, ""});
  analytics::BuildOptions options;
  options.rebuild_after_edits = 1;  // two edited households are "many"
  ASSERT_TRUE(holder_.Refresh(*store_, options).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "full");
  EXPECT_EQ(holder_.refresh_stats().full_builds, 1);
  ExpectLikeAFreshBuild("after a rebuild for many edits");
  // Under the limit they are patched.
  EditElsewhere(world_.households[11], {0, "", {{"income_wage", "300"}}, {}, {}, {}, ""});
  ASSERT_TRUE(holder_.Refresh(*store_, options).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "edits");
  EXPECT_EQ(holder_.refresh_stats().full_builds, 1);
}

TEST_F(SnapshotRefreshTest, AnImportOfRegistryFilesStillRebuilds) {
  const std::string hid = world_.households[6];
  EditElsewhere(hid, {0, "", {{"income_wage", "500"}}, {}, {}, {}, ""});
  std::vector<test::Row> rows = {
      test::Household(hid, world_.ids[6][0], std::string(test::kVillage))};
  rows[0]["status"] = "4";
  rows[0]["exit_year"] = "2018";
  rows[0]["members"] = "2";
  rows[0]["income_year"] = "2019";
  rows[0]["income_wage"] = "13000";
  test::WriteFile(world_.dir / "again" / "households.csv", test::Csv("households", rows));
  ASSERT_TRUE(exchange::ImportPath(*store_, world_.dir / "again", {}));
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  const auto stats = holder_.refresh_stats();
  EXPECT_EQ(stats.full_builds, 1);
  EXPECT_EQ(stats.incremental, 0);
  EXPECT_EQ(stats.last, "full");
  ExpectLikeAFreshBuild("after an import");
}

TEST_F(SnapshotRefreshTest, TheSnapshotFileSeesAnotherProcessesEditAndOldFormatsAreRebuilt) {
  const std::string db = world_.db.string();
  std::string how;
  {
    auto opened = analytics::OpenSnapshot(*store_, db, {}, &how);
    ASSERT_TRUE(opened) << opened.error().ToString();
    EXPECT_EQ(how, "built");
  }
  const std::string hid = world_.households[7];
  EditElsewhere(hid, {0, "", {{"water_safe", "0"}}, {}, {}, {}, ""});
  auto opened = analytics::OpenSnapshot(*store_, db, {}, &how);
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(how, "refreshed edits");
  const analytics::Snapshot fresh = world_.Build();
  EXPECT_EQ(opened->version, fresh.version);
  EXPECT_EQ(Tables(*opened, world_.dir / "got"), Tables(fresh, world_.dir / "want"));
  EXPECT_EQ(Answers(*opened), Answers(fresh));
  // Saved with the watermark: opened again, nothing to read.
  ASSERT_TRUE(analytics::OpenSnapshot(*store_, db, {}, &how));
  EXPECT_EQ(how, "loaded");
  // A file of the previous format (no edit watermark) is not misread: it is rebuilt.
  {
    std::fstream f(db + ".snapshot", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    const uint32_t old_format = 3;
    f.write(reinterpret_cast<const char*>(&old_format), sizeof old_format);
  }
  ASSERT_TRUE(analytics::OpenSnapshot(*store_, db, {}, &how));
  EXPECT_EQ(how, "built");
}

}  // namespace
}  // namespace fupin
