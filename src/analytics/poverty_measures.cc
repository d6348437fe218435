#include "analytics/poverty_measures.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace fupin::analytics {

Result<Fgt> ComputeFgt(std::span<const double> incomes, double line,
                       std::span<const double> weights) {
  if (!(line > 0))
    return Err(InvalidArgument(fmt::format("poverty line must be > 0, got {}", line)));
  if (!weights.empty() && weights.size() != incomes.size())
    return Err(
        InvalidArgument(fmt::format("{} incomes but {} weights", incomes.size(), weights.size())));
  Fgt out;
  double s0 = 0, s1 = 0, s2 = 0;
  for (size_t i = 0; i < incomes.size(); ++i) {
    double w = weights.empty() ? 1.0 : weights[i];
    if (!(w >= 0) || !std::isfinite(incomes[i]))
      return Err(InvalidArgument(
          fmt::format("person {}: weight {} or income {} is not valid", i, w, incomes[i])));
    out.total_weight += w;
    if (incomes[i] < line) {
      double gap = (line - incomes[i]) / line;
      s0 += w;
      s1 += w * gap;
      s2 += w * gap * gap;
    }
  }
  if (!(out.total_weight > 0)) return Err(InvalidArgument("the population has no weight"));
  out.poor_weight = s0;
  out.p0 = s0 / out.total_weight;
  out.p1 = s1 / out.total_weight;
  out.p2 = s2 / out.total_weight;
  return out;
}

Result<AlkireFosterResult> ComputeAlkireFoster(std::span<const double> y, std::span<const double> z,
                                               std::span<const double> w, double k) {
  const size_t d = z.size();
  if (d == 0 || w.size() != d)
    return Err(
        InvalidArgument(fmt::format("{} cutoffs and {} weights: need one of each per "
                                    "indicator",
                                    d, w.size())));
  if (y.size() % d != 0)
    return Err(InvalidArgument(
        fmt::format("{} achievements is not a multiple of {} indicators", y.size(), d)));
  double wsum = 0;
  for (size_t j = 0; j < d; ++j) {
    if (!(w[j] > 0)) return Err(InvalidArgument(fmt::format("weight {} must be > 0", j)));
    wsum += w[j];
  }
  const size_t n = y.size() / d;
  AlkireFosterResult r;
  r.persons = static_cast<int64_t>(n);
  r.censored_headcount.assign(d, 0);
  r.contribution.assign(d, 0);
  r.is_poor.assign(n, false);
  if (n == 0) return r;
  double censored_score = 0, gap1 = 0, gap2 = 0;
  for (size_t i = 0; i < n; ++i) {
    double c = 0;
    for (size_t j = 0; j < d; ++j)
      if (y[i * d + j] < z[j]) c += w[j];
    // A small tolerance so that k = 1/3 with weights 1/6 + 1/6 counts as reached.
    if (c + 1e-12 < k || c == 0) continue;
    r.is_poor[i] = true;
    ++r.poor;
    censored_score += c;
    for (size_t j = 0; j < d; ++j) {
      if (!(y[i * d + j] < z[j])) continue;
      r.censored_headcount[j] += 1;
      if (z[j] > 0) {
        double g = (z[j] - y[i * d + j]) / z[j];
        gap1 += w[j] * g;
        gap2 += w[j] * g * g;
      }
    }
  }
  const double nd = static_cast<double>(n);
  r.h = static_cast<double>(r.poor) / nd;
  r.a = r.poor ? censored_score / (static_cast<double>(r.poor) * wsum) : 0;
  r.m0 = censored_score / (nd * wsum);
  r.m1 = gap1 / (nd * wsum);
  r.m2 = gap2 / (nd * wsum);
  for (size_t j = 0; j < d; ++j) {
    r.censored_headcount[j] /= nd;
    r.contribution[j] = r.m0 > 0 ? (w[j] / wsum) * r.censored_headcount[j] / r.m0 : 0;
  }
  return r;
}

Result<std::vector<GroupResult>> ComputeAlkireFosterByGroup(std::span<const double> y,
                                                            std::span<const double> z,
                                                            std::span<const double> w, double k,
                                                            std::span<const int64_t> group) {
  const size_t d = z.size();
  if (d == 0 || y.size() % d != 0 || y.size() / d != group.size())
    return Err(
        InvalidArgument(fmt::format("{} achievements, {} indicators and {} group labels "
                                    "do not fit together",
                                    y.size(), d, group.size())));
  std::map<int64_t, std::vector<double>> rows;
  for (size_t i = 0; i < group.size(); ++i) {
    auto& v = rows[group[i]];
    v.insert(v.end(), y.begin() + static_cast<ptrdiff_t>(i * d),
             y.begin() + static_cast<ptrdiff_t>((i + 1) * d));
  }
  std::vector<GroupResult> out;
  for (const auto& [g, v] : rows) {
    ASSIGN_OR_RETURN(AlkireFosterResult r, ComputeAlkireFoster(v, z, w, k));
    out.push_back({g, std::move(r)});
  }
  return out;
}

}  // namespace fupin::analytics
