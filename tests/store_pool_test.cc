// Opening the store by URI (store/open.h) and the pool of connections (store/pool.h): real
// SQLite files, real threads reading and writing one file at once, and the real `fupin`
// binary given `--db sqlite:...` as a user types it.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/actor.h"
#include "fupin_process.h"
#include "store/open.h"
#include "store/pool.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using store::OpenStore;
using store::StorePool;

TEST(OpenStoreTest, PathsAndSqliteUrisOpenTheSameFile) {
  test::TempDir dir;
  const fs::path db = dir / "a.db";
  ASSERT_TRUE(OpenStore(db.string()));  // a plain path creates it
  ASSERT_TRUE(fs::exists(db));
  for (const std::string& uri :
       {"sqlite:" + db.string(), "sqlite://" + db.string(), "SQLite:" + db.string()}) {
    auto s = OpenStore(uri);
    ASSERT_TRUE(s) << uri << ": " << s.error().ToString();
    auto batch = (*s)->LatestBatchId();
    ASSERT_TRUE(batch);
    EXPECT_EQ(*batch, 0);
  }
  // Nothing else was created: the URI named the same file.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path()))
    files += e.path().filename().string().starts_with("a.db") ? 0 : 1;
  EXPECT_EQ(files, 0);
  auto parsed = store::ParseStoreUri("sqlite:///tmp/x/y.db");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->path, fs::path("/tmp/x/y.db"));
  auto relative = store::ParseStoreUri("sqlite:rel/y.db");
  ASSERT_TRUE(relative);
  EXPECT_EQ(relative->path, fs::path("rel/y.db"));
  auto with_colon = store::ParseStoreUri("/tmp/a:b.db");  // a path, not a scheme
  ASSERT_TRUE(with_colon);
  EXPECT_EQ(with_colon->path, fs::path("/tmp/a:b.db"));
}

TEST(OpenStoreTest, PostgresqlIsNotYetAndUnknownSchemesAreNamed) {
  auto pg = OpenStore("postgresql://fupin@localhost/province");
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code(), StatusCode::kUnimplemented);
  EXPECT_NE(pg.error().message().find("PostgreSQL arrives with the PostgreSQL issue"),
            std::string::npos);
  auto mysql = OpenStore("mysql://localhost/x");
  ASSERT_FALSE(mysql);
  EXPECT_EQ(mysql.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mysql.error().message().find("'mysql'"), std::string::npos) << mysql.error().message();
  EXPECT_EQ(OpenStore("").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite://host/x.db").error().code(), StatusCode::kInvalidArgument);
  test::TempDir dir;
  auto missing = OpenStore("sqlite:" + (dir / "none.db").string(), {.create = false});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir / "none.db"));
}

// Many threads, few connections, one file: every write lands once, every read sees a whole
// state, and the pool never opens more connections than allowed.
TEST(StorePoolTest, ManyThreadsReadAndWriteOneFileThroughFewConnections) {
  test::TempDir dir;
  const std::string uri = "sqlite:" + (dir / "p.db").string();
  StorePool pool(uri, 3);
  // One flag to decide on, raised by a rule run.
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease) << lease.error().ToString();
    store::RaisedFlag flag;
    flag.rule = "R";
    flag.category = "exclusion";
    flag.severity = "high";
    flag.household_id = "H1";
    flag.village_code = std::string(test::kVillage);
    store::RuleRunInfo info;
    info.actor.user = "setup";
    ASSERT_TRUE((*lease)->Rules().ApplyRun(info, std::span(&flag, 1), "{}"));
  }
  constexpr int kThreads = 12, kRounds = 15;
  std::atomic<int> failures{0}, reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        auto lease = pool.Acquire();
        if (!lease) {
          ++failures;
          continue;
        }
        store::Store& s = **lease;
        if (t % 2 == 0) {
          const store::FlagDecision d{
              1, round % 2 ? store::FlagState::kVerified : store::FlagState::kOpen,
              "round " + std::to_string(round)};
          Actor actor{.user = "w" + std::to_string(t), .role = Role::kCadre};
          if (!s.Rules().DecideFlags(std::span(&d, 1), actor).ok()) ++failures;
        } else {
          auto view = s.BeginRead();
          if (!view) {
            ++failures;
            continue;
          }
          int64_t flags = 0;
          Status st = s.Rules().ForEachFlag({}, [&](const store::FlagRow&) {
            ++flags;
            return OkStatus();
          });
          if (!st.ok() || flags != 1) ++failures;
          ++reads;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(reads.load(), kThreads / 2 * kRounds);
  EXPECT_LE(pool.OpenConnections(), 3u);
  EXPECT_GE(pool.OpenConnections(), 1u);
  // Every decision is logged once, with its actor.
  EXPECT_EQ(test::QueryInt(dir / "p.db",
                           "SELECT count(*) FROM flag_events WHERE run_id IS NULL AND role = "
                           "'cadre'"),
            kThreads / 2 * kRounds);
}

// With every connection leased, Acquire waits until one comes back (no timing: the waiter
// checks that the lease it got was given back first).
TEST(StorePoolTest, AcquireWaitsForAReturnedLeaseWhenAllAreOut) {
  test::TempDir dir;
  StorePool pool("sqlite:" + (dir / "p.db").string(), 1);
  auto acquired = pool.Acquire();
  ASSERT_TRUE(acquired);
  std::optional<StorePool::Lease> held(std::move(*acquired));
  store::Store* first = &**held;
  std::atomic<bool> returned{false};
  std::atomic<bool> got_same{false};
  std::thread waiter([&] {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease);
    EXPECT_TRUE(returned.load());  // it could only have come back after the release below
    got_same = &**lease == first;
  });
  returned = true;
  held.reset();
  waiter.join();
  EXPECT_TRUE(got_same.load());
  EXPECT_EQ(pool.OpenConnections(), 1u);
}

TEST(StorePoolTest, AFailedOpenLeavesThePoolUsable) {
  StorePool pool("mysql://x", 2);
  for (int i = 0; i < 3; ++i) {
    auto lease = pool.Acquire();
    ASSERT_FALSE(lease);
    EXPECT_EQ(lease.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(pool.OpenConnections(), 0u);
}

// Every command's --db goes through OpenStore: `sqlite:PATH` and `sqlite:///abs` work for a
// whole run (gen, import, link, rules, stats), --user is recorded with the role admin, and a
// PostgreSQL URI is refused with the reason.
TEST(StoreUriCliTest, EveryCommandTakesASqliteUriAndRecordsTheUser) {
  test::TempDir dir;
  const fs::path batch = dir / "batch";
  const fs::path db = dir / "f.db";
  const std::string uri = "sqlite:" + db.string();
  auto run = [&](std::vector<std::string> args) {
    test::FupinRun r = test::RunFupin(dir.path(), args);
    EXPECT_EQ(r.exit_code, 0) << r.Show();
    return r;
  };
  run({"gen", "--scale", "0.0005", "--seed", "3", "--out", batch.string()});
  run({"import", batch.string(), "--db", uri, "--user", "alice"});
  run({"link", "--db", "sqlite://" + db.string(), "--user", "bob"});
  run({"rules", "run", "--db", uri, "--user", "carol"});
  // Files kept beside the database go beside the file the URI names, not under "sqlite:".
  EXPECT_TRUE(fs::exists(dir / "f.db.reports"));
  run({"snapshot", "--db", uri});
  EXPECT_TRUE(fs::exists(dir / "f.db.snapshot"));
  EXPECT_FALSE(fs::exists("sqlite:"));
  test::FupinRun stats = run({"stats", "--db", uri});
  EXPECT_NE(stats.out.find("households"), std::string::npos) << stats.Show();
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(test::Query(db, "SELECT user_name, role FROM import_batches"), (V{{"alice", "admin"}}));
  EXPECT_EQ(test::Query(db, "SELECT user_name, role FROM link_runs"), (V{{"bob", "admin"}}));
  EXPECT_EQ(test::Query(db, "SELECT user_name, role FROM rule_runs"), (V{{"carol", "admin"}}));

  test::FupinRun pg = test::RunFupin(dir.path(), {"stats", "--db", "postgresql://h/x"});
  EXPECT_NE(pg.exit_code, 0);
  EXPECT_NE(pg.err.find("PostgreSQL arrives"), std::string::npos) << pg.Show();
  test::FupinRun missing =
      test::RunFupin(dir.path(), {"stats", "--db", "sqlite:" + (dir / "none.db").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir / "none.db"));
}

}  // namespace
}  // namespace fupin
