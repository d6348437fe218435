#include "analytics/snapshot.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <type_traits>

#include "core/datasets.h"
#include "core/date.h"
#include "core/id_number.h"
#include "core/parallel.h"
#include "rules/engine.h"
#include "rules/person_index.h"
#include "rules/schema.h"

namespace fupin::analytics {

namespace {

using rules::Column;
using rules::kHousehold;
using rules::kMember;
using rules::Schema;

constexpr std::string_view kHouseholdFields[kHouseholdDims] = {
    "status",    "category",     "primary_cause", "income_year", "registered_year",
    "exit_year", "housing_safe", "water_safe",    "electricity"};
constexpr std::string_view kMemberFields[kMemberDims] = {
    "sex",    "relation", "ethnicity",   "education", "in_school",
    "health", "labor",    "work_status", "age",       "medical_insured"};
constexpr std::string_view kMoneyFields[kMoneyColumns] = {
    "per_capita_income", "income_wage", "income_business", "income_property", "income_transfer"};
constexpr int kRegionDigits[kRegionLevels] = {2, 4, 6, 9, 12};

std::string NumberText(double v) {
  if (std::isnan(v)) return "";
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(std::llround(v)));
  return fmt::format("{:.2f}", v);
}

// A field's value as the exchange format writes it.
struct FieldText {
  const Column* col = nullptr;
  bool text = false;
  bool two_digits = false;  // ethnicity: GB 3304 "01"
  bool age_band = false;
  std::string operator()(uint32_t row) const {
    if (text) return std::string(col->Text(row));
    const double v = col->Num(row);
    if (age_band) return AgeBand(v);
    if (two_digits && !std::isnan(v)) return fmt::format("{:02}", static_cast<int>(v));
    return NumberText(v);
  }
};

FieldText MakeFieldText(const rules::RuleData& data, int entity, std::string_view name) {
  const Schema& s = Schema::Get();
  const int f = s.FindField(entity, name);
  const rules::VType t = s.entity(entity).fields[static_cast<size_t>(f)].type;
  FieldText out;
  out.col = &data.tables[static_cast<size_t>(entity)].cols[static_cast<size_t>(f)];
  out.text = t == rules::VType::kText || t == rules::VType::kCodes;
  out.two_digits = name == "ethnicity";
  out.age_band = name == "age";
  return out;
}

std::string RegionAt(std::string_view village, int level) {
  std::string code(village.substr(0, static_cast<size_t>(kRegionDigits[level])));
  code.resize(12, '0');
  return code;
}

Status BuildRegions(store::Store& store, Snapshot& snap) {
  ASSIGN_OR_RETURN(std::vector<store::Region> regions, store.LoadRegions());
  std::map<std::string, std::string> names;
  std::vector<std::string> villages;
  for (store::Region& r : regions) {
    if (r.level == kRegionLevels) villages.push_back(r.code);
    names[r.code] = r.name;
  }
  std::sort(villages.begin(), villages.end());
  for (int l = 0; l < kRegionLevels; ++l) {
    std::vector<std::string>& codes = snap.region_codes[static_cast<size_t>(l)];
    codes.clear();
    for (const std::string& v : villages) {
      std::string c = RegionAt(v, l);
      if (codes.empty() || codes.back() != c) codes.push_back(std::move(c));
    }
    std::vector<uint32_t>& of = snap.village_region[static_cast<size_t>(l)];
    of.resize(villages.size());
    uint32_t at = 0;
    for (size_t v = 0; v < villages.size(); ++v) {
      const std::string c = RegionAt(villages[v], l);
      while (codes[at] != c) ++at;
      of[v] = at;
    }
    snap.region_names[static_cast<size_t>(l)].clear();
    for (const std::string& c : codes) {
      auto it = names.find(c);
      snap.region_names[static_cast<size_t>(l)].push_back(it == names.end() ? "" : it->second);
    }
  }
  return OkStatus();
}

uint32_t VillageIndex(const Snapshot& snap, std::string_view code) {
  const auto& v = snap.region_codes[kRegionLevels - 1];
  auto it = std::lower_bound(v.begin(), v.end(), code);
  if (it == v.end() || *it != code) return UINT32_MAX;
  return static_cast<uint32_t>(it - v.begin());
}

// A coordinate in millionths of a degree; Snapshot::kNoGeo for NaN or out of range.
int32_t GeoCode(double degrees) {
  if (!(std::fabs(degrees) <= 180)) return Snapshot::kNoGeo;
  return static_cast<int32_t>(std::llround(degrees * 1e6));
}
double GeoDegrees(int32_t code) {
  return code == Snapshot::kNoGeo ? std::nan("") : static_cast<double>(code) / 1e6;
}

// The registry, sorted by village: households and members with coded dimensions.
// `persons` gets each member's packed ID number, for BuildLinks.
Status BuildRegistry(store::Store& store, Snapshot& snap, const BuildOptions& options,
                     std::vector<uint64_t>& persons) {
  const Schema& s = Schema::Get();
  rules::RuleSet fields;
  for (std::string_view f : kHouseholdFields)
    fields.usage.Use(kHousehold, s.FindField(kHousehold, f));
  for (std::string_view f : kMoneyFields) fields.usage.Use(kHousehold, s.FindField(kHousehold, f));
  for (std::string_view f : {"household_id", "village_code", "lat", "lon"})
    fields.usage.Use(kHousehold, s.FindField(kHousehold, f));
  for (std::string_view f : kMemberFields) fields.usage.Use(kMember, s.FindField(kMember, f));
  fields.usage.Use(kMember, s.FindField(kMember, "id_number"));
  rules::RunOptions load;
  load.threads = options.threads;
  ASSIGN_OR_RETURN(rules::RuleData data, rules::LoadRuleData(store, fields, load));
  if (options.progress) options.progress("registry read");
  snap.as_of_days = data.as_of_days;
  snap.data_year = data.data_year;

  const rules::Table& hh = data.tables[kHousehold];
  const rules::Table& mm = data.tables[kMember];
  const Column& village_col = hh.cols[static_cast<size_t>(s.FindField(kHousehold, "village_code"))];
  const Column& id_col = hh.cols[static_cast<size_t>(s.FindField(kHousehold, "household_id"))];
  const size_t villages = snap.region_codes[kRegionLevels - 1].size();

  // Village of each household, then a stable counting sort (households stay in id order
  // within their village).
  std::vector<uint32_t> village_of(hh.rows);
  for (uint32_t h = 0; h < hh.rows; ++h) {
    village_of[h] = VillageIndex(snap, village_col.Text(h));
    if (village_of[h] == UINT32_MAX)
      return DataLoss(fmt::format("household {} is in village {}, which is not in the regions",
                                  id_col.Text(h), village_col.Text(h)));
  }
  snap.village_begin.assign(villages + 1, 0);
  for (uint32_t v : village_of) ++snap.village_begin[v + 1];
  for (size_t v = 0; v < villages; ++v) snap.village_begin[v + 1] += snap.village_begin[v];
  std::vector<uint32_t> order(hh.rows);  // order[new] = old
  {
    std::vector<uint32_t> fill(snap.village_begin.begin(), snap.village_begin.end() - 1);
    for (uint32_t h = 0; h < hh.rows; ++h) order[fill[village_of[h]]++] = h;
  }
  const uint32_t H = hh.rows;
  snap.households = snap.sorted_households = H;
  snap.h_village.resize(H);
  snap.h_alive.assign(H, 1);
  snap.member_begin.resize(H + 1);
  snap.id_end.resize(H);
  snap.id_text.clear();
  uint32_t members = 0;
  for (uint32_t n = 0; n < H; ++n) {
    const uint32_t h = order[n];
    snap.h_village[n] = village_of[h];
    snap.member_begin[n] = members;
    members += data.member_begin[h + 1] - data.member_begin[h];
    snap.id_text += id_col.Text(h);
    snap.id_end[n] = static_cast<uint32_t>(snap.id_text.size());
  }
  snap.member_begin[H] = members;
  snap.members = members;
  std::vector<uint32_t> member_order(members);  // member_order[new] = old
  snap.m_household.resize(members);
  for (uint32_t n = 0; n < H; ++n) {
    const uint32_t h = order[n];
    uint32_t at = snap.member_begin[n];
    for (uint32_t m = data.member_begin[h]; m < data.member_begin[h + 1]; ++m, ++at) {
      member_order[at] = m;
      snap.m_household[at] = n;
    }
  }
  for (int k = 0; k < kMoneyColumns; ++k) {
    const Column& c = hh.cols[static_cast<size_t>(s.FindField(kHousehold, kMoneyFields[k]))];
    auto& out = snap.h_money[static_cast<size_t>(k)];
    out.resize(H);
    for (uint32_t n = 0; n < H; ++n) out[n] = c.Num(order[n]);
  }
  for (auto [name, out] : {std::pair{"lat", &snap.h_lat}, std::pair{"lon", &snap.h_lon}}) {
    const Column& c = hh.cols[static_cast<size_t>(s.FindField(kHousehold, name))];
    out->resize(H);
    for (uint32_t n = 0; n < H; ++n) (*out)[n] = GeoCode(c.Num(order[n]));
  }
  // Coded dimensions, one task per column.
  RETURN_IF_ERROR(
      RunTasks(size_t{kHouseholdDims} + kMemberDims, options.threads, [&](size_t t) -> Status {
        const bool household = t < kHouseholdDims;
        const size_t k = household ? t : t - kHouseholdDims;
        const FieldText text = household ? MakeFieldText(data, kHousehold, kHouseholdFields[k])
                                         : MakeFieldText(data, kMember, kMemberFields[k]);
        Dict& dict = household ? snap.h_dicts[k] : snap.m_dicts[k];
        dict = Dict();
        auto& out = household ? snap.h_dims[k] : snap.m_dims[k];
        const std::vector<uint32_t>& ord = household ? order : member_order;
        out.resize(ord.size());
        // Numbers repeat: remember the code of each distinct value seen.
        std::unordered_map<uint64_t, uint8_t> by_bits;
        for (size_t n = 0; n < ord.size(); ++n) {
          uint8_t code;
          if (text.text) {
            ASSIGN_OR_RETURN(code, dict.Code(text(ord[n])));
          } else {
            double v = text.col->Num(ord[n]);
            uint64_t bits;
            std::memcpy(&bits, &v, sizeof bits);
            auto it = by_bits.find(bits);
            if (it == by_bits.end()) {
              ASSIGN_OR_RETURN(code, dict.Code(text(ord[n])));
              by_bits.emplace(bits, code);
            } else {
              code = it->second;
            }
          }
          out[n] = code;
        }
        return OkStatus();
      }));
  for (size_t k = 0; k < kHouseholdDims; ++k)
    if (snap.h_dicts[k].values.size() > 255)
      return FailedPrecondition(fmt::format("too many values of {}", kHouseholdFields[k]));
  snap.m_linked.assign(members, 0);
  const Column& ids = mm.cols[static_cast<size_t>(s.FindField(kMember, "id_number"))];
  persons.resize(members);
  for (uint32_t n = 0; n < members; ++n) persons[n] = PackIdNumber(ids.Text(member_order[n]));
  if (options.progress) options.progress("registry coded");
  return OkStatus();
}

// The packed ID number of each member of the snapshot, read again from the store.
Status ReadPersons(store::Store& store, const Snapshot& snap, std::vector<uint64_t>& persons) {
  persons.assign(snap.members, 0);
  {
    const Schema& s = Schema::Get();
    const DatasetSpec* members = s.entity(kMember).dataset;
    std::vector<std::string> cols = {"household_id", "id_number"};
    // Members are stored in (household_id, id_number) order: match them to their households.
    std::vector<uint32_t> by_id(snap.households);
    for (uint32_t h = 0; h < snap.households; ++h) by_id[h] = h;
    std::sort(by_id.begin(), by_id.end(),
              [&](uint32_t a, uint32_t b) { return snap.HouseholdId(a) < snap.HouseholdId(b); });
    size_t at = 0;
    uint32_t next = 0;  // the next member slot of the current household
    std::string current;
    Status st =
        store.Rules().ScanColumns(*members, cols, [&](int64_t, std::span<const store::Cell> cells) {
          if (cells[0].text != current) {
            current = std::string(cells[0].text);
            while (at < by_id.size() &&
                   (!snap.h_alive[by_id[at]] || snap.HouseholdId(by_id[at]) < current))
              ++at;
            next = at < by_id.size() && snap.HouseholdId(by_id[at]) == current
                       ? snap.member_begin[by_id[at]]
                       : UINT32_MAX;
          }
          if (next == UINT32_MAX || next >= snap.member_begin[by_id[at] + 1]) return;
          persons[next++] =
              cells[1].kind == store::Cell::Kind::kText ? PackIdNumber(cells[1].text) : 0;
        });
    RETURN_IF_ERROR(st);
  }
  return OkStatus();
}

// Which department data sets each member has linked records in.
Status BuildLinks(store::Store& store, Snapshot& snap, const BuildOptions& options,
                  const std::vector<uint64_t>& persons) {
  snap.datasets.clear();
  std::vector<const DatasetSpec*> depts;
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == DatasetKind::kDepartment) {
      depts.push_back(&d);
      snap.datasets.emplace_back(d.name);
    }
  if (depts.size() > 16) return Internal("more than 16 department data sets");
  const rules::PersonIndex index(persons);
  std::fill(snap.m_linked.begin(), snap.m_linked.end(), 0);
  RETURN_IF_ERROR(RunTasks(depts.size(), options.threads, [&](size_t t) -> Status {
    const uint16_t bit = static_cast<uint16_t>(1u << t);
    return store.Rules().ScanLinkedRows(
        *depts[t], [&](std::span<const int64_t>, std::span<const uint64_t> ps) {
          for (uint64_t p : ps)
            index.ForEach(p, [&](uint32_t m) {
              std::atomic_ref<uint16_t>(snap.m_linked[m]).fetch_or(bit, std::memory_order_relaxed);
            });
        });
  }));
  if (options.progress) options.progress("links read");
  return OkStatus();
}

// Active flags (open or verified) per household.
// ---- one household as the store holds it ------------------------------------------------

constexpr std::string_view kHouseholdDimColumns[kHouseholdDims] = {
    "status",    "category",     "primary_cause", "income_year", "registered_year",
    "exit_year", "housing_safe", "water_safe",    "electricity"};
constexpr std::string_view kIncomeColumns[] = {"income_wage_fen", "income_business_fen",
                                               "income_property_fen", "income_transfer_fen"};
// Member dims in MemberDim order; "age" is derived from birth_date.
constexpr std::string_view kMemberDimColumns[kMemberDims] = {
    "sex",    "relation", "ethnicity",   "education",  "in_school",
    "health", "labor",    "work_status", "birth_date", "medical_insured"};

std::string CellText(const store::Cell& c) {
  switch (c.kind) {
    case store::Cell::Kind::kInt:
      return std::to_string(c.i);
    case store::Cell::Kind::kReal:
      return fmt::format("{}", c.r);
    case store::Cell::Kind::kText:
      return std::string(c.text);
    default:
      return "";
  }
}

int YearsBetween(long birth, long at) {
  const Date b = CivilFromDays(birth);
  const Date a = CivilFromDays(at);
  int years = a.year - b.year;
  if (a.month < b.month || (a.month == b.month && a.day < b.day)) --years;
  return years;
}

// Reads again the households edited after the snapshot's edit watermark and upserts them
// with their active flags. `relink` becomes true when a household's members changed (or it
// was missing): their link bits cannot be carried over by position.
Status RefreshEdits(store::Store& store, Snapshot& snap, const std::vector<std::string>& ids,
                    bool& relink) {
  for (const std::string& id : ids) {
    const rules::HouseholdReader read = StoreHouseholdReader(store, id);
    // The members' link bits: the snapshot's members are the household's current ones in
    // id_number order, unless some joined or left since.
    std::vector<std::string> current;
    const std::vector<std::string> cols = {"id_number"};
    RETURN_IF_ERROR(read(
        kMember, cols, [&](std::span<const store::Cell> c) { current.push_back(CellText(c[0])); }));
    std::unordered_map<std::string, uint16_t> linked;
    const uint32_t h = snap.Find(id);
    if (h != UINT32_MAX && current.size() == snap.member_begin[h + 1] - snap.member_begin[h])
      for (size_t i = 0; i < current.size(); ++i)
        linked[current[i]] = snap.m_linked[snap.member_begin[h] + i];
    HouseholdRecord r;
    if (Status st = ReadHouseholdRecord(read, id, snap.as_of_days, linked, r); !st.ok()) {
      if (st.code() != StatusCode::kNotFound) return st;
      snap.RemoveHousehold(id);  // gone from the registry
      continue;
    }
    if (r.members.size() != linked.size()) relink = true;
    ASSIGN_OR_RETURN(const auto counts, store.Edits().ActiveFlagCounts(id));
    std::vector<std::pair<std::string, uint16_t>> flags;
    for (const auto& [rule, n] : counts)
      flags.emplace_back(rule, static_cast<uint16_t>(std::min(n, 65535)));
    RETURN_IF_ERROR(snap.UpsertHousehold(r, &flags));
  }
  return OkStatus();
}

}  // namespace

Status ReadHouseholdRecord(const rules::HouseholdReader& read, std::string_view household_id,
                           long as_of_days, const std::unordered_map<std::string, uint16_t>& linked,
                           HouseholdRecord& r) {
  r = HouseholdRecord{};
  r.household_id = std::string(household_id);
  std::vector<std::string> hcols(std::begin(kHouseholdDimColumns), std::end(kHouseholdDimColumns));
  hcols.insert(hcols.end(), std::begin(kIncomeColumns), std::end(kIncomeColumns));
  hcols.push_back("members");
  hcols.push_back("village_code");
  hcols.push_back("lat");
  hcols.push_back("lon");
  bool found = false;
  RETURN_IF_ERROR(read(kHousehold, hcols, [&](std::span<const store::Cell> c) {
    found = true;
    for (size_t k = 0; k < kHouseholdDims; ++k) r.dims[k] = CellText(c[k]);
    double total = 0;
    bool any = false;
    for (size_t i = 0; i < 4; ++i) {
      const store::Cell& m = c[kHouseholdDims + i];
      const double yuan = m.kind == store::Cell::Kind::kInt    ? static_cast<double>(m.i) / 100
                          : m.kind == store::Cell::Kind::kReal ? m.r / 100
                                                               : std::nan("");
      r.money[i + 1] = yuan;
      if (!std::isnan(yuan)) {
        total += yuan;
        any = true;
      }
    }
    const store::Cell& n = c[kHouseholdDims + 4];
    const double members = n.kind == store::Cell::Kind::kInt    ? static_cast<double>(n.i)
                           : n.kind == store::Cell::Kind::kReal ? n.r
                                                                : 0;
    r.money[kPerCapita] =
        any && members > 0 ? std::round(total / members * 100) / 100 : std::nan("");
    r.village_code = CellText(c[kHouseholdDims + 5]);
    auto number = [](const store::Cell& x) {
      return x.kind == store::Cell::Kind::kReal  ? x.r
             : x.kind == store::Cell::Kind::kInt ? static_cast<double>(x.i)
                                                 : std::nan("");
    };
    r.lat = number(c[kHouseholdDims + 6]);
    r.lon = number(c[kHouseholdDims + 7]);
  }));
  if (!found) return NotFound(fmt::format("no household {}", household_id));
  std::vector<std::string> mcols(std::begin(kMemberDimColumns), std::end(kMemberDimColumns));
  mcols.push_back("id_number");
  mcols.push_back("left_reason");
  return read(kMember, mcols, [&](std::span<const store::Cell> c) {
    if (c[kMemberDims + 1].kind != store::Cell::Kind::kNull) return;  // left
    HouseholdRecord::Member m;
    for (size_t k = 0; k < kMemberDims; ++k) {
      if (k == kAgeBand) {
        const std::optional<Date> birth =
            c[k].kind == store::Cell::Kind::kText ? ParseIsoDate(c[k].text) : std::nullopt;
        m.dims[k] = birth ? AgeBand(YearsBetween(DaysFromCivil(*birth), as_of_days))
                          : AgeBand(std::nan(""));
      } else if (k == kEthnicity && c[k].kind == store::Cell::Kind::kInt) {
        m.dims[k] = fmt::format("{:02}", c[k].i);
      } else {
        m.dims[k] = CellText(c[k]);
      }
    }
    if (auto it = linked.find(CellText(c[kMemberDims])); it != linked.end()) m.linked = it->second;
    r.members.push_back(std::move(m));
  });
}

rules::HouseholdReader StoreHouseholdReader(store::Store& store, const std::string& household_id) {
  return [&store, &household_id](int entity, std::span<const std::string> columns,
                                 const std::function<void(std::span<const store::Cell>)>& fn) {
    const DatasetSpec& d = *Schema::Get().entity(entity).dataset;
    return store.Rules().ReadHousehold(
        d, columns, household_id, [&](int64_t, std::span<const store::Cell> cells) { fn(cells); });
  };
}

namespace {

Status BuildFlags(store::Store& store, Snapshot& snap, const BuildOptions& options) {
  std::vector<std::pair<uint32_t, std::string>> raw;  // household, rule
  std::map<std::string, uint8_t> rule_index;
  std::map<std::string, std::string> categories;
  // Households by id for the lookup.
  std::vector<uint32_t> by_id;
  for (uint32_t h = 0; h < snap.households; ++h)
    if (snap.h_alive[h]) by_id.push_back(h);
  std::sort(by_id.begin(), by_id.end(),
            [&](uint32_t a, uint32_t b) { return snap.HouseholdId(a) < snap.HouseholdId(b); });
  auto find = [&](std::string_view id) -> uint32_t {
    auto it = std::lower_bound(by_id.begin(), by_id.end(), id, [&](uint32_t h, std::string_view k) {
      return snap.HouseholdId(h) < k;
    });
    return it != by_id.end() && snap.HouseholdId(*it) == id ? *it : UINT32_MAX;
  };
  RETURN_IF_ERROR(store.Rules().ForEachFlag({}, [&](const store::FlagRow& f) -> Status {
    if (f.state != store::FlagState::kOpen && f.state != store::FlagState::kVerified)
      return OkStatus();
    const uint32_t h = find(f.flag.household_id);
    if (h == UINT32_MAX) return OkStatus();  // a household no longer in the registry
    rule_index.emplace(f.flag.rule, 0);
    categories.emplace(f.flag.rule, f.flag.category);
    raw.emplace_back(h, f.flag.rule);
    return OkStatus();
  }));
  if (rule_index.size() > 255) return FailedPrecondition("more than 255 rules with flags");
  snap.rules.clear();
  snap.rule_categories.clear();
  for (auto& [rule, i] : rule_index) {
    i = static_cast<uint8_t>(snap.rules.size());
    snap.rules.push_back(rule);
    snap.rule_categories.push_back(categories[rule]);
  }
  std::vector<std::pair<uint32_t, uint8_t>> pairs;
  pairs.reserve(raw.size());
  for (const auto& [h, rule] : raw) pairs.emplace_back(h, rule_index[rule]);
  std::sort(pairs.begin(), pairs.end());
  snap.flag_begin.assign(snap.households + 1, 0);
  snap.flag_entries.clear();
  size_t i = 0;
  for (uint32_t h = 0; h < snap.households; ++h) {
    snap.flag_begin[h] = static_cast<uint32_t>(snap.flag_entries.size());
    while (i < pairs.size() && pairs[i].first == h) {
      if (snap.flag_entries.size() > snap.flag_begin[h] &&
          snap.flag_entries.back().rule == pairs[i].second) {
        ++snap.flag_entries.back().count;
      } else {
        snap.flag_entries.push_back({pairs[i].second, 1});
      }
      ++i;
    }
  }
  snap.flag_begin[snap.households] = static_cast<uint32_t>(snap.flag_entries.size());
  if (options.progress) options.progress("flags read");
  return OkStatus();
}

// ---- the snapshot file ----

constexpr char kMagic[8] = {'F', 'U', 'P', 'I', 'N', 'S', 'N', 'P'};
// 4: version.edits; 5: household GPS, rule categories, village attributes.
constexpr uint32_t kFormat = 5;

class Writer {
 public:
  explicit Writer(std::FILE* f) : f_(f) {}
  void Raw(const void* p, size_t n) {
    if (ok_ && n && std::fwrite(p, 1, n, f_) != n) ok_ = false;
  }
  template <typename T>
  void Pod(const T& v) {
    Raw(&v, sizeof v);
  }
  template <typename V>
  void Vec(const V& v) {
    Pod(static_cast<uint64_t>(v.size()));
    Raw(v.data(), v.size() * sizeof(v[0]));
  }
  void Str(std::string_view s) {
    Pod(static_cast<uint64_t>(s.size()));
    Raw(s.data(), s.size());
  }
  void Strs(const std::vector<std::string>& v) {
    Pod(static_cast<uint64_t>(v.size()));
    for (const std::string& s : v) Str(s);
  }
  bool ok() const { return ok_; }

 private:
  std::FILE* f_;
  bool ok_ = true;
};

class Reader {
 public:
  explicit Reader(std::FILE* f) : f_(f) {}
  void Raw(void* p, size_t n) {
    if (ok_ && n && std::fread(p, 1, n, f_) != n) ok_ = false;
  }
  template <typename T>
  void Pod(T& v) {
    Raw(&v, sizeof v);
  }
  template <typename V>
  void Vec(V& v) {
    uint64_t n = 0;
    Pod(n);
    if (!ok_ || n > (uint64_t{1} << 36)) {
      ok_ = false;
      return;
    }
    v.resize(n);
    Raw(v.data(), n * sizeof(v[0]));
  }
  void Str(std::string& s) {
    uint64_t n = 0;
    Pod(n);
    if (!ok_ || n > (uint64_t{1} << 36)) {
      ok_ = false;
      return;
    }
    s.resize(n);
    Raw(s.data(), n);
  }
  void Strs(std::vector<std::string>& v) {
    uint64_t n = 0;
    Pod(n);
    if (!ok_ || n > (uint64_t{1} << 28)) {
      ok_ = false;
      return;
    }
    v.resize(n);
    for (std::string& s : v) Str(s);
  }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }

 private:
  std::FILE* f_;
  bool ok_ = true;
};

template <typename IO, typename V>
void VillageColumns(IO& io, V& villages) {
  uint64_t n = villages.size();
  io.Pod(n);
  if constexpr (!std::is_const_v<V>) {
    if (!io.ok() || n > (uint64_t{1} << 24)) return io.Fail();
    villages.resize(n);
  }
  for (auto& v : villages) {
    io.Pod(v.known);
    io.Str(v.terrain);
    io.Str(v.industries);
    io.Pod(v.facilities);
    io.Pod(v.distance_km);
    io.Pod(v.collective_income);
  }
}

template <typename IO, typename S>
void Columns(IO& io, S& snap) {
  io.Pod(snap.version.registry);
  io.Pod(snap.version.links);
  io.Pod(snap.version.flags);
  io.Pod(snap.version.edits);
  io.Pod(snap.as_of_days);
  io.Pod(snap.data_year);
  for (int l = 0; l < kRegionLevels; ++l) {
    io.Strs(snap.region_codes[static_cast<size_t>(l)]);
    io.Strs(snap.region_names[static_cast<size_t>(l)]);
    io.Vec(snap.village_region[static_cast<size_t>(l)]);
  }
  io.Pod(snap.households);
  io.Pod(snap.sorted_households);
  io.Vec(snap.village_begin);
  io.Vec(snap.h_village);
  io.Vec(snap.h_alive);
  for (auto& c : snap.h_dims) io.Vec(c);
  for (auto& d : snap.h_dicts) io.Strs(d.values);
  for (auto& c : snap.h_money) io.Vec(c);
  io.Vec(snap.h_lat);
  io.Vec(snap.h_lon);
  io.Vec(snap.member_begin);
  io.Vec(snap.id_end);
  io.Str(snap.id_text);
  io.Pod(snap.members);
  for (auto& c : snap.m_dims) io.Vec(c);
  for (auto& d : snap.m_dicts) io.Strs(d.values);
  io.Vec(snap.m_household);
  io.Vec(snap.m_linked);
  io.Strs(snap.datasets);
  io.Vec(snap.flag_begin);
  io.Vec(snap.flag_entries);
  io.Strs(snap.rules);
  io.Strs(snap.rule_categories);
  VillageColumns(io, snap.villages);
  io.Vec(snap.income_sorted);
  io.Vec(snap.h_income_rank);
  io.Pod(snap.ranks_valid);
}

void IndexDicts(Snapshot& snap) {
  auto index = [](Dict& d) {
    d.index.clear();
    for (size_t i = 1; i < d.values.size(); ++i)
      d.index.emplace(d.values[i], static_cast<uint8_t>(i));
  };
  for (Dict& d : snap.h_dicts) index(d);
  for (Dict& d : snap.m_dicts) index(d);
}

// Checks that the loaded arrays agree in size (a truncated or foreign file must not be
// trusted as a snapshot).
bool Consistent(const Snapshot& s) {
  const size_t H = s.households, M = s.members;
  if (s.sorted_households > H || s.h_village.size() != H || s.h_alive.size() != H ||
      s.member_begin.size() != H + 1 || s.id_end.size() != H || s.m_household.size() != M ||
      s.m_linked.size() != M || s.flag_begin.size() != H + 1 ||
      s.village_begin.size() != s.region_codes[kRegionLevels - 1].size() + 1)
    return false;
  if (H && (s.member_begin[H] != M || s.id_end[H - 1] != s.id_text.size())) return false;
  if (s.flag_begin[H] != s.flag_entries.size()) return false;
  if (s.ranks_valid) {
    if (s.h_income_rank.size() != H) return false;
    for (uint32_t r : s.h_income_rank)
      if (r != UINT32_MAX && r >= s.income_sorted.size()) return false;
  }
  for (size_t k = 0; k < kHouseholdDims; ++k)
    if (s.h_dims[k].size() != H) return false;
  for (size_t k = 0; k < kMoneyColumns; ++k)
    if (s.h_money[k].size() != H) return false;
  if (s.h_lat.size() != H || s.h_lon.size() != H || s.rule_categories.size() != s.rules.size() ||
      s.villages.size() != s.region_codes[kRegionLevels - 1].size())
    return false;
  for (size_t k = 0; k < kMemberDims; ++k)
    if (s.m_dims[k].size() != M) return false;
  for (int l = 0; l < kRegionLevels; ++l)
    if (s.village_region[static_cast<size_t>(l)].size() !=
            s.region_codes[kRegionLevels - 1].size() ||
        s.region_names[static_cast<size_t>(l)].size() !=
            s.region_codes[static_cast<size_t>(l)].size())
      return false;
  const size_t villages = s.region_codes[kRegionLevels - 1].size();
  for (uint32_t v : s.h_village)
    if (v >= villages) return false;
  for (uint32_t h : s.m_household)
    if (h >= H) return false;
  for (size_t h = 0; h < H; ++h)
    if (s.member_begin[h] > s.member_begin[h + 1] || s.flag_begin[h] > s.flag_begin[h + 1] ||
        (h && s.id_end[h - 1] > s.id_end[h]))
      return false;
  for (const auto& e : s.flag_entries)
    if (e.rule >= s.rules.size()) return false;
  for (size_t k = 0; k < kHouseholdDims; ++k)
    for (uint8_t c : s.h_dims[k])
      if (c >= s.h_dicts[k].values.size()) return false;
  for (size_t k = 0; k < kMemberDims; ++k)
    for (uint8_t c : s.m_dims[k])
      if (c >= s.m_dicts[k].values.size()) return false;
  return true;
}

}  // namespace

namespace {
size_t IdHash(std::string_view id) { return std::hash<std::string_view>()(id); }
}  // namespace

Result<uint8_t> Dict::Code(const std::string& value) {
  if (value.empty()) return uint8_t{0};
  auto it = index.find(value);
  if (it != index.end()) return it->second;
  if (values.size() >= 255)
    return Err(FailedPrecondition(fmt::format("more than 254 distinct values (at '{}')", value)));
  const auto code = static_cast<uint8_t>(values.size());
  values.push_back(value);
  index.emplace(value, code);
  return code;
}

std::string AgeBand(double age) {
  if (std::isnan(age)) return "";
  if (age <= 6) return "0-6";
  if (age <= 15) return "7-15";
  if (age <= 59) return "16-59";
  return "60+";
}

void Snapshot::IndexIncomes() {
  const auto& pc = h_money[kPerCapita];
  std::vector<uint32_t> order;
  order.reserve(households);
  for (uint32_t h = 0; h < households; ++h)
    if (h_alive[h] && !std::isnan(pc[h])) order.push_back(h);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return pc[a] < pc[b]; });
  income_sorted.resize(order.size());
  h_income_rank.assign(households, UINT32_MAX);
  for (size_t i = 0; i < order.size(); ++i) {
    income_sorted[i] = pc[order[i]];
    h_income_rank[order[i]] = static_cast<uint32_t>(i);
  }
  ranks_valid = true;
  IndexIncomeOrder();
}

void Snapshot::BuildCube() {
  Cube& c = cube;
  c = Cube();
  c.statuses = static_cast<uint32_t>(h_dicts[kStatus].values.size());
  for (size_t k = 0; k < kHouseholdDims; ++k)
    c.cards[k] = static_cast<uint32_t>(h_dicts[k].values.size());
  c.cards[kCubeNone] = 1;
  c.cards[kCubeConditions] = c.cards[kHousingSafe] * c.cards[kWaterSafe] * c.cards[kElectricity];
  const size_t villages = region_codes[kRegionLevels - 1].size();
  for (int l = 0; l < kRegionLevels; ++l) {
    const size_t regions = region_codes[static_cast<size_t>(l)].size();
    for (int k = 0; k < kCubeSlots; ++k) {
      const size_t n = regions * c.cards[static_cast<size_t>(k)] * c.statuses;
      c.households[static_cast<size_t>(l)][static_cast<size_t>(k)].assign(n, 0);
      c.persons[static_cast<size_t>(l)][static_cast<size_t>(k)].assign(n, 0);
    }
    c.money[static_cast<size_t>(l)].assign(regions * c.statuses * kCubeMoneyColumns, 0);
    c.parent[static_cast<size_t>(l)].assign(regions, 0);
    if (l > 0)
      for (size_t v = 0; v < villages; ++v)
        c.parent[static_cast<size_t>(l)][village_region[static_cast<size_t>(l)][v]] =
            village_region[static_cast<size_t>(l) - 1][v];
  }
  if (ranks_valid && !income_order.empty()) {
    while ((income_order.size() >> c.rank_shift) >= 4096) ++c.rank_shift;
    c.rank_buckets = static_cast<uint32_t>((income_order.size() >> c.rank_shift) + 1);
    for (size_t l = 0; l < Cube::kRankLevels; ++l)
      c.rank_hist[l].assign(region_codes[l].size() * c.statuses * c.rank_buckets, 0);
  }
  for (size_t k = 0; k < kMemberDims; ++k)
    c.m_cards[k] = static_cast<uint32_t>(m_dicts[k].values.size());
  for (int a = 0; a < kMemberDims; ++a)
    for (int b = a + 1; b < kMemberDims; ++b)
      c.pairs[static_cast<size_t>(Cube::PairIndex(a, b))].assign(
          size_t{c.m_cards[static_cast<size_t>(a)]} * c.m_cards[static_cast<size_t>(b)] *
              c.statuses,
          0);
  c.link_sets = static_cast<uint32_t>(datasets.size() + 1);
  for (size_t l = 0; l < Cube::kLinkLevels; ++l)
    c.linked_persons[l].assign(region_codes[l].size() * c.statuses * c.link_sets, 0);
  flagged.clear();
  for (uint32_t h = 0; h < households; ++h)
    if (flag_begin[h] != flag_begin[h + 1]) flagged.push_back(h);
  c.flag_rules = static_cast<uint32_t>(rules.size() + 1);
  for (size_t l = 0; l < Cube::kFlagLevels; ++l) {
    const size_t n = region_codes[l].size() * c.statuses * c.flag_rules;
    c.flag_households[l].assign(n, 0);
    c.flag_persons[l].assign(n, 0);
    c.flag_counts[l].assign(n, 0);
  }
  // Every live household into its village (households are in village order, so the counters
  // stay in cache) and the rank histograms; then each level from the one below.
  c.valid = true;
  for (uint32_t h = 0; h < households; ++h)
    if (h_alive[h]) CubeAdd(h, 1, kRegionLevels - 1, false);
  // Member pairs (45 counters per member): two halves of the households on two threads.
  std::array<std::vector<uint32_t>, Cube::kPairs> half = c.pairs;
  (void)RunTasks(2, 2, [&](size_t t) {
    auto& pairs = t == 0 ? c.pairs : half;
    for (uint32_t h = t == 0 ? 0 : households / 2; h < (t == 0 ? households / 2 : households); ++h)
      if (h_alive[h]) AddPairs(h, 1, pairs);
    return OkStatus();
  });
  for (size_t k = 0; k < Cube::kPairs; ++k)
    for (size_t i = 0; i < half[k].size(); ++i) c.pairs[k][i] += half[k][i];
  for (size_t l = kRegionLevels - 1; l > 0; --l) {
    const std::vector<uint32_t>& up = c.parent[l];
    for (size_t k = 0; k < kCubeSlots; ++k) {
      const size_t block = size_t{c.cards[k]} * c.statuses;
      for (size_t r = 0; r < up.size(); ++r)
        for (size_t i = 0; i < block; ++i) {
          c.households[l - 1][k][up[r] * block + i] += c.households[l][k][r * block + i];
          c.persons[l - 1][k][up[r] * block + i] += c.persons[l][k][r * block + i];
        }
    }
    const size_t block = size_t{c.statuses} * kCubeMoneyColumns;
    for (size_t r = 0; r < up.size(); ++r)
      for (size_t i = 0; i < block; ++i)
        c.money[l - 1][up[r] * block + i] += c.money[l][r * block + i];
  }
}

void Snapshot::AddPairs(uint32_t h, uint32_t one,
                        std::array<std::vector<uint32_t>, Cube::kPairs>& pairs) const {
  const Cube& c = cube;
  const uint32_t st = h_dims[kStatus][h];
  for (uint32_t m = member_begin[h]; m < member_begin[h + 1]; ++m) {
    uint8_t codes[kMemberDims];
    for (size_t k = 0; k < kMemberDims; ++k) codes[k] = m_dims[k][m];
    size_t pair = 0;
    for (size_t a = 0; a < kMemberDims; ++a)
      for (size_t b = a + 1; b < kMemberDims; ++b, ++pair)
        pairs[pair][(size_t{codes[a]} * c.m_cards[b] + codes[b]) * c.statuses + st] += one;
  }
}

void Snapshot::CubeAdd(uint32_t h, int sign, int from_level, bool with_pairs) {
  Cube& c = cube;
  if (!c.valid || !h_alive[h]) return;
  const uint32_t st = h_dims[kStatus][h];
  const auto n = static_cast<uint32_t>(member_begin[h + 1] - member_begin[h]);
  const uint32_t one = sign > 0 ? 1u : UINT32_MAX;  // wraps: adding it takes one away
  const uint32_t persons = sign > 0 ? n : 0u - n;
  double money[kCubeMoneyColumns] = {0, 0, 0, 0, 0, 0};
  const double pc = h_money[kPerCapita][h];
  if (!std::isnan(pc)) {
    money[kCubePcSum] = pc;
    money[kCubePcCount] = 1;
  }
  const Money parts[] = {kWage, kBusiness, kProperty, kTransfer};
  for (int i = 0; i < 4; ++i) {
    const double v = h_money[parts[i]][h];
    if (!std::isnan(v)) money[kCubeWage + i] = v;
  }
  if (with_pairs) AddPairs(h, one, c.pairs);
  for (size_t l = 0; l < kRegionLevels; ++l) {
    const uint32_t region = village_region[l][h_village[h]];
    if (l < Cube::kRankLevels && c.rank_buckets && h < h_income_rank.size() &&
        h_income_rank[h] != UINT32_MAX)
      c.rank_hist[l][(size_t{region} * c.statuses + st) * c.rank_buckets +
                     (h_income_rank[h] >> c.rank_shift)] += one;
    if (l < Cube::kLinkLevels) {
      uint32_t* base = &c.linked_persons[l][(size_t{region} * c.statuses + st) * c.link_sets];
      for (uint32_t m = member_begin[h]; m < member_begin[h + 1]; ++m) {
        uint32_t bits = m_linked[m];
        if (bits == 0) base[0] += one;
        for (; bits; bits &= bits - 1) base[__builtin_ctz(bits) + 1] += one;
      }
    }
    if (l < Cube::kFlagLevels) {
      const size_t base = (size_t{region} * c.statuses + st) * c.flag_rules;
      if (flag_begin[h] == flag_begin[h + 1]) {
        c.flag_households[l][base] += one;
        c.flag_persons[l][base] += persons;
      }
      for (uint32_t e = flag_begin[h]; e < flag_begin[h + 1]; ++e) {
        const size_t i = base + flag_entries[e].rule + 1;
        c.flag_households[l][i] += one;
        c.flag_persons[l][i] += persons;
        c.flag_counts[l][i] += sign > 0 ? flag_entries[e].count : 0u - flag_entries[e].count;
      }
    }
    if (static_cast<int>(l) < from_level) continue;
    for (size_t k = 0; k < kCubeSlots; ++k) {
      uint32_t code = 0;
      if (k < kHouseholdDims) {
        code = h_dims[k][h];
      } else if (k == kCubeConditions) {
        code = (uint32_t{h_dims[kHousingSafe][h]} * c.cards[kWaterSafe] + h_dims[kWaterSafe][h]) *
                   c.cards[kElectricity] +
               h_dims[kElectricity][h];
      }
      const size_t i = (size_t{region} * c.cards[k] + code) * c.statuses + st;
      c.households[l][k][i] += one;
      c.persons[l][k][i] += persons;
    }
    double* m = &c.money[l][(size_t{region} * c.statuses + st) * kCubeMoneyColumns];
    for (int j = 0; j < kCubeMoneyColumns; ++j) m[j] += sign * money[j];
  }
}

namespace {

// The codes MemberFactsOf compares with (-1 when absent) and the enrolment data's link bit.
struct FactCodes {
  int band, out, uninsured;
  uint16_t enrolment = 0;
};

FactCodes CodesForFacts(const Snapshot& s) {
  auto code = [](const Dict& d, const char* v) -> int {
    auto it = d.index.find(v);
    return it == d.index.end() ? -1 : it->second;
  };
  FactCodes f{code(s.m_dicts[kAgeBand], "7-15"), code(s.m_dicts[kInSchool], "0"),
              code(s.m_dicts[kMedicalInsured], "0")};
  for (size_t d = 0; d < s.datasets.size(); ++d)
    if (s.datasets[d] == "health_enrollment") f.enrolment = static_cast<uint16_t>(1u << d);
  return f;
}

uint8_t FactsOf(const Snapshot& s, const FactCodes& f, uint32_t h) {
  uint8_t facts = 0;
  for (uint32_t m = s.member_begin[h]; m < s.member_begin[h + 1]; ++m) {
    if (s.m_dims[kAgeBand][m] == f.band && s.m_dims[kInSchool][m] == f.out)
      facts |= Snapshot::kOutOfSchool;
    if (s.m_dims[kMedicalInsured][m] == f.uninsured) facts |= Snapshot::kUninsured;
    facts |= (s.m_linked[m] & f.enrolment) ? Snapshot::kEnrolled : Snapshot::kUnenrolled;
  }
  return facts;
}

}  // namespace

uint8_t Snapshot::MemberFactsOf(uint32_t h) const {
  return FactsOf(*this, CodesForFacts(*this), h);
}

void Snapshot::IndexMemberFacts() {
  const FactCodes f = CodesForFacts(*this);
  h_member_facts.resize(households);
  for (uint32_t h = 0; h < households; ++h) h_member_facts[h] = FactsOf(*this, f, h);
}

void Snapshot::IndexIncomeOrder() {
  income_order.assign(income_sorted.size(), UINT32_MAX);
  if (!ranks_valid) return;
  size_t placed = 0;
  for (uint32_t h = 0; h < households; ++h) {
    const uint32_t r = h_income_rank[h];
    if (r == UINT32_MAX) continue;
    if (r >= income_order.size() || income_order[r] != UINT32_MAX) {
      ranks_valid = false;
      return;
    }
    income_order[r] = h;
    ++placed;
  }
  if (placed != income_order.size()) ranks_valid = false;
}

int64_t Snapshot::LiveHouseholds() const {
  int64_t n = 0;
  for (uint8_t a : h_alive) n += a;
  return n;
}

size_t Snapshot::MemoryBytes() const {
  size_t n = 0;
  auto add = [&](const auto& v) { n += v.capacity() * sizeof(v[0]); };
  add(h_village);
  add(h_alive);
  for (const auto& c : h_dims) add(c);
  for (const auto& c : h_money) add(c);
  add(member_begin);
  add(id_end);
  n += id_text.capacity();
  for (const auto& c : m_dims) add(c);
  add(m_household);
  add(m_linked);
  add(flag_begin);
  add(flag_entries);
  add(village_begin);
  add(income_sorted);
  add(h_income_rank);
  add(income_order);
  add(h_member_facts);
  add(flagged);
  for (size_t l = 0; l < kRegionLevels; ++l) {
    for (size_t k = 0; k < kCubeSlots; ++k) {
      add(cube.households[l][k]);
      add(cube.persons[l][k]);
    }
    add(cube.money[l]);
    add(cube.parent[l]);
  }
  for (const auto& v : cube.rank_hist) add(v);
  for (const auto& v : cube.pairs) add(v);
  for (const auto& v : cube.linked_persons) add(v);
  for (size_t l = 0; l < Cube::kFlagLevels; ++l) {
    add(cube.flag_households[l]);
    add(cube.flag_persons[l]);
    add(cube.flag_counts[l]);
  }
  for (const auto& c : village_region) add(c);
  add(id_slots);
  return n;
}

// The rule index of each rule id in `counts`, adding new rule ids to `rules` (kept sorted:
// existing entries are renumbered). Fails, changing nothing, past 255 rules.
Status Snapshot::CodeFlags(const std::vector<std::pair<std::string, uint16_t>>& counts,
                           std::vector<FlagEntry>& out) {
  std::vector<std::string> added;
  for (const auto& [rule, n] : counts)
    if (n > 0 && !std::binary_search(rules.begin(), rules.end(), rule)) added.push_back(rule);
  if (!added.empty()) {
    std::vector<std::string> merged = rules;
    merged.insert(merged.end(), added.begin(), added.end());
    std::sort(merged.begin(), merged.end());
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    if (merged.size() > 255) return FailedPrecondition("more than 255 rules with flags");
    std::vector<uint8_t> renumber(rules.size());
    for (size_t i = 0; i < rules.size(); ++i)
      renumber[i] = static_cast<uint8_t>(std::lower_bound(merged.begin(), merged.end(), rules[i]) -
                                         merged.begin());
    for (FlagEntry& e : flag_entries) e.rule = renumber[e.rule];
    std::vector<std::string> categories(merged.size());
    for (size_t i = 0; i < rules.size(); ++i)
      categories[renumber[i]] = i < rule_categories.size() ? rule_categories[i] : "";
    rules = std::move(merged);
    rule_categories = std::move(categories);
  }
  out.clear();
  for (const auto& [rule, n] : counts)
    if (n > 0)
      out.push_back(
          {static_cast<uint8_t>(std::lower_bound(rules.begin(), rules.end(), rule) - rules.begin()),
           n});
  std::sort(out.begin(), out.end(),
            [](const FlagEntry& a, const FlagEntry& b) { return a.rule < b.rule; });
  return OkStatus();
}

Status Snapshot::UpsertHousehold(const HouseholdRecord& r,
                                 const std::vector<std::pair<std::string, uint16_t>>* flag_counts) {
  const uint32_t village = VillageIndex(*this, r.village_code);
  if (village == UINT32_MAX)
    return InvalidArgument(fmt::format("household {}: village {} is not in the regions",
                                       r.household_id, r.village_code));
  if (r.household_id.empty()) return InvalidArgument("a household needs its household_id");
  // Code every value first: a full dictionary fails before anything changes.
  std::array<Dict, kHouseholdDims> hd = h_dicts;
  std::array<Dict, kMemberDims> md = m_dicts;
  std::array<uint8_t, kHouseholdDims> hcodes{};
  for (size_t k = 0; k < kHouseholdDims; ++k) {
    ASSIGN_OR_RETURN(hcodes[k], hd[k].Code(r.dims[k]));
  }
  std::vector<std::array<uint8_t, kMemberDims>> mcodes(r.members.size());
  for (size_t i = 0; i < r.members.size(); ++i)
    for (size_t k = 0; k < kMemberDims; ++k) {
      ASSIGN_OR_RETURN(mcodes[i][k], md[k].Code(r.members[i].dims[k]));
    }
  // A new rule renumbers the entries and grows the cube's flag extent: checked before
  // anything changes, like the dictionaries.
  std::vector<FlagEntry> new_flags;
  const size_t rules_before = rules.size();
  if (flag_counts) RETURN_IF_ERROR(CodeFlags(*flag_counts, new_flags));
  h_dicts = std::move(hd);
  m_dicts = std::move(md);
  ranks_valid = false;  // incomes may have changed; medians use the values until reindexed
  // A new code outside the cube's extent: the cube is built again at the end.
  bool cube_grows = h_dicts[kStatus].values.size() != cube.statuses;
  for (size_t k = 0; k < kHouseholdDims; ++k)
    cube_grows |= h_dicts[k].values.size() != cube.cards[k];
  for (size_t k = 0; k < kMemberDims; ++k)
    cube_grows |= m_dicts[k].values.size() != cube.m_cards[k];
  cube_grows |= rules.size() != rules_before;

  const uint32_t found = Find(r.household_id);
  if (found != UINT32_MAX && !cube_grows) CubeAdd(found, -1);
  if (found != UINT32_MAX) {
    const uint32_t h = found;
    const uint32_t mb = member_begin[h];
    const uint32_t fb = flag_begin[h], fe = flag_begin[h + 1];
    if (h_village[h] == village && member_begin[h + 1] - mb == r.members.size() &&
        (!flag_counts || new_flags.size() == fe - fb)) {
      if (flag_counts) {
        std::copy(new_flags.begin(), new_flags.end(), flag_entries.begin() + fb);
        auto it = std::lower_bound(flagged.begin(), flagged.end(), h);
        const bool listed = it != flagged.end() && *it == h;
        if (!new_flags.empty() && !listed) flagged.insert(it, h);
        if (new_flags.empty() && listed) flagged.erase(it);
      }
      for (size_t k = 0; k < kHouseholdDims; ++k) h_dims[k][h] = hcodes[k];
      for (size_t k = 0; k < kMoneyColumns; ++k) h_money[k][h] = r.money[k];
      h_lat[h] = GeoCode(r.lat);
      h_lon[h] = GeoCode(r.lon);
      for (size_t i = 0; i < r.members.size(); ++i) {
        for (size_t k = 0; k < kMemberDims; ++k) m_dims[k][mb + i] = mcodes[i][k];
        m_linked[mb + i] = r.members[i].linked;
      }
      h_member_facts[h] = MemberFactsOf(h);
      if (cube_grows) {
        BuildCube();
      } else {
        CubeAdd(h, 1);
      }
      return OkStatus();
    }
  }
  // Appended after the sorted part; the old rows, if any, die.
  std::vector<FlagEntry> flags;
  if (found != UINT32_MAX) {
    h_alive[found] = 0;
    flags.assign(flag_entries.begin() + flag_begin[found],
                 flag_entries.begin() + flag_begin[found + 1]);
  }
  if (flag_counts) flags = new_flags;
  const uint32_t h = households++;
  h_village.push_back(village);
  h_alive.push_back(1);
  for (size_t k = 0; k < kHouseholdDims; ++k) h_dims[k].push_back(hcodes[k]);
  for (size_t k = 0; k < kMoneyColumns; ++k) h_money[k].push_back(r.money[k]);
  h_lat.push_back(GeoCode(r.lat));
  h_lon.push_back(GeoCode(r.lon));
  id_text += r.household_id;
  id_end.push_back(static_cast<uint32_t>(id_text.size()));
  for (size_t i = 0; i < r.members.size(); ++i) {
    for (size_t k = 0; k < kMemberDims; ++k) m_dims[k].push_back(mcodes[i][k]);
    m_linked.push_back(r.members[i].linked);
    m_household.push_back(h);
  }
  members += static_cast<uint32_t>(r.members.size());
  member_begin.push_back(members);
  flag_entries.insert(flag_entries.end(), flags.begin(), flags.end());
  flag_begin.push_back(static_cast<uint32_t>(flag_entries.size()));
  if (!flags.empty()) flagged.push_back(h);
  h_member_facts.push_back(MemberFactsOf(h));
  if (id_slots.size() < size_t{households} * 2) {
    IndexIds();
  } else {
    const size_t mask = id_slots.size() - 1;
    size_t i = IdHash(r.household_id) & mask;
    while (id_slots[i] != UINT32_MAX) i = (i + 1) & mask;
    id_slots[i] = h;
  }
  if (cube_grows) {
    BuildCube();
  } else {
    CubeAdd(h, 1);
  }
  return OkStatus();
}

HouseholdRecord Snapshot::Record(uint32_t h) const {
  HouseholdRecord r;
  r.household_id = std::string(HouseholdId(h));
  r.village_code = region_codes[kRegionLevels - 1][h_village[h]];
  for (size_t k = 0; k < kHouseholdDims; ++k) r.dims[k] = h_dicts[k].values[h_dims[k][h]];
  for (size_t k = 0; k < kMoneyColumns; ++k) r.money[k] = h_money[k][h];
  r.lat = GeoDegrees(h_lat[h]);
  r.lon = GeoDegrees(h_lon[h]);
  for (uint32_t m = member_begin[h]; m < member_begin[h + 1]; ++m) {
    HouseholdRecord::Member mr;
    for (size_t k = 0; k < kMemberDims; ++k) mr.dims[k] = m_dicts[k].values[m_dims[k][m]];
    mr.linked = m_linked[m];
    r.members.push_back(std::move(mr));
  }
  return r;
}

std::vector<std::pair<std::string, uint16_t>> Snapshot::FlagCounts(uint32_t h) const {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (uint32_t e = flag_begin[h]; e < flag_begin[h + 1]; ++e)
    out.emplace_back(rules[flag_entries[e].rule], flag_entries[e].count);
  return out;
}

void Snapshot::IndexIds() {
  size_t cap = 16;
  while (cap < size_t{households} * 2) cap <<= 1;
  id_slots.assign(cap, UINT32_MAX);
  for (uint32_t h = 0; h < households; ++h) {
    if (!h_alive[h]) continue;
    size_t i = IdHash(HouseholdId(h)) & (cap - 1);
    while (id_slots[i] != UINT32_MAX) i = (i + 1) & (cap - 1);
    id_slots[i] = h;
  }
}

uint32_t Snapshot::Find(std::string_view household_id) const {
  if (id_slots.empty()) return UINT32_MAX;
  const size_t mask = id_slots.size() - 1;
  for (size_t i = IdHash(household_id) & mask; id_slots[i] != UINT32_MAX; i = (i + 1) & mask) {
    const uint32_t h = id_slots[i];
    if (h_alive[h] && HouseholdId(h) == household_id) return h;
  }
  return UINT32_MAX;
}

bool Snapshot::RemoveHousehold(std::string_view household_id) {
  const uint32_t h = Find(household_id);
  if (h == UINT32_MAX) return false;
  CubeAdd(h, -1);
  h_alive[h] = 0;
  return true;
}

bool Snapshot::Monitored(uint32_t h) const {
  for (uint32_t k = flag_begin[h]; k < flag_begin[h + 1]; ++k)
    if (rule_categories[flag_entries[k].rule] == kMonitoringCategory) return true;
  return false;
}

Result<std::vector<GeoPoint>> RegionPoints(const Snapshot& snap, int level,
                                           std::string_view parent) {
  if (level < 1 || level >= kRegionLevels)
    return Err(InvalidArgument(fmt::format("no region level {} below another", level)));
  const auto L = static_cast<size_t>(level);
  const std::vector<std::string>& up = snap.region_codes[L - 1];
  auto it = std::lower_bound(up.begin(), up.end(), parent);
  if (it == up.end() || *it != parent)
    return Err(InvalidArgument(fmt::format("no region {} at level {}", parent, level - 1)));
  const auto parent_index = static_cast<uint32_t>(it - up.begin());
  std::vector<double> lat(snap.region_codes[L].size(), 0), lon(lat.size(), 0);
  std::vector<GeoPoint> out(lat.size());
  const std::vector<uint32_t>& in_parent = snap.village_region[L - 1];
  const std::vector<uint32_t>& child = snap.village_region[L];
  auto add = [&](uint32_t h) {
    if (!snap.h_alive[h] || snap.h_lat[h] == Snapshot::kNoGeo || snap.h_lon[h] == Snapshot::kNoGeo)
      return;
    const uint32_t c = child[snap.h_village[h]];
    lat[c] += snap.h_lat[h];
    lon[c] += snap.h_lon[h];
    ++out[c].households;
  };
  // The parent's villages are one run of the sorted village codes.
  const size_t villages = in_parent.size();
  size_t v = static_cast<size_t>(
      std::lower_bound(in_parent.begin(), in_parent.end(), parent_index) - in_parent.begin());
  for (; v < villages && in_parent[v] == parent_index; ++v)
    for (uint32_t h = snap.village_begin[v]; h < snap.village_begin[v + 1]; ++h) add(h);
  for (uint32_t h = snap.sorted_households; h < snap.households; ++h)
    if (in_parent[snap.h_village[h]] == parent_index) add(h);
  for (size_t c = 0; c < out.size(); ++c) {
    if (out[c].households == 0) continue;
    const auto n = static_cast<double>(out[c].households);
    out[c].lat = std::round(lat[c] / n) / 1e6;
    out[c].lon = std::round(lon[c] / n) / 1e6;
  }
  return out;
}

namespace {

// Village attributes from the villages data set (none when it was never imported).
Status BuildVillages(store::Store& store, Snapshot& snap) {
  const std::vector<std::string>& codes = snap.region_codes[kRegionLevels - 1];
  snap.villages.assign(codes.size(), VillageAttributes{});
  const DatasetSpec* d = FindDataset("villages");
  if (!d) return OkStatus();
  const std::vector<std::string> cols = {"village_code",
                                         "terrain",
                                         "industries",
                                         "road",
                                         "water",
                                         "power",
                                         "broadband",
                                         "clinic",
                                         "school",
                                         "distance_km",
                                         "collective_income_fen"};
  auto number = [](const store::Cell& c) {
    return c.kind == store::Cell::Kind::kInt    ? static_cast<double>(c.i)
           : c.kind == store::Cell::Kind::kReal ? c.r
                                                : std::nan("");
  };
  return store.Rules().ScanColumns(*d, cols, [&](int64_t, std::span<const store::Cell> c) {
    if (c[0].kind != store::Cell::Kind::kText) return;
    auto it = std::lower_bound(codes.begin(), codes.end(), c[0].text);
    if (it == codes.end() || *it != c[0].text) return;  // a village without households
    VillageAttributes& v = snap.villages[static_cast<size_t>(it - codes.begin())];
    v.known = true;
    const double terrain = number(c[1]);
    v.terrain = std::isnan(terrain) ? "" : fmt::format("{}", static_cast<int64_t>(terrain));
    v.industries = c[2].kind == store::Cell::Kind::kText ? std::string(c[2].text) : "";
    for (size_t k = 0; k < v.facilities.size(); ++k) {
      const double x = number(c[3 + k]);
      v.facilities[k] = std::isnan(x) ? int8_t{-1} : static_cast<int8_t>(x != 0);
    }
    v.distance_km = number(c[9]);
    const double fen = number(c[10]);
    v.collective_income = std::isnan(fen) ? fen : fen / 100;
  });
}

}  // namespace

Result<Snapshot> BuildSnapshot(store::Store& store, const BuildOptions& options) {
  Snapshot snap;
  ASSIGN_OR_RETURN(snap.version, store.GetDataVersion());
  RETURN_IF_ERROR(BuildRegions(store, snap));
  RETURN_IF_ERROR(BuildVillages(store, snap));
  std::vector<uint64_t> persons;
  RETURN_IF_ERROR(BuildRegistry(store, snap, options, persons));
  snap.IndexIncomes();
  RETURN_IF_ERROR(BuildLinks(store, snap, options, persons));
  snap.IndexMemberFacts();
  RETURN_IF_ERROR(BuildFlags(store, snap, options));
  snap.IndexIds();
  snap.BuildCube();
  return snap;
}

Result<std::vector<std::string>> Refresh(store::Store& store, Snapshot& snap,
                                         const BuildOptions& options) {
  ASSIGN_OR_RETURN(const store::Store::DataVersion v, store.GetDataVersion());
  std::vector<std::string> read;
  if (v.registry != snap.version.registry) {
    ASSIGN_OR_RETURN(snap, BuildSnapshot(store, options));
    return std::vector<std::string>{"registry", "links", "flags"};
  }
  bool relink = false;
  if (v.edits != snap.version.edits) {
    // The edited households are read through one read view: outside a view every read opens
    // a connection of its own and parses the schema (a millisecond each, most of a refresh
    // after a stream of edits). Inside one opened by the caller they join it.
    Result<store::ReadView> view = store.BeginRead();
    ASSIGN_OR_RETURN(const std::vector<std::string> ids,
                     store.Edits().HouseholdsEditedAfter(snap.version.edits));
    // A long-unopened snapshot file behind by a large part of the registry: a build reads
    // it all faster than household by household.
    const size_t limit =
        options.rebuild_after_edits
            ? options.rebuild_after_edits
            : std::max<size_t>(10'000, static_cast<size_t>(snap.LiveHouseholds()) / 10);
    if (ids.size() > limit) {
      if (view) view->End();
      ASSIGN_OR_RETURN(snap, BuildSnapshot(store, options));
      return std::vector<std::string>{"registry", "links", "flags"};
    }
    RETURN_IF_ERROR(RefreshEdits(store, snap, ids, relink));
    if (view) view->End();
    read.push_back("edits");
  }
  if (v.links != snap.version.links || relink) {
    std::vector<uint64_t> persons;
    RETURN_IF_ERROR(ReadPersons(store, snap, persons));
    RETURN_IF_ERROR(BuildLinks(store, snap, options, persons));
    snap.IndexMemberFacts();
    snap.BuildCube();  // its link counts
    read.push_back("links");
  }
  if (v.flags != snap.version.flags) {
    RETURN_IF_ERROR(BuildFlags(store, snap, options));
    snap.BuildCube();  // its flag counts
    read.push_back("flags");
  }
  snap.version = v;
  return read;
}

Status SaveSnapshot(const Snapshot& snap, const std::string& path) {
  // A temporary name of this writer's own: several processes may save the same snapshot at
  // once (each first query on a database), and each renames a whole file over the old one.
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd >= 0) fchmod(fd, 0644);  // mkstemp makes it private; the snapshot is like the database
  std::FILE* f = fd >= 0 ? fdopen(fd, "wb") : nullptr;
  if (!f) {
    const int error = errno;
    if (fd >= 0) {
      close(fd);
      std::remove(tmp.c_str());
    }
    return Unavailable(fmt::format("cannot write {}: {}", tmp, std::strerror(error)));
  }
  Writer w(f);
  w.Raw(kMagic, sizeof kMagic);
  w.Pod(kFormat);
  Columns(w, snap);
  const bool flushed = std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!w.ok() || !flushed || !closed) {
    std::remove(tmp.c_str());
    return Unavailable(fmt::format("cannot write {}", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return Unavailable(fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message()));
  }
  return OkStatus();
}

Result<Snapshot> LoadSnapshot(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Err(NotFound(fmt::format("cannot read {}: {}", path, std::strerror(errno))));
  Reader r(f);
  char magic[sizeof kMagic] = {};
  uint32_t format = 0;
  r.Raw(magic, sizeof magic);
  r.Pod(format);
  if (!r.ok() || std::memcmp(magic, kMagic, sizeof kMagic) != 0 || format != kFormat) {
    std::fclose(f);
    return Err(DataLoss(fmt::format("{} is not a fupin snapshot of format {}", path, kFormat)));
  }
  Snapshot snap;
  Columns(r, snap);
  const bool at_end = std::fgetc(f) == EOF;
  std::fclose(f);
  if (!r.ok() || !at_end || !Consistent(snap))
    return Err(DataLoss(fmt::format("{} is damaged or cut short", path)));
  IndexDicts(snap);
  snap.IndexIncomeOrder();
  snap.IndexMemberFacts();
  snap.BuildCube();
  snap.IndexIds();
  return snap;
}

Status ExportSnapshotCsv(const Snapshot& snap, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", dir, ec.message()));
  auto write = [&](const std::string& name, const std::function<void(std::string&)>& body) {
    const std::string path = dir + "/" + name;
    std::string text;
    body(text);
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) return Unavailable(fmt::format("cannot write {}", path));
    return OkStatus();
  };
  auto money = [](std::string& t, double v) {
    if (!std::isnan(v)) t += fmt::format("{:.2f}", v);
  };
  RETURN_IF_ERROR(write("households.csv", [&](std::string& t) {
    t += "household_id,village,township,county,prefecture,province";
    for (std::string_view f : kHouseholdFields) t += fmt::format(",{}", f);
    for (std::string_view f : kMoneyFields) t += fmt::format(",{}", f);
    t += "\n";
    for (uint32_t h = 0; h < snap.households; ++h) {
      if (!snap.h_alive[h]) continue;
      t += snap.HouseholdId(h);
      for (int l = kRegionLevels; l-- > 0;)
        t +=
            "," + snap.region_codes[static_cast<size_t>(l)]
                                   [snap.village_region[static_cast<size_t>(l)][snap.h_village[h]]];
      for (size_t k = 0; k < kHouseholdDims; ++k)
        t += "," + snap.h_dicts[k].values[snap.h_dims[k][h]];
      for (size_t k = 0; k < kMoneyColumns; ++k) {
        t += ",";
        money(t, snap.h_money[k][h]);
      }
      t += "\n";
    }
  }));
  RETURN_IF_ERROR(write("members.csv", [&](std::string& t) {
    t += "household_id";
    for (std::string_view f : kMemberFields) t += fmt::format(",{}", f == "age" ? "age_band" : f);
    t += ",linked\n";
    for (uint32_t m = 0; m < snap.members; ++m) {
      const uint32_t h = snap.m_household[m];
      if (!snap.h_alive[h]) continue;
      t += snap.HouseholdId(h);
      for (size_t k = 0; k < kMemberDims; ++k) t += "," + snap.m_dicts[k].values[snap.m_dims[k][m]];
      t += ",";
      bool first = true;
      for (size_t d = 0; d < snap.datasets.size(); ++d)
        if (snap.m_linked[m] >> d & 1) {
          t += (first ? "" : ";") + snap.datasets[d];
          first = false;
        }
      t += "\n";
    }
  }));
  return write("flags.csv", [&](std::string& t) {
    t += "household_id,rule,flags\n";
    for (uint32_t h = 0; h < snap.households; ++h) {
      if (!snap.h_alive[h]) continue;
      for (uint32_t k = snap.flag_begin[h]; k < snap.flag_begin[h + 1]; ++k)
        t += fmt::format("{},{},{}\n", snap.HouseholdId(h), snap.rules[snap.flag_entries[k].rule],
                         snap.flag_entries[k].count);
    }
  });
}

Result<Snapshot> OpenSnapshot(store::Store& store, const std::string& db_path,
                              const BuildOptions& options, std::string* how) {
  const std::string path = db_path + ".snapshot";
  auto loaded = LoadSnapshot(path);
  if (loaded) {
    ASSIGN_OR_RETURN(std::vector<std::string> read, Refresh(store, *loaded, options));
    if (how) *how = read.empty() ? "loaded" : fmt::format("refreshed {}", fmt::join(read, ", "));
    if (!read.empty()) RETURN_IF_ERROR(SaveSnapshot(*loaded, path));
    return loaded;
  }
  ASSIGN_OR_RETURN(Snapshot snap, BuildSnapshot(store, options));
  if (how) *how = "built";
  RETURN_IF_ERROR(SaveSnapshot(snap, path));
  return snap;
}

}  // namespace fupin::analytics
