// Micro-benchmarks of the import's hot paths: CSV parsing, ID normalisation, row validation.
// Run: build/bench/fupin_bench
#include <benchmark/benchmark.h>

#include <string>

#include "core/id_number.h"
#include "exchange/csv_reader.h"
#include "exchange/validate.h"

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

}  // namespace
}  // namespace fupin::exchange

BENCHMARK_MAIN();
