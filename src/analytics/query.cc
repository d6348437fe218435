#include "analytics/query.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "core/code_lists.h"
#include "core/parallel.h"

namespace fupin::analytics {

namespace {

enum class DK : uint8_t { kRegion, kHousehold, kMember, kFlag, kLinked, kIncomeBand };

struct Dimension {
  std::string_view name;
  DK kind;
  int index;                     // region level, HouseholdDim or MemberDim
  std::string_view code_list{};  // core/code_lists.h list of the values, if coded
};

constexpr Dimension kDimensions[] = {
    {"province", DK::kRegion, 0},
    {"prefecture", DK::kRegion, 1},
    {"county", DK::kRegion, 2},
    {"township", DK::kRegion, 3},
    {"village", DK::kRegion, 4},
    {"status", DK::kHousehold, kStatus, "status"},
    {"category", DK::kHousehold, kCategory, "category"},
    {"primary_cause", DK::kHousehold, kPrimaryCause, "cause"},
    {"year", DK::kHousehold, kIncomeYear},
    {"registered_year", DK::kHousehold, kRegisteredYear},
    {"exit_year", DK::kHousehold, kExitYear},
    {"housing_safe", DK::kHousehold, kHousingSafe, "yes_no"},
    {"water_safe", DK::kHousehold, kWaterSafe, "yes_no"},
    {"electricity", DK::kHousehold, kElectricity, "yes_no"},
    {"income_band", DK::kIncomeBand, 0},
    {"sex", DK::kMember, kSex, "sex"},
    {"relation", DK::kMember, kRelation, "relation"},
    {"ethnicity", DK::kMember, kEthnicity, "ethnicity"},
    {"education", DK::kMember, kEducation, "education"},
    {"in_school", DK::kMember, kInSchool, "school"},
    {"health", DK::kMember, kHealth, "health"},
    {"labor", DK::kMember, kLabor, "labor"},
    {"work_status", DK::kMember, kWorkStatus, "work"},
    {"age_band", DK::kMember, kAgeBand},
    {"medical_insured", DK::kMember, kMedicalInsured, "yes_no"},
    {"flag", DK::kFlag, 0},
    {"linked", DK::kLinked, 0},
};

enum class M : uint8_t {
  kHouseholds,
  kPersons,
  kPoorPersons,
  kExitedPersons,
  kReturnedPersons,
  kMonitoredPersons,
  kPoorHouseholds,
  kIncidence,
  kMeanIncome,
  kMedianIncome,
  kWage,
  kBusiness,
  kProperty,
  kTransfer,
  kFlags,
  kFlaggedHouseholds,
  kFgtP0,
  kFgtP1,
  kFgtP2,
  kMpiH,
  kMpiA,
  kMpiM0,
  kMpiPoorPersons,
  kMpiCensored,      // mpi_ch_<indicator>
  kMpiContribution,  // mpi_contrib_<indicator>
};
struct Measure {
  std::string_view name;
  M kind;
  bool per_person;  // needs member rows
};
constexpr Measure kMeasures[] = {
    {"households", M::kHouseholds, false},
    {"persons", M::kPersons, true},
    {"poor_persons", M::kPoorPersons, true},
    {"exited_persons", M::kExitedPersons, true},
    {"returned_persons", M::kReturnedPersons, true},
    {"monitored_persons", M::kMonitoredPersons, true},
    {"poor_households", M::kPoorHouseholds, false},
    {"incidence", M::kIncidence, true},
    {"mean_income", M::kMeanIncome, false},
    {"median_income", M::kMedianIncome, false},
    {"income_wage", M::kWage, false},
    {"income_business", M::kBusiness, false},
    {"income_property", M::kProperty, false},
    {"income_transfer", M::kTransfer, false},
    {"flags", M::kFlags, false},
    {"flagged_households", M::kFlaggedHouseholds, false},
    {"fgt_p0", M::kFgtP0, true},
    {"fgt_p1", M::kFgtP1, true},
    {"fgt_p2", M::kFgtP2, true},
    {"mpi_h", M::kMpiH, true},
    {"mpi_a", M::kMpiA, true},
    {"mpi_m0", M::kMpiM0, true},
    {"mpi_poor_persons", M::kMpiPoorPersons, true},
    {"mpi_ch_<indicator>", M::kMpiCensored, true},
    {"mpi_contrib_<indicator>", M::kMpiContribution, true},
};

constexpr std::array<IncomeBand, 6> kIncomeBands = {{
    {"<0.5", -INFINITY, "低于0.5倍", "below 0.5x"},
    {"0.5-1", 0.5, "0.5至1倍", "0.5x to 1x"},
    {"1-1.5", 1, "1至1.5倍", "1x to 1.5x"},
    {"1.5-2", 1.5, "1.5至2倍", "1.5x to 2x"},
    {"2-3", 2, "2至3倍", "2x to 3x"},
    {">=3", 3, "3倍及以上", "3x and above"},
}};

constexpr std::string_view kIndicators[] = {"income",      "housing",   "water",
                                            "electricity", "schooling", "medical_insurance"};
enum Indicator : uint8_t { kIncome, kHousing, kWater, kElectricityOff, kSchooling, kMedical };
constexpr int kMaxIndicators = std::size(kIndicators);

int FindIndicator(std::string_view name) {
  for (int i = 0; i < kMaxIndicators; ++i)
    if (kIndicators[i] == name) return i;
  return -1;
}

// A measure as asked: its kind and, for the per-indicator ones, the position of the
// indicator in PovertyParams::indicators.
struct Wanted {
  M kind;
  bool per_person;
  int indicator = -1;
};

const std::vector<MpiIndicator>& Indicators(const PovertyParams& p) {
  static const std::vector<MpiIndicator> defaults = DefaultMpiIndicators();
  return p.indicators.empty() ? defaults : p.indicators;
}

Result<Wanted> ParseMeasure(std::string_view name, const PovertyParams& poverty);

const Dimension* FindDimension(std::string_view name) {
  for (const Dimension& d : kDimensions)
    if (d.name == name) return &d;
  return nullptr;
}
const Measure* FindMeasure(std::string_view name) {
  for (const Measure& m : kMeasures)
    if (m.name == name && m.name.find('<') == std::string_view::npos) return &m;
  return nullptr;
}

Result<Wanted> ParseMeasure(std::string_view name, const PovertyParams& poverty) {
  if (const Measure* m = FindMeasure(name)) return Wanted{m->kind, m->per_person};
  for (auto [prefix, kind] : {std::pair{std::string_view("mpi_ch_"), M::kMpiCensored},
                              std::pair{std::string_view("mpi_contrib_"), M::kMpiContribution}}) {
    if (!name.starts_with(prefix)) continue;
    const std::string_view indicator = name.substr(prefix.size());
    if (FindIndicator(indicator) < 0)
      return Err(InvalidArgument(fmt::format("unknown MPI indicator '{}' in '{}' (indicators: {})",
                                             indicator, name, fmt::join(kIndicators, ", "))));
    const auto& list = Indicators(poverty);
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].name == indicator) return Wanted{kind, true, static_cast<int>(i)};
    return Err(InvalidArgument(
        fmt::format("'{}' asks for the indicator '{}', which is not among the MPI indicators", name,
                    indicator)));
  }
  std::vector<std::string> names;
  for (const Measure& m : kMeasures) names.emplace_back(m.name);
  return Err(InvalidArgument(
      fmt::format("unknown measure '{}' (measures: {})", name, fmt::join(names, ", "))));
}

bool Multi(const Dimension* d) { return d->kind == DK::kFlag || d->kind == DK::kLinked; }

// Number of codes of a dimension (code 0 included) and the text of each.
uint32_t Cardinality(const Snapshot& s, const Dimension* d) {
  switch (d->kind) {
    case DK::kRegion:
      return static_cast<uint32_t>(s.region_codes[static_cast<size_t>(d->index)].size());
    case DK::kHousehold:
      return static_cast<uint32_t>(s.h_dicts[static_cast<size_t>(d->index)].values.size());
    case DK::kMember:
      return static_cast<uint32_t>(s.m_dicts[static_cast<size_t>(d->index)].values.size());
    case DK::kFlag:
      return static_cast<uint32_t>(s.rules.size() + 1);
    case DK::kLinked:
      return static_cast<uint32_t>(s.datasets.size() + 1);
    case DK::kIncomeBand:
      return static_cast<uint32_t>(kIncomeBands.size() + 1);
  }
  return 0;
}
std::string_view CodeText(const Snapshot& s, const Dimension* d, uint32_t code) {
  switch (d->kind) {
    case DK::kRegion:
      return s.region_codes[static_cast<size_t>(d->index)][code];
    case DK::kHousehold:
      return s.h_dicts[static_cast<size_t>(d->index)].values[code];
    case DK::kMember:
      return s.m_dicts[static_cast<size_t>(d->index)].values[code];
    case DK::kFlag:
      return code ? std::string_view(s.rules[code - 1]) : std::string_view();
    case DK::kLinked:
      return code ? std::string_view(s.datasets[code - 1]) : std::string_view();
    case DK::kIncomeBand:
      return code ? kIncomeBands[code - 1].value : std::string_view();
  }
  return {};
}

// Row order of two values of dimension d: income bands by band, the rest by CodeLess.
bool ValueLess(const Dimension* d, std::string_view a, std::string_view b) {
  if (d->kind == DK::kIncomeBand) {
    auto band = [](std::string_view v) {
      for (size_t i = 0; i < kIncomeBands.size(); ++i)
        if (kIncomeBands[i].value == v) return static_cast<int>(i);
      return -1;
    };
    return band(a) < band(b);
  }
  return CodeLess(a, b);
}

// A region value as given ("5201" or "520100000000") as the 12-digit code.
// Only the significant digits of a level (2, 4, 6 or 9) are padded: "52010" is no region.
std::string RegionValue(const std::string& v) {
  if ((v.size() != 2 && v.size() != 4 && v.size() != 6 && v.size() != 9) ||
      v.find_first_not_of("0123456789") != std::string::npos)
    return v;
  std::string code = v;
  code.resize(12, '0');
  return code;
}

struct Filter {
  const Dimension* dim;
  std::vector<uint8_t> accept;  // per code
};

// Accumulators of one group.
struct Acc {
  uint32_t last_h = UINT32_MAX;
  int32_t households = 0, persons = 0, poor = 0, exited = 0, returned = 0, monitored = 0,
          poor_households = 0, flags = 0, flagged = 0, incomes = 0;
  double income = 0, wage = 0, business = 0, property = 0, transfer = 0;
  void Merge(const Acc& o) {
    households += o.households;
    persons += o.persons;
    poor += o.poor;
    exited += o.exited;
    returned += o.returned;
    monitored += o.monitored;
    poor_households += o.poor_households;
    flags += o.flags;
    flagged += o.flagged;
    incomes += o.incomes;
    income += o.income;
    wage += o.wage;
    business += o.business;
    property += o.property;
    transfer += o.transfer;
  }
  bool Empty() const { return households == 0 && persons == 0; }
};

// Poverty accumulators of one group, in persons: FGT sums over persons with a known income
// and line; Alkire–Foster sums over persons whose deprivations are all known.
struct PovAcc {
  double fgt_n = 0, fgt_poor = 0, fgt_gap = 0, fgt_gap2 = 0;
  double af_n = 0, af_poor = 0, af_score = 0;
  std::array<double, kMaxIndicators> af_censored{};  // poor and deprived in indicator j
  void Merge(const PovAcc& o) {
    fgt_n += o.fgt_n;
    fgt_poor += o.fgt_poor;
    fgt_gap += o.fgt_gap;
    fgt_gap2 += o.fgt_gap2;
    af_n += o.af_n;
    af_poor += o.af_poor;
    af_score += o.af_score;
    for (int j = 0; j < kMaxIndicators; ++j) af_censored[j] += o.af_censored[j];
  }
};

// Group accumulators: dense for a small key space, hashed beyond.
class Groups {
 public:
  // `statuses` > 0: counts only, per group and household status (Plan::counts_only).
  // `buckets` > 0: medians count income ranks in that many buckets per group (RankHistogram)
  // instead of collecting them.
  Groups(uint64_t space, bool medians, uint32_t statuses = 0, bool poverty = false,
         uint32_t buckets = 0)
      : medians_(medians && !buckets), poverty_(poverty), statuses_(statuses), buckets_(buckets) {
    dense_ = space <= (uint64_t{1} << 21);
    if (dense_) {
      acc_.resize(space);
      if (medians_) incomes_.resize(space);
      if (buckets_) hist_.assign(space * buckets_, 0);
      if (poverty_) pov_.resize(space);
      if (statuses_) {
        persons_.assign(space * statuses_, 0);
        households_.assign(space * statuses_, 0);
      }
    }
  }
  // Counts-only scans add here: [key * statuses + status].
  int32_t* Persons() { return persons_.data(); }
  int32_t* Households() { return households_.data(); }
  // Turns the counts into accumulators.
  void FinishCounts(const std::vector<uint8_t>& poor_of, const std::vector<uint8_t>& exited_of,
                    const std::vector<uint8_t>& returned_of) {
    if (!statuses_) return;
    for (uint64_t k = 0; k < acc_.size(); ++k) {
      Acc& a = acc_[k];
      for (uint32_t st = 0; st < statuses_; ++st) {
        const int32_t n = persons_[k * statuses_ + st];
        a.persons += n;
        a.poor += n * poor_of[st];
        a.exited += n * exited_of[st];
        a.returned += n * returned_of[st];
        a.households += households_[k * statuses_ + st];
        a.poor_households += households_[k * statuses_ + st] * poor_of[st];
      }
    }
  }
  Acc& At(uint64_t key) {
    if (dense_) return acc_[key];
    return map_[key];
  }
  std::vector<double>& Incomes(uint64_t key) {
    if (dense_) return incomes_[key];
    return income_map_[key];
  }
  // The rank histogram of a group: `buckets` counters (dense groups only).
  uint32_t* Hist(uint64_t key) { return hist_.data() + key * buckets_; }
  PovAcc& Pov(uint64_t key) {
    if (dense_) return pov_[key];
    return pov_map_[key];
  }
  void Merge(Groups& o) {
    for (size_t i = 0; i < persons_.size(); ++i) {
      persons_[i] += o.persons_[i];
      households_[i] += o.households_[i];
    }
    for (size_t i = 0; i < hist_.size(); ++i) hist_[i] += o.hist_[i];
    o.ForEach([&](uint64_t key, Acc& a) {
      At(key).Merge(a);
      if (medians_) {
        auto& mine = Incomes(key);
        auto& theirs = o.Incomes(key);
        mine.insert(mine.end(), theirs.begin(), theirs.end());
      }
      if (poverty_) Pov(key).Merge(o.Pov(key));
    });
  }
  template <typename F>
  void ForEach(F&& f) {
    if (dense_) {
      for (uint64_t k = 0; k < acc_.size(); ++k)
        if (!acc_[k].Empty()) f(k, acc_[k]);
    } else {
      for (auto& [k, a] : map_)
        if (!a.Empty()) f(k, a);
    }
  }

 private:
  bool medians_;
  bool poverty_;
  uint32_t statuses_;
  uint32_t buckets_;
  std::vector<uint32_t> hist_;
  bool dense_;
  std::vector<int32_t> persons_, households_;
  std::vector<Acc> acc_;
  std::vector<std::vector<double>> incomes_;
  std::unordered_map<uint64_t, Acc> map_;
  std::unordered_map<uint64_t, std::vector<double>> income_map_;
  std::vector<PovAcc> pov_;
  std::unordered_map<uint64_t, PovAcc> pov_map_;
};

struct Plan {
  const Snapshot* s;
  bool member_level = false;
  std::vector<const Dimension*> by;
  std::vector<uint64_t> stride;  // per `by`
  uint64_t space = 1;
  int multi = -1;               // the multi-valued dimension in `by`, if any
  std::vector<Filter> filters;  // single-valued, not region
  std::vector<Filter> regions;  // region filters (applied row by row in the appended part)
  const Filter* flag_filter = nullptr;
  const Filter* linked_filter = nullptr;
  std::vector<Filter> multi_filters;
  std::vector<uint8_t> poor_of, exited_of, returned_of;  // by status code
  bool need_income = false, need_medians = false, need_flags = false;
  bool need_monitored = false;      // monitored_persons: Snapshot::Monitored per household
  bool need_components = false;     // the income parts (wage, business, property, transfer)
  bool households_measure = false;  // households or poor_households asked
  // Rows are these households (Snapshot::flagged) rather than ranges: a flag filter that
  // leaves out households without flags needs only them.
  const std::vector<uint32_t>* list = nullptr;
  // Person measures without any member dimension: households are scanned and count their
  // members (a third of the rows of a member scan).
  bool weighted = false;
  // Only counts by status are needed (persons, poor/exited/returned persons, households
  // and poor households when rows are households): one add per row (Groups::Persons).
  bool counts_only = false;
  // Medians collect income ranks (Snapshot::h_income_rank) instead of values when valid.
  bool ranks = false;
  // Medians by rank histogram: each group counts its ranks in `buckets` buckets of
  // 2^rank_shift ranks; the median's bucket is then walked through Snapshot::income_order.
  uint32_t buckets = 0;
  int rank_shift = 0;
  // Poverty measures: the line per income-year code (NaN: none), the indicators (Indicator
  // and normalised weight), k, and per-code deprivation of the household dimensions.
  bool need_fgt = false, need_mpi = false;
  std::vector<double> line_of_year;
  std::vector<std::pair<int, double>> indicators;
  double k = 0;
  std::vector<uint8_t> housing_bad, water_bad, power_bad;  // by code
  bool enrolment_linked = false;  // some member has a health_enrollment record
};

// One household's poverty facts, computed once per household in a scan.
struct HouseholdPoverty {
  bool fgt_known = false;
  double gap = 0;  // (z - y) / z when below the line, else 0
  bool af_known = false;
  bool af_poor = false;
  double score = 0;
  uint8_t deprived = 0;  // bit j: deprived in indicator j of Plan::indicators
};

HouseholdPoverty PovertyOf(const Plan& p, uint32_t h) {
  const Snapshot& s = *p.s;
  HouseholdPoverty out;
  const double income = s.h_money[kPerCapita][h];
  const double line = p.line_of_year[s.h_dims[kIncomeYear][h]];
  const bool income_known = !std::isnan(income) && !std::isnan(line);
  if (income_known) {
    out.fgt_known = true;
    out.gap = income < line ? (line - income) / line : 0;
  }
  if (!p.need_mpi) return out;
  const uint8_t facts = s.h_member_facts[h];
  const bool school = facts & Snapshot::kOutOfSchool;
  const bool medical =
      (facts & Snapshot::kUninsured) || (p.enrolment_linked && (facts & Snapshot::kUnenrolled));
  out.af_known = true;
  for (size_t j = 0; j < p.indicators.size(); ++j) {
    bool d = false;
    switch (p.indicators[j].first) {
      case kIncome:
        if (!income_known) out.af_known = false;
        d = income_known && income < line;
        break;
      case kHousing:
        d = p.housing_bad[s.h_dims[kHousingSafe][h]];
        break;
      case kWater:
        d = p.water_bad[s.h_dims[kWaterSafe][h]];
        break;
      case kElectricityOff:
        d = p.power_bad[s.h_dims[kElectricity][h]];
        break;
      case kSchooling:
        d = school;
        break;
      case kMedical:
        d = medical;
        break;
    }
    if (d) {
      out.deprived |= static_cast<uint8_t>(1u << j);
      out.score += p.indicators[j].second;
    }
  }
  out.af_poor = out.af_known && out.score >= p.k - 1e-9;
  return out;
}

void AddPoverty(const Plan& p, const HouseholdPoverty& hp, double w, PovAcc& a) {
  if (p.need_fgt && hp.fgt_known) {
    a.fgt_n += w;
    if (hp.gap > 0) {
      a.fgt_poor += w;
      a.fgt_gap += w * hp.gap;
      a.fgt_gap2 += w * hp.gap * hp.gap;
    }
  }
  if (p.need_mpi && hp.af_known) {
    a.af_n += w;
    if (hp.af_poor) {
      a.af_poor += w;
      a.af_score += w * hp.score;
      for (size_t j = 0; j < p.indicators.size(); ++j)
        if (hp.deprived >> j & 1) a.af_censored[j] += w;
    }
  }
}

// The income_band code of household h: 0 when its income or its year's line is unknown,
// else 1 + the band of income / line.
uint32_t IncomeBandCode(const Plan& p, uint32_t h) {
  const Snapshot& s = *p.s;
  const double income = s.h_money[kPerCapita][h];
  const double line = p.line_of_year[s.h_dims[kIncomeYear][h]];
  if (std::isnan(income) || !(line > 0)) return 0;
  const double ratio = income / line;
  uint32_t band = 1;
  while (band < kIncomeBands.size() && ratio >= kIncomeBands[band].from) ++band;
  return band;
}

// Code of dimension `d` for chunk rows: `hh` households, `rows` member rows (member level).
void Codes(const Plan& p, const Dimension* d, const uint32_t* hh, uint32_t first_row, int n,
           uint32_t* out) {
  const Snapshot& s = *p.s;
  switch (d->kind) {
    case DK::kRegion: {
      const uint32_t* vr = s.village_region[static_cast<size_t>(d->index)].data();
      const uint32_t* hv = s.h_village.data();
      for (int i = 0; i < n; ++i) out[i] = vr[hv[hh[i]]];
      break;
    }
    case DK::kHousehold: {
      const uint8_t* c = s.h_dims[static_cast<size_t>(d->index)].data();
      for (int i = 0; i < n; ++i) out[i] = c[hh[i]];
      break;
    }
    case DK::kMember: {
      const uint8_t* c = s.m_dims[static_cast<size_t>(d->index)].data() + first_row;
      for (int i = 0; i < n; ++i) out[i] = c[i];
      break;
    }
    case DK::kIncomeBand:
      for (int i = 0; i < n; ++i) out[i] = IncomeBandCode(p, hh[i]);
      break;
    case DK::kFlag:
    case DK::kLinked:
      break;
  }
}

constexpr int kChunk = 1024;

// The chunk of rows [first, first + n): each row's household into `hh`, and in `sel` whether
// it passes every filter (live household, coded filters, region filters in the appended
// part, flag and linked filters).
void Select(const Plan& p, uint32_t first, int n, bool appended, uint32_t* hh, uint8_t* sel) {
  const Snapshot& s = *p.s;
  uint32_t codes[kChunk];
  if (p.member_level) {
    std::copy_n(s.m_household.data() + first, n, hh);
  } else {
    if (p.list) {
      std::copy_n(p.list->data() + first, n, hh);
    } else {
      std::iota(hh, hh + n, first);
    }
  }
  for (int i = 0; i < n; ++i) sel[i] = s.h_alive[hh[i]];
  auto apply = [&](const Filter& f) {
    Codes(p, f.dim, hh, first, n, codes);
    const uint8_t* a = f.accept.data();
    for (int i = 0; i < n; ++i) sel[i] &= a[codes[i]];
  };
  for (const Filter& f : p.filters) apply(f);
  if (appended)
    for (const Filter& f : p.regions) apply(f);
  if (p.flag_filter) {
    const uint8_t* a = p.flag_filter->accept.data();
    for (int i = 0; i < n; ++i) {
      if (!sel[i]) continue;
      const uint32_t b = s.flag_begin[hh[i]], e = s.flag_begin[hh[i] + 1];
      bool ok = b == e && a[0];
      for (uint32_t k = b; k < e && !ok; ++k) ok = a[s.flag_entries[k].rule + 1];
      sel[i] = ok;
    }
  }
  if (p.linked_filter) {
    const uint8_t* a = p.linked_filter->accept.data();
    uint32_t mask = 0;
    for (size_t d = 0; d < s.datasets.size(); ++d)
      if (a[d + 1]) mask |= 1u << d;
    for (int i = 0; i < n; ++i) {
      const uint16_t l = s.m_linked[first + static_cast<uint32_t>(i)];
      sel[i] &= static_cast<uint8_t>((l & mask) != 0 || (l == 0 && a[0]));
    }
  }
}

// The group key of each row of a chunk (the multi-valued dimension left out).
void Keys(const Plan& p, const uint32_t* hh, uint32_t first, int n, uint64_t* keys) {
  uint32_t codes[kChunk];
  std::fill_n(keys, n, 0);
  for (size_t d = 0; d < p.by.size(); ++d) {
    if (static_cast<int>(d) == p.multi) continue;
    Codes(p, p.by[d], hh, first, n, codes);
    const uint64_t st = p.stride[d];
    for (int i = 0; i < n; ++i) keys[i] += codes[i] * st;
  }
}

// The distinct groups household h is in, passing the filters (every region filter included;
// at member level through any of its members).
void GroupsOf(const Plan& p, uint32_t h, std::vector<uint64_t>& out) {
  const Snapshot& s = *p.s;
  out.clear();
  uint32_t first = h, end = h + 1;
  if (p.member_level) {
    first = s.member_begin[h];
    end = s.member_begin[h + 1];
  }
  uint32_t hh[kChunk];
  uint8_t sel[kChunk];
  uint64_t keys[kChunk];
  for (; first < end; first += kChunk) {
    const int n = static_cast<int>(std::min<uint32_t>(kChunk, end - first));
    Select(p, first, n, true, hh, sel);
    Keys(p, hh, first, n, keys);
    for (int i = 0; i < n; ++i)
      if (sel[i] && std::find(out.begin(), out.end(), keys[i]) == out.end()) out.push_back(keys[i]);
  }
}

// Medians of per-capita income from the groups' rank histograms (Plan::buckets): for each
// group, the buckets holding its middle rank(s); then each such bucket is walked once in rank
// order (Snapshot::income_order), counting every group's households in it. Medians of groups
// lie close together, so few buckets are walked. Returns the median per group key (NaN when
// the group has no income).
std::vector<double> MediansFromHistograms(const Plan& p, Groups& g) {
  const Snapshot& s = *p.s;
  struct Target {
    int64_t want[2] = {0, 0};  // 0-based positions of the middle within the group
    uint32_t bucket[2] = {0, 0};
    int64_t before[2] = {0, 0};  // the group's ranks in earlier buckets
    double value[2] = {std::nan(""), std::nan("")};
    int64_t seen = 0;  // the group's ranks seen so far in the bucket being walked
  };
  std::vector<Target> t(p.space);
  std::vector<uint32_t> buckets;
  g.ForEach([&](uint64_t key, Acc& a) {
    if (a.incomes <= 0) return;
    Target& x = t[key];
    const uint32_t* hist = g.Hist(key);
    x.want[0] = (a.incomes - 1) / 2;
    x.want[1] = a.incomes / 2;
    int64_t before = 0;
    int j = 0;
    for (uint32_t b = 0; b < p.buckets && j < 2; ++b) {
      while (j < 2 && before + hist[b] > x.want[j]) {
        x.bucket[j] = b;
        x.before[j] = before;
        buckets.push_back(b);
        ++j;
      }
      before += hist[b];
    }
  });
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  std::vector<uint64_t> keys;
  for (uint32_t b : buckets) {
    for (Target& x : t) x.seen = 0;
    const uint64_t lo = uint64_t{b} << p.rank_shift;
    const uint64_t hi =
        std::min<uint64_t>(lo + (uint64_t{1} << p.rank_shift), s.income_order.size());
    for (uint64_t r = lo; r < hi; ++r) {
      GroupsOf(p, s.income_order[r], keys);
      for (uint64_t key : keys) {
        Target& x = t[key];
        for (int j = 0; j < 2; ++j)
          if (x.bucket[j] == b && x.before[j] + x.seen == x.want[j])
            x.value[j] = s.income_sorted[r];
        ++x.seen;
      }
    }
  }
  std::vector<double> out(p.space, std::nan(""));
  for (size_t k = 0; k < t.size(); ++k) out[k] = (t[k].value[0] + t[k].value[1]) / 2;
  return out;
}

// Scans rows [begin, end) (households, or members at member level) into `g`; `appended`
// rows lie outside the village-sorted part and are checked against region filters.
void Scan(const Plan& p, uint32_t begin, uint32_t end, bool appended, Groups& g) {
  const Snapshot& s = *p.s;
  uint32_t hh[kChunk];
  uint64_t keys[kChunk];
  uint8_t sel[kChunk];
  const uint8_t* status = s.h_dims[kStatus].data();
  const bool poverty = p.need_fgt || p.need_mpi;
  uint32_t poverty_h = UINT32_MAX;  // the household `hp` describes
  HouseholdPoverty hp;
  uint32_t monitored_h = UINT32_MAX;  // the household `monitored` describes
  bool monitored = false;
  for (uint32_t first = begin; first < end; first += kChunk) {
    const int n = static_cast<int>(std::min<uint32_t>(kChunk, end - first));
    Select(p, first, n, appended, hh, sel);
    Keys(p, hh, first, n, keys);
    if (p.counts_only) {
      const uint64_t statuses = p.poor_of.size();
      int32_t* persons = g.Persons();
      int32_t* households = g.Households();
      if (p.member_level) {
        for (int i = 0; i < n; ++i) persons[keys[i] * statuses + status[hh[i]]] += sel[i];
      } else {
        const uint32_t* mb = s.member_begin.data();
        for (int i = 0; i < n; ++i) {
          const uint64_t k = keys[i] * statuses + status[hh[i]];
          households[k] += sel[i];
          persons[k] += sel[i] ? static_cast<int32_t>(mb[hh[i] + 1] - mb[hh[i]]) : 0;
        }
      }
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (!sel[i]) continue;
      const uint32_t h = hh[i];
      const bool flags_needed = p.need_flags || p.multi >= 0;
      const uint32_t fb = flags_needed ? s.flag_begin[h] : 0;
      const uint32_t fe = flags_needed ? s.flag_begin[h + 1] : 0;
      if (poverty && poverty_h != h) {
        hp = PovertyOf(p, h);
        poverty_h = h;
      }
      if (p.need_monitored && monitored_h != h) {
        monitored = s.Monitored(h);
        monitored_h = h;
      }
      // Adds the row to one group; `rule` limits the flag measures to one rule (multi flag).
      auto add = [&](uint64_t key, int rule) {
        Acc& a = g.At(key);
        const uint8_t st = status[h];
        if (p.member_level) {
          ++a.persons;
          a.poor += p.poor_of[st];
          a.exited += p.exited_of[st];
          a.returned += p.returned_of[st];
          a.monitored += monitored;
          if (poverty) AddPoverty(p, hp, 1, g.Pov(key));
        } else if (p.weighted) {
          const int32_t n = static_cast<int32_t>(s.member_begin[h + 1] - s.member_begin[h]);
          a.persons += n;
          a.poor += n * p.poor_of[st];
          a.exited += n * p.exited_of[st];
          a.returned += n * p.returned_of[st];
          a.monitored += monitored ? n : 0;
          if (poverty) AddPoverty(p, hp, n, g.Pov(key));
        }
        if (a.last_h == h) return;  // the household counted once per group
        a.last_h = h;
        ++a.households;
        a.poor_households += p.poor_of[st];
        if (p.need_income) {
          if (p.need_components) {
            auto sum = [](double& acc, double v) {
              if (!std::isnan(v)) acc += v;
            };
            sum(a.wage, s.h_money[kWage][h]);
            sum(a.business, s.h_money[kBusiness][h]);
            sum(a.property, s.h_money[kProperty][h]);
            sum(a.transfer, s.h_money[kTransfer][h]);
          }
          const double pc = s.h_money[kPerCapita][h];
          if (!std::isnan(pc)) {
            a.income += pc;
            ++a.incomes;
            if (p.buckets) {
              ++g.Hist(key)[s.h_income_rank[h] >> p.rank_shift];
            } else if (p.need_medians) {
              g.Incomes(key).push_back(p.ranks ? static_cast<double>(s.h_income_rank[h]) : pc);
            }
          }
        }
        if (p.need_flags && fb != fe) {
          int count = 0;
          for (uint32_t k = fb; k < fe; ++k) {
            const auto& e = s.flag_entries[k];
            if (rule >= 0 && e.rule != rule) continue;
            if (p.flag_filter && !p.flag_filter->accept[e.rule + 1u]) continue;
            count += e.count;
          }
          a.flags += count;
          a.flagged += count > 0;
        }
      };
      if (p.multi < 0) {
        add(keys[i], -1);
        continue;
      }
      const uint64_t st = p.stride[static_cast<size_t>(p.multi)];
      if (p.by[static_cast<size_t>(p.multi)]->kind == DK::kFlag) {
        if (fb == fe) add(keys[i], -1);
        for (uint32_t k = fb; k < fe; ++k) {
          const int rule = s.flag_entries[k].rule;
          add(keys[i] + (static_cast<uint64_t>(rule) + 1) * st, rule);
        }
      } else {
        uint32_t l = s.m_linked[first + static_cast<uint32_t>(i)];
        if (l == 0) add(keys[i], -1);
        for (; l; l &= l - 1) add(keys[i] + (static_cast<uint64_t>(__builtin_ctz(l)) + 1) * st, -1);
      }
    }
  }
}

Result<Filter> MakeFilter(const Snapshot& s, const Dimension* d,
                          const std::vector<std::string>& values) {
  Filter f{d, std::vector<uint8_t>(Cardinality(s, d), 0)};
  for (const std::string& raw : values) {
    const std::string v = d->kind == DK::kRegion ? RegionValue(raw) : raw;
    bool found = false;
    for (uint32_t c = 0; c < f.accept.size(); ++c)
      if (CodeText(s, d, c) == v) f.accept[c] = 1, found = true;
    // Every region of the store is in the snapshot: an unknown one is a mistake, not a group
    // without households.
    if (!found && d->kind == DK::kRegion)
      return Err(InvalidArgument(fmt::format(
          "--where {}={}: no such {} (a 12-digit code, or its 2, 4, 6 or 9 significant digits)",
          d->name, raw, d->name)));
  }
  return f;
}

std::string MoneyText(double v) { return fmt::format("{:.2f}", v); }

// Household ranges of the sorted part that pass the region filters: whole runs of villages.
std::vector<std::pair<uint32_t, uint32_t>> HouseholdRanges(const Plan& p) {
  const Snapshot& s = *p.s;
  std::vector<std::pair<uint32_t, uint32_t>> out;
  const size_t villages = s.region_codes[kRegionLevels - 1].size();
  size_t v = 0;
  while (v < villages) {
    auto ok = [&](size_t village) {
      for (const Filter& f : p.regions)
        if (!f.accept[s.village_region[static_cast<size_t>(f.dim->index)][village]]) return false;
      return true;
    };
    if (!ok(v)) {
      ++v;
      continue;
    }
    size_t w = v + 1;
    while (w < villages && ok(w)) ++w;
    if (s.village_begin[w] > s.village_begin[v])
      out.emplace_back(s.village_begin[v], s.village_begin[w]);
    v = w;
  }
  return out;
}

}  // namespace

bool CodeLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (!da || !db) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i, ++j;
      continue;
    }
    // Two runs of digits: the shorter number (leading zeros aside) is the smaller.
    size_t ea = i, eb = j;
    while (ea < a.size() && a[ea] >= '0' && a[ea] <= '9') ++ea;
    while (eb < b.size() && b[eb] >= '0' && b[eb] <= '9') ++eb;
    size_t sa = i, sb = j;
    while (sa + 1 < ea && a[sa] == '0') ++sa;
    while (sb + 1 < eb && b[sb] == '0') ++sb;
    if (ea - sa != eb - sb) return ea - sa < eb - sb;
    const int c = a.substr(sa, ea - sa).compare(b.substr(sb, eb - sb));
    if (c != 0) return c < 0;
    if (ea - i != eb - j) return ea - i < eb - j;  // "01" after "1"
    i = ea, j = eb;
  }
  return a.size() - i < b.size() - j;
}

std::span<const IncomeBand> IncomeBands() { return kIncomeBands; }

std::optional<DimensionInfo> FindDimensionInfo(std::string_view name) {
  const Dimension* d = FindDimension(name);
  if (!d) return std::nullopt;
  DimensionInfo info{d->name, DimensionKind::kCoded, -1, d->code_list};
  switch (d->kind) {
    case DK::kRegion:
      info.kind = DimensionKind::kRegion;
      info.region_level = d->index;
      break;
    case DK::kFlag:
      info.kind = DimensionKind::kFlag;
      break;
    case DK::kLinked:
      info.kind = DimensionKind::kLinked;
      break;
    case DK::kIncomeBand:
      info.kind = DimensionKind::kIncomeBand;
      break;
    case DK::kHousehold:
      if (d->index == kIncomeYear || d->index == kRegisteredYear || d->index == kExitYear)
        info.kind = DimensionKind::kYear;
      break;
    case DK::kMember:
      if (d->index == kAgeBand) info.kind = DimensionKind::kAgeBand;
      break;
  }
  return info;
}

std::vector<std::string> DimensionValues(const Snapshot& s, std::string_view name) {
  std::vector<std::string> out;
  const Dimension* d = FindDimension(name);
  if (!d) return out;
  for (uint32_t c = 0; c < Cardinality(s, d); ++c)
    if (!CodeText(s, d, c).empty()) out.emplace_back(CodeText(s, d, c));
  std::sort(out.begin(), out.end(),
            [&](const std::string& a, const std::string& b) { return ValueLess(d, a, b); });
  return out;
}

std::vector<std::string> DimensionNames() {
  std::vector<std::string> out;
  for (const Dimension& d : kDimensions) out.emplace_back(d.name);
  return out;
}

std::vector<std::string> MeasureNames() {
  std::vector<std::string> out;
  for (const Measure& m : kMeasures) out.emplace_back(m.name);
  return out;
}

std::vector<std::string> MpiIndicatorNames() {
  return std::vector<std::string>(std::begin(kIndicators), std::end(kIndicators));
}

std::map<int, double> LinesByYear(const Snapshot& s, const rules::Thresholds& thresholds,
                                  rules::LineKind kind) {
  std::map<int, double> out;
  const std::string province = s.region_codes[0].empty() ? "" : s.region_codes[0][0];
  for (const std::string& year : s.h_dicts[kIncomeYear].values) {
    if (year.empty()) continue;
    const int y = std::atoi(year.c_str());
    if (auto line = thresholds.Line(kind, province, y)) out[y] = *line;
  }
  return out;
}

std::vector<MpiIndicator> DefaultMpiIndicators() {
  return {{"income", 1}, {"housing", 1}, {"water", 1}, {"schooling", 1}, {"medical_insurance", 1}};
}

Status CheckQuery(const QuerySpec& spec) {
  if (spec.measures.empty()) return InvalidArgument("no measure: give --measure persons,...");
  const PovertyParams& pov = spec.poverty;
  if (!(pov.line >= 0) || !std::isfinite(pov.line))
    return InvalidArgument(fmt::format("the poverty line must be a positive number of yuan"));
  for (const auto& [year, line] : pov.lines)
    if (!(line > 0) || !std::isfinite(line))
      return InvalidArgument(fmt::format("the poverty line of {} is not positive", year));
  for (const MpiIndicator& ind : pov.indicators) {
    if (FindIndicator(ind.name) < 0)
      return InvalidArgument(fmt::format("unknown MPI indicator '{}' (indicators: {})", ind.name,
                                         fmt::join(kIndicators, ", ")));
    if (!(ind.weight > 0) || !std::isfinite(ind.weight))
      return InvalidArgument(
          fmt::format("the weight of MPI indicator '{}' must be positive", ind.name));
    if (std::count_if(pov.indicators.begin(), pov.indicators.end(),
                      [&](const MpiIndicator& o) { return o.name == ind.name; }) > 1)
      return InvalidArgument(fmt::format("MPI indicator '{}' is given twice", ind.name));
  }
  if (!(pov.k > 0 && pov.k <= 1))
    return InvalidArgument(fmt::format(
        "the MPI cutoff k is a share of the weights: give a number above 0 and at most 1, not {}",
        pov.k));
  for (const std::string& m : spec.measures) {
    Result<Wanted> w = ParseMeasure(m, pov);
    if (!w) return w.error();
  }
  int multi = 0;
  for (const std::string& d : spec.by) {
    const Dimension* dim = FindDimension(d);
    if (!dim)
      return InvalidArgument(fmt::format("unknown dimension '{}' (dimensions: {})", d,
                                         fmt::join(DimensionNames(), ", ")));
    multi += Multi(dim);
    if (std::count(spec.by.begin(), spec.by.end(), d) > 1)
      return InvalidArgument(fmt::format("dimension '{}' is given twice", d));
  }
  if (multi > 1) return InvalidArgument("group by at most one of flag and linked");
  for (const auto& [d, values] : spec.where) {
    if (!FindDimension(d))
      return InvalidArgument(fmt::format("unknown dimension '{}' in --where", d));
    if (values.empty()) return InvalidArgument(fmt::format("--where {}= needs a value", d));
  }
  return OkStatus();
}

namespace {

// The line of each income-year code (NaN: none) from `pov`.
std::vector<double> LinesOfYears(const Snapshot& s, const PovertyParams& pov) {
  std::vector<double> out;
  for (const std::string& year : s.h_dicts[kIncomeYear].values) {
    double line = pov.line > 0 ? pov.line : std::nan("");
    if (pov.line <= 0 && !year.empty()) {
      auto it = pov.lines.find(std::atoi(year.c_str()));
      if (it != pov.lines.end()) line = it->second;
    }
    out.push_back(line);
  }
  return out;
}

// `poverty`: the lines for income_band (nullptr: the dimension cannot be used).
Result<Plan> MakePlan(const Snapshot& s, const std::vector<std::string>& by,
                      const std::vector<std::pair<std::string, std::vector<std::string>>>& where,
                      const PovertyParams* poverty) {
  Plan p;
  p.s = &s;
  bool bands = false;
  for (const std::string& name : by) bands |= FindDimension(name)->kind == DK::kIncomeBand;
  for (const auto& [name, values] : where) bands |= FindDimension(name)->kind == DK::kIncomeBand;
  if (bands) {
    if (!poverty || (poverty->line <= 0 && poverty->lines.empty()))
      return Err(InvalidArgument("the dimension income_band needs a poverty line (--line)"));
    p.line_of_year = LinesOfYears(s, *poverty);
  }
  for (const std::string& name : by) {
    const Dimension* d = FindDimension(name);
    p.by.push_back(d);
    p.member_level |= d->kind == DK::kMember || d->kind == DK::kLinked;
    if (Multi(d)) p.multi = static_cast<int>(p.by.size()) - 1;
  }
  p.stride.resize(p.by.size());
  for (size_t i = p.by.size(); i-- > 0;) {
    p.stride[i] = p.space;
    p.space *= Cardinality(s, p.by[i]);
  }
  // Filters on the same dimension intersect.
  p.multi_filters.reserve(where.size());
  for (const auto& [name, values] : where) {
    const Dimension* d = FindDimension(name);
    ASSIGN_OR_RETURN(Filter f, MakeFilter(s, d, values));
    p.member_level |= d->kind == DK::kMember || d->kind == DK::kLinked;
    if (d->kind == DK::kRegion) {
      p.regions.push_back(std::move(f));
    } else if (Multi(d)) {
      p.multi_filters.push_back(std::move(f));
    } else {
      p.filters.push_back(std::move(f));
    }
  }
  for (const Filter& f : p.multi_filters) {
    const Filter*& slot = f.dim->kind == DK::kFlag ? p.flag_filter : p.linked_filter;
    if (slot)
      return Err(
          InvalidArgument(fmt::format("--where {} is given twice: give one list", f.dim->name)));
    slot = &f;
  }
  const Dict& st = s.h_dicts[kStatus];
  for (const std::string& v : st.values) {
    p.poor_of.push_back(IsPoorStatus(std::atoi(v.c_str())));
    p.exited_of.push_back(v == "2" || v == "4");
    p.returned_of.push_back(v == "3");
  }
  return p;
}

// The poverty part of a plan: lines per income year, indicators with normalised weights,
// the deprived codes of each dimension the indicators read.
Status PlanPoverty(const Snapshot& s, const PovertyParams& pov, Plan& p) {
  const auto& list = Indicators(pov);
  double total = 0;
  for (const MpiIndicator& ind : list) total += ind.weight;
  bool income = p.need_fgt;
  for (const MpiIndicator& ind : list) {
    p.indicators.emplace_back(FindIndicator(ind.name), ind.weight / total);
    income |= p.need_mpi && ind.name == "income";
  }
  p.k = pov.k;
  if (income && pov.line <= 0 && pov.lines.empty())
    return InvalidArgument(
        "the FGT measures and the MPI income indicator need a poverty line (--line)");
  p.line_of_year = LinesOfYears(s, pov);
  auto zero = [](const Dict& d) {
    std::vector<uint8_t> out;
    for (const std::string& v : d.values) out.push_back(v == "0");
    return out;
  };
  p.housing_bad = zero(s.h_dicts[kHousingSafe]);
  p.water_bad = zero(s.h_dicts[kWaterSafe]);
  p.power_bad = zero(s.h_dicts[kElectricity]);
  // The enrolment data counts only when it was linked at all.
  for (uint32_t h = 0; h < s.households && !p.enrolment_linked; ++h)
    p.enrolment_linked = s.h_member_facts[h] & Snapshot::kEnrolled;
  return OkStatus();
}

// Calls f(r, at) for each region r of level L that passes the plan's region filters;
// at[l] is r's region at each level l <= L.
template <typename F>
void ForEachRegion(const Plan& p, size_t L, F&& f) {
  const Cube& c = p.s->cube;
  std::array<uint32_t, kRegionLevels> at{};
  for (size_t r = 0; r < p.s->region_codes[L].size(); ++r) {
    at[L] = static_cast<uint32_t>(r);
    for (size_t l = L; l > 0; --l) at[l - 1] = c.parent[l][at[l]];
    bool pass = true;
    for (const Filter& f : p.regions)
      pass = pass && f.accept[at[static_cast<size_t>(f.dim->index)]];
    if (pass) f(r, at);
  }
}

// The status codes the plan's status filters accept.
std::vector<uint8_t> StatusesAccepted(const Plan& p, uint32_t statuses) {
  std::vector<uint8_t> ok(statuses, 1);
  for (const Filter& f : p.filters)
    if (f.dim->kind == DK::kHousehold && f.dim->index == kStatus)
      for (uint32_t i = 0; i < statuses; ++i) ok[i] &= f.accept[i];
  return ok;
}

// Answers the plan from the cube when it can: household rows only, at most one region
// dimension, at most one household dimension besides status across by and where (or any of
// the three conditions), no flag,
// linked or poverty measure, income measures only without a household dimension, medians
// only down to county level and while the income ranks are valid (the histograms are then
// walked as a scan's would be). Makes `g` and fills it, or returns false and leaves `g` and
// the plan as they were.
bool FromCube(Plan& p, std::optional<Groups>& g) {
  const Snapshot& s = *p.s;
  const Cube& c = s.cube;
  if (!c.valid || p.member_level || p.multi >= 0 || !p.multi_filters.empty() || p.need_flags ||
      p.need_fgt || p.need_mpi || p.need_monitored)
    return false;
  if (c.statuses != s.h_dicts[kStatus].values.size()) return false;
  std::vector<int> dims;  // the household dimensions besides status
  int region_by = -1;
  auto use = [&](const Dimension* d) {
    if (d->kind == DK::kRegion) return true;
    if (d->kind != DK::kHousehold) return false;
    if (d->index != kStatus && std::find(dims.begin(), dims.end(), d->index) == dims.end())
      dims.push_back(d->index);
    return true;
  };
  for (size_t i = 0; i < p.by.size(); ++i) {
    if (!use(p.by[i])) return false;
    if (p.by[i]->kind == DK::kRegion) {
      if (region_by >= 0) return false;
      region_by = static_cast<int>(i);
    }
  }
  for (const Filter& f : p.filters)
    if (!use(f.dim)) return false;
  // One dimension has its slot; several of the conditions share theirs.
  size_t slot = kCubeNone;
  if (dims.size() == 1) {
    slot = static_cast<size_t>(dims[0]);
  } else if (dims.size() > 1) {
    for (int d : dims)
      if (d != kHousingSafe && d != kWaterSafe && d != kElectricity) return false;
    slot = kCubeConditions;
  }
  if (!dims.empty() && p.need_income) return false;
  for (int d : dims)
    if (c.cards[static_cast<size_t>(d)] != s.h_dicts[static_cast<size_t>(d)].values.size())
      return false;
  // A slot's code as the code of dimension d.
  const uint32_t cw = c.cards[kWaterSafe], ce = c.cards[kElectricity];
  auto component = [&](int d, uint32_t code) -> uint32_t {
    if (slot != kCubeConditions) return code;
    if (d == kHousingSafe) return code / (cw * ce);
    if (d == kWaterSafe) return code / ce % cw;
    return code % ce;
  };
  // The cube's level: the finest of the grouping region and the region filters.
  int level = region_by >= 0 ? p.by[static_cast<size_t>(region_by)]->index : 0;
  for (const Filter& f : p.regions) level = std::max(level, f.dim->index);
  const auto L = static_cast<size_t>(level);
  // Medians: from the rank histograms of the province, prefecture and county levels.
  const bool medians = p.need_medians;
  if (medians && (!s.ranks_valid || !c.rank_buckets || L >= Cube::kRankLevels ||
                  s.income_order.empty() || p.space * c.rank_buckets > (uint64_t{1} << 22)))
    return false;
  if (medians) {
    p.buckets = c.rank_buckets;
    p.rank_shift = c.rank_shift;
  }
  g.emplace(p.space, medians, 0, false, medians ? c.rank_buckets : 0);
  const uint32_t cards = c.cards[slot], statuses = c.statuses;
  // Accepted codes of the dimension and of status.
  const std::vector<uint8_t> status_ok = StatusesAccepted(p, statuses);
  std::vector<uint8_t> code_ok(cards, 1);
  for (const Filter& f : p.filters)
    if (f.dim->index != kStatus)
      for (uint32_t i = 0; i < cards; ++i) code_ok[i] &= f.accept[component(f.dim->index, i)];
  const std::vector<uint32_t>& hh = c.households[L][slot];
  const std::vector<uint32_t>& pp = c.persons[L][slot];
  const std::vector<double>& money = c.money[L];
  ForEachRegion(p, L, [&](size_t r, const std::array<uint32_t, kRegionLevels>& at) {
    for (uint32_t code = 0; code < cards; ++code) {
      if (!code_ok[code]) continue;
      for (uint32_t st = 0; st < statuses; ++st) {
        const size_t i = (r * cards + code) * statuses + st;
        const uint32_t n_h = hh[i];
        if (!status_ok[st] || n_h == 0) continue;
        uint64_t key = 0;
        for (size_t d = 0; d < p.by.size(); ++d) {
          const Dimension* by = p.by[d];
          const uint32_t v = by->kind == DK::kRegion ? at[static_cast<size_t>(by->index)]
                             : by->index == kStatus  ? st
                                                     : component(by->index, code);
          key += v * p.stride[d];
        }
        Acc& a = g->At(key);
        const auto n_p = static_cast<int32_t>(pp[i]);
        a.households += static_cast<int32_t>(n_h);
        a.poor_households += static_cast<int32_t>(n_h) * p.poor_of[st];
        a.persons += n_p;
        a.poor += n_p * p.poor_of[st];
        a.exited += n_p * p.exited_of[st];
        a.returned += n_p * p.returned_of[st];
        if (medians) {
          const uint32_t* from = &c.rank_hist[L][(r * statuses + st) * c.rank_buckets];
          uint32_t* to = g->Hist(key);
          for (uint32_t b = 0; b < c.rank_buckets; ++b) to[b] += from[b];
        }
        if (p.need_income) {
          const double* m = &money[(r * statuses + st) * kCubeMoneyColumns];
          a.income += m[kCubePcSum];
          a.incomes += static_cast<int32_t>(std::lround(m[kCubePcCount]));
          a.wage += m[kCubeWage];
          a.business += m[kCubeBusiness];
          a.property += m[kCubeProperty];
          a.transfer += m[kCubeTransfer];
        }
      }
    }
  });
  return true;
}

// Answers questions on a multi-valued dimension (`flag` for households, `linked` for
// members) from the cube's counts per set: grouped by it, or filtered to one of its values (a
// rule or data set, or '' for none); otherwise only a region (down to county) and status.
// Flags give household and person counts and the flag measures; links give person counts.
// Makes `g` and fills it, or returns false and leaves `g` empty.
bool FromSetCube(const Plan& p, DK kind, std::optional<Groups>& g) {
  const Snapshot& s = *p.s;
  const Cube& c = s.cube;
  const bool flags = kind == DK::kFlag;
  static_assert(Cube::kFlagLevels == Cube::kLinkLevels);
  const uint32_t sets = flags ? c.flag_rules : c.link_sets;
  const Filter* filter = flags ? p.flag_filter : p.linked_filter;
  const Filter* other = flags ? p.linked_filter : p.flag_filter;
  if (!c.valid || p.member_level == flags || other || p.need_income || p.need_medians ||
      p.need_fgt || p.need_mpi || p.need_monitored ||
      (!flags && (p.need_flags || p.households_measure)) ||
      sets != (flags ? s.rules.size() : s.datasets.size()) + 1 ||
      c.statuses != s.h_dicts[kStatus].values.size())
    return false;
  const bool by_set = p.multi >= 0 && p.by[static_cast<size_t>(p.multi)]->kind == kind;
  int only = -1;  // the one value of the filter
  if (filter) {
    if (by_set) return false;
    for (uint32_t j = 0; j < sets; ++j)
      if (filter->accept[j]) {
        if (only >= 0) return false;
        only = static_cast<int>(j);
      }
    if (only < 0) return false;
  }
  if (!by_set && only < 0) return false;
  int level = 0, region_dims = 0;
  for (const Dimension* d : p.by) {
    if (d->kind == DK::kRegion) {
      if (d->index >= Cube::kFlagLevels) return false;
      level = std::max(level, d->index);
      ++region_dims;
    } else if (!(d->kind == kind || (d->kind == DK::kHousehold && d->index == kStatus))) {
      return false;
    }
  }
  if (region_dims > 1) return false;
  for (const Filter& f : p.filters)
    if (f.dim->kind != DK::kHousehold || f.dim->index != kStatus) return false;
  for (const Filter& f : p.regions) {
    if (f.dim->index >= Cube::kFlagLevels) return false;
    level = std::max(level, f.dim->index);
  }
  g.emplace(p.space, false);
  const auto L = static_cast<size_t>(level);
  const uint32_t statuses = c.statuses;
  const std::vector<uint8_t> status_ok = StatusesAccepted(p, statuses);
  ForEachRegion(p, L, [&](size_t r, const std::array<uint32_t, kRegionLevels>& at) {
    for (uint32_t st = 0; st < statuses; ++st) {
      if (!status_ok[st]) continue;
      for (uint32_t j = 0; j < sets; ++j) {
        if (only >= 0 && j != static_cast<uint32_t>(only)) continue;
        const size_t i = (r * statuses + st) * sets + j;
        const uint32_t n = flags ? c.flag_households[L][i] : c.linked_persons[L][i];
        if (n == 0) continue;
        uint64_t key = 0;
        for (size_t d = 0; d < p.by.size(); ++d) {
          const Dimension* by = p.by[d];
          const uint32_t v = by->kind == DK::kRegion ? at[static_cast<size_t>(by->index)]
                             : by->kind == kind      ? j
                                                     : st;
          key += v * p.stride[d];
        }
        Acc& a = g->At(key);
        const auto persons = static_cast<int32_t>(flags ? c.flag_persons[L][i] : n);
        a.persons += persons;
        a.poor += persons * p.poor_of[st];
        a.exited += persons * p.exited_of[st];
        a.returned += persons * p.returned_of[st];
        if (!flags) continue;
        a.households += static_cast<int32_t>(n);
        a.poor_households += static_cast<int32_t>(n) * p.poor_of[st];
        if (j > 0) {
          a.flags += static_cast<int32_t>(c.flag_counts[L][i]);
          a.flagged += static_cast<int32_t>(n);
        }
      }
    }
  });
  return true;
}

// Answers member questions of the whole province from the cube's member pairs: at most two
// member dimensions across by and where, status as the only household dimension, no region
// but the province, person measures only. Makes `g` and fills it, or returns false and
// leaves `g` empty.
bool FromMemberCube(const Plan& p, std::optional<Groups>& g) {
  const Snapshot& s = *p.s;
  const Cube& c = s.cube;
  if (!c.valid || !p.member_level || p.multi >= 0 || !p.multi_filters.empty() || p.need_flags ||
      p.need_income || p.need_medians || p.need_fgt || p.need_mpi || p.need_monitored ||
      p.households_measure || c.statuses != s.h_dicts[kStatus].values.size())
    return false;
  std::vector<int> dims;  // member dimensions used
  auto use = [&](const Dimension* d) {
    if (d->kind == DK::kHousehold) return d->index == kStatus;
    if (d->kind != DK::kMember) return false;
    if (std::find(dims.begin(), dims.end(), d->index) == dims.end()) dims.push_back(d->index);
    return true;
  };
  for (const Dimension* d : p.by)
    if (!use(d)) return false;
  for (const Filter& f : p.filters)
    if (!use(f.dim)) return false;
  for (const Filter& f : p.regions)
    if (f.dim->index != 0 || !f.accept[0]) return false;
  if (dims.empty() || dims.size() > 2) return false;
  for (int d : dims)
    if (c.m_cards[static_cast<size_t>(d)] != s.m_dicts[static_cast<size_t>(d)].values.size())
      return false;
  if (dims.size() == 1) dims.push_back(dims[0] == 0 ? 1 : 0);
  std::sort(dims.begin(), dims.end());
  const int a = dims[0], b = dims[1];
  const uint32_t ca = c.m_cards[static_cast<size_t>(a)], cb = c.m_cards[static_cast<size_t>(b)];
  const uint32_t statuses = c.statuses;
  std::vector<uint8_t> ok_a(ca, 1), ok_b(cb, 1), status_ok(statuses, 1);
  for (const Filter& f : p.filters) {
    auto& ok = f.dim->kind == DK::kHousehold ? status_ok : f.dim->index == a ? ok_a : ok_b;
    for (size_t i = 0; i < ok.size(); ++i) ok[i] &= f.accept[i];
  }
  g.emplace(p.space, false);
  const std::vector<uint32_t>& counts = c.pairs[static_cast<size_t>(Cube::PairIndex(a, b))];
  for (uint32_t x = 0; x < ca; ++x) {
    if (!ok_a[x]) continue;
    for (uint32_t y = 0; y < cb; ++y) {
      if (!ok_b[y]) continue;
      for (uint32_t st = 0; st < statuses; ++st) {
        const uint32_t n = counts[(size_t{x} * cb + y) * statuses + st];
        if (!status_ok[st] || n == 0) continue;
        uint64_t key = 0;
        for (size_t d = 0; d < p.by.size(); ++d) {
          const Dimension* by = p.by[d];
          const uint32_t v = by->kind == DK::kHousehold ? st : by->index == a ? x : y;
          key += v * p.stride[d];
        }
        Acc& acc = g->At(key);
        const auto np = static_cast<int32_t>(n);
        acc.persons += np;
        acc.poor += np * p.poor_of[st];
        acc.exited += np * p.exited_of[st];
        acc.returned += np * p.returned_of[st];
      }
    }
  }
  return true;
}

// Runs Scan over the plan's rows on up to `threads` threads, split at household boundaries.
void Execute(const Plan& p, int threads, Groups& total, const std::function<Groups()>& make) {
  const Snapshot& s = *p.s;
  if (p.list) {
    // Positions in the list, every row checked against the region filters; two halves.
    const auto n = static_cast<uint32_t>(p.list->size());
    if (n < 200000 || threads < 2) {
      Scan(p, 0, n, true, total);
      return;
    }
    Groups other = make();
    RunPair([&] { Scan(p, 0, n / 2, true, total); }, [&] { Scan(p, n / 2, n, true, other); });
    total.Merge(other);
    return;
  }
  std::vector<std::pair<uint32_t, uint32_t>> ranges = HouseholdRanges(p);
  uint64_t rows = 0;
  for (auto [b, e] : ranges) rows += e - b;
  // Cut into `parts` pieces of about equal households.
  const int parts = rows < 200000 ? 1 : std::max(1, threads);
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> piece(static_cast<size_t>(parts));
  const uint64_t per = (rows + static_cast<uint64_t>(parts) - 1) / static_cast<uint64_t>(parts);
  size_t at = 0;
  uint64_t filled = 0;
  for (auto [b, e] : ranges) {
    while (b < e) {
      const uint64_t room = per * (at + 1) - filled;
      const uint32_t take = static_cast<uint32_t>(std::min<uint64_t>(room, e - b));
      piece[std::min(at, piece.size() - 1)].emplace_back(b, b + take);
      b += take;
      filled += take;
      if (filled >= per * (at + 1)) ++at;
    }
  }
  auto run = [&](const std::vector<std::pair<uint32_t, uint32_t>>& list, Groups& g) {
    for (auto [b, e] : list) {
      if (p.member_level) {
        Scan(p, s.member_begin[b], s.member_begin[e], false, g);
      } else {
        Scan(p, b, e, false, g);
      }
    }
  };
  std::vector<Groups> partial;
  for (int i = 1; i < parts; ++i) partial.push_back(make());
  (void)RunTasks(static_cast<size_t>(parts), parts, [&](size_t i) {
    run(piece[i], i == 0 ? total : partial[i - 1]);
    return OkStatus();
  });
  // The appended part, row by row against the region filters.
  if (s.households > s.sorted_households) {
    if (p.member_level) {
      Scan(p, s.member_begin[s.sorted_households], s.members, true, total);
    } else {
      Scan(p, s.sorted_households, s.households, true, total);
    }
  }
  for (Groups& g : partial) total.Merge(g);
}

}  // namespace

Result<QueryResult> RunQuery(const Snapshot& s, const QuerySpec& spec) {
  RETURN_IF_ERROR(CheckQuery(spec));
  ASSIGN_OR_RETURN(Plan p, MakePlan(s, spec.by, spec.where, &spec.poverty));
  std::vector<Wanted> wanted;
  std::vector<M> measures;
  bool per_person = false;
  for (const std::string& m : spec.measures) {
    ASSIGN_OR_RETURN(Wanted w, ParseMeasure(m, spec.poverty));
    wanted.push_back(w);
    measures.push_back(w.kind);
    per_person |= w.per_person;
    p.need_income |= w.kind == M::kMeanIncome || w.kind == M::kMedianIncome || w.kind == M::kWage ||
                     w.kind == M::kBusiness || w.kind == M::kProperty || w.kind == M::kTransfer;
    p.need_components |= w.kind == M::kWage || w.kind == M::kBusiness || w.kind == M::kProperty ||
                         w.kind == M::kTransfer;
    p.need_medians |= w.kind == M::kMedianIncome;
    p.need_flags |= w.kind == M::kFlags || w.kind == M::kFlaggedHouseholds;
    p.need_monitored |= w.kind == M::kMonitoredPersons;
    p.need_fgt |= w.kind == M::kFgtP0 || w.kind == M::kFgtP1 || w.kind == M::kFgtP2;
    p.need_mpi |= w.kind >= M::kMpiH;
  }
  const bool poverty = p.need_fgt || p.need_mpi;
  if (poverty) RETURN_IF_ERROR(PlanPoverty(s, spec.poverty, p));
  p.weighted = per_person && !p.member_level;
  p.ranks = s.ranks_valid;
  bool households_measure = false;
  for (M m : measures) households_measure |= m == M::kHouseholds || m == M::kPoorHouseholds;
  p.households_measure = households_measure;
  p.counts_only = p.multi < 0 && !p.need_income && !p.need_flags && !poverty && !p.need_monitored &&
                  p.space <= (uint64_t{1} << 21) / p.poor_of.size() &&
                  !(p.member_level && households_measure);
  const uint32_t statuses = p.counts_only ? static_cast<uint32_t>(p.poor_of.size()) : 0;
  // Medians of a few groups by rank histogram: about 64 Ki counters in all, so that the
  // random increments stay in cache, but buckets of at most 1,024 ranks, so that the walk
  // stays short (full scale, by prefecture: 12 ms against 35 ms with 1 Mi counters, and 270
  // ms collecting ranks). Many groups, a multi-valued dimension or stale ranks collect the
  // ranks or values instead.
  if (p.need_medians && p.ranks && p.multi < 0 && p.space <= 256 && !s.income_order.empty()) {
    const uint64_t per_group = (uint64_t{1} << 16) / p.space;
    while ((uint64_t{s.income_order.size()} >> p.rank_shift) >= per_group) ++p.rank_shift;
    p.rank_shift = std::min(p.rank_shift, 10);
    p.buckets = static_cast<uint32_t>((s.income_order.size() >> p.rank_shift) + 1);
  }
  std::optional<Groups> cube;
  const bool from_cube =
      spec.use_cube && (FromCube(p, cube) || FromSetCube(p, DK::kFlag, cube) ||
                        FromMemberCube(p, cube) || FromSetCube(p, DK::kLinked, cube));
  if (!from_cube) {
    if (!p.member_level && p.flag_filter && !p.flag_filter->accept[0]) p.list = &s.flagged;
    auto make = [&] { return Groups(p.space, p.need_medians, statuses, poverty, p.buckets); };
    cube.emplace(make());
    Execute(p, spec.threads, *cube, make);
  }
  Groups& groups = *cube;
  const std::vector<double> hist_medians =
      p.buckets ? MediansFromHistograms(p, groups) : std::vector<double>();
  groups.FinishCounts(p.poor_of, p.exited_of, p.returned_of);

  QueryResult out;
  out.from_cube = from_cube;
  out.columns = spec.by;
  for (const std::string& m : spec.measures) out.columns.push_back(m);
  std::vector<std::pair<std::vector<std::string_view>, std::vector<double>>> rows;
  groups.ForEach([&](uint64_t key, Acc& a) {
    std::vector<std::string_view> dims;
    for (size_t d = 0; d < p.by.size(); ++d)
      dims.push_back(
          CodeText(s, p.by[d], static_cast<uint32_t>(key / p.stride[d] % Cardinality(s, p.by[d]))));
    std::vector<double> values;
    const PovAcc* pa = poverty ? &groups.Pov(key) : nullptr;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : std::nan(""); };
    for (const Wanted& w : wanted) {
      const double nan = std::nan("");
      switch (w.kind) {
        case M::kFgtP0:
          values.push_back(ratio(pa->fgt_poor, pa->fgt_n));
          break;
        case M::kFgtP1:
          values.push_back(ratio(pa->fgt_gap, pa->fgt_n));
          break;
        case M::kFgtP2:
          values.push_back(ratio(pa->fgt_gap2, pa->fgt_n));
          break;
        case M::kMpiH:
          values.push_back(ratio(pa->af_poor, pa->af_n));
          break;
        case M::kMpiA:
          values.push_back(ratio(pa->af_score, pa->af_poor));
          break;
        case M::kMpiM0:
          values.push_back(ratio(pa->af_score, pa->af_n));
          break;
        case M::kMpiPoorPersons:
          values.push_back(pa->af_poor);
          break;
        case M::kMpiCensored:
          values.push_back(ratio(pa->af_censored[static_cast<size_t>(w.indicator)], pa->af_n));
          break;
        case M::kMpiContribution: {
          const double weight = p.indicators[static_cast<size_t>(w.indicator)].second;
          values.push_back(pa->af_score > 0
                               ? weight * pa->af_censored[static_cast<size_t>(w.indicator)] /
                                     pa->af_score
                               : nan);
          break;
        }
        case M::kHouseholds:
          values.push_back(a.households);
          break;
        case M::kPersons:
          values.push_back(a.persons);
          break;
        case M::kPoorPersons:
          values.push_back(a.poor);
          break;
        case M::kExitedPersons:
          values.push_back(a.exited);
          break;
        case M::kReturnedPersons:
          values.push_back(a.returned);
          break;
        case M::kMonitoredPersons:
          values.push_back(a.monitored);
          break;
        case M::kPoorHouseholds:
          values.push_back(a.poor_households);
          break;
        case M::kIncidence:
          values.push_back(a.persons ? static_cast<double>(a.poor) / a.persons : nan);
          break;
        case M::kMeanIncome:
          values.push_back(a.incomes ? a.income / a.incomes : nan);
          break;
        case M::kMedianIncome: {
          if (p.buckets) {
            values.push_back(hist_medians[key]);
            break;
          }
          std::vector<double>& v = groups.Incomes(key);
          if (v.empty()) {
            values.push_back(nan);
            break;
          }
          const size_t n = v.size();
          std::nth_element(v.begin(), v.begin() + static_cast<long>(n / 2), v.end());
          auto value = [&](double x) {
            return p.ranks ? s.income_sorted[static_cast<size_t>(x)] : x;
          };
          const double upper = value(v[n / 2]);
          if (n % 2) {
            values.push_back(upper);
          } else {
            const double lower =
                value(*std::max_element(v.begin(), v.begin() + static_cast<long>(n / 2)));
            values.push_back((lower + upper) / 2);
          }
          break;
        }
        case M::kWage:
          values.push_back(a.wage);
          break;
        case M::kBusiness:
          values.push_back(a.business);
          break;
        case M::kProperty:
          values.push_back(a.property);
          break;
        case M::kTransfer:
          values.push_back(a.transfer);
          break;
        case M::kFlags:
          values.push_back(a.flags);
          break;
        case M::kFlaggedHouseholds:
          values.push_back(a.flagged);
          break;
      }
    }
    rows.emplace_back(std::move(dims), std::move(values));
  });
  std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
    for (size_t d = 0; d < a.first.size(); ++d) {
      if (a.first[d] == b.first[d]) continue;
      return ValueLess(p.by[d], a.first[d], b.first[d]);
    }
    return false;
  });
  for (auto& [dims, values] : rows) {
    std::vector<std::string> row(dims.begin(), dims.end());
    for (size_t i = 0; i < measures.size(); ++i) {
      const double v = values[i];
      switch (measures[i]) {
        case M::kIncidence:
          row.push_back(std::isnan(v) ? "" : fmt::format("{:.4f}", v));
          break;
        case M::kFgtP0:
        case M::kFgtP1:
        case M::kFgtP2:
        case M::kMpiH:
        case M::kMpiA:
        case M::kMpiM0:
        case M::kMpiCensored:
        case M::kMpiContribution:
          row.push_back(std::isnan(v) ? "" : fmt::format("{:.6f}", v));
          break;
        case M::kMeanIncome:
        case M::kMedianIncome:
        case M::kWage:
        case M::kBusiness:
        case M::kProperty:
        case M::kTransfer:
          row.push_back(std::isnan(v) ? "" : MoneyText(v));
          break;
        default:
          row.push_back(fmt::format("{}", static_cast<int64_t>(v)));
      }
    }
    out.rows.push_back(std::move(row));
    out.values.push_back(std::move(values));
  }
  return out;
}

Result<HouseholdList> ListHouseholds(
    const Snapshot& s, const std::vector<std::pair<std::string, std::vector<std::string>>>& where,
    int64_t offset, int64_t limit) {
  RETURN_IF_ERROR(CheckQuery({{"households"}, {}, where}));
  ASSIGN_OR_RETURN(Plan p, MakePlan(s, {}, where, nullptr));
  // Households passing every filter: a member-level filter keeps a household when any of
  // its members passes.
  HouseholdList out;
  std::vector<uint8_t> pass(s.households, 0);
  auto mark = [&](uint32_t b, uint32_t e, bool appended) {
    uint32_t hh[kChunk];
    uint8_t sel[kChunk];
    for (uint32_t first = b; first < e; first += kChunk) {
      const int n = static_cast<int>(std::min<uint32_t>(kChunk, e - first));
      Select(p, first, n, appended, hh, sel);
      for (int i = 0; i < n; ++i) pass[hh[i]] |= sel[i];
    }
  };
  for (auto [b, e] : HouseholdRanges(p)) {
    if (p.member_level) {
      mark(s.member_begin[b], s.member_begin[e], false);
    } else {
      mark(b, e, false);
    }
  }
  if (s.households > s.sorted_households) {
    if (p.member_level) {
      mark(s.member_begin[s.sorted_households], s.members, true);
    } else {
      mark(s.sorted_households, s.households, true);
    }
  }
  // Village order: the sorted part is, the appended part is sorted here.
  std::vector<uint32_t> order;
  for (uint32_t h = 0; h < s.households; ++h)
    if (pass[h]) order.push_back(h);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (s.h_village[a] != s.h_village[b]) return s.h_village[a] < s.h_village[b];
    return s.HouseholdId(a) < s.HouseholdId(b);
  });
  out.total = static_cast<int64_t>(order.size());
  for (int64_t i = std::max<int64_t>(0, offset);
       i < out.total && static_cast<int64_t>(out.rows.size()) < limit; ++i) {
    const uint32_t h = order[static_cast<size_t>(i)];
    HouseholdRow r;
    r.household_id = std::string(s.HouseholdId(h));
    r.village_code = s.region_codes[kRegionLevels - 1][s.h_village[h]];
    r.status = s.h_dicts[kStatus].values[s.h_dims[kStatus][h]];
    r.category = s.h_dicts[kCategory].values[s.h_dims[kCategory][h]];
    r.primary_cause = s.h_dicts[kPrimaryCause].values[s.h_dims[kPrimaryCause][h]];
    r.members = static_cast<int>(s.member_begin[h + 1] - s.member_begin[h]);
    r.per_capita_income = s.h_money[kPerCapita][h];
    for (uint32_t k = s.flag_begin[h]; k < s.flag_begin[h + 1]; ++k)
      r.flags.push_back(s.rules[s.flag_entries[k].rule]);
    r.lat = s.h_lat[h] == Snapshot::kNoGeo ? std::nan("") : s.h_lat[h] / 1e6;
    r.lon = s.h_lon[h] == Snapshot::kNoGeo ? std::nan("") : s.h_lon[h] / 1e6;
    out.rows.push_back(std::move(r));
  }
  return out;
}

}  // namespace fupin::analytics
