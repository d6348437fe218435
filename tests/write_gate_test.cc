// The in-process write gate of the SQLite backend (store/sqlite/write_gate.h): real files,
// real connections and threads. Writers of one process wait on the gate in arrival order
// instead of sleeping in SQLite's busy handler; the gate is let go at COMMIT, ROLLBACK, a
// rollback SQLite makes on its own, and when the connection closes; waiting is bounded by
// the busy timeout and then fails as a busy database did.
#include "store/sqlite/write_gate.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/actor.h"
#include "store/open.h"
#include "store/sqlite/sqlite_util.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using store::sqlite_detail::AttachWriteGate;
using store::sqlite_detail::DetachWriteGate;
using store::sqlite_detail::Exec;
using store::sqlite_detail::HoldsWriteGate;
using store::sqlite_detail::IsInUse;
using store::sqlite_detail::WriteGateWaiters;

// A raw connection to `path`, gated with `timeout_ms` unless `gated` is false.
struct Conn {
  Conn(const fs::path& path, int timeout_ms, bool gated = true) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    sqlite3_busy_timeout(db, timeout_ms);
    if (gated) AttachWriteGate(db, path, timeout_ms);
  }
  ~Conn() {
    DetachWriteGate(db);
    sqlite3_close_v2(db);
  }
  sqlite3* db = nullptr;
};

// Waits (without a time limit: the test's own timeout catches a hang) until `n` writers
// queue for the gate of `db`'s file.
void AwaitWaiters(sqlite3* db, int n) {
  while (WriteGateWaiters(db) != n) std::this_thread::yield();
}

class WriteGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "g.db";
    Conn setup(path_, 1000);
    ASSERT_TRUE(Exec(setup.db, "PRAGMA journal_mode = WAL").ok());
    ASSERT_TRUE(Exec(setup.db, "CREATE TABLE t (n INTEGER)").ok());
  }
  test::TempDir dir_;
  fs::path path_;
};

TEST_F(WriteGateTest, WritersOfOneProcessQueueOnTheGateAndEachGetsItInTurn) {
  Conn first(path_, 60000);
  ASSERT_TRUE(Exec(first.db, "BEGIN IMMEDIATE").ok());
  EXPECT_TRUE(HoldsWriteGate(first.db));
  ASSERT_TRUE(Exec(first.db, "INSERT INTO t VALUES (0)").ok());

  // Three more writers, started one after another: each waits on the gate (not in SQLite's
  // busy handler) and they get it in the order they came.
  constexpr int kWriters = 3;
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < kWriters; ++i) conns.push_back(std::make_unique<Conn>(path_, 60000));
  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      sqlite3* db = conns[i]->db;
      Status st = Exec(db, "BEGIN IMMEDIATE");
      ASSERT_TRUE(st.ok()) << st.ToString();
      {
        std::lock_guard lock(order_mu);
        order.push_back(i);
      }
      ASSERT_TRUE(Exec(db, "INSERT INTO t VALUES (" + std::to_string(i + 1) + ")").ok());
      ASSERT_TRUE(Exec(db, "COMMIT").ok());
      EXPECT_FALSE(HoldsWriteGate(db));
    });
    AwaitWaiters(first.db, i + 1);
  }
  {
    std::lock_guard lock(order_mu);
    EXPECT_TRUE(order.empty());  // nobody got past the first writer's transaction
  }
  ASSERT_TRUE(Exec(first.db, "COMMIT").ok());
  EXPECT_FALSE(HoldsWriteGate(first.db));
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(WriteGateWaiters(first.db), 0);

  // Every write is there.
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(first.db, "SELECT count(*), sum(n) FROM t", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 4);
  EXPECT_EQ(sqlite3_column_int(s, 1), 0 + 1 + 2 + 3);
  sqlite3_finalize(s);
}

TEST_F(WriteGateTest, RollbackAFailedBeginAndClosingLetTheGateGo) {
  Conn a(path_, 60000);
  Conn b(path_, 60000);
  ASSERT_TRUE(Exec(a.db, "BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(Exec(a.db, "ROLLBACK").ok());
  EXPECT_FALSE(HoldsWriteGate(a.db));
  ASSERT_TRUE(Exec(b.db, "BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(Exec(b.db, "COMMIT").ok());

  // A statement that fails inside the transaction leaves it open: the gate stays held until
  // the transaction ends.
  ASSERT_TRUE(Exec(a.db, "BEGIN IMMEDIATE").ok());
  EXPECT_FALSE(Exec(a.db, "INSERT INTO no_such_table VALUES (1)").ok());
  EXPECT_TRUE(HoldsWriteGate(a.db));
  ASSERT_TRUE(Exec(a.db, "ROLLBACK").ok());
  EXPECT_FALSE(HoldsWriteGate(a.db));

  // A rollback by SQLite itself (here through a prepared statement, not Exec) lets it go too.
  ASSERT_TRUE(Exec(a.db, "BEGIN IMMEDIATE").ok());
  ASSERT_EQ(sqlite3_exec(a.db, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_FALSE(HoldsWriteGate(a.db));

  // A connection closed in the middle of its transaction lets the next writer in.
  {
    auto c = std::make_unique<Conn>(path_, 60000);
    ASSERT_TRUE(Exec(c->db, "BEGIN IMMEDIATE").ok());
    std::thread waiter([&] {
      Status st = Exec(b.db, "BEGIN IMMEDIATE");
      EXPECT_TRUE(st.ok()) << st.ToString();
      EXPECT_TRUE(Exec(b.db, "COMMIT").ok());
    });
    AwaitWaiters(b.db, 1);
    c.reset();
    waiter.join();
  }
}

TEST_F(WriteGateTest, WaitingIsBoundedByTheBusyTimeoutAndFailsAsABusyDatabase) {
  Conn holder(path_, 60000);
  Conn impatient(path_, 0);
  ASSERT_TRUE(Exec(holder.db, "BEGIN IMMEDIATE").ok());
  Status st = Exec(impatient.db, "BEGIN IMMEDIATE");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(IsInUse(st)) << st.ToString();
  EXPECT_FALSE(HoldsWriteGate(impatient.db));
  EXPECT_EQ(WriteGateWaiters(holder.db), 0);  // it left the queue
  ASSERT_TRUE(Exec(holder.db, "COMMIT").ok());
  ASSERT_TRUE(Exec(impatient.db, "BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(Exec(impatient.db, "COMMIT").ok());
}

TEST_F(WriteGateTest, AConnectionNotAttachedMeetsSQLitesLockAsBefore) {
  Conn gated(path_, 60000);
  Conn other(path_, 0, /*gated=*/false);  // as another process's connection
  ASSERT_TRUE(Exec(gated.db, "BEGIN IMMEDIATE").ok());
  Status st = Exec(other.db, "BEGIN IMMEDIATE");
  EXPECT_TRUE(IsInUse(st)) << st.ToString();
  ASSERT_TRUE(Exec(gated.db, "COMMIT").ok());
  ASSERT_TRUE(Exec(other.db, "BEGIN IMMEDIATE").ok());
  // While the ungated connection holds SQLite's lock, a gated writer takes the gate and
  // then waits in SQLite's busy handler, up to its timeout.
  Conn short_wait(path_, 50);
  st = Exec(short_wait.db, "BEGIN IMMEDIATE");
  EXPECT_TRUE(IsInUse(st)) << st.ToString();
  EXPECT_FALSE(HoldsWriteGate(short_wait.db));
  ASSERT_TRUE(Exec(other.db, "COMMIT").ok());
}

// Through the store: many threads, each with a store of its own on one file, write at once;
// every write transaction gets in (none fails as busy, however short its busy timeout
// would have been for SQLite's sleeping handler), one after another.
TEST(WriteGateStoreTest, ManyStoresOfOneProcessWriteAtOnce) {
  test::TempDir dir;
  const std::string db = (dir / "s.db").string();
  ASSERT_TRUE(store::OpenStore(db));
  constexpr int kThreads = 8, kWrites = 25;
  std::atomic<int> committed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      store::OpenOptions options;
      options.busy_timeout_ms = 60000;
      auto s = store::OpenStore(db, options);
      ASSERT_TRUE(s) << s.error().ToString();
      for (int i = 0; i < kWrites; ++i) {
        auto txn = (*s)->BeginWrite();
        ASSERT_TRUE(txn) << txn.error().ToString();
        ASSERT_TRUE(txn->Commit().ok());
        ++committed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(committed.load(), kThreads * kWrites);
}

// Commits of a gated connection never checkpoint in the committing thread; the gate's own
// thread copies the WAL into the database file. Without it (SQLite's automatic checkpoint is
// replaced by the gate's WAL hook) the file would stay at its first pages however much is
// committed.
TEST_F(WriteGateTest, TheGatesThreadCheckpointsTheWalIntoTheFile) {
  Conn writer(path_, 1000);
  ASSERT_TRUE(Exec(writer.db, "CREATE TABLE big (b BLOB)").ok());
  const auto file_size = [&] { return fs::file_size(path_); };
  const auto before = file_size();
  // 3,000 commits of a 2 KiB row each: about 6,000 WAL pages, six times the checkpoint size.
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(Exec(writer.db, "BEGIN IMMEDIATE").ok());
    ASSERT_TRUE(Exec(writer.db, "INSERT INTO big VALUES (zeroblob(2048))").ok());
    ASSERT_TRUE(Exec(writer.db, "COMMIT").ok());
  }
  // The checkpointer runs at most every 100 ms: wait for the file to take the rows (the test's
  // own timeout catches a checkpointer that never runs).
  while (file_size() < before + 4'000'000)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  SUCCEED() << "database file " << before << " -> " << file_size() << " bytes";
}

}  // namespace
}  // namespace fupin
