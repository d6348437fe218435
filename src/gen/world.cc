#include "gen/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>

#include "core/id_number.h"
#include "core/regions_data.h"
#include "gen/text_buf.h"

namespace fupin::gen {
namespace {

// Outsider rows per department file at scale 1.0, counted as permutation slots over the
// living pool (a slot whose person fails the file's age filter gives no row). Tuned so the
// file totals (registry rows + outsider rows) land near the sizes in issue 3; see
// docs/generator.md for the measured totals.
constexpr int64_t kOutsiderSlotsAtScale1[kFileCount] = {
    0,          // households
    0,          // members
    500'000,    // edu_students
    2'600'000,  // health_enrollment
    1'000'000,  // health_claims
    1'500'000,  // civil_dibao
    1'000'000,  // disability
    1'100'000,  // hr_employment
    480'000,    // relocation
    6'800'000,  // vehicles
    3'000'000,  // business
    3'000'000,  // property
    1'550'000,  // public_servants
    0,          // deaths: the whole dead pool, one row each
};
constexpr int64_t kLivingPoolAtScale1 = 14'000'000;
constexpr int64_t kDeadPoolAtScale1 = 970'000;
constexpr int64_t kHouseholdsAtScale1 = 2'300'000;

// Living population by age at the end of 2019 (relative weight per single year of age).
double LivingAgeWeight(int age) {
  if (age < 5) return 1.15;
  if (age < 15) return 1.30;
  if (age < 25) return 1.20;
  if (age < 45) return 1.25;
  if (age < 55) return 1.40;
  if (age < 65) return 1.00;
  if (age < 75) return 0.70;
  if (age < 85) return 0.35;
  return 0.08;
}

// Deaths 2014–2019 by the person's would-be age at the end of 2019.
double DeadAgeWeight(int age) {
  if (age < 45) return 0.05;
  if (age < 60) return 0.15;
  if (age < 70) return 0.30;
  if (age < 80) return 0.55;
  if (age < 90) return 0.70;
  return 0.25;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Bytes of the first n UTF-8 characters of s.
size_t Utf8Prefix(std::string_view s, int n) {
  size_t i = 0;
  for (int k = 0; k < n && i < s.size(); ++k) {
    const auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  }
  return std::min(i, s.size());
}

std::string CountyShortName(std::string_view name) {
  if (name.find("族") != std::string_view::npos)
    return std::string(name.substr(0, Utf8Prefix(name, 2)));
  if (EndsWith(name, "特区")) return std::string(name.substr(0, name.size() - 6));
  if (EndsWith(name, "县") || EndsWith(name, "区") || EndsWith(name, "市")) {
    return std::string(name.substr(0, name.size() - 3));
  }
  return std::string(name);
}

uint64_t CodeNumber(std::string_view code) {
  uint64_t v = 0;
  for (char c : code) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

constexpr double kLatMin = 24.62, kLatMax = 29.22, kLonMin = 103.60, kLonMax = 109.58;

// Each county's centre (WGS-84), from the boundaries the web app draws: villages are placed
// around it, so that a county's villages and households lie inside its outline on the map.
struct CountyCentre {
  std::string_view code6;
  double lat, lon;
};
constexpr CountyCentre kCountyCentres[] = {
#include "gen/county_centres.inc"
};
const CountyCentre* CentreOf(std::string_view code6) {
  for (const CountyCentre& c : kCountyCentres)
    if (c.code6 == code6) return &c;
  return nullptr;
}
}  // namespace

std::optional<std::pair<double, double>> CountyCentreOf(std::string_view code6) {
  const CountyCentre* c = CentreOf(code6);
  if (!c) return std::nullopt;
  return std::pair{c->lat, c->lon};
}

namespace {

int64_t Gcd(int64_t a, int64_t b) {
  while (b != 0) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace

void FormatId(std::string_view county6, int64_t birth_days, int seq, char* out) {
  const Ymd d = YmdFromDays(birth_days);
  std::copy(county6.begin(), county6.end(), out);
  auto put = [&](int pos, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[pos + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(6, d.year, 4);
  put(10, d.month, 2);
  put(12, d.day, 2);
  put(14, seq, 3);
  out[17] = IdCheckChar(std::string_view(out, 17));
}

const std::array<PrefectureInfo, 9>& PrefectureTable() {
  // Ethnic percentages by group: Han, Miao, Buyei, Dong, Tujia, Yi, Sui, Gelao, Hui, Bai,
  // Yao, Uyghur. [S] calibrated so the weighted province mix lands near DOMAIN.md §6.1.
  static const std::array<PrefectureInfo, 9> table = {{
      {"5201",
       "贵阳",
       "贵阳市",
       'A',
       26.65,
       106.63,
       0.02,
       598,
       {84, 6, 7, 0.5, 0.5, 0.5, 0.2, 0.3, 1, 0, 0, 0}},
      {"5202",
       "六盘水",
       "六盘水市",
       'B',
       26.15,
       104.85,
       0.07,
       303,
       {72, 8, 8, 0, 0, 9, 0, 1, 1.5, 0.5, 0, 0}},
      {"5203",
       "遵义",
       "遵义市",
       'C',
       27.95,
       106.90,
       0.11,
       660,
       {87, 3, 0.5, 0, 2.5, 0, 0, 7, 0, 0, 0, 0}},
      {"5204",
       "安顺",
       "安顺市",
       'G',
       25.95,
       105.85,
       0.07,
       247,
       {62, 14, 22, 0, 0, 0, 0, 1, 1, 0, 0, 0}},
      {"5205",
       "毕节",
       "毕节市",
       'F',
       27.15,
       105.25,
       0.22,
       690,
       {73, 12, 1, 0, 0, 10, 0, 0.5, 2, 1.5, 0, 0}},
      {"5206",
       "铜仁",
       "铜仁市",
       'D',
       27.85,
       108.60,
       0.12,
       330,
       {30, 17, 0, 10, 42, 0, 0, 1, 0, 0, 0, 0}},
      {"5223",
       "黔西南",
       "兴义市",
       'E',
       25.35,
       105.35,
       0.10,
       305,
       {58, 9, 31, 0, 0, 0.5, 0, 0.5, 1, 0, 0, 0}},
      {"5226",
       "黔东南",
       "凯里市",
       'H',
       26.40,
       108.30,
       0.18,
       376,
       {19, 44, 1, 31, 1.5, 0, 2, 0, 0, 0, 1.5, 0}},
      {"5227",
       "黔南",
       "都匀市",
       'J',
       26.00,
       107.35,
       0.11,
       349,
       {43, 13, 32, 1, 0, 0, 10, 0, 0, 0, 1, 0}},
  }};
  return table;
}

void OutsiderPool::Build(uint64_t seed, uint64_t stream, int64_t size, int first_year,
                         int last_year, const std::vector<double>& age_weight, int seq_base,
                         int capacity, const std::vector<County>& counties) {
  seed_ = seed;
  stream_ = stream;
  first_year_ = first_year;
  months_ = (last_year - first_year + 1) * 12;
  seq_base_ = seq_base;
  double county_total = 0;
  for (const County& c : counties) county_total += c.pop_weight;
  double age_total = 0;
  for (int m = 0; m < months_; ++m) age_total += age_weight[kDataYear - (first_year + m / 12)];
  const size_t cells = counties.size() * 2 * static_cast<size_t>(months_);
  prefix_.assign(cells + 1, 0);
  uint64_t running = 0;
  size_t cell = 0;
  for (size_t c = 0; c < counties.size(); ++c) {
    for (int s = 0; s < 2; ++s) {
      for (int m = 0; m < months_; ++m, ++cell) {
        const int year = first_year + m / 12;
        const double lambda = static_cast<double>(size) * (counties[c].pop_weight / county_total) *
                              (age_weight[kDataYear - year] / age_total) * 0.5;
        const double whole = std::floor(lambda);
        uint64_t n = static_cast<uint64_t>(whole);
        if (UnitFromHash(Hash(seed, stream, cell)) < lambda - whole) ++n;
        const Ymd first = {year, m % 12 + 1, 1};
        const int next_month = m % 12 + 2;
        const int64_t days_in_month =
            (next_month == 13 ? DaysFromYmd(year + 1, 1, 1) : DaysFromYmd(year, next_month, 1)) -
            DaysFromYmd(first.year, first.month, 1);
        n = std::min<uint64_t>(n, static_cast<uint64_t>(days_in_month * capacity));
        prefix_[cell] = running;
        running += n;
      }
    }
  }
  prefix_[cells] = running;
  index_.clear();
  size_t c = 0;
  for (uint64_t o = 0; o < running; o += uint64_t{1} << kIndexShift) {
    while (prefix_[c + 1] <= o) ++c;
    index_.push_back(static_cast<uint32_t>(c));
  }
  index_.push_back(static_cast<uint32_t>(cells - 1));
}

PoolPerson OutsiderPool::Lookup(int64_t o, const std::vector<County>& counties) const {
  const size_t slot = static_cast<size_t>(o) >> kIndexShift;
  const auto first = prefix_.begin() + index_[slot];
  const auto last = prefix_.begin() + index_[slot + 1] + 2;
  const auto it = std::upper_bound(first, std::min(last, prefix_.end()), static_cast<uint64_t>(o));
  const size_t cell = static_cast<size_t>(it - prefix_.begin()) - 1;
  const uint64_t k = static_cast<uint64_t>(o) - prefix_[cell];
  const int m = static_cast<int>(cell % static_cast<size_t>(months_));
  const int s = static_cast<int>((cell / static_cast<size_t>(months_)) % 2);
  const int c = static_cast<int>(cell / static_cast<size_t>(months_) / 2);
  const int year = first_year_ + m / 12;
  const int month = m % 12 + 1;
  const int64_t first_day = DaysFromYmd(year, month, 1);
  const int64_t next = month == 12 ? DaysFromYmd(year + 1, 1, 1) : DaysFromYmd(year, month + 1, 1);
  const uint64_t ndays = static_cast<uint64_t>(next - first_day);
  const uint64_t offset = Hash(seed_, stream_, cell, 1) % ndays;
  const uint64_t day = (k + offset) % ndays;
  const uint64_t rank = k / ndays;

  PoolPerson p;
  p.county = c;
  p.sex = s == 0 ? 1 : 2;
  p.birth_days = first_day + static_cast<int64_t>(day);
  const County& county = counties[static_cast<size_t>(c)];
  p.village =
      county.first_village + static_cast<int>(Hash(seed_, stream_, static_cast<uint64_t>(o), 3) %
                                              static_cast<uint64_t>(county.village_count));
  const uint64_t eh = Hash(seed_, stream_, static_cast<uint64_t>(o), 4);
  p.ethnic = UnitFromHash(Hash(seed_, stream_, static_cast<uint64_t>(o), 5)) < 0.001
                 ? kUyghur
                 : static_cast<EthnicGroup>(county.ethnic.PickFromHash(eh));
  const int seq = seq_base_ + 2 * static_cast<int>(rank) + (p.sex == 1 ? 1 : 0);
  FormatId(county.code6, p.birth_days, seq, p.id);
  return p;
}

Result<Plan> MakePlan(uint64_t seed, double scale) {
  if (!(scale > 0) || scale > 5) {
    return Err(InvalidArgument(fmt::format("scale must be in (0, 5], got {}", scale)));
  }
  Plan plan;
  plan.seed = seed;
  plan.scale = scale;
  plan.households = std::max<int64_t>(1, std::llround(kHouseholdsAtScale1 * scale));

  // Parse the built-in regions: code,name,level,parent_code, sorted by code.
  std::string_view csv = BuiltinRegionsCsv();
  size_t pos = csv.find('\n');
  if (pos == std::string_view::npos) return Err(Internal("built-in regions list is empty"));
  ++pos;
  const auto& table = PrefectureTable();
  while (pos < csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const size_t c1 = line.find(',');
    const size_t c2 = line.find(',', c1 + 1);
    const size_t c3 = line.find(',', c2 + 1);
    if (c1 != 12 || c2 == std::string_view::npos || c3 == std::string_view::npos) {
      return Err(Internal(fmt::format("built-in regions: bad line '{}'", line)));
    }
    std::string_view code = line.substr(0, 12);
    std::string_view name = line.substr(c1 + 1, c2 - c1 - 1);
    const int level = line[c2 + 1] - '0';
    switch (level) {
      case 2: {
        const PrefectureInfo* info = nullptr;
        for (const PrefectureInfo& p : table)
          if (p.code4 == code.substr(0, 4)) info = &p;
        if (info == nullptr) return Err(Internal(fmt::format("unknown prefecture {}", code)));
        plan.prefectures.push_back({info, std::string(code), std::string(name)});
        break;
      }
      case 3: {
        if (plan.prefectures.empty()) return Err(Internal("county before prefecture"));
        County c;
        c.code6 = std::string(code.substr(0, 6));
        c.name = std::string(name);
        c.short_name = CountyShortName(name);
        c.prefecture = static_cast<int>(plan.prefectures.size()) - 1;
        c.first_township = static_cast<int>(plan.townships.size());
        c.first_village = static_cast<int>(plan.villages.size());
        plan.counties.push_back(std::move(c));
        break;
      }
      case 4: {
        if (plan.counties.empty()) return Err(Internal("township before county"));
        County& c = plan.counties.back();
        Township t;
        t.code12 = std::string(code);
        t.name = std::string(name);
        t.county = static_cast<int>(plan.counties.size()) - 1;
        t.index_in_county = c.township_count++;
        t.first_village = static_cast<int>(plan.villages.size());
        plan.townships.push_back(std::move(t));
        break;
      }
      case 5: {
        if (plan.townships.empty()) return Err(Internal("village before township"));
        Village v;
        std::copy(code.begin(), code.end(), v.code);
        v.township = static_cast<int>(plan.townships.size()) - 1;
        v.county = static_cast<int>(plan.counties.size()) - 1;
        v.rural =
            !(EndsWith(name, "居民委员会") || EndsWith(name, "社区") || EndsWith(name, "居委会"));
        plan.villages.push_back(v);
        plan.townships.back().village_count++;
        plan.counties.back().village_count++;
        break;
      }
      default:
        break;
    }
  }
  if (plan.prefectures.size() != 9 || plan.villages.empty()) {
    return Err(Internal("built-in regions list is not Guizhou's"));
  }

  // Township index within prefecture (for vehicle plates).
  {
    std::vector<int> per_prefecture(plan.prefectures.size(), 0);
    for (Township& t : plan.townships) {
      t.index_in_prefecture = per_prefecture[plan.counties[t.county].prefecture]++;
    }
  }

  // Geography: a county at its real centre (a county the table lacks: jittered around its
  // prefecture's centroid), a village point within about 4 km of its county's.
  for (size_t ci = 0; ci < plan.counties.size(); ++ci) {
    County& c = plan.counties[ci];
    if (const CountyCentre* centre = CentreOf(c.code6)) {
      c.lat = centre->lat;
      c.lon = centre->lon;
      continue;
    }
    const PrefectureInfo& p = *plan.prefectures[c.prefecture].info;
    const uint64_t h = Hash(seed, 21, CodeNumber(c.code6));
    c.lat = p.lat + (UnitFromHash(h) - 0.5) * 0.70;
    c.lon = p.lon + (UnitFromHash(Mix64(h)) - 0.5) * 0.80;
  }
  for (Village& v : plan.villages) {
    const County& c = plan.counties[v.county];
    const uint64_t h = Hash(seed, 22, CodeNumber(std::string_view(v.code, 12)));
    const double lat = std::clamp(c.lat + (UnitFromHash(h) - 0.5) * 0.08, kLatMin, kLatMax);
    const double lon = std::clamp(c.lon + (UnitFromHash(Mix64(h)) - 0.5) * 0.08, kLonMin, kLonMax);
    v.lat_e6 = static_cast<int32_t>(std::lround(lat * 1e6));
    v.lon_e6 = static_cast<int32_t>(std::lround(lon * 1e6));
  }

  // Ethnic mix per county: the prefecture's, with groups named in the county's name
  // (autonomous counties, e.g. 威宁彝族回族苗族自治县) weighted three times.
  for (County& c : plan.counties) {
    const PrefectureInfo& p = *plan.prefectures[c.prefecture].info;
    std::vector<double> w(p.ethnic.begin(), p.ethnic.end());
    for (int g = 1; g < kEthnicGroupCount; ++g) {
      if (c.name.find(EthnicName(static_cast<EthnicGroup>(g))) != std::string::npos) {
        w[g] = std::max(w[g], 1.0) * 3;
      }
    }
    c.ethnic = Weighted(w);
  }

  // Poor households per village: prefecture share × village weight (rural poor village 2.5,
  // other rural 1, urban community 0.12) × a log-normal size factor; largest remainder.
  std::vector<double> weight(plan.villages.size());
  std::vector<double> prefecture_total(plan.prefectures.size(), 0);
  for (size_t i = 0; i < plan.villages.size(); ++i) {
    const Village& v = plan.villages[i];
    const uint64_t code = CodeNumber(std::string_view(v.code, 12));
    double w = 0.12;
    if (v.rural) w = UnitFromHash(Hash(seed, 11, code)) < 0.55 ? 2.5 : 1.0;
    Rng r(Hash(seed, 12, code));
    w *= r.LogNormal(1.0, 0.5);
    weight[i] = w;
    prefecture_total[plan.counties[v.county].prefecture] += w;
  }
  std::vector<std::pair<double, size_t>> remainders(plan.villages.size());
  int64_t assigned = 0;
  for (size_t i = 0; i < plan.villages.size(); ++i) {
    const int p = plan.counties[plan.villages[i].county].prefecture;
    const double quota = static_cast<double>(plan.households) *
                         plan.prefectures[p].info->poor_weight * weight[i] / prefecture_total[p];
    const double whole = std::floor(quota);
    plan.villages[i].households = static_cast<int32_t>(whole);
    assigned += static_cast<int64_t>(whole);
    remainders[i] = {quota - whole, i};
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int64_t k = 0; assigned < plan.households; ++k, ++assigned) {
    plan.villages[remainders[static_cast<size_t>(k % static_cast<int64_t>(remainders.size()))]
                      .second]
        .households++;
  }
  int32_t max_households = 0;
  int64_t running = 0;
  for (Township& t : plan.townships) {
    t.first_household = running;
    for (int v = t.first_village; v < t.first_village + t.village_count; ++v) {
      t.households += plan.villages[v].households;
      max_households = std::max(max_households, plan.villages[v].households);
    }
    running += t.households;
  }
  plan.household_seq_width =
      std::max<int>(4, static_cast<int>(std::to_string(max_households).size()));

  // The general population per county: prefecture population share spread over its
  // counties by village count.
  {
    std::vector<int> prefecture_villages(plan.prefectures.size(), 0);
    for (const County& c : plan.counties) prefecture_villages[c.prefecture] += c.village_count;
    for (County& c : plan.counties) {
      c.pop_weight = plan.prefectures[c.prefecture].info->pop_weight * c.village_count /
                     std::max(1, prefecture_villages[c.prefecture]);
    }
  }

  std::vector<double> living_age(101), dead_age(106);
  for (int a = 0; a <= 100; ++a) living_age[a] = LivingAgeWeight(a);
  for (int a = 0; a <= 105; ++a) dead_age[a] = DeadAgeWeight(a);
  plan.living.Build(seed, 31, std::llround(kLivingPoolAtScale1 * scale), 1920, 2019, living_age,
                    600, 175, plan.counties);
  plan.dead.Build(seed, 32, std::llround(kDeadPoolAtScale1 * scale), 1915, 1995, dead_age, 950, 25,
                  plan.counties);

  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    OutsiderQuota& q = plan.quotas[f];
    const int64_t pool = f == kDeaths ? plan.dead.size() : plan.living.size();
    if (pool <= 0) continue;
    q.slots = f == kDeaths
                  ? pool
                  : std::min<int64_t>(pool, std::llround(kOutsiderSlotsAtScale1[f] * scale));
    int64_t a = static_cast<int64_t>(Hash(seed, 41, static_cast<uint64_t>(f)) %
                                     static_cast<uint64_t>(pool));
    if (a == 0) a = 1;
    while (Gcd(a, pool) != 1) a = a + 1 < pool ? a + 1 : 1;
    q.multiplier = a;
    q.offset = static_cast<int64_t>(Hash(seed, 42, static_cast<uint64_t>(f)) %
                                    static_cast<uint64_t>(pool));
  }
  return plan;
}

}  // namespace fupin::gen
