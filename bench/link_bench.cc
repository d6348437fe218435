// Micro-benchmarks of the person index's hot paths: scoring one candidate pair (the four
// comparisons and the weight), the name comparison alone, EM on pattern counts.
// Run: build/bench/fupin_link_bench   (items_per_second = pairs per second on one thread)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "link/compare.h"
#include "link/fellegi_sunter.h"
#include "link/names.h"

namespace fupin::link {
namespace {

// Candidate pairs as blocking produces them: same county and birth date, mostly different
// names, some the same person with a variant name.
struct Side {
  std::string name, simplified, region;
  int32_t birth;
  int sex;
  int region_digits;
};

std::vector<std::pair<Side, Side>> SamplePairs(size_t n) {
  const char* surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "欧阳"};
  const char* given[] = {"小明", "建国", "秀英", "玉兰", "志强", "丽", "伟", "芳",
                         "敏",   "静",   "明",   "铭",   "洋",   "杰", "娟", "晓燕"};
  std::vector<std::pair<Side, Side>> out;
  uint64_t s = 7;
  auto next = [&s](uint64_t m) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % m;
  };
  for (size_t i = 0; i < n; ++i) {
    Side a, b;
    a.name = std::string(surnames[next(11)]) + given[next(16)];
    b.name = next(4) == 0 ? a.name : std::string(surnames[next(11)]) + given[next(16)];
    a.simplified = ToSimplified(a.name);
    b.simplified = ToSimplified(b.name);
    a.birth = b.birth = 19600101 + static_cast<int32_t>(next(40)) * 10000;
    a.sex = 1 + static_cast<int>(next(2));
    b.sex = 1 + static_cast<int>(next(2));
    a.region = "520102016001";
    a.region_digits = next(2) ? 12 : 6;
    b.region = next(3) ? "520102016001" : "520102016002";
    out.emplace_back(std::move(a), std::move(b));
  }
  return out;
}

Model SampleModel() {
  Model m;
  m.lambda = 1e-7;
  m.fields = {
      {"name",
       {"0", "1", "2", "3", "4"},
       {0.98, 0.007, 0.009, 0.003, 0.001},
       {3e-5, 1e-6, 2e-5, 0.003, 0.997}},
      {"birth_date", {"0", "1", "2", "3"}, {0.98, 0.01, 0.001, 0.009}, {4e-5, 0.004, 1e-5, 0.996}},
      {"sex", {"0", "1"}, {0.999, 0.001}, {0.5, 0.5}},
      {"region", {"0", "1", "2", "3"}, {0.56, 0.06, 0.37, 0.01}, {3e-5, 3e-4, 0.015, 0.985}}};
  return m;
}

void BM_ScorePair(benchmark::State& state) {
  auto pairs = SamplePairs(100000);
  Model model = SampleModel();
  double tf[4] = {2e-5, 0, 0, 0};
  double sum = 0;
  for (auto _ : state) {
    for (const auto& [a, b] : pairs) {
      uint8_t lv[4];
      lv[0] = CompareNames(a.name, b.name, a.simplified, b.simplified);
      lv[1] = CompareDates(a.birth, b.birth);
      lv[2] = CompareSex(a.sex, b.sex);
      lv[3] = CompareRegions(a.region, a.region_digits, b.region);
      sum += model.Weight(lv, tf);
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pairs.size()));
}
BENCHMARK(BM_ScorePair)->Unit(benchmark::kMillisecond);

void BM_CompareNames(benchmark::State& state) {
  auto pairs = SamplePairs(100000);
  int64_t sum = 0;
  for (auto _ : state)
    for (const auto& [a, b] : pairs)
      sum += CompareNames(a.name, b.name, a.simplified, b.simplified);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pairs.size()));
}
BENCHMARK(BM_CompareNames)->Unit(benchmark::kMillisecond);

void BM_EmOnPatterns(benchmark::State& state) {
  // Ten million pairs' worth of patterns: EM's cost depends on distinct patterns only.
  PatternCounts counts;
  uint64_t s = 11;
  for (int i = 0; i < 200000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    uint8_t lv[4] = {static_cast<uint8_t>((s >> 20) % 5), static_cast<uint8_t>((s >> 30) % 4),
                     static_cast<uint8_t>((s >> 40) % 2), static_cast<uint8_t>((s >> 50) % 4)};
    counts.Add(lv);
  }
  Model start = SampleModel();
  start.lambda = 0.1;
  for (auto _ : state) benchmark::DoNotOptimize(EstimateEm(start, counts).lambda);
}
BENCHMARK(BM_EmOnPatterns)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fupin::link

BENCHMARK_MAIN();
