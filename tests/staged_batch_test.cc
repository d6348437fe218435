// Batches that don't stop the platform (issue 14): while a batch is staged others keep reading
// the last published state and writing without waiting for it; the batch becomes visible all
// at once, stores exactly what a direct batch stores, refuses to overwrite an edit made
// meanwhile, and a kill at any moment leaves the store as it was. Real SQLite files, the real
// importer and the real `fupin` binary.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exchange/import.h"
#include "fupin_process.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::Csv;
using test::Household;
using test::kCounty;
using test::MakeId;
using test::Member;
using test::Row;

// The first batch: households H1..H20 with two members each, 30 health claims.
void WriteFirstBatch(const fs::path& dir) {
  std::vector<Row> households, members, claims;
  for (int i = 1; i <= 20; ++i) {
    const std::string h = fmt::format("H{}", i);
    households.push_back(Household(h, MakeId(kCounty, "19700101", 2 * i)));
    members.push_back(Member(MakeId(kCounty, "19700101", 2 * i), h));
    members.push_back(Member(MakeId(kCounty, "19700101", 2 * i + 1), h, "李四"));
  }
  for (int i = 0; i < 30; ++i)
    claims.push_back({{"claim_id", fmt::format("CL{:03d}", i)},
                      {"id_number", MakeId(kCounty, "19700101", 2 + i)}});
  test::WriteFile(dir / "households.csv", Csv("households", households));
  test::WriteFile(dir / "members.csv", Csv("members", members));
  test::WriteFile(dir / "health_claims.csv", Csv("health_claims", claims));
}

// The second batch: H1 exits (status 2), H21 is new with a member, a member of H2 changes
// name; claims CL000..CL004 are gone, CL005 changes, CL100..CL109 are new.
void WriteSecondBatch(const fs::path& dir) {
  std::vector<Row> households, members, claims;
  for (int i = 1; i <= 21; ++i) {
    const std::string h = fmt::format("H{}", i);
    Row row = Household(h, MakeId(kCounty, "19700101", 2 * i));
    if (i == 1) {
      row["status"] = "2";
      row["exit_year"] = "2020";
    }
    households.push_back(row);
    members.push_back(Member(MakeId(kCounty, "19700101", 2 * i), h));
    if (i <= 20)
      members.push_back(
          Member(MakeId(kCounty, "19700101", 2 * i + 1), h, i == 2 ? "李四四" : "李四"));
  }
  for (int i = 5; i < 30; ++i) {
    Row c = {{"claim_id", fmt::format("CL{:03d}", i)},
             {"id_number", MakeId(kCounty, "19700101", 2 + i)}};
    if (i == 5) c["total_cost"] = "999.50";
    claims.push_back(c);
  }
  for (int i = 100; i < 110; ++i)
    claims.push_back(
        {{"claim_id", fmt::format("CL{:03d}", i)}, {"id_number", MakeId(kCounty, "19700101", i)}});
  test::WriteFile(dir / "households.csv", Csv("households", households));
  test::WriteFile(dir / "members.csv", Csv("members", members));
  test::WriteFile(dir / "health_claims.csv", Csv("health_claims", claims));
}

// A connection of the test's own, as a server's, that never waits for a lock.
class Other {
 public:
  explicit Other(const fs::path& db) {
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 0);
  }
  ~Other() { sqlite3_close_v2(db_); }
  // Runs `sql`; "" on success, else SQLite's message.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return "";
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return msg;
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Every table a reader sees, counted (stage tables left aside).
std::map<std::string, int64_t> VisibleCounts(const fs::path& db) {
  std::map<std::string, int64_t> out;
  for (const auto& [name, n] : test::TableCounts(db))
    if (!name.starts_with("stage__")) out[name] = n;
  return out;
}

int64_t StageTables(const fs::path& db) {
  return test::QueryInt(db,
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE "
                        "'stage\\_\\_%' ESCAPE '\\'");
}

class StagedBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "f.db";
    WriteFirstBatch(dir_ / "b1");
    WriteSecondBatch(dir_ / "b2");
  }
  // A store as the server opens it: batches staged.
  std::unique_ptr<store::Store> Open(const fs::path& db, bool staged) {
    store::SqliteOptions o;
    o.stage_batches = staged;
    auto s = store::OpenSqliteStore(db, o);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }
  Result<exchange::ImportSummary> Import(store::Store& s, const fs::path& dir,
                                         std::function<void(const exchange::Progress&)> p = {}) {
    exchange::ImportOptions o;
    o.actor = {.user = "test", .role = Role::kAdmin};
    o.on_progress = std::move(p);
    return exchange::ImportPath(s, dir, o);
  }

  test::TempDir dir_;
  fs::path db_;
};

TEST_F(StagedBatchTest, WhileABatchIsStagedOthersReadTheOldStateAndWriteWithoutWaiting) {
  auto s = Open(db_, true);
  ASSERT_TRUE(Import(*s, dir_ / "b1").has_value());
  const auto before = VisibleCounts(db_);
  Other other(db_);
  ASSERT_EQ(other.Exec("CREATE TABLE scratch (x)"), "");

  int checked = 0;
  auto during = [&](const exchange::Progress& p) {
    // Called as each file ends (and during long files): rows are staged, nothing published.
    ++checked;
    SCOPED_TRACE(p.file_name);
    EXPECT_GE(StageTables(db_), 1);
    EXPECT_EQ(other.Int("SELECT count(*) FROM households"), 20);
    EXPECT_EQ(other.Int("SELECT status FROM households WHERE household_id = 'H1'"), 1);
    EXPECT_EQ(other.Int("SELECT count(*) FROM dept_health_claims"), 30);
    EXPECT_EQ(other.Int("SELECT count(*) FROM import_batches"), 1);
    // A write from another connection that does not wait at all (busy timeout 0) goes through.
    EXPECT_EQ(other.Exec(
                  fmt::format("BEGIN IMMEDIATE; INSERT INTO scratch VALUES ({}); COMMIT", checked)),
              "");
  };
  auto summary = Import(*s, dir_ / "b2", during);
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_GE(checked, 3);  // each file's end, and maybe progress

  // Published all at once, the other connection's writes kept.
  EXPECT_EQ(other.Int("SELECT count(*) FROM scratch"), checked);
  EXPECT_EQ(other.Int("SELECT count(*) FROM households"), 21);
  EXPECT_EQ(other.Int("SELECT status FROM households WHERE household_id = 'H1'"), 2);
  EXPECT_EQ(other.Int("SELECT count(*) FROM members"), 41);
  EXPECT_EQ(other.Int("SELECT count(*) FROM dept_health_claims"), 35);
  EXPECT_EQ(other.Int("SELECT count(*) FROM import_batches WHERE finished_at IS NOT NULL"), 2);
  EXPECT_EQ(StageTables(db_), 0);
  EXPECT_GT(VisibleCounts(db_)["history"], before.at("history"));
}

TEST_F(StagedBatchTest, StagedAndDirectBatchesStoreTheSame) {
  const fs::path direct_db = dir_ / "direct.db", staged_db = dir_ / "staged.db";
  {
    auto direct = Open(direct_db, false);
    auto staged = Open(staged_db, true);
    for (const char* b : {"b1", "b2", "b1"}) {
      SCOPED_TRACE(b);
      auto d = Import(*direct, dir_ / b);
      auto st = Import(*staged, dir_ / b);
      ASSERT_TRUE(d.has_value()) << d.error().ToString();
      ASSERT_TRUE(st.has_value()) << st.error().ToString();
      EXPECT_EQ(d->batch_id, st->batch_id);
      EXPECT_EQ(d->rows_imported, st->rows_imported);
      ASSERT_EQ(d->files.size(), st->files.size());
      for (size_t i = 0; i < d->files.size(); ++i) {
        EXPECT_EQ(d->files[i].file_id, st->files[i].file_id);
        EXPECT_EQ(d->files[i].outcome.inserted, st->files[i].outcome.inserted);
        EXPECT_EQ(d->files[i].outcome.updated, st->files[i].outcome.updated);
        EXPECT_EQ(d->files[i].outcome.unchanged, st->files[i].outcome.unchanged);
        EXPECT_EQ(d->files[i].outcome.removed, st->files[i].outcome.removed);
      }
    }
  }
  EXPECT_EQ(VisibleCounts(direct_db), VisibleCounts(staged_db));
  for (const char* sql :
       {"SELECT * FROM households ORDER BY household_id",
        "SELECT * FROM members ORDER BY household_id, id_number",
        "SELECT * FROM dept_health_claims ORDER BY row_id",
        "SELECT batch_id, entity, entity_key, field, old_value, new_value FROM history ORDER BY "
        "history_id",
        "SELECT * FROM dept_changes ORDER BY file_id, row_id",
        "SELECT dataset, block, file_id, hex(data) FROM dept_identity ORDER BY dataset, block",
        "SELECT * FROM dataset_state ORDER BY dataset",
        "SELECT file_id, batch_id, file_name, dataset, rows_read, rows_imported, inserted, "
        "updated, unchanged, removed, outcome FROM batch_files ORDER BY file_id",
        "SELECT * FROM import_issues ORDER BY file_id, row_number, code",
        "SELECT * FROM regions ORDER BY code"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(test::Query(direct_db, sql), test::Query(staged_db, sql));
  }
}

TEST_F(StagedBatchTest, AHouseholdEditedWhileTheBatchIsStagedStopsItsPublishAndNothingChanges) {
  auto s = Open(db_, true);
  ASSERT_TRUE(Import(*s, dir_ / "b1").has_value());
  const auto before = VisibleCounts(db_);
  Other other(db_);
  auto edit = [&](const exchange::Progress& p) {
    // H1, whose row the batch changes, is edited on the platform meanwhile (its version moves).
    if (p.file_name == "members.csv") {
      EXPECT_EQ(other.Exec("UPDATE households SET version = version + 1, housing_area_m2 = 77 "
                           "WHERE household_id = 'H1'"),
                "");
    }
  };
  auto summary = Import(*s, dir_ / "b2", edit);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code(), StatusCode::kAborted);
  EXPECT_NE(summary.error().message().find("H1"), std::string::npos) << summary.error().message();
  EXPECT_EQ(VisibleCounts(db_), before);
  EXPECT_EQ(other.Int("SELECT status FROM households WHERE household_id = 'H1'"), 1);
  EXPECT_EQ(other.Int("SELECT housing_area_m2 FROM households WHERE household_id = 'H1'"), 77);
  EXPECT_EQ(StageTables(db_), 0);

  // Run again, it publishes (the edit is now part of what it compares against).
  auto again = Import(*s, dir_ / "b2");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(other.Int("SELECT status FROM households WHERE household_id = 'H1'"), 2);
  EXPECT_EQ(other.Int("SELECT count(*) FROM dept_health_claims"), 35);
}

TEST_F(StagedBatchTest, AKilledStagedBatchLeavesTheStoreAsBeforeAndTheNextOneCleansUp) {
  {
    auto s = Open(db_, false);
    ASSERT_TRUE(Import(*s, dir_ / "b1").has_value());
  }
  const auto before = VisibleCounts(db_);
  const auto h1 = test::Query(db_, "SELECT * FROM households WHERE household_id = 'H1'");
  // A connection held open, as the server's: `fupin import` then stages its batch.
  Other server(db_);
  ASSERT_EQ(server.Int("SELECT count(*) FROM households"), 20);
  constexpr int kRows = 21 + 41 + 35;
  for (int kill_after : {1, 25, 50, 80, kRows}) {
    SCOPED_TRACE(fmt::format("killed after {} rows", kill_after));
    test::FupinRun r =
        test::RunFupin(dir_.path(), {"import", (dir_ / "b2").string(), "--db", db_.string()},
                       {fmt::format("FUPIN_FAULT_KILL_AFTER_ROWS={}", kill_after)});
    ASSERT_EQ(r.signal, SIGKILL) << r.Show();
    EXPECT_GE(StageTables(db_), 1) << "the batch was staged";
    EXPECT_EQ(VisibleCounts(db_), before);
    EXPECT_EQ(test::Query(db_, "SELECT * FROM households WHERE household_id = 'H1'"), h1);
    EXPECT_EQ(server.Int("SELECT count(*) FROM dept_health_claims"), 30);
    EXPECT_EQ(test::Query(db_, "PRAGMA integrity_check"),
              (std::vector<std::vector<std::string>>{{"ok"}}));
  }
  test::FupinRun r = test::RunFupin(
      dir_.path(), {"import", (dir_ / "b2").string(), "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_EQ(StageTables(db_), 0);
  EXPECT_EQ(server.Int("SELECT max(batch_id) FROM import_batches"), 2);
  EXPECT_EQ(server.Int("SELECT count(*) FROM households"), 21);
  EXPECT_EQ(server.Int("SELECT count(*) FROM dept_health_claims"), 35);
}

TEST_F(StagedBatchTest, OneBatchAtATimePerStore) {
  auto a = Open(db_, true);
  auto b = Open(db_, true);
  ASSERT_TRUE(Import(*a, dir_ / "b1").has_value());
  Result<exchange::ImportSummary> second = exchange::ImportSummary{};
  bool tried = false;
  auto during = [&](const exchange::Progress& p) {
    if (p.file_name == "households.csv" && !tried) {
      tried = true;
      second = Import(*b, dir_ / "b2");
    }
  };
  ASSERT_TRUE(Import(*a, dir_ / "b2", during).has_value());
  ASSERT_FALSE(second.has_value()) << "a second batch while the first is staged";
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(StageTables(db_), 0);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM import_batches"), 2);
}

}  // namespace
}  // namespace fupin
