#include "analytics/query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace fupin::analytics {

namespace {

using rules::Column;
using rules::kHousehold;
using rules::kMember;
using rules::Schema;

// A dimension: a household or member field, shown as its code; regions cut the village code.
struct Dimension {
  std::string_view name;
  int entity;              // kHousehold or kMember
  std::string_view field;  // schema field
  int region_digits = 0;   // region dimensions: digits of the village code kept
  bool age_band = false;
};

constexpr Dimension kDimensions[] = {
    {"province", kHousehold, "village_code", 2},
    {"prefecture", kHousehold, "village_code", 4},
    {"county", kHousehold, "village_code", 6},
    {"township", kHousehold, "village_code", 9},
    {"village", kHousehold, "village_code", 12},
    {"status", kHousehold, "status"},
    {"category", kHousehold, "category"},
    {"primary_cause", kHousehold, "primary_cause"},
    {"year", kHousehold, "income_year"},
    {"registered_year", kHousehold, "registered_year"},
    {"exit_year", kHousehold, "exit_year"},
    {"sex", kMember, "sex"},
    {"relation", kMember, "relation"},
    {"ethnicity", kMember, "ethnicity"},
    {"education", kMember, "education"},
    {"in_school", kMember, "in_school"},
    {"health", kMember, "health"},
    {"labor", kMember, "labor"},
    {"work_status", kMember, "work_status"},
    {"age_band", kMember, "age", 0, true},
};

enum class M : uint8_t {
  kHouseholds,
  kPersons,
  kPoorPersons,
  kExitedPersons,
  kReturnedPersons,
  kPoorHouseholds,
  kMeanIncome,
  kMedianIncome,
  kWage,
  kBusiness,
  kProperty,
  kTransfer,
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
    {"poor_households", M::kPoorHouseholds, false},
    {"mean_income", M::kMeanIncome, false},
    {"median_income", M::kMedianIncome, false},
    {"income_wage", M::kWage, false},
    {"income_business", M::kBusiness, false},
    {"income_property", M::kProperty, false},
    {"income_transfer", M::kTransfer, false},
};

const Dimension* FindDimension(std::string_view name) {
  for (const Dimension& d : kDimensions)
    if (d.name == name) return &d;
  return nullptr;
}
const Measure* FindMeasure(std::string_view name) {
  for (const Measure& m : kMeasures)
    if (m.name == name) return &m;
  return nullptr;
}

std::string AgeBand(double age) {
  if (std::isnan(age)) return "";
  if (age <= 6) return "0-6";
  if (age <= 15) return "7-15";
  if (age <= 59) return "16-59";
  return "60+";
}

std::string NumberText(double v) {
  if (std::isnan(v)) return "";
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(std::llround(v)));
  return fmt::format("{:.2f}", v);
}

// The value of a dimension for a household (and member, for member dimensions).
struct Reader {
  const Dimension* dim;
  const Column* col;
  bool text;
  std::string Value(uint32_t household, uint32_t member) const {
    const uint32_t row = dim->entity == kMember ? member : household;
    if (dim->region_digits > 0) {
      std::string code(col->Text(row).substr(0, static_cast<size_t>(dim->region_digits)));
      if (!code.empty()) code.resize(12, '0');
      return code;
    }
    if (dim->age_band) return AgeBand(col->Num(row));
    if (text) return std::string(col->Text(row));
    const double v = col->Num(row);
    if (dim->field == "ethnicity" && !std::isnan(v))
      return fmt::format("{:02}", static_cast<int>(v));
    return NumberText(v);
  }
};

struct Group {
  int64_t households = 0, persons = 0, poor = 0, exited = 0, returned = 0, poor_households = 0;
  double wage = 0, business = 0, property = 0, transfer = 0;
  std::vector<double> incomes;
  int64_t last_household = -1;
};

}  // namespace

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

rules::RuleSet QueryFields() {
  rules::RuleSet set;
  const Schema& s = Schema::Get();
  for (const Dimension& d : kDimensions) set.usage.Use(d.entity, s.FindField(d.entity, d.field));
  for (std::string_view f : {"household_id", "per_capita_income", "income_wage", "income_business",
                             "income_property", "income_transfer", "status"})
    set.usage.Use(kHousehold, s.FindField(kHousehold, f));
  return set;
}

Status CheckQuery(const QuerySpec& spec) {
  if (spec.measures.empty()) return InvalidArgument("no measure: give --measure persons,...");
  for (const std::string& m : spec.measures)
    if (!FindMeasure(m))
      return InvalidArgument(
          fmt::format("unknown measure '{}' (measures: {})", m, fmt::join(MeasureNames(), ", ")));
  for (const std::string& d : spec.by)
    if (!FindDimension(d))
      return InvalidArgument(fmt::format("unknown dimension '{}' (dimensions: {})", d,
                                         fmt::join(DimensionNames(), ", ")));
  for (const auto& [d, values] : spec.where) {
    if (!FindDimension(d))
      return InvalidArgument(fmt::format("unknown dimension '{}' in --where", d));
    if (values.empty()) return InvalidArgument(fmt::format("--where {}= needs a value", d));
  }
  return OkStatus();
}

Result<QueryResult> RunQuery(const rules::RuleData& data, const QuerySpec& spec) {
  RETURN_IF_ERROR(CheckQuery(spec));
  const Schema& s = Schema::Get();
  auto reader = [&](const Dimension* d) {
    const int f = s.FindField(d->entity, d->field);
    const Column* col = &data.tables[static_cast<size_t>(d->entity)].cols[static_cast<size_t>(f)];
    const rules::VType t = s.entity(d->entity).fields[static_cast<size_t>(f)].type;
    return Reader{d, col, t == rules::VType::kText || t == rules::VType::kCodes};
  };
  std::vector<Reader> by, filters;
  std::vector<std::vector<std::string>> accepted;
  bool per_member = false;
  for (const std::string& name : spec.by) {
    by.push_back(reader(FindDimension(name)));
    per_member |= by.back().dim->entity == kMember;
  }
  for (const auto& [name, values] : spec.where) {
    filters.push_back(reader(FindDimension(name)));
    per_member |= filters.back().dim->entity == kMember;
    accepted.push_back(values);
  }
  for (const std::string& m : spec.measures) per_member |= FindMeasure(m)->per_person;

  const rules::Table& hh = data.tables[kHousehold];
  auto hcol = [&](std::string_view f) -> const Column& {
    return hh.cols[static_cast<size_t>(s.FindField(kHousehold, f))];
  };
  const Column& status = hcol("status");
  const Column& income = hcol("per_capita_income");
  const Column& wage = hcol("income_wage");
  const Column& business = hcol("income_business");
  const Column& property = hcol("income_property");
  const Column& transfer = hcol("income_transfer");
  std::map<std::vector<std::string>, Group> groups;
  std::vector<std::string> key(by.size());
  auto add = [&](uint32_t h, uint32_t m, bool member) {
    for (size_t i = 0; i < filters.size(); ++i) {
      const std::string v = filters[i].Value(h, m);
      if (std::find(accepted[i].begin(), accepted[i].end(), v) == accepted[i].end()) return;
    }
    for (size_t i = 0; i < by.size(); ++i) key[i] = by[i].Value(h, m);
    Group& g = groups[key];
    const double st = status.Num(h);
    if (member) {
      ++g.persons;
      g.poor += st == 1 || st == 3;
      g.exited += st == 2 || st == 4;
      g.returned += st == 3;
    }
    if (g.last_household == static_cast<int64_t>(h)) return;  // the household counted once
    g.last_household = h;
    ++g.households;
    g.poor_households += st == 1 || st == 3;
    auto sum = [](double& acc, double v) {
      if (!std::isnan(v)) acc += v;
    };
    sum(g.wage, wage.Num(h));
    sum(g.business, business.Num(h));
    sum(g.property, property.Num(h));
    sum(g.transfer, transfer.Num(h));
    if (!std::isnan(income.Num(h))) g.incomes.push_back(income.Num(h));
  };
  for (uint32_t h = 0; h < hh.rows; ++h) {
    if (!per_member) {
      add(h, 0, false);
      continue;
    }
    for (uint32_t m = data.member_begin[h]; m < data.member_begin[h + 1]; ++m) add(h, m, true);
  }

  QueryResult out;
  out.columns = spec.by;
  for (const std::string& m : spec.measures) out.columns.push_back(m);
  for (auto& [k, g] : groups) {
    std::vector<std::string> row = k;
    for (const std::string& name : spec.measures) {
      switch (FindMeasure(name)->kind) {
        case M::kHouseholds:
          row.push_back(std::to_string(g.households));
          break;
        case M::kPersons:
          row.push_back(std::to_string(g.persons));
          break;
        case M::kPoorPersons:
          row.push_back(std::to_string(g.poor));
          break;
        case M::kExitedPersons:
          row.push_back(std::to_string(g.exited));
          break;
        case M::kReturnedPersons:
          row.push_back(std::to_string(g.returned));
          break;
        case M::kPoorHouseholds:
          row.push_back(std::to_string(g.poor_households));
          break;
        case M::kMeanIncome: {
          double sum = 0;
          for (double v : g.incomes) sum += v;
          row.push_back(g.incomes.empty()
                            ? ""
                            : fmt::format("{:.2f}", sum / static_cast<double>(g.incomes.size())));
          break;
        }
        case M::kMedianIncome: {
          if (g.incomes.empty()) {
            row.emplace_back();
            break;
          }
          std::sort(g.incomes.begin(), g.incomes.end());
          const size_t n = g.incomes.size();
          const double median =
              n % 2 ? g.incomes[n / 2] : (g.incomes[n / 2 - 1] + g.incomes[n / 2]) / 2;
          row.push_back(fmt::format("{:.2f}", median));
          break;
        }
        case M::kWage:
          row.push_back(fmt::format("{:.2f}", g.wage));
          break;
        case M::kBusiness:
          row.push_back(fmt::format("{:.2f}", g.business));
          break;
        case M::kProperty:
          row.push_back(fmt::format("{:.2f}", g.property));
          break;
        case M::kTransfer:
          row.push_back(fmt::format("{:.2f}", g.transfer));
          break;
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace fupin::analytics
