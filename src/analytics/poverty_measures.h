// Poverty measures (贫困测度): Foster–Greer–Thorbecke for incomes against a line, and the
// Alkire–Foster multidimensional method (H, A, M0, M1, M2, censored headcounts and each
// indicator's contribution). Definitions as in ../shared/DOMAIN.md §7 (Haughton & Khandker's
// handbook; Alkire & Foster 2011). Thread-safe: pure functions.
#pragma once

#include <span>
#include <vector>

#include "core/status.h"

namespace fupin::analytics {

struct Fgt {
  double p0 = 0;            // headcount ratio
  double p1 = 0;            // poverty gap index
  double p2 = 0;            // squared poverty gap (severity)
  double poor_weight = 0;   // weighted number of the poor (incomes strictly below the line)
  double total_weight = 0;  // weighted population
};

// FGT for incomes y_i (weights w_i, all 1 when `weights` is empty) against the line z > 0:
// P_a = sum_i w_i [y_i < z] ((z - y_i) / z)^a / sum_i w_i. Fails when z <= 0, a weight is
// negative, the sizes differ, or the total weight is zero.
Result<Fgt> ComputeFgt(std::span<const double> incomes, double line,
                       std::span<const double> weights = {});

struct AlkireFosterResult {
  int64_t persons = 0;  // n
  int64_t poor = 0;     // q
  double h = 0;         // incidence q / n
  double a = 0;         // intensity: mean deprivation share among the poor (0 when none)
  double m0 = 0;        // adjusted headcount ratio H * A
  double m1 = 0;        // adjusted poverty gap (cardinal indicators)
  double m2 = 0;        // adjusted squared gap
  // Per indicator: the share of all persons who are poor and deprived in it, and its share
  // of M0 ((w_j / sum w) * censored_headcount_j / M0; 0 when M0 is 0).
  std::vector<double> censored_headcount;
  std::vector<double> contribution;
  std::vector<bool> is_poor;  // per person
};

// Alkire–Foster on an n x d matrix of achievements (row-major: person i, indicator j at
// achievements[i * d + j]), cutoffs z_j (deprived iff y_ij < z_j), weights w_j > 0 and poverty
// cutoff k on the weighted deprivation score (poor iff score >= k; k is compared in the units
// of the weights). Gaps for M1/M2 are (z_j - y_ij) / z_j where deprived (z_j must then be > 0;
// indicators given as 0/1 deprivation flags can use z_j = 1, y = 0 or 1).
Result<AlkireFosterResult> ComputeAlkireFoster(std::span<const double> achievements,
                                               std::span<const double> cutoffs,
                                               std::span<const double> weights, double k);

// The same measures for each group of persons (group[i] = the group of person i, e.g. a
// county index), in ascending group order. Subgroup decomposability holds:
// M0 = sum over groups of (n_g / n) * M0_g.
struct GroupResult {
  int64_t group = 0;
  AlkireFosterResult result;
};
Result<std::vector<GroupResult>> ComputeAlkireFosterByGroup(std::span<const double> achievements,
                                                            std::span<const double> cutoffs,
                                                            std::span<const double> weights,
                                                            double k,
                                                            std::span<const int64_t> group);

}  // namespace fupin::analytics
