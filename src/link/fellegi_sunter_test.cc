#include "link/fellegi_sunter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace fupin::link {
namespace {

Model TwoFieldModel() {
  Model m;
  m.lambda = 0.2;
  m.fields = {{"a", {"same", "different"}, {0.9, 0.1}, {0.1, 0.9}},
              {"b", {"same", "close", "different"}, {0.8, 0.15, 0.05}, {0.05, 0.15, 0.8}}};
  return m;
}

TEST(FellegiSunter, WeightAddsLog2RatiosAndSkipsMissing) {
  Model m = TwoFieldModel();
  uint8_t both_agree[] = {0, 0};
  EXPECT_NEAR(m.Weight(both_agree), std::log2(0.9 / 0.1) + std::log2(0.8 / 0.05), 1e-12);
  uint8_t one_missing[] = {kMissing, 2};
  EXPECT_NEAR(m.Weight(one_missing), std::log2(0.05 / 0.8), 1e-12);
  // A term-frequency u replaces u at level 0 only.
  double tf[] = {0.001, 0};
  EXPECT_NEAR(m.Weight(both_agree, tf), std::log2(0.9 / 0.001) + std::log2(0.8 / 0.05), 1e-12);
  uint8_t disagree[] = {1, 0};
  EXPECT_NEAR(m.Weight(disagree, tf), std::log2(0.1 / 0.9) + std::log2(0.8 / 0.05), 1e-12);
}

TEST(FellegiSunter, ProbabilityUsesThePrior) {
  Model m = TwoFieldModel();
  m.lambda = 0.5;
  EXPECT_NEAR(m.Probability(0), 0.5, 1e-12);
  EXPECT_NEAR(m.Probability(3), 8.0 / 9.0, 1e-12);
  m.lambda = 0.2;  // prior odds 1:4, weight 2 -> odds 1:1
  EXPECT_NEAR(m.Probability(2), 0.5, 1e-12);
}

TEST(FellegiSunter, LevelsPackFourBitsPerField) {
  uint8_t levels[] = {1, 0, kMissing, 3};
  uint64_t packed = PackLevels(levels);
  EXPECT_EQ(packed, 0x3F01u);
  uint8_t back[4];
  UnpackLevels(packed, back);
  EXPECT_EQ(std::vector<uint8_t>(back, back + 4), std::vector<uint8_t>(levels, levels + 4));
}

TEST(FellegiSunter, JsonRoundTripAndBadJsonRefused) {
  Model m = TwoFieldModel();
  m.em_iterations = 7;
  auto back = Model::FromJson(m.ToJson());
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->lambda, m.lambda);
  EXPECT_EQ(back->em_iterations, 7);
  ASSERT_EQ(back->fields.size(), 2u);
  EXPECT_EQ(back->fields[1].levels, m.fields[1].levels);
  EXPECT_EQ(back->fields[1].m, m.fields[1].m);
  EXPECT_EQ(back->fields[1].u, m.fields[1].u);
  EXPECT_FALSE(Model::FromJson("{not json"));
  EXPECT_FALSE(Model::FromJson(
      R"({"lambda":0.1,"fields":[{"name":"a","levels":["x"],"m":[1,0],"u":[1]}]})"));
}

// Draws pairs from a known model and checks that EM finds its parameters again.
PatternCounts Sample(const Model& truth, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(0, 1);
  PatternCounts counts;
  for (int i = 0; i < n; ++i) {
    bool match = uni(rng) < truth.lambda;
    uint8_t levels[3];
    for (size_t f = 0; f < truth.fields.size(); ++f) {
      const auto& p = match ? truth.fields[f].m : truth.fields[f].u;
      double x = uni(rng), acc = 0;
      uint8_t l = 0;
      for (; static_cast<size_t>(l) + 1 < p.size(); ++l) {
        acc += p[l];
        if (x < acc) break;
      }
      levels[f] = l;
    }
    counts.Add(std::span<const uint8_t>(levels, truth.fields.size()));
  }
  return counts;
}

Model ThreeFieldTruth() {
  Model t;
  t.lambda = 0.15;
  t.fields = {{"name", {"same", "close", "different"}, {0.85, 0.1, 0.05}, {0.02, 0.08, 0.9}},
              {"date", {"same", "different"}, {0.95, 0.05}, {0.1, 0.9}},
              {"place", {"same", "different"}, {0.8, 0.2}, {0.2, 0.8}}};
  return t;
}

Model FlatStart(const Model& truth) {
  Model s = truth;
  s.lambda = 0.5;
  for (auto& f : s.fields) {
    size_t k = f.m.size();
    for (size_t l = 0; l < k; ++l) {
      f.m[l] = l == 0 ? 0.6 : 0.4 / static_cast<double>(k - 1);
      f.u[l] = 1.0 / static_cast<double>(k);
    }
  }
  return s;
}

TEST(FellegiSunter, EmRecoversAKnownModel) {
  Model truth = ThreeFieldTruth();
  PatternCounts counts = Sample(truth, 200000, 1);
  EXPECT_EQ(counts.pairs(), 200000);
  Model got = EstimateEm(FlatStart(truth), counts);
  EXPECT_NEAR(got.lambda, truth.lambda, 0.01);
  for (size_t f = 0; f < truth.fields.size(); ++f)
    for (size_t l = 0; l < truth.fields[f].m.size(); ++l) {
      EXPECT_NEAR(got.fields[f].m[l], truth.fields[f].m[l], 0.02) << f << " " << l;
      EXPECT_NEAR(got.fields[f].u[l], truth.fields[f].u[l], 0.02) << f << " " << l;
    }
  EXPECT_GT(got.em_iterations, 1);
}

TEST(FellegiSunter, EmWithFixedUAndActiveFieldsLeavesTheRestAlone) {
  Model truth = ThreeFieldTruth();
  PatternCounts counts = Sample(truth, 200000, 2);
  Model start = FlatStart(truth);
  for (size_t f = 0; f < truth.fields.size(); ++f) start.fields[f].u = truth.fields[f].u;
  Model got = EstimateEm(start, counts, {.fix_u = true, .active = {0, 1}});
  EXPECT_EQ(got.fields[0].u, truth.fields[0].u);  // fixed
  EXPECT_EQ(got.fields[2].m, start.fields[2].m);  // not active: untouched
  EXPECT_NEAR(got.fields[0].m[0], 0.85, 0.02);
  EXPECT_NEAR(got.fields[1].m[0], 0.95, 0.02);
  EXPECT_NEAR(got.lambda, 0.15, 0.01);
}

TEST(FellegiSunter, EmWithFrozenMUsesTheFieldButKeepsItsM) {
  Model truth = ThreeFieldTruth();
  PatternCounts counts = Sample(truth, 200000, 3);
  Model start = FlatStart(truth);
  for (size_t f = 0; f < truth.fields.size(); ++f) start.fields[f].u = truth.fields[f].u;
  start.fields[1].m = truth.fields[1].m;
  start.fields[2].m = truth.fields[2].m;
  Model got = EstimateEm(start, counts, {.fix_u = true, .active = {0, 1, 2}, .frozen_m = {1, 2}});
  EXPECT_EQ(got.fields[1].m, truth.fields[1].m);  // frozen, yet it identifies the matches
  EXPECT_EQ(got.fields[2].m, truth.fields[2].m);
  EXPECT_NEAR(got.fields[0].m[0], truth.fields[0].m[0], 0.02);
  EXPECT_NEAR(got.lambda, truth.lambda, 0.01);
}

TEST(FellegiSunter, EmIsReproducibleAndMergeAddsCounts) {
  Model truth = ThreeFieldTruth();
  PatternCounts a = Sample(truth, 5000, 3), b = Sample(truth, 5000, 4), all = a;
  all.Merge(b);
  EXPECT_EQ(all.pairs(), 10000);
  Model x = EstimateEm(FlatStart(truth), all), y = EstimateEm(FlatStart(truth), all);
  EXPECT_EQ(x.ToJson(), y.ToJson());
  // No pairs: the start model comes back unchanged.
  EXPECT_EQ(EstimateEm(FlatStart(truth), PatternCounts()).ToJson(), FlatStart(truth).ToJson());
}

TEST(FellegiSunter, EstimateUCountsRandomPairsWithSmoothing) {
  Model m = TwoFieldModel();
  EstimateU(m, 98, [](int64_t i, uint8_t* lv) {
    lv[0] = i % 2 == 0 ? 0 : 1;     // 49 and 49
    lv[1] = i < 10 ? kMissing : 2;  // 88 at level 2
  });
  EXPECT_NEAR(m.fields[0].u[0], 50.0 / 100.0, 1e-12);
  EXPECT_NEAR(m.fields[1].u[2], 89.0 / 91.0, 1e-12);
  EXPECT_NEAR(m.fields[1].u[0], 1.0 / 91.0, 1e-12);
}

}  // namespace
}  // namespace fupin::link
