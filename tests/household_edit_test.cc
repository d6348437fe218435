// A cadre's household edit against a real SQLite file, real threads and the real rules:
// versions, history, flags, the shared snapshot, regions and photos (service/household_edit.h).
#include "service/household_edit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "analytics/query.h"
#include "edit_fixture.h"
#include "service/changes.h"

namespace fupin {
namespace {

using service::FieldChange;
using service::HouseholdEdit;

Actor Cadre(std::string region = std::string(test::kVillage)) {
  Actor a;
  a.user = "cadre1";
  a.role = Role::kCadre;
  a.region = std::move(region);
  return a;
}

class HouseholdEditTest : public ::testing::Test {
 protected:
  HouseholdEditTest() : holder_(world_.Build()), store_(world_.Open()) {}

  int64_t Version(const std::string& hid) {
    auto head = store_->Edits().Head(hid);
    EXPECT_TRUE(head && *head);
    return head && *head ? (*head)->version : -1;
  }
  Result<service::EditOutcome> Edit(const std::string& hid, HouseholdEdit e,
                                    const Actor& actor = Cadre()) {
    return service::EditHousehold(*store_, holder_, *world_.rules, actor, hid, e, Lang::kEn);
  }
  std::string Sql(const std::string& sql) {
    auto rows = test::Query(world_.db, sql);
    return rows.empty() || rows[0].empty() ? "<none>" : rows[0][0];
  }

  test::EditWorld world_;
  analytics::SnapshotHolder holder_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(HouseholdEditTest, StaleVersionIsAbortedAndChangesNothing) {
  const std::string hid = world_.households[0];
  const int64_t v0 = Version(hid);
  auto first = Edit(hid, {v0, "", {{"income_wage", "15000"}}, {}, {}, {}, ""});
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_GT(first->version, v0);
  EXPECT_EQ(first->version, Version(hid));
  EXPECT_EQ(first->changed, std::vector<std::string>{"income_wage"});
  const auto before = test::TableCounts(world_.db);
  auto stale = Edit(hid, {v0, "", {{"income_wage", "99999"}}, {}, {}, {}, ""});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), StatusCode::kAborted) << stale.error().ToString();
  EXPECT_EQ(test::TableCounts(world_.db), before);
  EXPECT_EQ(
      Sql(fmt::format("SELECT income_wage_fen FROM households WHERE household_id = '{}'", hid)),
      "1500000");
  EXPECT_EQ(Version(hid), first->version);
}

TEST_F(HouseholdEditTest, TwoThreadsEditingOneHouseholdOneWinsNothingLost) {
  const std::string hid = world_.households[1];
  for (int round = 0; round < 10; ++round) {
    const int64_t version = Version(hid);
    std::barrier start(2);
    Result<service::EditOutcome> results[2] = {Err(Internal("not run")), Err(Internal("not run"))};
    auto run = [&](int t) {
      auto store = world_.Open();
      HouseholdEdit e{version,
                      fmt::format("thread {}", t),
                      {{"income_business", fmt::format("{}", 1000 * (round * 2 + t + 1))}},
                      {},
                      {},
                      {},
                      ""};
      start.arrive_and_wait();
      results[t] =
          service::EditHousehold(*store, holder_, *world_.rules, Cadre(), hid, e, Lang::kEn);
    };
    std::thread a(run, 0), b(run, 1);
    a.join();
    b.join();
    const int winners = (results[0] ? 1 : 0) + (results[1] ? 1 : 0);
    ASSERT_EQ(winners, 1) << (results[0] ? "" : results[0].error().ToString()) << " / "
                          << (results[1] ? "" : results[1].error().ToString());
    const int w = results[0] ? 0 : 1;
    EXPECT_EQ(results[1 - w].error().code(), StatusCode::kAborted);
    // The winner's value is stored, its history row names its edit, the loser left nothing.
    EXPECT_EQ(Sql(fmt::format("SELECT income_business_fen FROM households WHERE "
                              "household_id = '{}'",
                              hid)),
              std::to_string(100000 * (round * 2 + w + 1)));
    EXPECT_EQ(
        Sql(fmt::format("SELECT count(*) FROM history WHERE edit_id = {}", results[w]->edit_id)),
        "1");
    EXPECT_EQ(Sql(fmt::format("SELECT group_concat(reason) FROM edits WHERE household_id = '{}' "
                              "AND edit_id >= {}",
                              hid, results[w]->edit_id)),
              fmt::format("thread {}", w));
    // The snapshot holds the winner's value too.
    auto view = holder_.Read();
    const uint32_t h = view->Find(hid);
    ASSERT_NE(h, UINT32_MAX);
    EXPECT_DOUBLE_EQ(view->h_money[analytics::kBusiness][h], 1000.0 * (round * 2 + w + 1));
  }
}

TEST_F(HouseholdEditTest, HistoryKeepsWhoWhyOldAndNew) {
  const std::string hid = world_.households[2];
  auto out = Edit(hid, {Version(hid), "家庭成员重病返贫", {{"status", "返贫"}}, {}, {}, {}, ""});
  ASSERT_TRUE(out) << out.error().ToString();
  // Read back independently with SQL...
  const auto rows = test::Query(
      world_.db, fmt::format("SELECT e.user_name, e.role, e.reason, h.field, h.old_value, "
                             "h.new_value, h.batch_id IS NULL FROM history h JOIN edits e USING "
                             "(edit_id) WHERE e.edit_id = {}",
                             out->edit_id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"cadre1", "cadre", "家庭成员重病返贫", "status", "2",
                                               "3", "1"}));
  // ...and through the service.
  auto history = service::HouseholdHistory(*store_, Cadre(), hid);
  ASSERT_TRUE(history) << history.error().ToString();
  ASSERT_FALSE(history->empty());
  const service::Change& c = history->back();
  EXPECT_EQ(c.source, "edit");
  EXPECT_EQ(c.user, "cadre1");
  EXPECT_EQ(c.reason, "家庭成员重病返贫");
  EXPECT_EQ(c.field, "status");
  EXPECT_EQ(c.old_value, "2");
  EXPECT_EQ(c.new_value, "3");
  EXPECT_FALSE(c.at.empty());
}

TEST_F(HouseholdEditTest, StatusAndConditionEditsRaiseAndCloseTheRightFlag) {
  const std::string hid = world_.households[3];
  const std::string flag_sql = fmt::format(
      "SELECT flag_id || ':' || state FROM flags WHERE rule = 'RISK_NOT_SECURED' AND "
      "household_id = '{}'",
      hid);
  ASSERT_EQ(Sql(flag_sql), "<none>");
  // Unsafe housing on an exited household: wrongly exited.
  auto raised = Edit(hid, {Version(hid), "", {{"housing_safe", "0"}}, {}, {}, {}, ""});
  ASSERT_TRUE(raised) << raised.error().ToString();
  EXPECT_EQ(raised->flags_raised, 1);
  EXPECT_EQ(raised->flags_closed, 0);
  const std::string open = Sql(flag_sql);
  ASSERT_TRUE(open.ends_with(":open")) << open;
  const std::string flag_id = open.substr(0, open.find(':'));
  // Back to poor (未脱贫): the rule no longer holds, the same flag closes.
  auto closed = Edit(hid, {Version(hid), "收入下降", {{"status", "未脱贫"}}, {}, {}, {}, ""});
  ASSERT_TRUE(closed) << closed.error().ToString();
  EXPECT_EQ(closed->flags_closed, 1);
  EXPECT_EQ(Sql(flag_sql), flag_id + ":closed");
  // Exited again: it holds again under its old id.
  auto again = Edit(hid, {Version(hid), "稳定脱贫", {{"status", "2"}}, {}, {}, {}, ""});
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->flags_raised, 1);
  EXPECT_EQ(Sql(flag_sql), flag_id + ":open");
  // The snapshot's flag counts follow.
  auto view = holder_.Read();
  auto q = analytics::RunQuery(*view, {{"flagged_households"}, {}, {}});
  ASSERT_TRUE(q) << q.error().ToString();
  const auto fresh = world_.Build();
  auto want = analytics::RunQuery(fresh, {{"flagged_households"}, {}, {}});
  ASSERT_TRUE(want);
  EXPECT_EQ(q->rows, want->rows);
}

TEST_F(HouseholdEditTest, TheSnapshotsQueryAnswerMoves) {
  const analytics::QuerySpec by_status{{"households"}, {"status"}, {}};
  auto count = [&](std::string_view status) -> std::string {
    auto view = holder_.Read();
    auto q = analytics::RunQuery(*view, by_status);
    EXPECT_TRUE(q) << q.error().ToString();
    for (const auto& row : q->rows)
      if (row[0] == status) return row[1];
    return "0";
  };
  const std::string exited_before = count("2");
  EXPECT_EQ(count("1"), "0");
  const std::string hid = world_.households[4];
  auto out = Edit(hid, {Version(hid),
                        "返贫监测",
                        {{"status", "1"}, {"income_wage", "800"}},
                        {{world_.ids[4][0], {{"health", "3"}}}},
                        26.5,
                        106.7,
                        "入户走访"});
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(count("1"), "1");
  EXPECT_EQ(std::stoi(count("2")), std::stoi(exited_before) - 1);
  // The holder's household is what a fresh build from the store makes of it.
  const analytics::Snapshot fresh = world_.Build();
  auto view = holder_.Read();
  const uint32_t h = view->Find(hid), f = fresh.Find(hid);
  ASSERT_NE(h, UINT32_MAX);
  ASSERT_NE(f, UINT32_MAX);
  const analytics::HouseholdRecord got = view->Record(h), want = fresh.Record(f);
  EXPECT_EQ(got.dims, want.dims);
  for (size_t k = 0; k < analytics::kMoneyColumns; ++k)
    EXPECT_TRUE(got.money[k] == want.money[k] ||
                (std::isnan(got.money[k]) && std::isnan(want.money[k])))
        << k;
  ASSERT_EQ(got.members.size(), want.members.size());
  for (size_t i = 0; i < got.members.size(); ++i)
    EXPECT_EQ(got.members[i].dims, want.members[i].dims);
  EXPECT_EQ(
      Sql(fmt::format("SELECT lat || ',' || lon FROM households WHERE household_id = '{}'", hid)),
      "26.5,106.7");
  EXPECT_EQ(Sql(fmt::format("SELECT note FROM household_visits WHERE household_id = '{}'", hid)),
            "入户走访");
}

TEST_F(HouseholdEditTest, AMemberWhoLeavesLeavesTheSnapshotToo) {
  const std::string hid = world_.households[5];
  auto out = Edit(hid, {Version(hid),
                        "外嫁",
                        {},
                        {{world_.ids[5][1], {{"left_reason", "2"}, {"left_date", "2020-03-01"}}}},
                        {},
                        {},
                        ""});
  ASSERT_TRUE(out) << out.error().ToString();
  auto view = holder_.Read();
  const uint32_t h = view->Find(hid);
  ASSERT_NE(h, UINT32_MAX);
  EXPECT_EQ(view->member_begin[h + 1] - view->member_begin[h], 1u);
}

TEST_F(HouseholdEditTest, OutsideTheRegionOrRoleIsDeniedAndNothingIsWritten) {
  const auto before = test::TableCounts(world_.db);
  auto z = Edit("Z0000", {Version("Z0000"), "", {{"income_wage", "1"}}, {}, {}, {}, ""});
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().code(), StatusCode::kPermissionDenied) << z.error().ToString();
  Actor auditor = Cadre(std::string(test::kGuiyang));
  auditor.role = Role::kAuditor;
  const std::string hid = world_.households[6];
  auto a = Edit(hid, {Version(hid), "", {{"income_wage", "1"}}, {}, {}, {}, ""}, auditor);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), StatusCode::kPermissionDenied);
  auto missing = Edit("NOPE", {0, "", {{"income_wage", "1"}}, {}, {}, {}, ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(test::TableCounts(world_.db), before);
  // An official of the province may.
  Actor official = Cadre("520000000000");
  official.role = Role::kOfficial;
  EXPECT_TRUE(
      Edit("Z0000", {Version("Z0000"), "", {{"income_wage", "1"}}, {}, {}, {}, ""}, official));
}

TEST_F(HouseholdEditTest, BadEditsAreRefusedNamingTheField) {
  const std::string hid = world_.households[7];
  const int64_t v = Version(hid);
  struct Case {
    HouseholdEdit edit;
    std::string names;
  };
  const Case cases[] = {
      {{v, "", {{"household_id", "X"}}, {}, {}, {}, ""}, "household_id"},
      {{v, "", {{"village_code", "520102016002"}}, {}, {}, {}, ""}, "village_code"},
      {{v, "", {}, {{world_.ids[7][0], {{"id_number", "1"}}}}, {}, {}, ""}, "id_number"},
      {{v, "why", {{"status", "7"}}, {}, {}, {}, ""}, "status"},
      {{v, "", {{"status", "1"}}, {}, {}, {}, ""}, "reason"},
      {{v, "", {{"income_wage", "12.345"}}, {}, {}, {}, ""}, "income_wage"},
      {{v, "", {}, {}, 26.5, {}, ""}, "lat"},
      {{-1, "", {{"income_wage", "1"}}, {}, {}, {}, ""}, "version"},
  };
  const auto before = test::TableCounts(world_.db);
  for (const Case& c : cases) {
    auto out = Edit(hid, c.edit);
    ASSERT_FALSE(out) << c.names;
    EXPECT_EQ(out.error().code(), StatusCode::kInvalidArgument) << out.error().ToString();
    EXPECT_NE(out.error().message().find(c.names), std::string::npos) << out.error().message();
  }
  EXPECT_EQ(test::TableCounts(world_.db), before);
  auto unknown_member =
      Edit(hid, {v, "", {}, {{"520102197001019999", {{"health", "1"}}}}, {}, {}, ""});
  ASSERT_FALSE(unknown_member);
  EXPECT_EQ(unknown_member.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(test::TableCounts(world_.db), before);
}

TEST_F(HouseholdEditTest, PhotosAreCheckedByMagicTypeAndSize) {
  const std::string hid = world_.households[8];
  const std::string jpeg = std::string("\xFF\xD8\xFF\xE0", 4) + std::string(1000, 'j');
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(500, 'p');
  const int64_t v = Version(hid);
  auto id = service::AddPhoto(*store_, Cadre(), hid, "image/jpeg", jpeg, Lang::kEn);
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_GT(Version(hid), v);
  auto got = service::GetPhoto(*store_, Cadre(), hid, *id);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->first, "image/jpeg");
  EXPECT_EQ(got->second, jpeg);
  EXPECT_TRUE(service::AddPhoto(*store_, Cadre(), hid, "image/png", png, Lang::kEn));
  const auto before = test::TableCounts(world_.db);
  for (auto [type, bytes] : {std::pair<std::string, std::string>{"image/png", jpeg},
                             {"image/jpeg", png},
                             {"image/gif", "GIF89a...."},
                             {"image/jpeg", ""},
                             {"image/jpeg", std::string("\xFF\xD8\xFF", 3) +
                                                std::string(service::kMaxPhotoBytes, 'x')}}) {
    auto bad = service::AddPhoto(*store_, Cadre(), hid, type, bytes, Lang::kEn);
    ASSERT_FALSE(bad) << type << " " << bytes.size();
    EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(test::TableCounts(world_.db), before);
  auto outside = service::GetPhoto(*store_, Cadre(std::string(test::kVillage2)), hid, *id);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code(), StatusCode::kPermissionDenied);
  auto none = service::GetPhoto(*store_, Cadre(), hid, *id + 100);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), StatusCode::kNotFound);
  // The list: both accepted photos, oldest first, sizes without the bytes; none refused.
  auto list = service::ListPhotos(*store_, Cadre(), hid);
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].photo_id, *id);
  EXPECT_EQ((*list)[0].content_type, "image/jpeg");
  EXPECT_EQ((*list)[0].size, static_cast<int64_t>(jpeg.size()));
  EXPECT_TRUE((*list)[0].bytes.empty());
  EXPECT_EQ((*list)[1].content_type, "image/png");
  EXPECT_EQ((*list)[1].size, static_cast<int64_t>(png.size()));
  auto hidden = service::ListPhotos(*store_, Cadre(std::string(test::kVillage2)), hid);
  ASSERT_FALSE(hidden);
  EXPECT_EQ(hidden.error().code(), StatusCode::kPermissionDenied);
}

TEST_F(HouseholdEditTest, AnImportBumpsTheVersion) {
  const std::string hid = world_.households[9];
  const int64_t v = Version(hid);
  std::vector<test::Row> rows = {
      test::Household(hid, world_.ids[9][0], std::string(test::kVillage))};
  rows[0]["status"] = "2";
  rows[0]["exit_year"] = "2018";
  rows[0]["members"] = "2";
  rows[0]["income_year"] = "2019";
  rows[0]["income_wage"] = "13000";
  test::WriteFile(world_.dir / "again" / "households.csv", test::Csv("households", rows));
  auto imported = exchange::ImportPath(*store_, world_.dir / "again", {});
  ASSERT_TRUE(imported) << imported.error().ToString();
  EXPECT_GT(Version(hid), v);
  auto stale = Edit(hid, {v, "", {{"income_wage", "1"}}, {}, {}, {}, ""});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), StatusCode::kAborted);
}

TEST_F(HouseholdEditTest, AnImportChangingOnlyAMemberBumpsTheVersion) {
  const std::string hid = world_.households[10];
  const int64_t v = Version(hid);
  const int64_t other = Version(world_.households[11]);
  test::Row m = test::Member(world_.ids[10][0], hid, "张伟");
  m["relation"] = "1";
  m["birth_date"] = "1970-01-01";
  m["sex"] = "1";
  m["health"] = "3";
  test::WriteFile(world_.dir / "members" / "members.csv", test::Csv("members", {m}));
  auto imported = exchange::ImportPath(*store_, world_.dir / "members", {});
  ASSERT_TRUE(imported) << imported.error().ToString();
  EXPECT_GT(Version(hid), v);
  EXPECT_EQ(Version(world_.households[11]), other);
}

}  // namespace
}  // namespace fupin
