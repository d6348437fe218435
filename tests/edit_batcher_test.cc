// Group commit of household edits (service/edit_batcher.h) against a real SQLite file, real
// threads and the real rules: edits that arrive together commit in one transaction, each
// with its own outcome; a stale or failing one is rolled back alone; the snapshot gets
// exactly the committed deltas.
#include "service/edit_batcher.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "core/thread_priority.h"
#include "edit_fixture.h"
#include "service/household_edit.h"

namespace fupin {
namespace {

using service::FieldChange;
using service::HouseholdEdit;

Actor Cadre() {
  Actor a;
  a.user = "cadre1";
  a.role = Role::kCadre;
  a.region = std::string(test::kVillage);
  return a;
}

class EditBatcherTest : public ::testing::Test {
 protected:
  EditBatcherTest()
      : world_(40),
        holder_(world_.Build()),
        batcher_(holder_, world_.Open()),
        store_(world_.Open()) {}

  int64_t Version(const std::string& hid) {
    auto head = store_->Edits().Head(hid);
    EXPECT_TRUE(head && *head);
    return head && *head ? (*head)->version : -1;
  }
  std::string Sql(const std::string& sql) {
    auto rows = test::Query(world_.db, sql);
    return rows.empty() || rows[0].empty() ? "<none>" : rows[0][0];
  }
  double Wage(const std::string& hid) {
    auto view = holder_.Read();
    const uint32_t h = view->Find(hid);
    EXPECT_NE(h, UINT32_MAX);
    return h == UINT32_MAX ? -1 : view->h_money[analytics::kWage][h];
  }
  // Waits (at most 5 s) until `done` holds.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 5000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
  }

  test::EditWorld world_;
  analytics::SnapshotHolder holder_;
  service::EditBatcher batcher_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(EditBatcherTest, ManyThreadsEditingDifferentHouseholdsAllCommit) {
  constexpr int kThreads = 16, kRounds = 4;
  std::vector<int64_t> v0(kThreads);
  for (int t = 0; t < kThreads; ++t) v0[t] = Version(world_.households[t]);
  std::vector<std::vector<Result<service::EditOutcome>>> results(kThreads);
  std::barrier start(kThreads);
  auto run = [&](int t) {
    auto store = world_.Open();
    const std::string& hid = world_.households[t];
    start.arrive_and_wait();
    for (int r = 0; r < kRounds; ++r) {
      const int64_t version = results[t].empty() ? v0[t] : results[t].back()->version;
      HouseholdEdit e{version,
                      fmt::format("round {}", r),
                      {{"income_wage", fmt::format("{}", 20000 + 1000 * t + r)}},
                      {},
                      {},
                      {},
                      fmt::format("visit {} {}", t, r)};
      results[t].push_back(
          service::EditHousehold(*store, holder_, *world_.rules, Cadre(), hid, e, Lang::kEn));
      if (!results[t].back()) return;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, t);
  for (std::thread& t : threads) t.join();

  std::set<int64_t> edit_ids;
  for (int t = 0; t < kThreads; ++t) {
    const std::string& hid = world_.households[t];
    ASSERT_EQ(results[t].size(), size_t{kRounds});
    for (int r = 0; r < kRounds; ++r) {
      const auto& out = results[t][r];
      ASSERT_TRUE(out) << hid << " round " << r << ": " << out.error().ToString();
      EXPECT_EQ(out->version, v0[t] + r + 1);
      EXPECT_EQ(out->changed, (std::vector<std::string>{"income_wage", "visit"}));
      EXPECT_TRUE(edit_ids.insert(out->edit_id).second) << out->edit_id;
      // Its own rows, under its own edit id: the edit, the field's and the visit's history.
      EXPECT_EQ(Sql(fmt::format("SELECT household_id || '|' || reason FROM edits WHERE "
                                "edit_id = {}",
                                out->edit_id)),
                fmt::format("{}|round {}", hid, r));
      EXPECT_EQ(
          Sql(fmt::format("SELECT group_concat(field || '=' || coalesce(new_value, ''), "
                          "';') FROM (SELECT * FROM history WHERE edit_id = {} ORDER BY "
                          "history_id)",
                          out->edit_id)),
          fmt::format("income_wage_fen={};visit=visit {} {}", (20000 + 1000 * t + r) * 100, t, r));
    }
    EXPECT_EQ(Version(hid), v0[t] + kRounds);
    EXPECT_DOUBLE_EQ(Wage(hid), 20000.0 + 1000 * t + kRounds - 1);
  }
  // Edit ids are consecutive: no edit left a hole.
  EXPECT_EQ(*edit_ids.rbegin() - *edit_ids.begin() + 1, static_cast<int64_t>(edit_ids.size()));
  const service::EditBatcher::Stats stats = batcher_.stats();
  EXPECT_EQ(stats.edits, kThreads * kRounds);
  EXPECT_LE(stats.groups, kThreads * kRounds);
  // Every committed edit reached the snapshot as a delta: a refresh reads nothing.
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "deltas");
}

// Holds the database's write gate (another connection's open write transaction) so that the
// batcher's first edit waits in its own group while the next ones queue into one group.
class GroupBuilder {
 public:
  explicit GroupBuilder(const test::EditWorld& world) : world_(world) {
    blocker_ = world_.Open();
    auto txn = blocker_->BeginWrite();
    EXPECT_TRUE(txn) << txn.error().ToString();
    if (txn) txn_.emplace(std::move(*txn));
  }
  ~GroupBuilder() {
    for (std::thread& t : threads_) t.join();
  }
  // Starts a thread running `fn` on a store of its own.
  void Start(std::function<void(store::Store&)> fn) {
    threads_.emplace_back([this, fn = std::move(fn)] {
      auto store = world_.Open();
      fn(*store);
    });
  }
  // Lets the writes go, and waits for every thread.
  void Release() {
    if (txn_) {
      EXPECT_TRUE(txn_->Commit().ok());
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  const test::EditWorld& world_;
  std::unique_ptr<store::Store> blocker_;
  std::optional<store::WriteTxn> txn_;
  std::vector<std::thread> threads_;
};

TEST_F(EditBatcherTest, AGroupCommitsTogetherAndItsFailingEditsAreRolledBackAlone) {
  const std::vector<std::string>& H = world_.households;
  std::map<std::string, int64_t> v0;
  for (int i = 0; i < 10; ++i) v0[H[i]] = Version(H[i]);
  const auto counts_before = test::TableCounts(world_.db);
  const std::string last_edit_before = Sql("SELECT coalesce(max(edit_id), 0) FROM edits");
  // The same change, alone (H0, the first group) and in the group (H1): the same rows.
  auto same = [&](const std::string& hid) {
    return HouseholdEdit{
        v0[hid], "危房",        {{"housing_safe", "0"}, {"income_wage", "500"}}, {}, 26.25,
        106.5,   "入户走访核实"};
  };
  std::map<std::string, Result<service::EditOutcome>> out;
  std::mutex out_mu;
  auto edit = [&](std::string key, std::string hid, HouseholdEdit e) {
    return [&, key, hid, e](store::Store& store) {
      auto r = service::EditHousehold(store, holder_, *world_.rules, Cadre(), hid, e, Lang::kEn);
      std::lock_guard lock(out_mu);
      out.emplace(key, std::move(r));
    };
  };
  {
    GroupBuilder group(world_);
    group.Start(edit("alone", H[0], same(H[0])));
    ASSERT_TRUE(Eventually([&] { return batcher_.stats().groups == 1; }));
    group.Start(edit("grouped", H[1], same(H[1])));
    group.Start(edit("wage2", H[2], {v0[H[2]], "", {{"income_wage", "2222"}}, {}, {}, {}, ""}));
    // Stale: read before someone else's edit.
    group.Start(edit("stale", H[3], {v0[H[3]] + 7, "", {{"income_wage", "3333"}}, {}, {}, {}, ""}));
    group.Start(edit("wage4", H[4], {v0[H[4]], "", {{"income_wage", "4444"}}, {}, {}, {}, ""}));
    // Fails inside its transaction after its first write: an unknown member.
    group.Start(edit("no member", H[5],
                     {v0[H[5]],
                      "",
                      {{"income_wage", "5555"}},
                      {{"520102197001019999", {{"health", "1"}}}},
                      {},
                      {},
                      ""}));
    // Fails its checks before it queues: a bad value.
    group.Start(
        edit("bad value", H[6], {v0[H[6]], "", {{"income_wage", "12.345"}}, {}, {}, {}, ""}));
    // Two edits of H7 from the same version: the first in the group wins, the other is stale.
    group.Start(edit("h7 a", H[7], {v0[H[7]], "a", {{"income_wage", "7001"}}, {}, {}, {}, ""}));
    group.Start(edit("h7 b", H[7], {v0[H[7]], "b", {{"income_wage", "7002"}}, {}, {}, {}, ""}));
    group.Start(edit("wage8", H[8], {v0[H[8]], "", {{"income_wage", "8888"}}, {}, {}, {}, ""}));
    ASSERT_TRUE(Eventually([&] { return batcher_.waiting() == 8; })) << batcher_.waiting();
    EXPECT_EQ(batcher_.stats().groups, 1);
    group.Release();
  }
  const service::EditBatcher::Stats stats = batcher_.stats();
  EXPECT_EQ(stats.groups, 2);
  EXPECT_EQ(stats.edits, 9);
  EXPECT_EQ(stats.largest, 8);
  ASSERT_EQ(out.size(), 10u);
  for (const char* key : {"alone", "grouped", "wage2", "wage4", "wage8"})
    ASSERT_TRUE(out.at(key)) << key << ": " << out.at(key).error().ToString();
  // The stale one: 409 at the HTTP layer, nothing of it written.
  ASSERT_FALSE(out.at("stale"));
  EXPECT_EQ(out.at("stale").error().code(), StatusCode::kAborted)
      << out.at("stale").error().ToString();
  EXPECT_EQ(Version(H[3]), v0[H[3]]);
  EXPECT_EQ(Sql(fmt::format("SELECT count(*) FROM edits WHERE household_id = '{}'", H[3])), "0");
  // The failing one: rolled back to its savepoint, its household field too.
  ASSERT_FALSE(out.at("no member"));
  EXPECT_EQ(out.at("no member").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(Version(H[5]), v0[H[5]]);
  EXPECT_EQ(
      Sql(fmt::format("SELECT income_wage_fen FROM households WHERE household_id = '{}'", H[5])),
      "1200000");
  EXPECT_EQ(Sql(fmt::format("SELECT count(*) FROM edits WHERE household_id = '{}'", H[5])), "0");
  ASSERT_FALSE(out.at("bad value"));
  EXPECT_EQ(out.at("bad value").error().code(), StatusCode::kInvalidArgument);
  // One of the two edits of H7 won.
  const bool a_won = out.at("h7 a").has_value();
  ASSERT_NE(a_won, out.at("h7 b").has_value());
  const auto& h7_loser = out.at(a_won ? "h7 b" : "h7 a");
  EXPECT_EQ(h7_loser.error().code(), StatusCode::kAborted);
  EXPECT_EQ(Version(H[7]), v0[H[7]] + 1);
  EXPECT_EQ(
      Sql(fmt::format("SELECT income_wage_fen FROM households WHERE household_id = '{}'", H[7])),
      a_won ? "700100" : "700200");
  EXPECT_EQ(
      Sql(fmt::format("SELECT group_concat(reason) FROM edits WHERE household_id = '{}'", H[7])),
      a_won ? "a" : "b");
  // Committed: each its version, its value, its snapshot answer.
  for (auto [key, i, wage] :
       {std::tuple{"wage2", 2, 2222}, {"wage4", 4, 4444}, {"wage8", 8, 8888}}) {
    EXPECT_EQ(out.at(key)->version, v0[H[i]] + 1) << key;
    EXPECT_EQ(Version(H[i]), v0[H[i]] + 1) << key;
    EXPECT_DOUBLE_EQ(Wage(H[i]), wage) << key;
  }
  EXPECT_DOUBLE_EQ(Wage(H[3]), 12000);
  EXPECT_DOUBLE_EQ(Wage(H[5]), 12000);
  EXPECT_DOUBLE_EQ(Wage(H[7]), a_won ? 7001 : 7002);
  // Six edits committed, ids consecutive after those before; nothing else added.
  EXPECT_EQ(Sql(fmt::format("SELECT count(*) || ',' || (max(edit_id) - min(edit_id) + 1) FROM "
                            "edits WHERE edit_id > {}",
                            last_edit_before)),
            "6,6");
  auto counts = test::TableCounts(world_.db);
  EXPECT_EQ(counts["edits"], counts_before.at("edits") + 6);
  EXPECT_EQ(counts["household_visits"], counts_before.at("household_visits") + 2);
  // The grouped edit wrote what the same edit alone wrote: the same changes and flags, the
  // same history rows, the flag event under its own edit id.
  const auto& alone = *out.at("alone");
  const auto& grouped = *out.at("grouped");
  EXPECT_EQ(grouped.changed, alone.changed);
  EXPECT_EQ(grouped.changed,
            (std::vector<std::string>{"housing_safe", "income_wage", "lat", "lon", "visit"}));
  EXPECT_GE(alone.flags_raised, 1);  // RISK_NOT_SECURED at least: unsafe housing, exited
  EXPECT_EQ(grouped.flags_raised, alone.flags_raised);
  EXPECT_EQ(grouped.flags_closed, alone.flags_closed);
  EXPECT_EQ(grouped.version - v0[H[1]], alone.version - v0[H[0]]);
  EXPECT_EQ(grouped.version, Version(H[1]));
  EXPECT_EQ(alone.version, Version(H[0]));
  auto rows_of = [&](const service::EditOutcome& o, const std::string& hid) {
    auto rows = test::Query(
        world_.db, fmt::format("SELECT entity, replace(entity_key, '{}', 'H'), field, "
                               "coalesce(old_value, ''), coalesce(new_value, '') FROM history "
                               "WHERE edit_id = {} ORDER BY history_id",
                               hid, o.edit_id));
    auto more = test::Query(
        world_.db,
        fmt::format("SELECT e.user_name, e.role, e.reason, f.rule, ev.from_state, ev.to_state, "
                    "ev.note = 'edit ' || e.edit_id, ev.user_name FROM edits e JOIN flag_events ev "
                    "USING (edit_id) JOIN flags f USING (flag_id) WHERE e.edit_id = {}",
                    o.edit_id));
    rows.insert(rows.end(), more.begin(), more.end());
    auto visit = test::Query(world_.db, fmt::format("SELECT note, lat, lon, user_name FROM "
                                                    "household_visits WHERE edit_id = {}",
                                                    o.edit_id));
    rows.insert(rows.end(), visit.begin(), visit.end());
    return rows;
  };
  const auto alone_rows = rows_of(alone, H[0]);
  // 5 history rows, an event per flag raised, the visit.
  EXPECT_EQ(alone_rows.size(), 5u + static_cast<size_t>(alone.flags_raised) + 1u);
  EXPECT_EQ(rows_of(grouped, H[1]), alone_rows);
  // Every committed edit reached the snapshot as a delta, and only those: a refresh reads
  // nothing, and the snapshot is what a fresh build makes of the store.
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "deltas");
  const analytics::Snapshot fresh = world_.Build();
  auto view = holder_.Read();
  for (int i = 0; i < 10; ++i) {
    const uint32_t h = view->Find(H[i]), f = fresh.Find(H[i]);
    ASSERT_NE(h, UINT32_MAX);
    ASSERT_NE(f, UINT32_MAX);
    EXPECT_EQ(view->Record(h).dims, fresh.Record(f).dims) << H[i];
    EXPECT_DOUBLE_EQ(view->h_money[analytics::kWage][h], fresh.h_money[analytics::kWage][f])
        << H[i];
  }
}

TEST_F(EditBatcherTest, AGroupOfEditsOfOneHouseholdChainsNoneLost) {
  // Eight cadres edit one household from the version they read; each that loses reads again
  // and retries. Every one gets in exactly once, each version once.
  const std::string hid = world_.households[11];
  constexpr int kThreads = 8;
  std::vector<int64_t> versions(kThreads, -1);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto store = world_.Open();
      start.arrive_and_wait();
      for (int attempt = 0; attempt < 200; ++attempt) {
        auto head = store->Edits().Head(hid);
        ASSERT_TRUE(head && *head);
        auto r = service::EditHousehold(*store, holder_, *world_.rules, Cadre(), hid,
                                        {(*head)->version,
                                         fmt::format("t{}", t),
                                         {{"income_property", std::to_string(t)}},
                                         {},
                                         {},
                                         {},
                                         ""},
                                        Lang::kEn);
        if (r) {
          versions[t] = r->version;
          return;
        }
        ASSERT_EQ(r.error().code(), StatusCode::kAborted) << r.error().ToString();
      }
    });
  for (std::thread& t : threads) t.join();
  std::set<int64_t> distinct(versions.begin(), versions.end());
  EXPECT_EQ(distinct.size(), size_t{kThreads});
  EXPECT_FALSE(distinct.contains(-1));
  EXPECT_EQ(*distinct.rbegin(), Version(hid));
  EXPECT_EQ(Sql(fmt::format("SELECT count(*) FROM edits WHERE household_id = '{}'", hid)),
            std::to_string(kThreads));
  ASSERT_TRUE(holder_.Refresh(*store_).ok());
  EXPECT_EQ(holder_.refresh_stats().last, "deltas");
}

// The writer tells when it takes up edits and when it has none left (the server holds
// reads back in between), and runs them on a thread of its own, not the callers'.
TEST(EditBatcherWriterTest, TellsWhenBusyAndRunsOnItsOwnThread) {
  test::EditWorld world(8);
  analytics::SnapshotHolder holder(world.Build());
  std::mutex mu;
  std::vector<std::pair<bool, pid_t>> told;
  service::EditBatcher batcher(holder, world.Open(), service::EditBatcher::kMaxGroup,
                               [&](bool busy) {
                                 std::lock_guard lock(mu);
                                 told.emplace_back(busy, ThisThreadId());
                               });
  EXPECT_NE(batcher.writer_thread_id(), ThisThreadId());
  auto store = world.Open();
  for (int round = 0; round < 3; ++round) {
    const std::string& hid = world.households[round];
    auto head = store->Edits().Head(hid);
    ASSERT_TRUE(head && *head);
    HouseholdEdit e{(*head)->version, "", {{"income_wage", "30000"}}, {}, {}, {}, ""};
    auto out = service::EditHousehold(*store, holder, *world.rules, Cadre(), hid, e, Lang::kEn);
    ASSERT_TRUE(out) << out.error().ToString();
    // Idle again before the next edit: the writer said so.
    for (int i = 0; i < 5000; ++i) {
      {
        std::lock_guard lock(mu);
        if (told.size() == static_cast<size_t>(2 * (round + 1))) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(told.size(), 6u);
  for (size_t i = 0; i < told.size(); ++i) {
    EXPECT_EQ(told[i].first, i % 2 == 0) << i;  // busy, idle, busy, idle, ...
    EXPECT_EQ(told[i].second, batcher.writer_thread_id()) << i;
  }
}

}  // namespace
}  // namespace fupin
