// The store conformance suite: what every Store backend must do. Runs against SQLite now;
// the PostgreSQL backend will run the same cases.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/datasets.h"
#include "store/sqlite/sqlite_store.h"

namespace fupin::store {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fupin-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ / "t.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> Open() {
    auto s = OpenSqliteStore(path_);
    EXPECT_TRUE(s) << (s ? "" : s.error().ToString());
    return s ? std::move(*s) : nullptr;
  }
  int64_t Count(Store& s, std::string_view table) {
    auto stats = s.GetStats();
    EXPECT_TRUE(stats);
    for (const auto& t : stats->tables)
      if (t.table == table) return t.rows;
    ADD_FAILURE() << "no table " << table;
    return -1;
  }
  // Position of a stored column in a data set's value vector.
  static size_t SlotOf(std::string_view dataset, std::string_view column) {
    auto cols = StoredColumns(*FindDataset(dataset));
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i].name == column) return i;
    ADD_FAILURE() << "no column " << column;
    return 0;
  }
  // Values for a households row: household_id and village_code set, the rest null.
  static std::vector<Value> Household(const std::string& id, std::optional<int64_t> status) {
    const DatasetSpec& d = *FindDataset("households");
    std::vector<Value> v(StoredColumns(d).size());
    v[SlotOf("households", "household_id")] = Value::Text(id);
    v[SlotOf("households", "village_code")] = Value::Text("520102016001");
    if (status) v[SlotOf("households", "status")] = Value::Int(*status);
    return v;
  }
  fs::path dir_, path_;
};

TEST_F(StoreTest, NewDatabaseHoldsTheBuiltinRegions) {
  auto s = Open();
  auto regions = s->LoadRegions();
  ASSERT_TRUE(regions);
  EXPECT_EQ(regions->size(), 19572u);
  int by_level[6] = {};
  for (const Region& r : *regions) by_level[r.level]++;
  EXPECT_EQ(by_level[1], 1);
  EXPECT_EQ(by_level[2], 9);
  EXPECT_EQ(by_level[3], 88);
  EXPECT_EQ(by_level[4], 1510);
  EXPECT_EQ(by_level[5], 17964);
  EXPECT_EQ(regions->front().code, "520000000000");
  EXPECT_EQ(regions->front().name, "贵州省");
}

TEST_F(StoreTest, ReopeningAppliesNoMigrationTwice) {
  auto migrations = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM schema_migrations", -1, &st, nullptr);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  };
  { auto s = Open(); }
  const int applied = migrations();
  EXPECT_GE(applied, 5);
  auto s = Open();
  EXPECT_EQ(Count(*s, "regions"), 19572);
  EXPECT_EQ(migrations(), applied);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_migrations", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 1), SqliteSchemaVersion());
  char* mode = nullptr;
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  mode = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
  EXPECT_STREQ(mode, "wal");
  sqlite3_free(mode);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { auto s = Open(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'future')", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = OpenSqliteStore(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), StatusCode::kDataLoss);
}

TEST_F(StoreTest, NotADatabaseIsAClearError) {
  FILE* f = fopen(path_.c_str(), "wb");
  std::string junk(8192, 'x');
  fwrite(junk.data(), 1, junk.size(), f);
  fclose(f);
  auto s = OpenSqliteStore(path_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), StatusCode::kDataLoss) << s.error().ToString();
}

TEST_F(StoreTest, AbortedBatchLeavesNothing) {
  auto s = Open();
  ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
  auto file = s->BeginFile({"households.csv", "households", "abc", 10, "UTF-8"});
  ASSERT_TRUE(file);
  auto w = s->OpenWriter(*FindDataset("households"), *file);
  ASSERT_TRUE(w);
  auto v = Household("H1", 1);
  ASSERT_TRUE((*w)->Put({1, 1, 1}, v).ok());
  s->AbortBatch();
  EXPECT_EQ(Count(*s, "households"), 0);
  EXPECT_EQ(Count(*s, "import_batches"), 0);
  EXPECT_EQ(Count(*s, "batch_files"), 0);
}

TEST_F(StoreTest, ChangedHouseholdKeepsOldValuesInHistory) {
  auto s = Open();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
    auto file = s->BeginFile({"households.csv", "households", round ? "b" : "a", 10, "UTF-8"});
    auto w = s->OpenWriter(*FindDataset("households"), *file);
    ASSERT_TRUE(w);
    auto v = Household("H1", round ? 2 : 1);
    ASSERT_TRUE((*w)->Put({1, 7, static_cast<uint64_t>(100 + round)}, v).ok());
    auto unchanged = Household("H2", 1);
    ASSERT_TRUE((*w)->Put({2, 8, 55}, unchanged).ok());
    auto counts = (*w)->Finish(true);
    ASSERT_TRUE(counts);
    EXPECT_EQ(counts->inserted, round ? 0 : 2);
    EXPECT_EQ(counts->updated, round ? 1 : 0);
    EXPECT_EQ(counts->unchanged, round ? 1 : 0);
    ASSERT_TRUE(s->FinishFile(*file, {.outcome = "imported"}).ok());
    ASSERT_TRUE(s->CommitBatch().ok());
  }
  EXPECT_EQ(Count(*s, "households"), 2);
  EXPECT_EQ(Count(*s, "history"), 1);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(
      db, "SELECT batch_id, entity, entity_key, field, old_value, new_value FROM history", -1, &st,
      nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), "household");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), "H1");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 3)), "status");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 4)), "1");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 5)), "2");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// Within a batch the importer checks a member's household against these ids, so they must
// include the households the open batch wrote.
TEST_F(StoreTest, HouseholdIdsIncludeTheOpenBatch) {
  auto s = Open();
  auto write_households = [&](std::vector<std::string> ids, std::string sha) {
    auto file = s->BeginFile({"households.csv", "households", sha, 10, "UTF-8"});
    ASSERT_TRUE(file);
    auto w = s->OpenWriter(*FindDataset("households"), *file);
    ASSERT_TRUE(w);
    int64_t row = 0;
    for (const std::string& id : ids) {
      ++row;
      ASSERT_TRUE((*w)->Put({row, static_cast<uint64_t>(row), 1}, Household(id, 1)).ok());
    }
    ASSERT_TRUE((*w)->Finish(true));
  };
  auto ids = [&] {
    std::vector<std::string> out;
    EXPECT_TRUE(s->ForEachHouseholdId([&](std::string_view id) { out.emplace_back(id); }).ok());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_TRUE(ids().empty());
  ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
  write_households({"H1", "H2"}, "a");
  ASSERT_TRUE(s->CommitBatch().ok());
  ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
  write_households({"H3"}, "b");
  EXPECT_EQ(ids(), (std::vector<std::string>{"H1", "H2", "H3"}));
  s->AbortBatch();
  EXPECT_EQ(ids(), (std::vector<std::string>{"H1", "H2"}));
}

// The importer checks references itself, but the schema still declares them: another
// program that writes with foreign keys on cannot add a member without its household.
TEST_F(StoreTest, SchemaStillDeclaresTheMemberHouseholdForeignKey) {
  {
    auto s = Open();
    ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
    ASSERT_TRUE(s->CommitBatch().ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
  int rc = sqlite3_exec(db,
                        "INSERT INTO members (file_id, source_row, row_hash, id_number, "
                        "household_id) VALUES (1, 1, 1, '520102197001010019', 'NOPE')",
                        nullptr, nullptr, nullptr);
  EXPECT_EQ(rc, SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

TEST_F(StoreTest, DepartmentSnapshotTracksNewChangedGoneAndKeepsRowIds) {
  auto s = Open();
  const DatasetSpec& d = *FindDataset("vehicles");
  auto row = [&](const std::string& plate) {
    std::vector<Value> v(StoredColumns(d).size());
    v[0] = Value::Text("520102197001010019");
    v.back() = Value::Text(plate);  // register_date slot reused as a marker
    return v;
  };
  struct Put {
    uint64_t key, hash;
    std::string marker;
  };
  std::vector<std::vector<Put>> snapshots = {
      {{1, 10, "a"}, {2, 20, "b"}, {3, 30, "c"}},
      {{1, 10, "a"}, {2, 21, "b2"}, {4, 40, "d"}},  // 1 same, 2 changed, 3 gone, 4 new
  };
  std::vector<int64_t> file_ids;
  for (size_t round = 0; round < snapshots.size(); ++round) {
    ASSERT_TRUE(s->BeginBatch({"x", {.user = "tester"}}));
    auto file = s->BeginFile({"vehicles.csv", "vehicles", std::to_string(round), 1, "UTF-8"});
    file_ids.push_back(*file);
    auto w = s->OpenWriter(d, *file);
    ASSERT_TRUE(w);
    int64_t n = 0;
    for (const Put& p : snapshots[round]) {
      auto v = row(p.marker);
      ASSERT_TRUE((*w)->Put({++n, p.key, p.hash}, v).ok());
    }
    auto counts = (*w)->Finish(true);
    ASSERT_TRUE(counts);
    if (round == 1) {
      EXPECT_EQ(counts->inserted, 1);
      EXPECT_EQ(counts->updated, 1);
      EXPECT_EQ(counts->unchanged, 1);
      EXPECT_EQ(counts->removed, 1);
    }
    ASSERT_TRUE(s->FinishFile(*file, {.outcome = "imported"}).ok());
    ASSERT_TRUE(s->CommitBatch().ok());
  }
  auto current = s->CurrentFileOf("vehicles");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ((*current)->sha256, "1");

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto query = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::vector<std::string> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string line;
      for (int c = 0; c < sqlite3_column_count(st); ++c)
        line +=
            (c ? "|" : "") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)));
      out.push_back(line);
    }
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(query("SELECT row_id, row_key, register_date FROM dept_vehicles ORDER BY row_id"),
            (std::vector<std::string>{"1|1|a", "2|2|b2", "4|4|d"}));
  EXPECT_EQ(query("SELECT row_id, change FROM dept_changes WHERE file_id = " +
                  std::to_string(file_ids[1]) + " ORDER BY row_id"),
            (std::vector<std::string>{"2|changed", "3|gone"}));
  EXPECT_EQ(query("SELECT row_id FROM dept_vehicles WHERE added_file_id = " +
                  std::to_string(file_ids[1])),
            (std::vector<std::string>{"4"}));
  sqlite3_close(db);
}

TEST_F(StoreTest, SecondWriterIsToldTheDatabaseIsBusy) {
  auto a = Open();
  ASSERT_TRUE(a->BeginBatch({"x", {.user = "a"}}));
  // While a holds the write lock, a second process can neither start a batch nor change the
  // journal mode; it is told so (kUnavailable) instead of hanging or corrupting anything.
  auto opened = OpenSqliteStore(path_, {.busy_timeout_ms = 0});
  if (opened) {
    auto batch = (*opened)->BeginBatch({"y", {.user = "b"}});
    ASSERT_FALSE(batch);
    EXPECT_EQ(batch.error().code(), StatusCode::kUnavailable) << batch.error().ToString();
  } else {
    EXPECT_EQ(opened.error().code(), StatusCode::kUnavailable) << opened.error().ToString();
  }
  a->AbortBatch();
  // Once the batch is over the file is in WAL mode again and opens normally.
  auto again = OpenSqliteStore(path_, {.busy_timeout_ms = 0});
  ASSERT_TRUE(again) << again.error().ToString();
}

TEST_F(StoreTest, WithAnotherConnectionOpenABatchRunsInWalMode) {
  auto reader = Open();
  auto writer = Open();
  ASSERT_TRUE(writer->BeginBatch({"x", {.user = "w"}}));
  // The reader can still read while the batch is open: the batch stayed in WAL mode.
  auto regions = reader->LoadRegions();
  ASSERT_TRUE(regions) << regions.error().ToString();
  EXPECT_EQ(regions->size(), 19572u);
  writer->AbortBatch();
}

}  // namespace
}  // namespace fupin::store
