#include "gen/block.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>

#include "gen/names.h"
#include "gen/rng.h"
#include "gen/text_buf.h"

namespace fupin::gen {
namespace {

constexpr int64_t kDataEnd = DaysFromYmd(kDataYear, 12, 31);
constexpr int64_t kCounterBase = DaysFromYmd(1900, 1, 1);
constexpr int kCounterDays = 121 * 366;

// ---------------------------------------------------------------------------------------
// Distributions (documented with their sources in docs/generator.md).
constexpr double kCategoryWeights[] = {0.78, 0.19, 0.03};  // 一般, 低保, 特困
constexpr double kRegYearWeights[] = {0.72, 0.09, 0.07, 0.06, 0.04, 0.02};  // 2014..2019
constexpr int kStatusCodes[] = {1, 2, 3, 4, 9};
constexpr double kStatusWeights[] = {0.040, 0.836, 0.004, 0.070, 0.050};
constexpr double kExitYearWeights[] = {122, 130, 121, 92, 125, 124};  // 2014..2019
constexpr int kCauseCodes[] = {1, 9, 7, 8, 2, 3, 10, 11, 4, 5, 6, 12, 99};
constexpr double kCauseWeights[] = {42, 12, 11, 9, 7, 5, 4, 3, 2, 2, 1.5, 0.5, 1};
constexpr double kOtherCauseCountWeights[] = {0.35, 0.40, 0.25};
constexpr double kSizeGeneral[] = {0.11, 0.18, 0.22, 0.23, 0.15, 0.07, 0.025, 0.015};
constexpr double kSizeDibao[] = {0.30, 0.27, 0.17, 0.13, 0.08, 0.03, 0.015, 0.005};
constexpr double kSizeTekun[] = {0.75, 0.20, 0.05};
constexpr double kRemovalWeights[] = {0.4, 0.3, 0.3};  // deceased, moved, wrongly registered
constexpr int kWorkCodes[] = {1, 2, 3, 4, 99};
constexpr double kWorkWeights[] = {0.14, 0.16, 0.25, 0.42, 0.03};
// 2006 second national sample survey of disability, shares by type 1..7 (视力 听力 言语 肢体
// 智力 精神 多重).
constexpr double kDisabilityTypeWeights[] = {14.86, 24.16, 1.53, 29.07, 6.68, 7.40, 16.30};
constexpr double kDisabilityGradeWeights[] = {0.10, 0.20, 0.30, 0.40};
constexpr double kEducationOld[] = {45, 40, 12, 3, 0};     // age >= 60, codes 1..5
constexpr double kEducationMiddle[] = {15, 40, 35, 8, 2};  // 40..59
constexpr double kEducationYoung[] = {3, 20, 55, 15, 7};   // 19..39
constexpr double kHealthChild[] = {97, 1.5, 0.5, 1};       // codes 1..4
constexpr double kHealthAdult[] = {88, 7, 2, 3};
constexpr double kHealthOld[] = {62, 25, 5, 8};

// Planted-case rates, each among the households eligible for it.
constexpr double kRateExitReady = 0.15;          // of status-1 households
constexpr double kRateAtRisk = 0.03;             // of status-2 households
constexpr double kRateExitedNotSecured = 0.005;  // of status-2/4 households
constexpr double kRateDibaoMissing = 0.02;       // of category-2/3 households
constexpr double kRateVehicleOwner = 0.003;
constexpr double kRateBusinessOwner = 0.002;
constexpr double kRatePropertyOwner = 0.002;
constexpr double kRatePublicServant = 0.001;
constexpr double kRateDiedActive = 0.003;  // of status-1/2/3 households
constexpr double kRateCountMismatch = 0.003;
constexpr double kRateTwoHouseholds = 0.001;
constexpr double kRateChildOutOfSchool = 0.01;  // of households with a child aged 7–15
constexpr double kRateUninsured = 0.005;
constexpr double kRateStudentNoSubsidy = 0.02;  // of households with a student

// Dirty identity data in department rows (per row).
constexpr double kIdEmpty = 0.015;
constexpr double kIdOld15 = 0.010;  // only people born 1900–1999
constexpr double kIdMistyped = 0.010;
constexpr double kIdTransposed = 0.005;
constexpr double kIdFullWidth = 0.005;
constexpr double kIdSpaces = 0.005;
constexpr double kIdLowerX = 0.15;  // of rows whose ID ends in X and got no other dirt
constexpr double kNameTraditional = 0.010;
constexpr double kNameHomophone = 0.010;
constexpr double kNameSimilar = 0.005;
constexpr double kNameSpaces = 0.005;
constexpr double kNameDotVariant = 0.30;  // of names with a middle dot

struct Dists {
  Weighted category{kCategoryWeights};
  Weighted reg_year{kRegYearWeights};
  Weighted status{kStatusWeights};
  Weighted cause{kCauseWeights};
  Weighted other_count{kOtherCauseCountWeights};
  Weighted size_general{kSizeGeneral};
  Weighted size_dibao{kSizeDibao};
  Weighted size_tekun{kSizeTekun};
  Weighted removal{kRemovalWeights};
  Weighted work{kWorkWeights};
  Weighted disability_type{kDisabilityTypeWeights};
  Weighted disability_grade{kDisabilityGradeWeights};
  Weighted edu_old{kEducationOld};
  Weighted edu_middle{kEducationMiddle};
  Weighted edu_young{kEducationYoung};
  Weighted health_child{kHealthChild};
  Weighted health_adult{kHealthAdult};
  Weighted health_old{kHealthOld};
};

const Dists& D() {
  static const Dists d;
  return d;
}

// Text pools for department columns.
constexpr std::string_view kTradeNames[] = {
    "鑫源", "华盛", "恒达", "宏图", "金鼎", "瑞丰", "永兴", "富民", "兴农", "利民",
    "黔丰", "山水", "绿源", "云海", "腾达", "创美", "博达", "中联", "新农", "天宇",
    "顺发", "万家", "隆昌", "德润", "佳禾", "盛世", "正泰", "宏远", "鸿运", "祥和"};
constexpr std::string_view kIndustries[] = {
    "电子科技", "建筑工程", "服装", "物流",     "餐饮管理", "食品", "家具", "机械制造", "建材",
    "劳务派遣", "农业开发", "茶业", "旅游开发", "物业管理", "鞋业", "玩具", "汽车配件", "五金"};
constexpr std::string_view kOutOfProvinceCities[] = {
    "广东省东莞市", "广东省深圳市", "广东省广州市", "广东省佛山市", "浙江省宁波市", "浙江省温州市",
    "浙江省杭州市", "江苏省苏州市", "福建省厦门市", "福建省泉州市", "上海市",       "重庆市"};
constexpr std::string_view kCountyEmployers[] = {
    "人民政府办公室", "教育局",         "财政局",     "公安局",
    "卫生健康局",     "农业农村局",     "自然资源局", "人民医院",
    "第一中学",       "扶贫开发办公室", "民政局",     "人力资源和社会保障局",
    "交通运输局",     "水务局"};
constexpr std::string_view kTownshipEmployers[] = {"人民政府", "中心小学", "卫生院"};
constexpr std::string_view kSiteParts[] = {"城南", "城北",   "城东",    "城西",
                                           "新城", "经开区", "移民新村"};
constexpr std::string_view kSiteSuffixes[] = {"安置点", "安置区", "易地扶贫搬迁安置点"};
constexpr std::string_view kVocationalColleges[] = {
    "贵阳职业技术学院",       "六盘水职业技术学院",     "遵义职业技术学院",
    "安顺职业技术学院",       "毕节职业技术学院",       "铜仁职业技术学院",
    "黔西南民族职业技术学院", "黔东南民族职业技术学院", "黔南民族职业技术学院"};
constexpr std::string_view kUniversities[] = {"贵州大学",       "贵州师范大学", "贵州民族大学",
                                              "贵州财经大学",   "贵州医科大学", "遵义医科大学",
                                              "凯里学院",       "铜仁学院",     "黔南民族师范学院",
                                              "六盘水师范学院", "安顺学院",     "贵州理工学院"};
constexpr std::string_view kHighSchools[] = {"第一中学", "第二中学", "民族中学", "第三中学"};
constexpr std::string_view kOtherCities[] = {"遵义市", "重庆市", "昆明市", "长沙市"};

struct VehicleType {
  std::string_view label;
  double weight;
};
constexpr VehicleType kVehicleTypes[] = {
    {"小型轿车", 40},       {"小型普通客车", 20}, {"轻型普通货车", 8},
    {"中型普通货车", 2},    {"重型自卸货车", 1},  {"小型越野客车", 2},
    {"普通二轮摩托车", 22}, {"三轮汽车", 3},      {"低速货车", 2}};
constexpr int kMotorcycleType = 6;
constexpr VehicleType kPlantedVehicleTypes[] = {
    {"小型轿车", 60}, {"小型普通客车", 20}, {"轻型普通货车", 15}, {"重型自卸货车", 5}};

const Weighted& VehicleWeights() {
  static const Weighted w = [] {
    std::vector<double> v;
    for (const VehicleType& t : kVehicleTypes) v.push_back(t.weight);
    return Weighted(v);
  }();
  return w;
}
const Weighted& PlantedVehicleWeights() {
  static const Weighted w = [] {
    std::vector<double> v;
    for (const VehicleType& t : kPlantedVehicleTypes) v.push_back(t.weight);
    return Weighted(v);
  }();
  return w;
}

template <size_t N>
std::string_view PickText(Rng& rng, const std::string_view (&list)[N]) {
  return list[rng.Below(static_cast<uint32_t>(N))];
}

int64_t DayIn(Rng& rng, int64_t first, int64_t last) {
  if (last <= first) return first;
  return first + static_cast<int64_t>(rng.Below(static_cast<uint32_t>(last - first + 1)));
}
int64_t DayInYears(Rng& rng, int first_year, int last_year) {
  return DayIn(rng, DaysFromYmd(first_year, 1, 1), DaysFromYmd(last_year, 12, 31));
}
int YearOf(int64_t days) { return YmdFromDays(days).year; }
int64_t Yuan(double yuan) { return std::llround(yuan * 100.0); }

// ---------------------------------------------------------------------------------------
// The household model.

constexpr int kMaxMembers = 10;
constexpr PlantedKind kNotPlanted = PlantedKind::kCount;

struct Member {
  char id[18];
  char name[64];
  uint8_t name_len = 0;
  std::string_view surname;
  int64_t birth = 0;
  int birth_year = 0;
  int sex = 1;
  int relation = 1;
  EthnicGroup ethnic = kHan;
  int education = 0, in_school = 0, health = 1, labor = 1, work = 0, work_months = 0;
  bool medical = true, pension = false;
  bool duplicate = false;  // planted copy of a member of another household
  bool deceased = false;   // removed household whose only member died
  int64_t death_day = 0;
  int64_t wage_fen = 0;
  int dibao_monthly = 0;

  int age() const { return kDataYear - birth_year; }
  std::string_view Name() const { return {name, name_len}; }
};

struct Household {
  char id[32];
  int id_len = 0;
  int village = 0;
  int category = 1, cause = 1, other[2] = {0, 0}, n_other = 0;
  int reg_year = 2014, status = 2, exit_year = 0;
  int removal = 0;  // status 9: 1 deceased, 2 moved, 3 wrongly registered
  int n = 0;
  Member m[kMaxMembers];
  int members_field = 0;
  int64_t housing_tenths = 0, road_tenths = 0, arable_tenths = 0, forest_tenths = 0;
  bool housing_safe = true, water_safe = true, electricity = true;
  int64_t wage = 0, business = 0, property = 0, transfer = 0;
  int32_t lat_e6 = 0, lon_e6 = 0;
  bool relocated = false;
  int relocation_year = 0;
  PlantedKind planted = kNotPlanted;
  int planted_member = -1;
  std::string planted_detail;

  std::string_view Id() const { return {id, static_cast<size_t>(id_len)}; }
  bool Poor() const { return status == 1 || status == 3; }
};

struct Ctx {
  const Plan& plan;
  const Township& town;
  const County& county;
  const Prefecture& prefecture;
  BlockOutput& out;
  BlockScratch& scratch;
  Rng rng;
  uint32_t claim_counter = 0;
  uint32_t plate_counter = 0;
  // The last household's candidate for a planted "one person in two households".
  bool has_prev = false;
  Member prev_member;
  std::string prev_household;
};

void AddMember(Household& h, int relation, int sex, int age, Rng& rng) {
  Member& m = h.m[h.n++];
  m = Member{};
  m.relation = relation;
  m.sex = sex;
  m.birth_year = kDataYear - std::clamp(age, 0, 105);
  const int64_t first = DaysFromYmd(m.birth_year, 1, 1);
  const int64_t last = m.birth_year == kDataYear ? kDataEnd : DaysFromYmd(m.birth_year, 12, 31);
  m.birth = DayIn(rng, first, last);
}

int HeadAge(Rng& rng, int category, int n) {
  if (category == 3) return rng.Chance(0.7) ? rng.Range(60, 92) : rng.Range(35, 59);
  if (n == 1) return rng.Chance(0.7) ? rng.Range(55, 92) : rng.Range(25, 54);
  int a = (rng.Range(25, 80) + rng.Range(25, 80)) / 2;
  if (category == 2) a = std::min(90, a + rng.Range(0, 10));
  return a;
}

void Compose(Household& h, int n, bool elderly_single, Rng& rng) {
  const int head_age = elderly_single ? rng.Range(70, 95) : HeadAge(rng, h.category, n);
  const bool spouse = n >= 2 && rng.Chance(head_age < 70 ? 0.88 : 0.6);
  const int head_sex = spouse ? (rng.Chance(0.9) ? 1 : 2) : (rng.Chance(0.55) ? 1 : 2);
  AddMember(h, 1, head_sex, head_age, rng);
  int r = n - 1;
  int spouse_age = head_age;
  if (spouse) {
    spouse_age = std::clamp(
        head_sex == 1 ? head_age - rng.Range(-1, 6) : head_age + rng.Range(-1, 6), 18, 95);
    AddMember(h, 2, 3 - head_sex, spouse_age, rng);
    --r;
  }
  const int youngest_parent = std::min(head_age, spouse_age);
  if (r >= 2 && head_age >= 55 && youngest_parent - 20 >= 22 && rng.Chance(0.6)) {
    const int child_age = rng.Range(22, std::min(youngest_parent - 20, 45));
    const int child_sex = rng.Chance(0.8) ? 1 : 2;
    AddMember(h, child_sex == 1 ? 3 : 4, child_sex, child_age, rng);
    --r;
    int inlaw_age = child_age;
    if (r >= 2 || (r >= 1 && rng.Chance(0.6))) {
      inlaw_age = std::clamp(child_age + rng.Range(-4, 4), 18, 95);
      AddMember(h, child_sex == 1 ? 5 : 6, 3 - child_sex, inlaw_age, rng);
      --r;
    }
    const int max_grandchild = std::clamp(std::min(child_age, inlaw_age) - 20, 0, 25);
    for (; r > 0; --r) {
      const int s = rng.Chance(0.53) ? 1 : 2;
      AddMember(h, s == 1 ? 7 : 8, s, rng.Range(0, max_grandchild), rng);
    }
    return;
  }
  if (r >= 1 && head_age <= 50 && rng.Chance(0.2)) {
    const int pa = head_age + rng.Range(22, 32);
    const int pa_sex = rng.Chance(0.4) ? 1 : 2;
    AddMember(h, 9, pa_sex, pa, rng);
    --r;
    if (r >= 2 && rng.Chance(0.5)) {
      AddMember(h, 9, 3 - pa_sex, std::clamp(pa + rng.Range(-5, 5), head_age + 18, 98), rng);
      --r;
    }
  }
  const int max_child = std::min(youngest_parent - 18, 40);
  for (; r > 0; --r) {
    const int s = rng.Chance(0.53) ? 1 : 2;
    if (max_child >= 0) {
      AddMember(h, s == 1 ? 3 : 4, s, rng.Range(0, max_child), rng);
    } else {
      AddMember(h, 10, s, std::clamp(head_age + rng.Range(-8, 8), 16, 95), rng);
    }
  }
}

void AssignEducation(Member& m, Rng& rng) {
  const int age = m.age();
  switch (m.in_school) {
    case 1:
      m.education = 6;
      return;
    case 2:
      m.education = 2;
      return;
    case 3:
      m.education = 3;
      return;
    case 4:
    case 5:
      m.education = 4;
      return;
    case 6:
    case 7:
      m.education = 5;
      return;
    default:
      break;
  }
  if (age < 6) {
    m.education = 6;
  } else if (age <= 18) {
    m.education = rng.Chance(0.7) ? 3 : 2;
  } else if (age >= 60) {
    m.education = 1 + D().edu_old.Pick(rng);
  } else if (age >= 40) {
    m.education = 1 + D().edu_middle.Pick(rng);
  } else {
    m.education = 1 + D().edu_young.Pick(rng);
  }
}

void AssignSchool(Member& m, Rng& rng) {
  const int age = m.age();
  m.in_school = 0;
  if (age >= 3 && age <= 5) {
    m.in_school = rng.Chance(0.8) ? 1 : 0;
  } else if (age >= 6 && age <= 11) {
    m.in_school = 2;
  } else if (age >= 12 && age <= 15) {
    m.in_school = 3;
  } else if (age >= 16 && age <= 18) {
    const double u = rng.Uniform();
    m.in_school = u < 0.55 ? 4 : u < 0.80 ? 5 : 0;
  } else if (age >= 19 && age <= 22) {
    const double u = rng.Uniform();
    m.in_school = u < 0.15 ? 6 : u < 0.25 ? 7 : 0;
  }
}

void AssignLaborWork(Member& m, bool poor, Rng& rng) {
  const int age = m.age();
  if (m.in_school > 0 || age < 16) {
    m.labor = 4;
  } else if (m.health == 3) {
    m.labor = rng.Chance(0.6) ? 3 : 5;
  } else if (m.health == 4) {
    m.labor = rng.Chance(0.5) ? 3 : 5;
  } else if (age >= 65) {
    m.labor = rng.Chance(0.55) ? 4 : 5;
  } else if (m.health == 2) {
    m.labor = rng.Chance(0.5) ? 5 : 1;
  } else {
    const double u = rng.Uniform();
    m.labor = u < 0.82 ? 1 : u < 0.95 ? 2 : 5;
  }
  m.work = 0;
  m.work_months = 0;
  const bool able = m.labor == 1 || m.labor == 2 || (m.labor == 5 && rng.Chance(0.3));
  if (able && rng.Chance(poor ? 0.55 : 0.75)) {
    m.work = kWorkCodes[D().work.Pick(rng)];
    if (poor) {
      m.work_months = rng.Range(2, 8);
    } else {
      m.work_months = rng.Chance(0.4) ? 12 : rng.Range(6, 12);
    }
  }
}

void AssignPerson(Member& m, bool poor, Rng& rng) {
  AssignSchool(m, rng);
  AssignEducation(m, rng);
  const int age = m.age();
  const Weighted& health = age < 18   ? D().health_child
                           : age < 60 ? D().health_adult
                                      : D().health_old;
  m.health = 1 + health.Pick(rng);
  AssignLaborWork(m, poor, rng);
  m.medical = true;
  m.pension = age >= 16 && m.in_school == 0 && rng.Chance(0.93);
}

// Index of a random member matching pred, or -1.
template <typename Pred>
int PickMember(const Household& h, Rng& rng, Pred pred) {
  int candidates[kMaxMembers];
  int k = 0;
  for (int i = 0; i < h.n; ++i)
    if (pred(h.m[i])) candidates[k++] = i;
  if (k == 0) return -1;
  return candidates[rng.Below(static_cast<uint32_t>(k))];
}

void ApplyCause(Household& h, Rng& rng) {
  const bool poor = h.Poor();
  auto any = [&](auto pred) {
    for (int i = 0; i < h.n; ++i)
      if (pred(h.m[i])) return true;
    return false;
  };
  if (h.cause == 1 && !any([](const Member& m) { return m.health == 2 || m.health == 3; })) {
    int i = PickMember(h, rng, [](const Member& m) { return m.age() >= 18; });
    if (i < 0) i = 0;
    h.m[i].health = rng.Chance(0.4) ? 3 : 2;
    AssignLaborWork(h.m[i], poor, rng);
  } else if (h.cause == 2 && !any([](const Member& m) { return m.health == 4; })) {
    const int i = static_cast<int>(rng.Below(static_cast<uint32_t>(h.n)));
    h.m[i].health = 4;
    AssignLaborWork(h.m[i], poor, rng);
  } else if (h.cause == 3 && !any([](const Member& m) { return m.in_school >= 4; })) {
    const int i =
        PickMember(h, rng, [](const Member& m) { return m.age() >= 16 && m.age() <= 22; });
    if (i >= 0) {
      Member& m = h.m[i];
      m.in_school = m.age() <= 18 ? (rng.Chance(0.7) ? 4 : 5) : (rng.Chance(0.6) ? 6 : 7);
      AssignEducation(m, rng);
      AssignLaborWork(m, poor, rng);
      m.pension = false;
    }
  }
}

// Draws the household's planted case (at most one), given its composition.
void DrawPlanted(Household& h, const Ctx& ctx, Rng& rng) {
  auto has = [&](auto pred) {
    for (int i = 0; i < h.n; ++i)
      if (pred(h.m[i])) return true;
    return false;
  };
  const bool active = h.status != 9;
  const bool adult = has([](const Member& m) { return m.age() >= 22 && m.age() <= 65; });
  const bool young_adult = has([](const Member& m) { return m.age() >= 22 && m.age() <= 60; });
  const bool child = has([](const Member& m) { return m.age() >= 7 && m.age() <= 15; });
  const bool student = has([](const Member& m) { return m.in_school > 0; });
  struct Option {
    PlantedKind kind;
    double rate;
    bool eligible;
  };
  const Option options[] = {
      {PlantedKind::kExitReady, kRateExitReady, h.status == 1},
      {PlantedKind::kAtRisk, kRateAtRisk, h.status == 2},
      {PlantedKind::kExitedNotSecured, kRateExitedNotSecured, h.status == 2 || h.status == 4},
      {PlantedKind::kDibaoMissing, kRateDibaoMissing, active && h.category != 1},
      {PlantedKind::kVehicleOwner, kRateVehicleOwner, active && adult},
      {PlantedKind::kBusinessOwner, kRateBusinessOwner, active && adult},
      {PlantedKind::kPropertyOwner, kRatePropertyOwner, active && adult},
      {PlantedKind::kPublicServant, kRatePublicServant, active && young_adult},
      {PlantedKind::kDiedActive, kRateDiedActive, h.status == 1 || h.status == 2 || h.status == 3},
      {PlantedKind::kMemberCountMismatch, kRateCountMismatch, true},
      {PlantedKind::kTwoHouseholds, kRateTwoHouseholds, ctx.has_prev},
      {PlantedKind::kChildOutOfSchool, kRateChildOutOfSchool, active && child},
      {PlantedKind::kUninsured, kRateUninsured, active},
      {PlantedKind::kStudentNoSubsidy, kRateStudentNoSubsidy, active && student},
  };
  double u = rng.Uniform();
  for (const Option& o : options) {
    if (!o.eligible) continue;
    if (u < o.rate) {
      h.planted = o.kind;
      return;
    }
    u -= o.rate;
  }
}

// Assigns member i's registry ID: county, birth date, and a sequence number from this
// township's band. Shifts the birth date by a day or two in the rare case the band is full.
void AssignId(Ctx& ctx, Member& m) {
  const int nt = std::max(1, ctx.county.township_count);
  const int band = std::max(1, 300 / nt);
  std::vector<uint8_t>& counters = ctx.scratch.id_counters;
  for (int attempt = 0;; ++attempt) {
    const int64_t delta = (attempt % 2 == 1) ? (attempt + 1) / 2 : -(attempt / 2);
    int64_t day = m.birth + delta;
    if (day > kDataEnd || day < kCounterBase) continue;
    const uint32_t index = static_cast<uint32_t>((day - kCounterBase) * 2 + (m.sex == 1 ? 0 : 1));
    if (counters[index] >= band) {
      if (attempt > 2000) break;  // cannot happen below scale 5; keep the last candidate
      continue;
    }
    if (counters[index] == 0) ctx.scratch.touched.push_back(index);
    const int rank = ctx.town.index_in_county * band + counters[index]++;
    m.birth = day;
    m.birth_year = YearOf(day);
    FormatId(ctx.county.code6, day, 2 * rank + (m.sex == 1 ? 1 : 0), m.id);
    return;
  }
  FormatId(ctx.county.code6, m.birth, 2 * (ctx.town.index_in_county * band) + (m.sex == 1 ? 1 : 0),
           m.id);
}

void SetName(Member& m, std::string_view surname, Rng& rng, std::string& scratch) {
  scratch.clear();
  scratch.append(surname);
  AppendGivenName(rng, m.sex, m.birth_year, scratch);
  m.surname = surname;
  const size_t n = std::min(scratch.size(), sizeof(m.name));
  std::copy(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(n), m.name);
  m.name_len = static_cast<uint8_t>(n);
}

void AssignNamesAndEthnicity(Ctx& ctx, Household& h, Rng& rng) {
  const EthnicGroup group = static_cast<EthnicGroup>(ctx.county.ethnic.Pick(rng));
  Member& head = h.m[0];
  head.ethnic = group;
  // Surnames follow the father: a child (3/4) takes the male of head/spouse (92%), a
  // grandchild the surname of the child's line.
  std::string_view head_surname = DrawSurname(rng, group);
  std::string_view spouse_surname;
  EthnicGroup spouse_group = group;
  std::string_view child_line_surname;  // of relation 3/4 in a three-generation household
  std::string_view inlaw_surname;
  int child_line_sex = 1;
  for (int i = 0; i < h.n; ++i) {
    Member& m = h.m[i];
    std::string_view surname = head_surname;
    switch (m.relation) {
      case 1:
        m.ethnic = group;
        break;
      case 2:
        spouse_group =
            rng.Chance(0.85) ? group : static_cast<EthnicGroup>(ctx.county.ethnic.Pick(rng));
        m.ethnic = spouse_group;
        spouse_surname = DrawSurname(rng, spouse_group);
        surname = spouse_surname;
        break;
      case 3:
      case 4: {
        const std::string_view father =
            head.sex == 1 || spouse_surname.empty() ? head_surname : spouse_surname;
        const std::string_view mother =
            head.sex == 1 && !spouse_surname.empty() ? spouse_surname : head_surname;
        surname = rng.Chance(0.92) ? father : mother;
        m.ethnic =
            spouse_group != group && rng.Chance(0.7) && spouse_group != kHan ? spouse_group : group;
        child_line_surname = surname;
        child_line_sex = m.sex;
        break;
      }
      case 5:
      case 6: {
        const EthnicGroup g =
            rng.Chance(0.85) ? group : static_cast<EthnicGroup>(ctx.county.ethnic.Pick(rng));
        m.ethnic = g;
        surname = DrawSurname(rng, g);
        inlaw_surname = surname;
        break;
      }
      case 7:
      case 8:
        surname = child_line_sex == 1 || inlaw_surname.empty() ? child_line_surname : inlaw_surname;
        if (surname.empty()) surname = head_surname;
        m.ethnic = group;
        break;
      case 9:
        surname = m.sex == 1 ? head_surname : DrawSurname(rng, group);
        m.ethnic = group;
        break;
      default:
        m.ethnic = group;
        break;
    }
    SetName(m, surname, rng, ctx.scratch.name);
  }
}

void AppendHouseholdId(Ctx& ctx, Household& h, int village, int64_t index_in_village) {
  std::string id(ctx.plan.villages[village].code, 12);
  PutPadded(id, static_cast<uint64_t>(index_in_village + 1), ctx.plan.household_seq_width);
  std::copy(id.begin(), id.end(), h.id);
  h.id_len = static_cast<int>(id.size());
}

void ComputeIncome(Household& h, Rng& rng) {
  double per_capita;
  switch (h.planted) {
    case PlantedKind::kExitReady:
      per_capita = rng.Uniform(4500, 8000);
      break;
    case PlantedKind::kAtRisk:
      per_capita = rng.Uniform(3748, 4100);
      break;
    default:
      if (h.Poor()) {
        per_capita = rng.Uniform(1800, 3150);
      } else if (h.status == 9) {
        per_capita = rng.LogNormal(h.removal == 3 ? 15000 : 9000, 0.35);
      } else {
        per_capita = std::max(rng.LogNormal(9500, 0.35), 4500 + rng.Uniform(0, 300));
      }
  }
  int64_t total = Yuan(per_capita * h.members_field);
  const int64_t cap = total * 85 / 100;
  int64_t pension = 0, dibao = 0;
  int covered = 0;
  const bool dibao_household = h.category != 1 && h.planted != PlantedKind::kDibaoMissing;
  for (int i = 0; i < h.n; ++i) {
    Member& m = h.m[i];
    if (m.duplicate) continue;
    if (m.age() >= 60 && m.pension) pension += Yuan(12.0 * rng.Range(93, 130));
    if (dibao_household) {
      m.dibao_monthly = h.category == 2 ? rng.Range(150, 350) : rng.Range(450, 600);
      dibao += Yuan(12.0 * m.dibao_monthly);
      ++covered;
    }
  }
  int64_t eco = Yuan(static_cast<double>(h.forest_tenths) / 10.0 * rng.Range(10, 25));
  int64_t other = Yuan(rng.Range(100, 800));
  const int64_t base = pension + eco + other;
  if (base > cap) {
    const double f = static_cast<double>(cap) / static_cast<double>(base);
    pension = std::llround(pension * f);
    eco = std::llround(eco * f);
    other = cap - pension - eco;
  }
  if (covered > 0) {
    const int64_t room = std::max<int64_t>(0, cap - pension - eco - other);
    if (dibao > room) {
      const double f = static_cast<double>(room) / static_cast<double>(dibao);
      dibao = 0;
      for (int i = 0; i < h.n; ++i) {
        Member& m = h.m[i];
        if (m.duplicate || m.dibao_monthly == 0) continue;
        m.dibao_monthly = std::max(30, static_cast<int>(std::floor(m.dibao_monthly * f)));
        dibao += Yuan(12.0 * m.dibao_monthly);
      }
    }
  }
  h.transfer = pension + dibao + eco + other;
  if (h.transfer > total) total = h.transfer;
  h.property = std::llround(static_cast<double>(total) * rng.Uniform(0, 0.03));
  if (total - h.transfer - h.property < 0) h.property = 0;
  const int64_t rest = total - h.transfer - h.property;
  int total_months = 0;
  for (int i = 0; i < h.n; ++i)
    if (!h.m[i].duplicate && !h.m[i].deceased) total_months += h.m[i].work_months;
  h.wage = total_months > 0 ? std::llround(static_cast<double>(rest) * rng.Uniform(0.55, 0.85)) : 0;
  h.business = rest - h.wage;
  int64_t left = h.wage;
  int months_left = total_months;
  for (int i = 0; i < h.n; ++i) {
    Member& m = h.m[i];
    if (m.duplicate || m.deceased || m.work_months == 0) continue;
    const int64_t share =
        months_left == m.work_months ? left : h.wage * m.work_months / total_months;
    m.wage_fen = share;
    left -= share;
    months_left -= m.work_months;
  }
}

// ---------------------------------------------------------------------------------------
// Department rows.

struct Identity {
  const char* id;  // 18 characters
  std::string_view name;
  int sex;
  int64_t birth;
  const char* village_code;  // 12 digits
  bool registry;
};

enum class IdDirt : uint8_t {
  kNone,
  kEmpty,
  kOld15,
  kMistyped,
  kTransposed,
  kFullWidth,
  kSpaces,
  kLowerX
};

std::string_view IdDirtName(IdDirt d) {
  switch (d) {
    case IdDirt::kNone:
      return "none";
    case IdDirt::kEmpty:
      return "empty";
    case IdDirt::kOld15:
      return "old15";
    case IdDirt::kMistyped:
      return "mistyped_digit";
    case IdDirt::kTransposed:
      return "transposed_digits";
    case IdDirt::kFullWidth:
      return "fullwidth_digits";
    case IdDirt::kSpaces:
      return "spaces";
    case IdDirt::kLowerX:
      return "lowercase_x";
  }
  return "";
}

// Writes the ID as the department typed it; returns the dirt applied.
IdDirt WriteId(std::string& s, const char* id, Rng& rng) {
  double u = rng.Uniform();
  IdDirt d = IdDirt::kNone;
  if ((u -= kIdEmpty) < 0) {
    d = IdDirt::kEmpty;
  } else if ((u -= kIdOld15) < 0) {
    d = (id[6] == '1' && id[7] == '9') ? IdDirt::kOld15 : IdDirt::kNone;
  } else if ((u -= kIdMistyped) < 0) {
    d = IdDirt::kMistyped;
  } else if ((u -= kIdTransposed) < 0) {
    d = IdDirt::kTransposed;
  } else if ((u -= kIdFullWidth) < 0) {
    d = IdDirt::kFullWidth;
  } else if ((u -= kIdSpaces) < 0) {
    d = IdDirt::kSpaces;
  } else if (id[17] == 'X' && rng.Chance(kIdLowerX)) {
    d = IdDirt::kLowerX;
  }
  switch (d) {
    case IdDirt::kNone:
      s.append(id, 18);
      break;
    case IdDirt::kEmpty:
      break;
    case IdDirt::kOld15:
      s.append(id, 6);
      s.append(id + 8, 9);
      break;
    case IdDirt::kMistyped: {
      char buf[18];
      std::copy(id, id + 18, buf);
      const uint32_t pos = rng.Below(17);
      const int digit = buf[pos] - '0';
      buf[pos] = static_cast<char>('0' + (digit + 1 + static_cast<int>(rng.Below(9))) % 10);
      s.append(buf, 18);
      break;
    }
    case IdDirt::kTransposed: {
      char buf[18];
      std::copy(id, id + 18, buf);
      uint32_t pos = rng.Below(16);
      for (int k = 0; k < 16 && buf[pos] == buf[pos + 1]; ++k) pos = (pos + 1) % 16;
      if (buf[pos] == buf[pos + 1]) {  // every adjacent pair equal: nothing to swap
        s.append(id, 18);
        return IdDirt::kNone;
      }
      std::swap(buf[pos], buf[pos + 1]);
      s.append(buf, 18);
      break;
    }
    case IdDirt::kFullWidth:
      for (int i = 0; i < 18; ++i) {
        const char c = id[i];
        // U+FF10..U+FF19 (full-width digits) and U+FF38 (full-width X).
        s.push_back('\xEF');
        s.push_back('\xBC');
        s.push_back(c == 'X' ? '\xB8' : static_cast<char>(0x90 + (c - '0')));
      }
      break;
    case IdDirt::kSpaces:
      if (rng.Chance(0.6)) {
        s.append(id, 6);
        s.push_back(' ');
        s.append(id + 6, 8);
        s.push_back(' ');
        s.append(id + 14, 4);
      } else {  // one stray space inside (spaces around the cell are trimmed by readers)
        const uint32_t pos = 1 + rng.Below(17);
        s.append(id, pos);
        s.push_back(' ');
        s.append(id + pos, 18 - pos);
      }
      break;
    case IdDirt::kLowerX:
      s.append(id, 17);
      s.push_back('x');
      break;
  }
  return d;
}

void RecordDirty(Ctx& ctx, int file, uint32_t row, std::string_view field, std::string_view kind,
                 std::string_view clean, std::string_view dirty) {
  std::string& t = ctx.out.dirty_text;
  const size_t start = t.size();
  t.append(field);
  t.push_back(',');
  t.append(kind);
  t.push_back(',');
  PutField(t, clean);
  t.push_back(',');
  PutField(t, dirty);
  t.push_back('\n');
  ctx.out.dirty.push_back({static_cast<uint8_t>(file), row, static_cast<uint32_t>(start),
                           static_cast<uint32_t>(t.size() - start)});
}

int RegionDigits(int file, Rng& rng) {
  switch (file) {
    case kEduStudents:
      return rng.Chance(0.6) ? 12 : 9;
    case kHealthEnrollment:
    case kCivilDibao:
      return 12;
    case kDisability:
      return 9;
    case kDeaths:
      return rng.Chance(0.5) ? 12 : 9;
    default:
      return 6;
  }
}

// Starts a department row: the identity block (maybe dirtied) and the truth entry. Returns
// the 0-based row within this block's part of the file. The caller appends the file's own
// columns and the newline.
uint32_t BeginRow(Ctx& ctx, int file, const Identity& who, Rng& rng) {
  std::string& s = ctx.out.text[file];
  const auto row = static_cast<uint32_t>(ctx.out.rows[file]++);
  std::string& truth = ctx.out.truth[file];
  truth.push_back(who.registry ? 'R' : 'O');
  truth.append(who.id, 18);

  const size_t id_start = s.size();
  const IdDirt id_dirt = WriteId(s, who.id, rng);
  if (id_dirt != IdDirt::kNone) {
    RecordDirty(ctx, file, row, "id_number", IdDirtName(id_dirt), std::string_view(who.id, 18),
                std::string_view(s).substr(id_start));
  }
  s.push_back(',');

  NameDirt name_dirt = NameDirt::kNone;
  if (who.name.find("·") != std::string_view::npos) {
    if (rng.Chance(kNameDotVariant)) name_dirt = NameDirt::kDotVariant;
  } else {
    double u = rng.Uniform();
    if ((u -= kNameTraditional) < 0) {
      name_dirt = NameDirt::kTraditional;
    } else if ((u -= kNameHomophone) < 0) {
      name_dirt = NameDirt::kHomophone;
    } else if ((u -= kNameSimilar) < 0) {
      name_dirt = NameDirt::kSimilarChar;
    } else if ((u -= kNameSpaces) < 0) {
      name_dirt = NameDirt::kSpaces;
    }
  }
  std::string& dirty_name = ctx.scratch.text;
  dirty_name.clear();
  if (name_dirt != NameDirt::kNone && DirtyName(name_dirt, who.name, rng, dirty_name)) {
    PutField(s, dirty_name);
    RecordDirty(ctx, file, row, "name", NameDirtName(name_dirt), who.name, dirty_name);
  } else {
    PutField(s, who.name);
  }
  s.push_back(',');
  s.push_back(who.sex == 1 ? '1' : '2');
  s.push_back(',');
  PutDate(s, who.birth);
  s.push_back(',');
  s.append(who.village_code, static_cast<size_t>(RegionDigits(file, rng)));
  s.push_back(',');
  return row;
}

void EndRow(Ctx& ctx, int file) { ctx.out.text[file].push_back('\n'); }

const Township& TownshipOf(const Ctx& ctx, const char* village_code) {
  // Townships are sorted by code; find the one with the village's 9-digit prefix.
  std::string_view prefix(village_code, 9);
  const auto& ts = ctx.plan.townships;
  auto it =
      std::lower_bound(ts.begin(), ts.end(), prefix, [](const Township& t, std::string_view p) {
        return std::string_view(t.code12).substr(0, 9) < p;
      });
  return it == ts.end() ? ts.back() : *it;
}

const County& CountyOf(const Ctx& ctx, const char* village_code) {
  std::string_view prefix(village_code, 6);
  const auto& cs = ctx.plan.counties;
  auto it = std::lower_bound(cs.begin(), cs.end(), prefix,
                             [](const County& c, std::string_view p) { return c.code6 < p; });
  return it == cs.end() ? cs.back() : *it;
}

std::string_view StripSuffix(std::string_view name) {
  for (std::string_view suffix : {"街道办事处", "街道", "办事处"}) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}

void PutSchoolName(Ctx& ctx, std::string& s, int stage, const char* village_code, Rng& rng) {
  const County& county = CountyOf(ctx, village_code);
  switch (stage) {
    case 1:
      s.append(StripSuffix(TownshipOf(ctx, village_code).name));
      s.append("中心幼儿园");
      break;
    case 2:
      s.append(StripSuffix(TownshipOf(ctx, village_code).name));
      s.append("中心小学");
      break;
    case 3:
      s.append(StripSuffix(TownshipOf(ctx, village_code).name));
      s.append("中学");
      break;
    case 4:
      s.append(county.short_name);
      s.append(PickText(rng, kHighSchools));
      break;
    case 5:
      s.append(county.short_name);
      s.append("中等职业学校");
      break;
    case 6:
      s.append(kVocationalColleges[static_cast<size_t>(county.prefecture) %
                                   std::size(kVocationalColleges)]);
      break;
    default:
      s.append(PickText(rng, kUniversities));
      break;
  }
}

int64_t RegistrySubsidyYuan(int stage, Rng& rng) {
  switch (stage) {
    case 1:
      return 1000;
    case 2:
      return 1000;
    case 3:
      return 1250;
    case 4:
      return rng.Chance(0.5) ? 2000 : 2800;
    case 5:
      return 2000;
    case 6:
      return rng.Range(3, 5) * 1000;
    default:
      return rng.Range(4, 6) * 1000;
  }
}

void EmitStudent(Ctx& ctx, const Identity& who, int stage, int64_t subsidy_yuan, Rng& rng,
                 uint32_t* row_out = nullptr) {
  const uint32_t row = BeginRow(ctx, kEduStudents, who, rng);
  if (row_out != nullptr) *row_out = row;
  std::string& s = ctx.out.text[kEduStudents];
  PutSchoolName(ctx, s, stage, who.village_code, rng);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(stage));
  s.append(",2019,");
  PutInt(s, subsidy_yuan);
  EndRow(ctx, kEduStudents);
}

void EmitEnrollment(Ctx& ctx, const Identity& who, Rng& rng) {
  BeginRow(ctx, kHealthEnrollment, who, rng);
  ctx.out.text[kHealthEnrollment].append("2019");
  EndRow(ctx, kHealthEnrollment);
}

void PutClaimId(Ctx& ctx, std::string& s) {
  s.append("JS2019");
  PutPadded(s, static_cast<uint64_t>(ctx.out.block), 4);
  PutPadded(s, ctx.claim_counter++, 7);
}

uint32_t EmitClaim(Ctx& ctx, const Identity& who, int64_t total_fen, bool poor, Rng& rng) {
  const uint32_t row = BeginRow(ctx, kHealthClaims, who, rng);
  std::string& s = ctx.out.text[kHealthClaims];
  PutClaimId(ctx, s);
  s.push_back(',');
  PutDate(s, DayInYears(rng, 2019, 2019));
  const int64_t basic = std::llround(static_cast<double>(total_fen) * rng.Uniform(0.50, 0.70) +
                                     (poor ? static_cast<double>(total_fen) * 0.05 : 0));
  int64_t critical = 0;
  const int64_t threshold = poor ? Yuan(3500) : Yuan(7000);
  if (total_fen - basic > threshold && total_fen > Yuan(10000)) {
    critical = std::llround(static_cast<double>(total_fen - basic - threshold) * 0.6);
  }
  int64_t aid = 0;
  if (poor)
    aid = std::llround(static_cast<double>(total_fen - basic - critical) * rng.Uniform(0.3, 0.7));
  s.push_back(',');
  PutFen(s, total_fen);
  s.push_back(',');
  PutFen(s, basic);
  s.push_back(',');
  PutFen(s, critical);
  s.push_back(',');
  PutFen(s, aid);
  EndRow(ctx, kHealthClaims);
  return row;
}

void EmitDibao(Ctx& ctx, const Identity& who, int type, int monthly_yuan, int64_t start,
               int64_t end, Rng& rng) {
  BeginRow(ctx, kCivilDibao, who, rng);
  std::string& s = ctx.out.text[kCivilDibao];
  s.push_back(type == 1 ? '1' : '2');
  s.push_back(',');
  PutInt(s, monthly_yuan);
  s.push_back(',');
  PutDate(s, start);
  s.push_back(',');
  if (end > 0) PutDate(s, end);
  EndRow(ctx, kCivilDibao);
}

void EmitDisability(Ctx& ctx, const Identity& who, Rng& rng) {
  BeginRow(ctx, kDisability, who, rng);
  std::string& s = ctx.out.text[kDisability];
  PutUint(s, static_cast<uint64_t>(1 + D().disability_type.Pick(rng)));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(1 + D().disability_grade.Pick(rng)));
  EndRow(ctx, kDisability);
}

void PutEmployer(Ctx& ctx, std::string& s, int place, const char* village_code, Rng& rng) {
  if (place == 3) {
    s.append(PickText(rng, kOutOfProvinceCities));
  } else if (place == 2) {
    const County& c = CountyOf(ctx, village_code);
    s.append(rng.Chance(0.5) ? std::string_view("贵阳市")
                             : ctx.plan.prefectures[c.prefecture].info->city);
  } else {
    s.append(CountyOf(ctx, village_code).name);
  }
  s.append(PickText(rng, kTradeNames));
  if (place == 1 && rng.Chance(0.4)) {
    s.append(rng.Chance(0.5) ? "农业专业合作社" : "扶贫车间");
  } else {
    s.append(PickText(rng, kIndustries));
    s.append("有限公司");
  }
}

void EmitEmployment(Ctx& ctx, const Identity& who, int place, int months, int64_t monthly_yuan,
                    Rng& rng) {
  BeginRow(ctx, kHrEmployment, who, rng);
  std::string& s = ctx.out.text[kHrEmployment];
  PutEmployer(ctx, s, place, who.village_code, rng);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(place));
  s.push_back(',');
  PutDate(s, DayIn(rng, DaysFromYmd(2015, 1, 1), kDataEnd - 30 * months));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(months));
  s.push_back(',');
  PutInt(s, monthly_yuan);
  EndRow(ctx, kHrEmployment);
}

void PutSiteName(std::string& s, const County& county, Rng& rng) {
  s.append(county.short_name);
  s.append(PickText(rng, kSiteParts));
  s.append(PickText(rng, kSiteSuffixes));
}

void EmitRelocation(Ctx& ctx, const Identity& who, std::string_view site, int year, Rng& rng) {
  BeginRow(ctx, kRelocation, who, rng);
  std::string& s = ctx.out.text[kRelocation];
  s.append(who.village_code, 12);
  s.push_back(',');
  PutField(s, site);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(year));
  EndRow(ctx, kRelocation);
}

void PutPlate(Ctx& ctx, std::string& s) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";  // no I, O
  constexpr uint32_t kBlock = 34 * 34 * 34;
  const uint32_t counter = ctx.plate_counter++;
  const uint32_t group = counter / kBlock;
  const uint32_t within =
      static_cast<uint32_t>((static_cast<uint64_t>(counter % kBlock) * 7919) % kBlock);
  s.append("贵");
  s.push_back(ctx.prefecture.info->plate_letter);
  if (group > 0) s.push_back(kAlphabet[(group - 1) % 34]);
  const auto t = static_cast<uint32_t>(ctx.town.index_in_prefecture);
  s.push_back(kAlphabet[(t / 34) % 34]);
  s.push_back(kAlphabet[t % 34]);
  s.push_back(kAlphabet[within / (34 * 34)]);
  s.push_back(kAlphabet[(within / 34) % 34]);
  s.push_back(kAlphabet[within % 34]);
}

uint32_t EmitVehicle(Ctx& ctx, const Identity& who, std::string_view type, int64_t register_day,
                     Rng& rng) {
  const uint32_t row = BeginRow(ctx, kVehicles, who, rng);
  std::string& s = ctx.out.text[kVehicles];
  PutPlate(ctx, s);
  s.push_back(',');
  s.append(type);
  s.push_back(',');
  PutDate(s, register_day);
  EndRow(ctx, kVehicles);
  return row;
}

// `trade`: index into kTradeNames; one person's businesses get distinct ones, so that their
// rows never repeat exactly.
uint32_t EmitBusiness(Ctx& ctx, const Identity& who, uint32_t trade, Rng& rng) {
  const uint32_t row = BeginRow(ctx, kBusiness, who, rng);
  std::string& s = ctx.out.text[kBusiness];
  s.append(CountyOf(ctx, who.village_code).name);
  s.append(kTradeNames[trade % std::size(kTradeNames)]);
  const double u = rng.Uniform();
  int64_t capital;
  if (u < 0.6) {
    s.append(PickText(rng, kIndustries));
    s.append("有限公司");
    capital = std::clamp<int64_t>(std::llround(rng.LogNormal(500000, 1.0) / 1000) * 1000, 10000,
                                  50000000);
  } else if (u < 0.8) {
    s.append("种养殖农民专业合作社");
    capital = std::llround(rng.LogNormal(300000, 0.8) / 1000) * 1000;
  } else {
    s.append(rng.Chance(0.5) ? "便利店" : "农资经营部");
    capital = rng.Range(1, 20) * 5000;
  }
  s.push_back(',');
  s.push_back(rng.Chance(0.75) ? '1' : '2');
  s.push_back(',');
  PutInt(s, capital);
  EndRow(ctx, kBusiness);
  return row;
}

uint32_t EmitProperty(Ctx& ctx, const Identity& who, int64_t purchase_day, Rng& rng) {
  const uint32_t row = BeginRow(ctx, kProperty, who, rng);
  std::string& s = ctx.out.text[kProperty];
  const double u = rng.Uniform();
  if (u < 0.35) {
    s.append("贵阳市");
  } else if (u < 0.85) {
    s.append(ctx.plan.prefectures[CountyOf(ctx, who.village_code).prefecture].info->city);
  } else {
    s.append(PickText(rng, kOtherCities));
  }
  s.push_back(',');
  PutTenths(s, rng.Range(500, 1800));
  s.push_back(',');
  PutDate(s, purchase_day);
  EndRow(ctx, kProperty);
  return row;
}

uint32_t EmitPublicServant(Ctx& ctx, const Identity& who, int64_t start_day, Rng& rng) {
  const uint32_t row = BeginRow(ctx, kPublicServants, who, rng);
  std::string& s = ctx.out.text[kPublicServants];
  if (rng.Chance(0.7)) {
    s.append(CountyOf(ctx, who.village_code).name);
    s.append(PickText(rng, kCountyEmployers));
  } else {
    s.append(TownshipOf(ctx, who.village_code).name);
    s.append(PickText(rng, kTownshipEmployers));
  }
  s.push_back(',');
  PutDate(s, start_day);
  EndRow(ctx, kPublicServants);
  return row;
}

uint32_t EmitDeath(Ctx& ctx, const Identity& who, int64_t day, Rng& rng) {
  const uint32_t row = BeginRow(ctx, kDeaths, who, rng);
  PutDate(ctx.out.text[kDeaths], day);
  EndRow(ctx, kDeaths);
  return row;
}

int64_t MonthlyWageYuan(int work, Rng& rng) {
  switch (work) {
    case 1:
      return rng.Range(1500, 2800);
    case 2:
      return rng.Range(1800, 3200);
    case 3:
      return rng.Range(2500, 4200);
    case 4:
      return rng.Range(3500, 6500);
    default:
      return rng.Range(1500, 3000);
  }
}

int PlaceOfWork(int work) {
  switch (work) {
    case 3:
      return 2;
    case 4:
      return 3;
    default:
      return 1;
  }
}

// ---------------------------------------------------------------------------------------
// Writing a household.

void AddPlanted(Ctx& ctx, const Household& h, const Member* m, int file, uint32_t row,
                std::string detail) {
  PlantedRecord r;
  r.kind = h.planted;
  r.file = file;
  r.row = row;
  r.household_id = std::string(h.Id());
  if (m != nullptr) r.id_number = std::string(m->id, 18);
  r.detail = std::move(detail);
  ctx.out.planted.push_back(std::move(r));
}

void WriteHouseholdRow(Ctx& ctx, const Household& h) {
  std::string& s = ctx.out.text[kHouseholds];
  s.append(h.Id());
  s.push_back(',');
  s.append(ctx.plan.villages[h.village].code, 12);
  s.push_back(',');
  s.append(h.m[0].id, 18);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(h.category));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(h.cause));
  s.push_back(',');
  for (int k = 0; k < h.n_other; ++k) {
    if (k > 0) s.push_back(';');
    PutUint(s, static_cast<uint64_t>(h.other[k]));
  }
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(h.reg_year));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(h.status));
  s.push_back(',');
  if (h.exit_year > 0) PutUint(s, static_cast<uint64_t>(h.exit_year));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(h.members_field));
  s.push_back(',');
  PutTenths(s, h.housing_tenths);
  s.push_back(',');
  s.push_back(h.housing_safe ? '1' : '0');
  s.push_back(',');
  s.push_back(h.water_safe ? '1' : '0');
  s.push_back(',');
  s.push_back(h.electricity ? '1' : '0');
  s.push_back(',');
  PutTenths(s, h.road_tenths);
  s.push_back(',');
  PutTenths(s, h.arable_tenths);
  s.push_back(',');
  PutTenths(s, h.forest_tenths);
  s.append(",2019,");
  PutFen(s, h.wage);
  s.push_back(',');
  PutFen(s, h.business);
  s.push_back(',');
  PutFen(s, h.property);
  s.push_back(',');
  PutFen(s, h.transfer);
  s.push_back(',');
  PutFixed(s, h.lat_e6, 6);
  s.push_back(',');
  PutFixed(s, h.lon_e6, 6);
  s.append(",BF");
  s.append(ctx.town.code12.data(), 9);
  const int64_t index = ctx.out.households;
  PutPadded(s, static_cast<uint64_t>(index / 6), 4);
  s.push_back('\n');
  ctx.out.rows[kHouseholds]++;
}

void WriteMemberRow(Ctx& ctx, const Household& h, const Member& m) {
  std::string& s = ctx.out.text[kMembers];
  s.append(m.id, 18);
  s.push_back(',');
  s.append(h.Id());
  s.push_back(',');
  PutField(s, m.Name());
  s.push_back(',');
  s.push_back(m.sex == 1 ? '1' : '2');
  s.push_back(',');
  PutDate(s, m.birth);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.relation));
  s.push_back(',');
  PutPadded(s, static_cast<uint64_t>(EthnicCode(m.ethnic)), 2);
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.education));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.in_school));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.health));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.labor));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.work));
  s.push_back(',');
  PutUint(s, static_cast<uint64_t>(m.work_months));
  s.push_back(',');
  s.push_back(m.medical ? '1' : '0');
  s.push_back(',');
  s.push_back(m.pension ? '1' : '0');
  s.push_back('\n');
  ctx.out.rows[kMembers]++;
}

void WriteDepartmentRows(Ctx& ctx, Household& h) {
  Rng& rng = ctx.rng;
  const char* village_code = ctx.plan.villages[h.village].code;
  const bool poor_household = h.status != 4 && h.status != 9;  // still receiving support
  std::string site;
  if (h.relocated) PutSiteName(site, ctx.county, rng);
  for (int i = 0; i < h.n; ++i) {
    Member& m = h.m[i];
    if (m.duplicate) continue;
    const Identity who{m.id, m.Name(), m.sex, m.birth, village_code, true};
    const bool planted_here = h.planted_member == i;
    if (m.deceased) {
      EmitDeath(ctx, who, m.death_day, rng);
      continue;
    }
    if (m.medical) EmitEnrollment(ctx, who, rng);
    if (m.in_school > 0) {
      if (planted_here && h.planted == PlantedKind::kStudentNoSubsidy) {
        uint32_t row = 0;
        EmitStudent(ctx, who, m.in_school, 0, rng, &row);
        AddPlanted(ctx, h, &m, kEduStudents, row, "registered poor student with subsidy_yuan 0");
      } else {
        EmitStudent(ctx, who, m.in_school, RegistrySubsidyYuan(m.in_school, rng), rng);
      }
    }
    // Claims.
    if (planted_here && h.planted == PlantedKind::kAtRisk) {
      const int64_t total = Yuan(rng.Uniform(30000, 150000));
      const uint32_t row = EmitClaim(ctx, who, total, true, rng);
      const int64_t pc = (h.wage + h.business + h.property + h.transfer) / h.members_field;
      std::string detail = "per-capita income ";
      PutFen(detail, pc);
      detail.append(" yuan; claim total_cost ");
      PutFen(detail, total);
      AddPlanted(ctx, h, &m, kHealthClaims, row, std::move(detail));
    }
    int claims = 0;
    switch (m.health) {
      case 2:
        claims = rng.Chance(0.6) ? 1 : rng.Chance(0.5) ? 2 : 0;
        break;
      case 3:
        claims = rng.Range(1, 4);
        break;
      case 4:
        claims = rng.Chance(0.2) ? 1 : 0;
        break;
      default:
        claims = rng.Chance(0.03) ? 1 : 0;
        break;
    }
    for (int c = 0; c < claims; ++c) {
      double cost;
      switch (m.health) {
        case 2:
          cost = rng.Uniform(1000, 15000);
          break;
        case 3:
          cost = std::clamp(rng.LogNormal(40000, 0.6), 15000.0, 200000.0);
          break;
        case 4:
          cost = rng.Uniform(1000, 10000);
          break;
        default:
          cost = rng.Uniform(500, 4000);
          break;
      }
      EmitClaim(ctx, who, Yuan(cost), poor_household, rng);
    }
    if (h.category != 1 && h.planted != PlantedKind::kDibaoMissing && m.dibao_monthly > 0) {
      const int64_t start = DayIn(rng, DaysFromYmd(std::max(2012, h.reg_year - 1), 1, 1),
                                  DaysFromYmd(kDataYear, 6, 30));
      const int64_t end = h.status == 9 ? DayIn(rng, start + 30, kDataEnd) : 0;
      EmitDibao(ctx, who, h.category == 2 ? 1 : 2, m.dibao_monthly, start, end, rng);
    }
    if (m.health == 4) EmitDisability(ctx, who, rng);
    if (m.work > 0 && rng.Chance(0.85)) {
      const int64_t monthly = std::max<int64_t>(300, m.wage_fen / 100 / std::max(1, m.work_months));
      EmitEmployment(ctx, who, PlaceOfWork(m.work), m.work_months, monthly, rng);
    }
    if (h.relocated) EmitRelocation(ctx, who, site, h.relocation_year, rng);
    // A motorcycle is no exclusion: 3% of working-age men have one.
    if (m.sex == 1 && m.age() >= 18 && m.age() <= 60 && rng.Chance(0.03)) {
      EmitVehicle(ctx, who, kVehicleTypes[kMotorcycleType].label, DayInYears(rng, 2012, kDataYear),
                  rng);
    }
    if (!planted_here) continue;
    switch (h.planted) {
      case PlantedKind::kVehicleOwner: {
        const std::string_view type = kPlantedVehicleTypes[PlantedVehicleWeights().Pick(rng)].label;
        const uint32_t row = EmitVehicle(ctx, who, type, DayInYears(rng, 2014, kDataYear), rng);
        AddPlanted(ctx, h, &m, kVehicles, row, std::string(type));
        break;
      }
      case PlantedKind::kBusinessOwner: {
        const uint32_t row = EmitBusiness(ctx, who, rng.Below(std::size(kTradeNames)), rng);
        AddPlanted(ctx, h, &m, kBusiness, row, "registered business");
        break;
      }
      case PlantedKind::kPropertyOwner: {
        const uint32_t row = EmitProperty(ctx, who, DayInYears(rng, 2015, kDataYear), rng);
        AddPlanted(ctx, h, &m, kProperty, row, "commercial housing");
        break;
      }
      case PlantedKind::kPublicServant: {
        const int64_t start =
            DayIn(rng, std::max(m.birth + 22 * 365, DaysFromYmd(2000, 1, 1)), kDataEnd);
        const uint32_t row = EmitPublicServant(ctx, who, start, rng);
        AddPlanted(ctx, h, &m, kPublicServants, row, "publicly funded staff");
        break;
      }
      case PlantedKind::kDiedActive: {
        const uint32_t row = EmitDeath(ctx, who, m.death_day, rng);
        std::string detail = "died ";
        PutDate(detail, m.death_day);
        detail.append(" while household status ");
        PutUint(detail, static_cast<uint64_t>(h.status));
        AddPlanted(ctx, h, &m, kDeaths, row, std::move(detail));
        break;
      }
      default:
        break;
    }
  }
}

void GenerateHousehold(Ctx& ctx, int village, int64_t index_in_village) {
  Rng& rng = ctx.rng;
  Household h;
  h.village = village;
  AppendHouseholdId(ctx, h, village, index_in_village);
  const Dists& d = D();

  h.category = 1 + d.category.Pick(rng);
  h.reg_year = 2014 + d.reg_year.Pick(rng);
  h.status = kStatusCodes[d.status.Pick(rng)];
  if (h.status == 4 && h.reg_year > 2016) h.status = 2;
  if (h.status == 2 || h.status == 4) {
    const int last = h.status == 4 ? 2016 : kDataYear;
    double total = 0;
    for (int y = h.reg_year; y <= last; ++y) total += kExitYearWeights[y - 2014];
    double u = rng.Uniform() * total;
    h.exit_year = last;
    for (int y = h.reg_year; y <= last; ++y) {
      u -= kExitYearWeights[y - 2014];
      if (u < 0) {
        h.exit_year = y;
        break;
      }
    }
  }
  if (h.status == 9) h.removal = 1 + d.removal.Pick(rng);
  h.cause = kCauseCodes[d.cause.Pick(rng)];
  const int others = d.other_count.Pick(rng);
  while (h.n_other < others) {
    const int c = kCauseCodes[d.cause.Pick(rng)];
    bool dup = c == h.cause;
    for (int k = 0; k < h.n_other; ++k) dup |= h.other[k] == c;
    if (!dup) h.other[h.n_other++] = c;
  }

  const bool deceased_single = h.status == 9 && h.removal == 1;
  int n;
  if (deceased_single) {
    n = 1;
  } else if (h.category == 3) {
    n = 1 + d.size_tekun.Pick(rng);
  } else if (h.category == 2) {
    n = 1 + d.size_dibao.Pick(rng);
  } else {
    n = 1 + d.size_general.Pick(rng);
  }
  Compose(h, n, deceased_single, rng);
  for (int i = 0; i < h.n; ++i) AssignPerson(h.m[i], h.Poor(), rng);
  ApplyCause(h, rng);
  if (deceased_single) {
    Member& m = h.m[0];
    m.deceased = true;
    m.death_day = DayIn(rng, DaysFromYmd(std::max(2015, h.reg_year + 1), 1, 1), kDataEnd);
    m.work = 0;
    m.work_months = 0;
  }

  DrawPlanted(h, ctx, rng);
  h.members_field = h.n;
  // Planted changes that shape the rest of the household.
  switch (h.planted) {
    case PlantedKind::kVehicleOwner:
    case PlantedKind::kBusinessOwner:
    case PlantedKind::kPropertyOwner:
      h.planted_member =
          PickMember(h, rng, [](const Member& m) { return m.age() >= 22 && m.age() <= 65; });
      break;
    case PlantedKind::kPublicServant:
      h.planted_member =
          PickMember(h, rng, [](const Member& m) { return m.age() >= 22 && m.age() <= 60; });
      break;
    case PlantedKind::kDiedActive: {
      int i = PickMember(h, rng, [](const Member& m) { return m.age() >= 60; });
      if (i < 0) i = static_cast<int>(rng.Below(static_cast<uint32_t>(h.n)));
      h.planted_member = i;
      h.m[i].death_day = DayIn(rng, DaysFromYmd(std::max(2016, h.reg_year + 1), 1, 1),
                               DaysFromYmd(kDataYear, 11, 30));
      if (h.m[i].death_day <= h.m[i].birth) h.m[i].death_day = h.m[i].birth + 30;
      break;
    }
    case PlantedKind::kAtRisk: {
      int i = PickMember(h, rng, [](const Member& m) { return m.health == 2 || m.health == 3; });
      if (i < 0) i = PickMember(h, rng, [](const Member& m) { return m.age() >= 18; });
      if (i < 0) i = 0;
      h.planted_member = i;
      h.m[i].health = 3;
      AssignLaborWork(h.m[i], false, rng);
      break;
    }
    case PlantedKind::kUninsured: {
      const int i = static_cast<int>(rng.Below(static_cast<uint32_t>(h.n)));
      h.planted_member = i;
      h.m[i].medical = false;
      break;
    }
    case PlantedKind::kChildOutOfSchool: {
      const int i =
          PickMember(h, rng, [](const Member& m) { return m.age() >= 7 && m.age() <= 15; });
      h.planted_member = i;
      Member& m = h.m[i];
      m.in_school = 0;
      m.education = m.age() >= 10 ? 2 : 1;
      m.labor = 4;
      m.work = 0;
      m.work_months = 0;
      break;
    }
    case PlantedKind::kStudentNoSubsidy:
      h.planted_member = PickMember(h, rng, [](const Member& m) { return m.in_school > 0; });
      break;
    case PlantedKind::kMemberCountMismatch:
      h.members_field = h.n == 1 || rng.Chance(0.5) ? h.n + 1 : h.n - 1;
      break;
    default:
      break;
  }

  // IDs and names.
  for (int i = 0; i < h.n; ++i) AssignId(ctx, h.m[i]);
  AssignNamesAndEthnicity(ctx, h, rng);

  if (h.planted == PlantedKind::kTwoHouseholds) {
    Member copy = ctx.prev_member;
    copy.relation = 99;
    copy.duplicate = true;
    h.m[h.n++] = copy;
    h.members_field = h.n;
  }

  // Housing and living conditions (两不愁三保障 indicators).
  const Village& v = ctx.plan.villages[village];
  h.relocated = h.status != 9 && rng.Chance(0.20);
  if (h.relocated) h.relocation_year = rng.Range(std::max(2016, h.reg_year), kDataYear);
  const bool exited = h.status == 2 || h.status == 4;
  if (exited || h.planted == PlantedKind::kExitReady) {
    h.housing_safe = true;
    h.water_safe = true;
    h.electricity = true;
  } else if (h.Poor()) {
    h.housing_safe = h.relocated || rng.Chance(0.75);
    h.water_safe = rng.Chance(0.85);
    h.electricity = rng.Chance(0.995);
  } else {
    h.housing_safe = h.relocated || rng.Chance(0.9);
    h.water_safe = rng.Chance(0.95);
    h.electricity = true;
  }
  if (h.planted == PlantedKind::kExitedNotSecured) {
    if (rng.Chance(0.6)) {
      h.housing_safe = false;
      h.planted_detail = "housing_safe 0";
    } else {
      h.water_safe = false;
      h.planted_detail = "water_safe 0";
    }
  }
  h.housing_tenths = std::llround((h.n * rng.Uniform(18, 38) + rng.Uniform(10, 30)) * 10);
  h.road_tenths = std::min<int64_t>(150, std::llround(-std::log(1.0 - rng.Uniform()) * 10));
  h.arable_tenths = std::llround(h.n * rng.Uniform(0.3, 2.0) * 10);
  h.forest_tenths = rng.Chance(0.6) ? std::llround(rng.Uniform(0.5, 15) * 10) : 0;
  h.lat_e6 = v.lat_e6 + static_cast<int32_t>(rng.Range(-10000, 10000));
  h.lon_e6 = v.lon_e6 + static_cast<int32_t>(rng.Range(-10000, 10000));

  ComputeIncome(h, rng);

  // Output.
  WriteHouseholdRow(ctx, h);
  for (int i = 0; i < h.n; ++i) WriteMemberRow(ctx, h, h.m[i]);
  ctx.out.households++;
  ctx.out.members += h.n;
  WriteDepartmentRows(ctx, h);

  // Planted cases without a department row.
  switch (h.planted) {
    case PlantedKind::kExitReady: {
      std::string detail = "status 1, per-capita income ";
      PutFen(detail, (h.wage + h.business + h.property + h.transfer) / h.members_field);
      detail.append(" yuan, housing, water and insurance secured");
      AddPlanted(ctx, h, nullptr, -1, 0, std::move(detail));
      break;
    }
    case PlantedKind::kExitedNotSecured:
      AddPlanted(ctx, h, nullptr, -1, 0, h.planted_detail);
      break;
    case PlantedKind::kDibaoMissing:
      AddPlanted(ctx, h, nullptr, -1, 0,
                 h.category == 2 ? "category 2 (低保) household absent from civil_dibao"
                                 : "category 3 (特困) household absent from civil_dibao");
      break;
    case PlantedKind::kUninsured:
      AddPlanted(ctx, h, &h.m[h.planted_member], -1, 0,
                 "medical_insured 0 and absent from health_enrollment");
      break;
    case PlantedKind::kChildOutOfSchool: {
      std::string detail = "age ";
      PutUint(detail, static_cast<uint64_t>(h.m[h.planted_member].age()));
      detail.append(", in_school 0");
      AddPlanted(ctx, h, &h.m[h.planted_member], -1, 0, std::move(detail));
      break;
    }
    case PlantedKind::kMemberCountMismatch: {
      std::string detail = "members field ";
      PutUint(detail, static_cast<uint64_t>(h.members_field));
      detail.append(", member rows ");
      PutUint(detail, static_cast<uint64_t>(h.n));
      AddPlanted(ctx, h, nullptr, -1, 0, std::move(detail));
      break;
    }
    case PlantedKind::kTwoHouseholds:
      AddPlanted(ctx, h, &h.m[h.n - 1], -1, 0, "also a member of household " + ctx.prev_household);
      break;
    default:
      break;
  }

  // Candidate for the next household's planted "one person in two households".
  const int pick = PickMember(h, rng, [](const Member& m) { return !m.duplicate && !m.deceased; });
  ctx.has_prev = pick >= 0;
  if (pick >= 0) {
    ctx.prev_member = h.m[pick];
    ctx.prev_household.assign(h.Id());
  }
}

// ---------------------------------------------------------------------------------------
// Outsiders.

bool AgeAccepted(int file, int age, uint64_t h) {
  const double u = UnitFromHash(h);
  switch (file) {
    case kEduStudents:
      return age >= 3 && age <= 24;
    case kHealthClaims:
    case kDisability:
      return u < (age < 40 ? 0.25 : age < 60 ? 0.5 : 0.9);
    case kCivilDibao:
      return u < (age < 60 ? 0.5 : 0.9);
    case kHrEmployment:
      return age >= 18 && age <= 60;
    case kVehicles:
    case kBusiness:
      return age >= 22 && age <= 70;
    case kProperty:
      return age >= 25 && age <= 75;
    case kPublicServants:
      return age >= 22 && age <= 60;
    default:
      return true;
  }
}

void OutsiderRows(Ctx& ctx, int file, int64_t j) {
  const Plan& plan = ctx.plan;
  const OutsiderQuota& q = plan.quotas[file];
  const OutsiderPool& pool = file == kDeaths ? plan.dead : plan.living;
  const int64_t o = (q.multiplier * j + q.offset) % pool.size();
  const PoolPerson p = pool.Lookup(o, plan.counties);
  const int age = kDataYear - YearOf(p.birth_days);
  if (!AgeAccepted(file, age,
                   Hash(plan.seed, 7, static_cast<uint64_t>(file), static_cast<uint64_t>(j)))) {
    return;
  }
  // The person's name depends only on the person, so it is the same in every file.
  Rng name_rng(Hash(plan.seed, file == kDeaths ? 34 : 33, static_cast<uint64_t>(o)));
  std::string& name = ctx.scratch.name;
  name.clear();
  if (p.ethnic == kUyghur) {
    AppendDottedName(name_rng, p.sex, name);
  } else {
    name.append(DrawSurname(name_rng, p.ethnic));
    AppendGivenName(name_rng, p.sex, YearOf(p.birth_days), name);
  }
  char name_copy[64];
  const size_t name_len = std::min(name.size(), sizeof(name_copy));
  std::copy(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(name_len), name_copy);
  const char* village_code = plan.villages[p.village].code;
  const Identity who{p.id, std::string_view(name_copy, name_len), p.sex, p.birth_days, village_code,
                     false};
  Rng rng(Hash(plan.seed, 100 + static_cast<uint64_t>(file), static_cast<uint64_t>(j)));

  switch (file) {
    case kEduStudents: {
      int stage;
      if (age <= 5) {
        stage = 1;
      } else if (age <= 11) {
        stage = 2;
      } else if (age <= 14) {
        stage = 3;
      } else if (age <= 17) {
        stage = rng.Chance(0.7) ? 4 : 5;
      } else if (age <= 22) {
        stage = rng.Chance(0.4) ? 6 : 7;
      } else {
        stage = 7;
      }
      const int64_t subsidy = rng.Chance(0.25) ? rng.Range(1, 8) * 250 : 0;
      EmitStudent(ctx, who, stage, subsidy, rng);
      break;
    }
    case kHealthEnrollment:
      EmitEnrollment(ctx, who, rng);
      break;
    case kHealthClaims: {
      const int n = rng.Chance(0.6) ? 1 : rng.Chance(0.6) ? 2 : 3;
      for (int k = 0; k < n; ++k) {
        const double cost = std::clamp(rng.LogNormal(3000, 1.2), 100.0, 300000.0);
        EmitClaim(ctx, who, Yuan(cost), false, rng);
      }
      break;
    }
    case kCivilDibao: {
      const bool tekun = age >= 60 && rng.Chance(0.2);
      const int64_t start = DayInYears(rng, 2010, kDataYear);
      const int64_t end = rng.Chance(0.2) ? DayIn(rng, start + 90, kDataEnd) : 0;
      EmitDibao(ctx, who, tekun ? 2 : 1, tekun ? rng.Range(450, 650) : rng.Range(150, 400), start,
                end, rng);
      break;
    }
    case kDisability:
      EmitDisability(ctx, who, rng);
      break;
    case kHrEmployment: {
      const int work = kWorkCodes[D().work.Pick(rng)];
      const int months = rng.Chance(0.5) ? 12 : rng.Range(3, 12);
      EmitEmployment(ctx, who, PlaceOfWork(work), months, MonthlyWageYuan(work, rng), rng);
      break;
    }
    case kRelocation: {
      std::string site;
      PutSiteName(site, plan.counties[p.county], rng);
      EmitRelocation(ctx, who, site, rng.Range(2016, kDataYear), rng);
      break;
    }
    case kVehicles: {
      const int n = rng.Chance(0.85) ? 1 : 2;
      for (int k = 0; k < n; ++k) {
        const std::string_view type = kVehicleTypes[VehicleWeights().Pick(rng)].label;
        const int64_t earliest = std::max(DaysFromYmd(2000, 1, 1), p.birth_days + 18 * 366);
        EmitVehicle(ctx, who, type, DayIn(rng, earliest, kDataEnd), rng);
      }
      break;
    }
    case kBusiness: {
      const int n = rng.Chance(0.9) ? 1 : 2;
      const uint32_t trade = rng.Below(std::size(kTradeNames));
      for (int k = 0; k < n; ++k) EmitBusiness(ctx, who, trade + 7 * static_cast<uint32_t>(k), rng);
      break;
    }
    case kProperty: {
      const int n = rng.Chance(0.85) ? 1 : 2;
      int64_t earliest = std::max(DaysFromYmd(2005, 1, 1), p.birth_days + 22 * 366);
      for (int k = 0; k < n; ++k) {
        const int64_t day = DayIn(rng, earliest, kDataEnd - (n - 1 - k));
        EmitProperty(ctx, who, day, rng);
        earliest = day + 1;  // a second purchase is later, so rows never repeat exactly
      }
      break;
    }
    case kPublicServants: {
      const int64_t earliest = std::max(DaysFromYmd(1985, 1, 1), p.birth_days + 20 * 366);
      EmitPublicServant(ctx, who, DayIn(rng, earliest, kDataEnd), rng);
      break;
    }
    case kDeaths: {
      const int64_t earliest = std::max(DaysFromYmd(2014, 1, 1), p.birth_days + 1);
      EmitDeath(ctx, who, DayIn(rng, earliest, kDataEnd), rng);
      break;
    }
    default:
      break;
  }
}

}  // namespace

void BlockOutput::Clear() {
  block = -1;
  for (std::string& s : text) s.clear();
  for (std::string& s : truth) s.clear();
  for (std::string& s : registry_utf8) s.clear();
  rows.fill(0);
  dirty_text.clear();
  dirty.clear();
  planted.clear();
  households = 0;
  members = 0;
}

void GenerateBlock(const Plan& plan, int township, BlockOutput& out, BlockScratch& scratch) {
  out.Clear();
  out.block = township;
  if (scratch.id_counters.size() != static_cast<size_t>(kCounterDays) * 2) {
    scratch.id_counters.assign(static_cast<size_t>(kCounterDays) * 2, 0);
  }
  for (uint32_t index : scratch.touched) scratch.id_counters[index] = 0;
  scratch.touched.clear();

  const Township& town = plan.townships[township];
  const County& county = plan.counties[town.county];
  Ctx ctx{plan,
          town,
          county,
          plan.prefectures[county.prefecture],
          out,
          scratch,
          Rng(Hash(plan.seed, 1, static_cast<uint64_t>(township)))};

  for (int v = town.first_village; v < town.first_village + town.village_count; ++v) {
    for (int64_t k = 0; k < plan.villages[v].households; ++k) GenerateHousehold(ctx, v, k);
  }

  // This township's share of each department file's outsider rows.
  const int64_t before = town.first_household;
  const int64_t after = town.first_household + town.households;
  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    const OutsiderQuota& q = plan.quotas[f];
    if (q.slots == 0) continue;
    const int64_t first = q.slots * before / plan.households;
    const int64_t last = q.slots * after / plan.households;
    for (int64_t j = first; j < last; ++j) OutsiderRows(ctx, f, j);
  }
}

}  // namespace fupin::gen
