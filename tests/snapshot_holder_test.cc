// The snapshot holder with real threads: many readers while deltas and refreshes land, a
// refresh that fails (the store file gone) leaving the old snapshot answering
// (analytics/snapshot_holder.h).
#include "analytics/snapshot_holder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "analytics/query.h"
#include "edit_fixture.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;

// Households by housing_safe x water_safe from the snapshot's cube.
std::map<std::pair<std::string, std::string>, int64_t> Conditions(const analytics::Snapshot& s) {
  auto q = analytics::RunQuery(s, {{"households"}, {"housing_safe", "water_safe"}, {}});
  EXPECT_TRUE(q) << q.error().ToString();
  std::map<std::pair<std::string, std::string>, int64_t> out;
  if (q)
    for (const auto& row : q->rows) out[{row[0], row[1]}] = std::stoll(row[2]);
  return out;
}

// The delta that sets both conditions of `hid` to `value` ("0" or "1") at `version`.
analytics::HouseholdDelta Both(const analytics::Snapshot& s, const std::string& hid,
                               const std::string& value, int64_t version) {
  analytics::HouseholdDelta d;
  d.record = s.Record(s.Find(hid));
  d.record.dims[analytics::kHousingSafe] = value;
  d.record.dims[analytics::kWaterSafe] = value;
  if (value == "0") d.flags.emplace(std::vector<std::pair<std::string, uint16_t>>{{"T_RULE", 1}});
  if (value == "1") d.flags.emplace();
  d.version = version;
  return d;
}

TEST(SnapshotHolderTest, ReadersNeverSeeHalfAChangeWhileDeltasAndRefreshesLand) {
  test::EditWorld world(30);
  const int64_t total = static_cast<int64_t>(world.households.size()) + 1;
  analytics::Snapshot initial = world.Build();
  analytics::SnapshotHolder holder(std::move(initial));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int> bad{0};
  auto reader = [&] {
    while (!stop) {
      auto view = holder.Read();
      const auto c = Conditions(*view);
      int64_t sum = 0;
      for (const auto& [k, n] : c) sum += n;
      // Both conditions always change together: a mixed pair or a household missing from
      // the total would be half a change.
      if (sum != total || c.contains({"0", "1"}) || c.contains({"1", "0"})) ++bad;
      // Flags move with the rows: every household with unsafe housing carries T_RULE.
      auto flagged = analytics::RunQuery(*view, {{"flagged_households"}, {}, {}});
      const int64_t unsafe = c.contains({"0", "0"}) ? c.at({"0", "0"}) : 0;
      if (!flagged || std::stoll(flagged->rows.at(0).at(0)) < unsafe) ++bad;
      ++reads;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 6; ++i) readers.emplace_back(reader);
  // Deltas on one thread, refreshes (one of which fails) on another.
  std::thread refresher([&] {
    auto store = world.Open();
    // Something to refresh: the store's flags change (a rule run).
    for (int i = 0; i < 3; ++i) {
      rules::RunOptions ro;
      ro.actor.user = "test";
      ASSERT_TRUE(rules::RunRules(*store, *world.rules, ro));
      ASSERT_TRUE(holder.Refresh(*store).ok());
    }
  });
  int64_t version = 1;
  for (int round = 0; round < 40; ++round) {
    std::vector<analytics::HouseholdDelta> deltas;
    {
      auto view = holder.Read();
      for (size_t i = 0; i < world.households.size(); i += 3)
        deltas.push_back(Both(*view, world.households[i], round % 2 ? "1" : "0", version));
    }
    ++version;
    ASSERT_TRUE(holder.Apply(std::move(deltas)).ok());
  }
  refresher.join();
  while (reads < 200) std::this_thread::yield();
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(holder.refreshes(), 3);
  EXPECT_EQ(holder.applied(), 40 * ((static_cast<int64_t>(world.households.size()) + 2) / 3));
  // The last round (round 39 sets "1") survived the refreshes.
  auto view = holder.Read();
  const auto c = Conditions(*view);
  EXPECT_EQ(c.at({"1", "1"}), total);
}

TEST(SnapshotHolderTest, AnOlderDeltaNeverReplacesANewerOne) {
  test::EditWorld world(3);
  analytics::SnapshotHolder holder(world.Build());
  std::vector<analytics::HouseholdDelta> newer, older;
  {
    auto view = holder.Read();
    newer.push_back(Both(*view, world.households[0], "0", 5));
    older.push_back(Both(*view, world.households[0], "1", 4));
  }
  ASSERT_TRUE(holder.Apply(std::move(newer)).ok());
  ASSERT_TRUE(holder.Apply(std::move(older)).ok());
  auto view = holder.Read();
  EXPECT_EQ(Conditions(*view).at({"0", "0"}), 1);
}

TEST(SnapshotHolderTest, AFailedRefreshLeavesTheOldSnapshotAnswering) {
  test::EditWorld world(10);
  analytics::SnapshotHolder holder(world.Build());
  auto store = world.Open();
  const auto before = Conditions(*holder.Read());
  // The store moves on (an import of registry files: a full build), then its file
  // disappears from under the path. (A failing incremental refresh: snapshot_refresh_test.)
  std::vector<test::Row> rows = {
      test::Household(world.households[0], world.ids[0][0], std::string(test::kVillage))};
  rows[0]["status"] = "2";
  rows[0]["exit_year"] = "2018";
  rows[0]["members"] = "2";
  rows[0]["income_year"] = "2019";
  rows[0]["income_wage"] = "13000";
  test::WriteFile(world.dir / "again" / "households.csv", test::Csv("households", rows));
  ASSERT_TRUE(exchange::ImportPath(*store, world.dir / "again", {}));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop)
      if (Conditions(*holder.Read()) != before) ++bad;
  });
  const fs::path moved = world.dir / "moved.db";
  fs::rename(world.db, moved);
  const Status failed = holder.Refresh(*store);
  fs::rename(moved, world.db);
  stop = true;
  reader.join();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(holder.refreshes(), 0);
  EXPECT_EQ(Conditions(*holder.Read()), before);
  // With the file back the refresh goes through.
  const Status ok = holder.Refresh(*store);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(holder.refreshes(), 1);
  // And a second one finds nothing to do.
  EXPECT_TRUE(holder.Refresh(*store).ok());
  EXPECT_EQ(holder.refreshes(), 1);
}

}  // namespace
}  // namespace fupin
