// The change feed against a real SQLite file: paged while four threads edit, every change
// seen exactly once; scope by region and role; masking (service/changes.h).
#include "service/changes.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/id_number.h"
#include "edit_fixture.h"
#include "service/household_edit.h"

namespace fupin {
namespace {

Actor Make(Role role, std::string region, std::string user = "u") {
  Actor a;
  a.user = std::move(user);
  a.role = role;
  a.region = std::move(region);
  return a;
}

TEST(ChangesTest, PagesThroughConcurrentEditsSeeingEachExactlyOnce) {
  test::EditWorld world(20);
  analytics::SnapshotHolder holder(world.Build());
  const Actor official = Make(Role::kOfficial, "520000000000", "official");
  // Where the feed stands before the edits.
  int64_t start = 0;
  {
    auto store = world.Open();
    for (;;) {
      auto page = service::ChangesSince(*store, official, start, 1000);
      ASSERT_TRUE(page) << page.error().ToString();
      if (page->changes.empty()) break;
      start = page->next_cursor;
    }
  }
  constexpr int kThreads = 4, kEditsPerThread = 250;
  std::mutex mu;
  std::set<int64_t> committed;  // edit ids the writers got back
  std::atomic<int> writers_done{0};
  std::atomic<bool> failed{false};
  auto writer = [&](int t) {
    auto store = world.Open();
    for (int i = 0; i < kEditsPerThread && !failed; ++i) {
      // Each thread edits its own five households: no conflicts, only interleaving.
      const std::string& hid = world.households[static_cast<size_t>(t * 5 + i % 5)];
      auto head = store->Edits().Head(hid);
      if (!head || !*head) {
        failed = true;
        break;
      }
      service::HouseholdEdit e{(*head)->version,
                               fmt::format("t{} i{}", t, i),
                               {{"income_property", fmt::format("{}.{:02d}", i + 1, t)}},
                               {},
                               {},
                               {},
                               ""};
      auto out = service::EditHousehold(*store, holder, *world.rules, official, hid, e, Lang::kEn);
      if (!out) {
        ADD_FAILURE() << out.error().ToString();
        failed = true;
        break;
      }
      std::lock_guard<std::mutex> lock(mu);
      committed.insert(out->edit_id);
    }
    ++writers_done;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(writer, t);
  // The reader pages while they write, then drains.
  std::vector<int64_t> cursors;
  std::map<int64_t, int> seen_edits;  // edit id -> changes seen
  int64_t cursor = start;
  auto store = world.Open();
  for (;;) {
    const bool done = writers_done == kThreads;
    auto page = service::ChangesSince(*store, official, cursor, 7);
    ASSERT_TRUE(page) << page.error().ToString();
    for (const service::Change& c : page->changes) {
      cursors.push_back(c.cursor);
      EXPECT_EQ(c.source, "edit");
      // Shown as the edit wrote it: the exchange field, money in yuan.
      EXPECT_EQ(c.field, "income_property");
      EXPECT_EQ(c.new_value.size() - c.new_value.find('.'), 3u) << c.new_value;
      ++seen_edits[c.edit_id];
    }
    EXPECT_EQ(page->next_cursor, page->changes.empty() ? cursor : page->changes.back().cursor);
    cursor = page->next_cursor;
    if (done && page->changes.empty()) break;
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(failed);
  ASSERT_EQ(committed.size(), size_t{kThreads * kEditsPerThread});
  for (size_t i = 1; i < cursors.size(); ++i) ASSERT_LT(cursors[i - 1], cursors[i]);
  // Each edit changed one field: exactly one change each, none from elsewhere.
  ASSERT_EQ(seen_edits.size(), committed.size());
  for (const auto& [edit, n] : seen_edits) {
    EXPECT_TRUE(committed.contains(edit)) << edit;
    EXPECT_EQ(n, 1) << edit;
  }
}

TEST(ChangesTest, ScopeRoleAndMasking) {
  test::EditWorld world(3);
  analytics::SnapshotHolder holder(world.Build());
  auto store = world.Open();
  const Actor official = Make(Role::kOfficial, "520000000000", "official");
  const std::string hid = world.households[0];
  const std::string member = world.ids[0][0];
  // One edit in the cadre's village, one in Zunyi.
  for (const std::string& id : {hid, std::string("Z0000")}) {
    auto head = store->Edits().Head(id);
    ASSERT_TRUE(head && *head);
    service::HouseholdEdit e{(*head)->version,
                             fmt::format("核实 {}", member),
                             {},
                             {{member, {{"health", "2"}}}},
                             {},
                             {},
                             ""};
    if (id == "Z0000") e.members.clear(), e.fields = {{"water_safe", "0"}};
    auto out = service::EditHousehold(*store, holder, *world.rules, official, id, e, Lang::kEn);
    ASSERT_TRUE(out) << out.error().ToString();
  }
  auto all = service::ChangesSince(*store, official, 0, 1000);
  ASSERT_TRUE(all) << all.error().ToString();
  std::set<std::string> households;
  for (const auto& c : all->changes) households.insert(c.household_id);
  EXPECT_TRUE(households.contains(hid));
  EXPECT_TRUE(households.contains("Z0000"));
  // A cadre of the village sees its own only; the member's ID and the reason are masked.
  auto cadre =
      service::ChangesSince(*store, Make(Role::kCadre, std::string(test::kVillage)), 0, 1000);
  ASSERT_TRUE(cadre) << cadre.error().ToString();
  bool saw_member = false;
  for (const auto& c : cadre->changes) {
    EXPECT_TRUE(c.village_code.starts_with("520102016001")) << c.household_id;
    EXPECT_EQ(c.reason.find(member), std::string::npos) << c.reason;
    if (c.entity == "member") {
      saw_member = true;
      EXPECT_EQ(c.member, MaskIdNumber(member));
      EXPECT_EQ(c.field, "health");
      EXPECT_EQ(c.new_value, "2");
    }
  }
  EXPECT_TRUE(saw_member);
  // The same cursor range, seen by another village: nothing of these.
  auto other =
      service::ChangesSince(*store, Make(Role::kCadre, std::string(test::kVillage2)), 0, 1000);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->changes.empty());
  EXPECT_EQ(other->next_cursor, 0);
  // A department needs the snapshot for its links; with it, none of these households has a
  // member linked to its data set, so it sees none of them, and its cursor still moves on.
  Actor dept = Make(Role::kDepartment, "520000000000", "edu");
  dept.datasets = {"edu_students"};
  auto refused = service::ChangesSince(*store, dept, 0, 10);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  auto dept_page = service::ChangesSince(*store, dept, 0, 10, &holder);
  ASSERT_TRUE(dept_page) << dept_page.error().ToString();
  EXPECT_TRUE(dept_page->changes.empty());
  EXPECT_EQ(dept_page->next_cursor, all->changes.back().cursor);
  // Bad arguments.
  EXPECT_EQ(service::ChangesSince(*store, official, -1, 10).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service::ChangesSince(*store, official, 0, 0).error().code(),
            StatusCode::kInvalidArgument);
  // The household's history: inside the region, not outside.
  auto history =
      service::HouseholdHistory(*store, Make(Role::kCadre, std::string(test::kVillage)), hid);
  ASSERT_TRUE(history) << history.error().ToString();
  EXPECT_FALSE(history->empty());
  auto denied =
      service::HouseholdHistory(*store, Make(Role::kCadre, std::string(test::kVillage)), "Z0000");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), StatusCode::kPermissionDenied);
}

TEST(ChangesTest, ImportsAppearInTheFeedToo) {
  test::EditWorld world(2);
  auto store = world.Open();
  const Actor official = Make(Role::kOfficial, "520000000000");
  auto before = service::ChangesSince(*store, official, 0, 1000);
  ASSERT_TRUE(before);
  std::vector<test::Row> rows = {
      test::Household(world.households[1], world.ids[1][0], std::string(test::kVillage))};
  rows[0]["status"] = "4";
  rows[0]["exit_year"] = "2018";
  rows[0]["members"] = "2";
  rows[0]["income_year"] = "2019";
  rows[0]["income_wage"] = "12000";
  test::WriteFile(world.dir / "again" / "households.csv", test::Csv("households", rows));
  exchange::ImportOptions options;
  options.actor.user = "importer";
  ASSERT_TRUE(exchange::ImportPath(*store, world.dir / "again", options));
  auto after = service::ChangesSince(*store, official, before->next_cursor, 1000);
  ASSERT_TRUE(after) << after.error().ToString();
  bool status = false;
  for (const auto& c : after->changes) {
    EXPECT_EQ(c.source, "import");
    EXPECT_EQ(c.user, "importer");
    EXPECT_EQ(c.household_id, world.households[1]);
    if (c.field == "status") {
      status = true;
      EXPECT_EQ(c.old_value, "2");
      EXPECT_EQ(c.new_value, "4");
    }
  }
  EXPECT_TRUE(status);
}

}  // namespace
}  // namespace fupin
