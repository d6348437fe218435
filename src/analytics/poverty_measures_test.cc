#include "analytics/poverty_measures.h"

#include <gtest/gtest.h>

#include <vector>

namespace fupin::analytics {
namespace {

// World Bank Handbook on Poverty and Inequality (Haughton & Khandker), ch. 4, country C.
TEST(Fgt, HandbookCountryC) {
  std::vector<double> y = {100, 110, 150, 160};
  auto r = ComputeFgt(y, 125);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->p0, 0.5);
  EXPECT_NEAR(r->p1, 0.08, 1e-12);
  EXPECT_NEAR(r->p2, 0.0136, 1e-12);
  EXPECT_EQ(r->poor_weight, 2);
}

TEST(Fgt, IncomeAtTheLineIsNotPoorAndWeightsCount) {
  // Inequality.jl: headcount([8,5,1,3,5,6,7,6,3], 4) = 1/3.
  std::vector<double> y = {8, 5, 1, 3, 5, 6, 7, 6, 3};
  EXPECT_NEAR(ComputeFgt(y, 4)->p0, 1.0 / 3, 1e-12);
  EXPECT_EQ(ComputeFgt(std::vector<double>{4, 4}, 4)->p0, 0);
  // A weight of 3 on one person is the same as three copies of them.
  std::vector<double> one = {100, 200}, w = {3, 1}, copies = {100, 100, 100, 200};
  auto a = ComputeFgt(one, 125, w), b = ComputeFgt(copies, 125);
  EXPECT_DOUBLE_EQ(a->p1, b->p1);
  EXPECT_DOUBLE_EQ(a->p2, b->p2);
}

TEST(Fgt, BadInputIsRefused) {
  std::vector<double> y = {1, 2};
  EXPECT_FALSE(ComputeFgt(y, 0));
  EXPECT_FALSE(ComputeFgt(y, 10, std::vector<double>{1}));
  EXPECT_FALSE(ComputeFgt(y, 10, std::vector<double>{1, -1}));
  EXPECT_FALSE(ComputeFgt(std::vector<double>{}, 10));  // nobody: no ratio
}

// Alkire & Foster (2011), the 4 x 4 illustration (DOMAIN.md §7.3).
const std::vector<double> kY = {13.1, 14, 4, 1,  //
                                15.2, 7,  5, 0,  //
                                12.5, 10, 1, 0,  //
                                20,   11, 3, 1};
const std::vector<double> kZ = {13, 12, 3, 1};

TEST(AlkireFoster, WorkedExampleEveryCutoff) {
  std::vector<double> w = {1, 1, 1, 1};
  struct Row {
    double k, h, a, m0, m1, m2;
    int poor;
  };
  const Row rows[] = {{1, 0.75, 7.0 / 12, 7.0 / 16, 0.210737, 0.165891, 3},
                      {2, 0.5, 0.75, 0.375, 171.0 / 832, 21475.0 / 129792, 2},
                      {3, 0.25, 1.0, 0.25, 0.116987, 0.092106, 1},
                      {4, 0.25, 1.0, 0.25, 0.116987, 0.092106, 1}};
  for (const Row& row : rows) {
    auto r = ComputeAlkireFoster(kY, kZ, w, row.k);
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->poor, row.poor) << row.k;
    EXPECT_NEAR(r->h, row.h, 1e-12) << row.k;
    EXPECT_NEAR(r->a, row.a, 1e-12) << row.k;
    EXPECT_NEAR(r->m0, row.m0, 1e-12) << row.k;
    EXPECT_NEAR(r->m1, row.m1, 1e-6) << row.k;
    EXPECT_NEAR(r->m2, row.m2, 1e-6) << row.k;
  }
  auto k2 = ComputeAlkireFoster(kY, kZ, w, 2);
  EXPECT_EQ(k2->is_poor, (std::vector<bool>{false, true, true, false}));
  // Censored headcounts at k = 2: d1 person 3; d2 persons 2, 3; d3 person 3; d4 persons 2, 3.
  EXPECT_EQ(k2->censored_headcount, (std::vector<double>{0.25, 0.5, 0.25, 0.5}));
  double sum = 0;
  for (double c : k2->contribution) sum += c;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(k2->contribution[1], 0.25 * 0.5 / 0.375, 1e-12);
}

TEST(AlkireFoster, NormalisedWeightsGiveTheSameResult) {
  auto equal = ComputeAlkireFoster(kY, kZ, std::vector<double>{1, 1, 1, 1}, 2);
  auto normalised = ComputeAlkireFoster(kY, kZ, std::vector<double>{0.25, 0.25, 0.25, 0.25}, 0.5);
  ASSERT_TRUE(equal && normalised);
  EXPECT_NEAR(normalised->h, equal->h, 1e-12);
  EXPECT_NEAR(normalised->a, equal->a, 1e-12);
  EXPECT_NEAR(normalised->m0, equal->m0, 1e-12);
}

TEST(AlkireFoster, ByGroupDecomposes) {
  std::vector<double> w = {1, 1, 1, 1};
  std::vector<int64_t> group = {7, 3, 7, 3};  // persons 1 and 3 in group 7, 2 and 4 in group 3
  auto groups = ComputeAlkireFosterByGroup(kY, kZ, w, 2, group);
  ASSERT_TRUE(groups) << groups.error().ToString();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].group, 3);
  EXPECT_EQ((*groups)[1].group, 7);
  // Group 3: person 2 (score 2, poor) and person 4 (score 1): H 0.5, A 0.5, M0 0.25.
  EXPECT_NEAR((*groups)[0].result.h, 0.5, 1e-12);
  EXPECT_NEAR((*groups)[0].result.m0, 0.25, 1e-12);
  // Group 7: person 1 (0) and person 3 (4, poor): H 0.5, A 1, M0 0.5.
  EXPECT_NEAR((*groups)[1].result.m0, 0.5, 1e-12);
  double m0 = 0;
  for (const auto& g : *groups) m0 += 0.5 * g.result.m0;  // n_g / n = 2 / 4
  EXPECT_NEAR(m0, ComputeAlkireFoster(kY, kZ, w, 2)->m0, 1e-12);
  EXPECT_FALSE(ComputeAlkireFosterByGroup(kY, kZ, w, 2, std::vector<int64_t>{1, 2}));
}

TEST(AlkireFoster, BadShapesAreRefused) {
  EXPECT_FALSE(ComputeAlkireFoster(kY, kZ, std::vector<double>{1, 1, 1}, 2));
  EXPECT_FALSE(
      ComputeAlkireFoster(std::vector<double>{1, 2, 3}, kZ, std::vector<double>{1, 1, 1, 1}, 2));
  EXPECT_FALSE(ComputeAlkireFoster(kY, kZ, std::vector<double>{1, 0, 1, 1}, 2));
  auto empty = ComputeAlkireFoster(std::vector<double>{}, kZ, std::vector<double>{1, 1, 1, 1}, 2);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->persons, 0);
  EXPECT_EQ(empty->m0, 0);
}

}  // namespace
}  // namespace fupin::analytics
