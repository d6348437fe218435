// Micro-benchmarks of the import's hot paths: CSV parsing, ID normalisation, row validation,
// and the store's writer beside the floor under it, SQLite's own bind-and-step insert.
// Run: build/bench/fupin_bench
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/id_number.h"
#include "exchange/csv_reader.h"
#include "exchange/validate.h"
#include "store/sqlite/sqlite_store.h"

namespace fupin::exchange {
namespace {

std::string SampleCsv(int rows) {
  std::string text =
      "id_number,name,sex,birth_date,region_code,employer,place,start_date,months,monthly_wage\n";
  for (int i = 0; i < rows; ++i) {
    std::string first17 =
        "52010219" + std::to_string(50 + i % 40) + "0101" + std::to_string(100 + i % 900);
    text += first17 + IdCheckChar(first17) + ",王小明,1,19" + std::to_string(50 + i % 40) +
            "-01-01,520102016001,\"贵州某某建筑有限公司\",2,2019-03-01,6,3500.50\n";
  }
  return text;
}

void BM_CsvParse(benchmark::State& state) {
  std::string text = SampleCsv(100000);
  for (auto _ : state) {
    auto file = OpenCsvText(text);
    RawRow row;
    int64_t n = 0;
    while (*file->rows->Next(row)) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations() * 100001);
}
BENCHMARK(BM_CsvParse)->Unit(benchmark::kMillisecond);

void BM_NormalizeIdNumber(benchmark::State& state) {
  std::string ids[] = {"520102195001011005", "520102500101100", " 52010219500101100x",
                       "５２０１０２１９５００１０１１００５"};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(NormalizeIdNumber(ids[i++ & 3]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizeIdNumber);

void BM_ValidateDepartmentRow(benchmark::State& state) {
  std::string text = SampleCsv(10000);
  auto file = OpenCsvText(text);
  RawRow header;
  (void)*file->rows->Next(header);
  const DatasetSpec& d = *FindDataset("hr_employment");
  RegionIndex regions;
  regions.Add("520102016001", 5);
  RowValidator validator(d, *MapHeader(d, header.cells), regions);
  std::vector<RawRow> rows(10000);
  for (RawRow& r : rows) (void)*file->rows->Next(r);
  ValidatedRow out;
  size_t i = 0;
  for (auto _ : state) {
    validator.Validate(rows[i++ % rows.size()], out);
    benchmark::DoNotOptimize(out.content_hash);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateDepartmentRow);

// Department rows of the sample, validated once, for the writer benchmarks.
std::vector<ValidatedRow> ValidatedSample(const DatasetSpec& d, int n) {
  std::string text = SampleCsv(n);
  auto file = OpenCsvText(text);
  RawRow raw;
  (void)*file->rows->Next(raw);
  RegionIndex regions;
  regions.Add("520102016001", 5);
  RowValidator validator(d, *MapHeader(d, raw.cells), regions);
  std::vector<ValidatedRow> rows(static_cast<size_t>(n));
  for (ValidatedRow& r : rows) {
    (void)*file->rows->Next(raw);
    validator.Validate(raw, r);
  }
  return rows;
}

std::filesystem::path BenchDb() {
  auto path =
      std::filesystem::temp_directory_path() / ("fupin-bench-" + std::to_string(getpid()) + ".db");
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-journal");
  std::filesystem::remove(path.string() + "-wal");
  return path;
}

// fupin's department writer: 100,000 validated rows into a fresh store (opening the store
// and committing are not timed).
void BM_StoreWriteDepartmentRows(benchmark::State& state) {
  const DatasetSpec& d = *FindDataset("hr_employment");
  std::vector<ValidatedRow> rows = ValidatedSample(d, 100000);
  for (auto _ : state) {
    state.PauseTiming();
    auto path = BenchDb();
    auto store = *store::OpenSqliteStore(path);
    (void)*store->BeginBatch({"bench", "bench"});
    auto writer = *store->OpenWriter(d, *store->BeginFile({"x.csv", "hr_employment", "", 0, ""}));
    state.ResumeTiming();
    int64_t n = 0;
    for (const ValidatedRow& r : rows) {
      ++n;
      (void)writer->Put({n, r.key_hash + static_cast<uint64_t>(n), r.content_hash}, r.values);
    }
    (void)*writer->Finish(true);
    state.PauseTiming();
    (void)store->CommitBatch();
    store.reset();
    std::filesystem::remove(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(rows.size()));
}
BENCHMARK(BM_StoreWriteDepartmentRows)->Unit(benchmark::kMillisecond);

// The floor: the same values bound and stepped one row at a time into a table of the same
// columns with SQLite's C API, in one transaction, with the store's page size and journal
// (creating the table and committing are not timed).
void BM_SqliteBindInsertFloor(benchmark::State& state) {
  const DatasetSpec& d = *FindDataset("hr_employment");
  std::vector<ValidatedRow> rows = ValidatedSample(d, 100000);
  const size_t width = rows[0].values.size();
  for (auto _ : state) {
    state.PauseTiming();
    auto path = BenchDb();
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA page_size = 16384; PRAGMA journal_mode = DELETE", nullptr, nullptr,
                 nullptr);
    std::string ddl =
        "CREATE TABLE t (row_id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, source_row "
        "INTEGER NOT NULL, added_file_id INTEGER NOT NULL, row_key INTEGER NOT NULL, row_hash "
        "INTEGER NOT NULL";
    std::string sql = "INSERT INTO t VALUES (NULL, ?1, ?2, ?1, ?3, ?4";
    std::vector<StoredColumn> columns = StoredColumns(d);
    for (size_t c = 0; c < width; ++c) {
      ddl += ", c" + std::to_string(c) + " " + std::string(columns[c].sql_type);
      sql += ", ?" + std::to_string(c + 5);
    }
    sqlite3_exec(db, (ddl + ")").c_str(), nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (sql + ")").c_str(), -1, &st, nullptr);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    state.ResumeTiming();
    int64_t n = 0;
    for (const ValidatedRow& r : rows) {
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, 1);
      sqlite3_bind_int64(st, 2, ++n);
      sqlite3_bind_int64(st, 3, static_cast<int64_t>(r.key_hash) + n);
      sqlite3_bind_int64(st, 4, static_cast<int64_t>(r.content_hash));
      for (size_t c = 0; c < width; ++c) {
        const store::Value& v = r.values[c];
        const int i = static_cast<int>(c + 5);
        if (v.kind == store::Value::Kind::kInt) {
          sqlite3_bind_int64(st, i, v.i);
        } else if (v.kind == store::Value::Kind::kReal) {
          sqlite3_bind_double(st, i, v.r);
        } else if (v.kind == store::Value::Kind::kText) {
          sqlite3_bind_text(st, i, v.text.data(), static_cast<int>(v.text.size()), SQLITE_STATIC);
        } else {
          sqlite3_bind_null(st, i);
        }
      }
      sqlite3_step(st);
    }
    state.PauseTiming();
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_finalize(st);
    sqlite3_close(db);
    std::filesystem::remove(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(rows.size()));
}
BENCHMARK(BM_SqliteBindInsertFloor)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fupin::exchange

BENCHMARK_MAIN();
