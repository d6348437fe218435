#include "rules/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "core/date.h"
#include "core/id_number.h"
#include "core/parallel.h"
#include "rules/person_index.h"

namespace fupin::rules {

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double CellNumber(const store::Cell& c, bool money) {
  double v;
  switch (c.kind) {
    case store::Cell::Kind::kInt:
      v = static_cast<double>(c.i);
      break;
    case store::Cell::Kind::kReal:
      v = c.r;
      break;
    case store::Cell::Kind::kText: {
      char* end = nullptr;
      const std::string s(c.text);
      v = std::strtod(s.c_str(), &end);
      if (end == s.c_str()) return Column::Missing();
      break;
    }
    default:
      return Column::Missing();
  }
  return money ? v / 100.0 : v;
}

double CellDate(const store::Cell& c) {
  if (c.kind != store::Cell::Kind::kText) return Column::Missing();
  const std::optional<Date> d = ParseIsoDate(c.text);
  return d ? static_cast<double>(DaysFromCivil(*d)) : Column::Missing();
}

// Appends a cell to a column of the field's type.
void Push(Column& col, const Field& f, const store::Cell& c) {
  switch (f.type) {
    case VType::kText:
    case VType::kCodes:
      if (c.kind == store::Cell::Kind::kInt) {
        col.PushText(std::to_string(c.i));
      } else {
        col.PushText(c.kind == store::Cell::Kind::kText ? c.text : std::string_view());
      }
      break;
    case VType::kDate:
      col.PushNum(CellDate(c));
      break;
    default:
      col.PushNum(CellNumber(c, f.money));
      break;
  }
}

// The stored columns to read for an entity: its used column fields, plus `extra` fields.
struct ColumnPlan {
  std::vector<std::string> columns;
  std::vector<int> fields;  // field index for each column
};
ColumnPlan PlanColumns(int entity, const Usage& usage,
                       std::initializer_list<std::string_view> extra) {
  const Schema& s = Schema::Get();
  const Entity& e = s.entity(entity);
  std::set<int> wanted;
  for (size_t f = 0; f < e.fields.size(); ++f)
    if (usage.Uses(entity, static_cast<int>(f)) && e.fields[f].source == FieldSource::kColumn)
      wanted.insert(static_cast<int>(f));
  for (std::string_view name : extra) wanted.insert(s.FindField(entity, name));
  ColumnPlan p;
  for (int f : wanted) {
    p.columns.push_back(e.fields[static_cast<size_t>(f)].column);
    p.fields.push_back(f);
  }
  return p;
}

int YearsBetween(long birth, long at) {
  const Date b = CivilFromDays(birth);
  const Date a = CivilFromDays(at);
  int years = a.year - b.year;
  if (a.month < b.month || (a.month == b.month && a.day < b.day)) --years;
  return years;
}

// Sizes the columns a scan fills, so that they do not grow (and copy) row by row.
void Reserve(Table& t, const std::vector<int>& fields, const Entity& e, int64_t rows) {
  for (int f : fields) {
    Column& c = t.cols[static_cast<size_t>(f)];
    const VType type = e.fields[static_cast<size_t>(f)].type;
    if (type == VType::kText || type == VType::kCodes) {
      c.text_end.reserve(static_cast<size_t>(rows));
      c.text.reserve(static_cast<size_t>(rows) * 12);
    } else {
      c.num.reserve(static_cast<size_t>(rows));
    }
  }
}

struct DeptLoad {
  int entity = -1;
  Table table;
  std::vector<uint64_t> persons;  // per record
  int64_t missing = 0;            // linked rows no longer in the table
};

Status LoadDepartment(store::Store& store, const Usage& usage, DeptLoad& out) {
  const Schema& s = Schema::Get();
  const Entity& e = s.entity(out.entity);
  store::RulesStore& rs = store.Rules();
  std::vector<int64_t> rows;
  RETURN_IF_ERROR(
      rs.ScanLinkedRows(*e.dataset, [&](std::span<const int64_t> r, std::span<const uint64_t> p) {
        rows.insert(rows.end(), r.begin(), r.end());
        out.persons.insert(out.persons.end(), p.begin(), p.end());
      }));
  out.table.cols.resize(e.fields.size());
  out.table.rows = static_cast<uint32_t>(rows.size());
  out.table.row_ids = rows;
  bool any_field = false;
  for (size_t f = 0; f < e.fields.size(); ++f)
    any_field |= usage.Uses(out.entity, static_cast<int>(f));
  if (!any_field || rows.empty()) return OkStatus();
  ColumnPlan plan = PlanColumns(out.entity, usage, {});
  Reserve(out.table, plan.fields, e, static_cast<int64_t>(rows.size()));
  const int source_row = s.FindField(out.entity, "source_row");
  const bool want_source_row = usage.Uses(out.entity, source_row);
  if (want_source_row) plan.columns.push_back("source_row");
  // Linked rows that are gone from the table (a newer snapshot imported, not linked yet)
  // are left out, with a warning.
  size_t next = 0;
  std::vector<uint32_t> kept;  // indices into rows of the records read
  kept.reserve(rows.size());
  auto take = [&](int64_t row_id, std::span<const store::Cell> cells) {
    while (next < rows.size() && rows[next] < row_id) ++next;
    if (next >= rows.size() || rows[next] != row_id) return;  // not linked
    kept.push_back(static_cast<uint32_t>(next++));
    for (size_t i = 0; i < plan.fields.size(); ++i) {
      const Field& f = e.fields[static_cast<size_t>(plan.fields[i])];
      Push(out.table.cols[static_cast<size_t>(plan.fields[i])], f, cells[i]);
    }
    if (want_source_row)
      out.table.cols[static_cast<size_t>(source_row)].PushNum(
          CellNumber(cells[plan.fields.size()], false));
  };
  // Few linked rows (vehicles, business, property: registry people are rare there): look
  // them up; many: one pass over the table.
  ASSIGN_OR_RETURN(const int64_t table_rows, rs.CountRows(*e.dataset));
  if (static_cast<int64_t>(rows.size()) * 8 < table_rows) {
    RETURN_IF_ERROR(rs.ReadRows(*e.dataset, plan.columns, rows, take));
  } else {
    RETURN_IF_ERROR(rs.ScanColumns(*e.dataset, plan.columns, take));
  }
  if (kept.size() != rows.size()) {
    out.missing = static_cast<int64_t>(rows.size() - kept.size());
    std::vector<uint64_t> persons;
    persons.reserve(kept.size());
    for (uint32_t k : kept) persons.push_back(out.persons[k]);
    out.persons = std::move(persons);
    out.table.row_ids.clear();
    for (uint32_t k : kept) out.table.row_ids.push_back(rows[k]);
    out.table.rows = static_cast<uint32_t>(kept.size());
  }
  return OkStatus();
}

struct RegistryLoad {
  Table households;
  Table members;
  HugeVector<uint32_t> member_begin;
  std::vector<uint64_t> persons;  // per member
  Column member_household;        // household_id of each member, until the merge
};

Status LoadHouseholds(store::Store& store, const Usage& usage, RegistryLoad& out) {
  const Schema& s = Schema::Get();
  const Entity& he = s.entity(kHousehold);
  store::RulesStore& rs = store.Rules();
  out.households.cols.resize(he.fields.size());
  const bool income = usage.Uses(kHousehold, s.FindField(kHousehold, "per_capita_income")) ||
                      usage.Uses(kHousehold, s.FindField(kHousehold, "income_total"));
  std::initializer_list<std::string_view> hh_income = {
      "household_id",    "village_code",    "income_year",     "income_wage",
      "income_business", "income_property", "income_transfer", "members"};
  std::initializer_list<std::string_view> hh_basic = {"household_id", "village_code",
                                                      "income_year"};
  const ColumnPlan hp = PlanColumns(kHousehold, usage, income ? hh_income : hh_basic);
  ASSIGN_OR_RETURN(const int64_t rows, rs.CountRows(*he.dataset));
  Reserve(out.households, hp.fields, he, rows);
  return rs.ScanColumns(*he.dataset, hp.columns, [&](int64_t, std::span<const store::Cell> cells) {
    for (size_t i = 0; i < hp.fields.size(); ++i) {
      const Field& f = he.fields[static_cast<size_t>(hp.fields[i])];
      Push(out.households.cols[static_cast<size_t>(hp.fields[i])], f, cells[i]);
    }
    ++out.households.rows;
  });
}

// Members arrive in household_id order; each keeps its household_id for the merge with the
// households (MergeMembers), which may load at the same time on another thread.
Status LoadMembers(store::Store& store, const Usage& usage, RegistryLoad& out) {
  const Schema& s = Schema::Get();
  const Entity& me = s.entity(kMember);
  store::RulesStore& rs = store.Rules();
  out.members.cols.resize(me.fields.size());
  ColumnPlan mp = PlanColumns(kMember, usage, {"id_number", "birth_date"});
  ASSIGN_OR_RETURN(const int64_t rows, rs.CountRows(*me.dataset));
  Reserve(out.members, mp.fields, me, rows);
  out.persons.reserve(static_cast<size_t>(rows));
  out.member_household.text_end.reserve(static_cast<size_t>(rows));
  out.member_household.text.reserve(static_cast<size_t>(rows) * 18);
  mp.columns.push_back("household_id");
  const int id_field = s.FindField(kMember, "id_number");
  return rs.ScanColumns(*me.dataset, mp.columns, [&](int64_t, std::span<const store::Cell> cells) {
    out.member_household.PushText(cells.back().text);
    for (size_t i = 0; i < mp.fields.size(); ++i) {
      const Field& f = me.fields[static_cast<size_t>(mp.fields[i])];
      Push(out.members.cols[static_cast<size_t>(mp.fields[i])], f, cells[i]);
      if (mp.fields[i] == id_field)
        out.persons.push_back(
            cells[i].kind == store::Cell::Kind::kText ? PackIdNumber(cells[i].text) : 0);
    }
    ++out.members.rows;
  });
}

// Gives each household its range of members: both are in household_id order.
Status MergeMembers(RegistryLoad& out) {
  const Column& hh_ids =
      out.households.cols[static_cast<size_t>(Schema::Get().FindField(kHousehold, "household_id"))];
  out.member_begin.assign(out.households.rows + 1, 0);
  uint32_t h = 0;
  for (uint32_t m = 0; m < out.members.rows; ++m) {
    const std::string_view hid = out.member_household.Text(m);
    while (h < out.households.rows && hh_ids.Text(h) < hid) out.member_begin[++h] = m;
    if (h >= out.households.rows || hh_ids.Text(h) != hid)
      return DataLoss(fmt::format("a member of household {}, which is not in the registry", hid));
  }
  while (h < out.households.rows) out.member_begin[++h] = out.members.rows;
  out.member_household = Column();
  return OkStatus();
}

void ComputeDerived(RuleData& d, const Usage& usage, const std::vector<uint64_t>& persons,
                    const PersonIndex& index) {
  const Schema& s = Schema::Get();
  Table& hh = d.tables[kHousehold];
  Table& mm = d.tables[kMember];
  auto col = [&](Table& t, int entity, std::string_view name) -> Column& {
    return t.cols[static_cast<size_t>(s.FindField(entity, name))];
  };
  const Entity& he = s.entity(kHousehold);
  for (size_t f = 0; f < he.fields.size(); ++f) {
    const Field& field = he.fields[f];
    if (field.source == FieldSource::kColumn || !usage.Uses(kHousehold, static_cast<int>(f)))
      continue;
    Column& out = hh.cols[f];
    for (uint32_t h = 0; h < hh.rows; ++h) {
      switch (field.source) {
        case FieldSource::kPerCapita:
        case FieldSource::kIncomeTotal: {
          double total = 0;
          bool any = false;
          for (std::string_view part :
               {"income_wage", "income_business", "income_property", "income_transfer"}) {
            const double v = col(hh, kHousehold, part).Num(h);
            if (!std::isnan(v)) {
              total += v;
              any = true;
            }
          }
          if (!any) {
            out.PushNum(Column::Missing());
          } else if (field.source == FieldSource::kIncomeTotal) {
            out.PushNum(total);
          } else {
            const double n = col(hh, kHousehold, "members").Num(h);
            out.PushNum(n > 0 ? std::round(total / n * 100) / 100 : Column::Missing());
          }
          break;
        }
        case FieldSource::kMemberRows:
          out.PushNum(d.member_begin[h + 1] - d.member_begin[h]);
          break;
        case FieldSource::kRegionPrefix: {
          std::string code(col(hh, kHousehold, "village_code")
                               .Text(h)
                               .substr(0, static_cast<size_t>(field.aux)));
          if (!code.empty()) code.resize(12, '0');
          out.PushText(code);
          break;
        }
        default:
          out.PushNum(Column::Missing());
      }
    }
  }
  const int age = s.FindField(kMember, "age");
  if (usage.Uses(kMember, age)) {
    Column& birth = col(mm, kMember, "birth_date");
    Column& out = mm.cols[static_cast<size_t>(age)];
    for (uint32_t m = 0; m < mm.rows; ++m) {
      const double b = birth.Num(m);
      out.PushNum(std::isnan(b) ? Column::Missing()
                                : YearsBetween(static_cast<long>(b), d.as_of_days));
    }
  }
  const int id_households = s.FindField(kMember, "id_households");
  if (usage.Uses(kMember, id_households)) {
    Column& out = mm.cols[static_cast<size_t>(id_households)];
    std::vector<uint32_t> household_of(mm.rows);
    for (uint32_t h = 0; h < hh.rows; ++h)
      for (uint32_t m = d.member_begin[h]; m < d.member_begin[h + 1]; ++m) household_of[m] = h;
    // Members whose ID cannot be packed (not 18 characters) are grouped by its text.
    std::unordered_map<std::string_view, std::vector<uint32_t>> unpacked;
    const Column& ids = col(mm, kMember, "id_number");
    for (uint32_t m = 0; m < mm.rows; ++m)
      if (persons[m] == 0 && !ids.Text(m).empty()) unpacked[ids.Text(m)].push_back(m);
    std::vector<uint32_t> others;
    for (uint32_t m = 0; m < mm.rows; ++m) {
      others.clear();
      if (persons[m] != 0) {
        index.ForEach(persons[m], [&](uint32_t other) { others.push_back(household_of[other]); });
      } else if (auto it = unpacked.find(ids.Text(m)); it != unpacked.end()) {
        for (uint32_t other : it->second) others.push_back(household_of[other]);
      }
      std::sort(others.begin(), others.end());
      others.erase(std::unique(others.begin(), others.end()), others.end());
      out.PushNum(static_cast<double>(std::max<size_t>(1, others.size())));
    }
  }
}

}  // namespace

Result<RuleData> LoadRuleData(store::Store& store, const RuleSet& rules, const RunOptions& options,
                              std::vector<std::string>* warnings) {
  const Schema& s = Schema::Get();
  RuleData d;
  d.tables.resize(static_cast<size_t>(s.EntityCount()));
  d.linked.resize(static_cast<size_t>(s.EntityCount()));
  RegistryLoad registry;
  std::vector<DeptLoad> depts;
  for (int e = 2; e < s.EntityCount(); ++e)
    if (rules.usage.records[static_cast<size_t>(e)]) depts.push_back(DeptLoad{e, {}, {}, 0});
  // Tasks on `threads` threads: members (the largest, with the person index after it),
  // households, then each department data set.
  std::optional<PersonIndex> index;
  RETURN_IF_ERROR(RunTasks(2 + depts.size(), options.threads, [&](size_t t) -> Status {
    if (t == 0) {
      RETURN_IF_ERROR(LoadMembers(store, rules.usage, registry));
      index.emplace(registry.persons);
      return OkStatus();
    }
    if (t == 1) return LoadHouseholds(store, rules.usage, registry);
    return LoadDepartment(store, rules.usage, depts[t - 2]);
  }));
  RETURN_IF_ERROR(MergeMembers(registry));
  d.tables[kHousehold] = std::move(registry.households);
  d.tables[kMember] = std::move(registry.members);
  d.member_begin = std::move(registry.member_begin);
  if (options.progress) {
    options.progress("households", d.tables[kHousehold].rows, d.tables[kHousehold].rows);
    options.progress("members", d.tables[kMember].rows, d.tables[kMember].rows);
  }
  // The data year: the latest income year; ages are counted on its last day.
  const Column& income_year =
      d.tables[kHousehold].cols[static_cast<size_t>(s.FindField(kHousehold, "income_year"))];
  double year = 0;
  for (double y : income_year.num)
    if (!std::isnan(y)) {
      year = std::max(year, y);
    }
  d.data_year = static_cast<int>(year);
  if (!rules.as_of.empty()) {
    d.as_of_days = DaysFromCivil(*ParseIsoDate(rules.as_of));
  } else {
    d.as_of_days = DaysFromCivil(Date{d.data_year > 0 ? d.data_year : 2019, 12, 31});
  }
  if (warnings) {
    // Each province and income year in the data needs its exit and monitoring lines.
    const Column& village =
        d.tables[kHousehold].cols[static_cast<size_t>(s.FindField(kHousehold, "village_code"))];
    std::set<std::pair<std::string, int>> seen;
    for (uint32_t h = 0; h < d.tables[kHousehold].rows; ++h) {
      const double y = income_year.Num(h);
      if (std::isnan(y)) continue;
      std::string province(village.Text(h).substr(0, 2));
      province.resize(12, '0');
      seen.insert({province, static_cast<int>(y)});
    }
    for (const auto& [province, y] : seen)
      for (LineKind k : {LineKind::kExit, LineKind::kMonitoring})
        if (!rules.thresholds.Line(k, province, y) &&
            !rules.thresholds.lines[static_cast<int>(k)].empty())
          warnings->push_back(
              fmt::format("no {} line for province {} and income year {}: rules "
                          "that use it do not hold for those households",
                          LineKindName(k), province, y));
    for (const DeptLoad& load : depts)
      if (load.missing > 0)
        warnings->push_back(
            fmt::format("{} linked rows of {} are no longer in the table (a newer "
                        "file was imported): run fupin link",
                        load.missing, s.entity(load.entity).name));
  }
  // Derived fields and each data set's records per member, side by side.
  const uint32_t members = d.tables[kMember].rows;
  RETURN_IF_ERROR(RunTasks(1 + depts.size(), options.threads, [&](size_t t) -> Status {
    if (t == 0) {
      ComputeDerived(d, rules.usage, registry.persons, *index);
      return OkStatus();
    }
    DeptLoad& load = depts[t - 1];
    Linked& l = d.linked[static_cast<size_t>(load.entity)];
    l.begin.assign(members + 1, 0);
    for (uint64_t p : load.persons) index->ForEach(p, [&](uint32_t m) { ++l.begin[m + 1]; });
    for (uint32_t m = 0; m < members; ++m) l.begin[m + 1] += l.begin[m];
    l.index.resize(l.begin[members]);
    std::vector<uint32_t> fill(l.begin.begin(), l.begin.end() - 1);
    for (uint32_t r = 0; r < load.persons.size(); ++r)
      index->ForEach(load.persons[r], [&](uint32_t m) { l.index[fill[m]++] = r; });
    return OkStatus();
  }));
  for (DeptLoad& load : depts) {
    if (options.progress)
      options.progress(s.entity(load.entity).name, load.table.rows, load.table.rows);
    d.tables[static_cast<size_t>(load.entity)] = std::move(load.table);
  }
  for (int e = 2; e < s.EntityCount(); ++e)
    if (d.tables[static_cast<size_t>(e)].cols.empty())
      d.tables[static_cast<size_t>(e)].cols.resize(s.entity(e).fields.size());
  return d;
}

namespace {

// Evaluates the rules (those with `only[r]` set, or all when `only` is null) for household h,
// appending its flags and counting them per rule.
void EvaluateOne(const RuleSet& rules, const RuleData& data, uint32_t h, Env& env,
                 const std::vector<bool>* only, std::vector<store::RaisedFlag>& flags,
                 std::vector<int64_t>& count) {
  const Schema& s = Schema::Get();
  const Table& hh = data.tables[kHousehold];
  const Table& mm = data.tables[kMember];
  const Column& hh_id = hh.cols[static_cast<size_t>(s.FindField(kHousehold, "household_id"))];
  const Column& village = hh.cols[static_cast<size_t>(s.FindField(kHousehold, "village_code"))];
  const Column& id_number = mm.cols[static_cast<size_t>(s.FindField(kMember, "id_number"))];
  env.region = village.Text(h);
  for (size_t r = 0; r < rules.rules.size(); ++r) {
    if (only && !(*only)[r]) continue;
    const Rule& rule = rules.rules[r];
    const int slots = rule.slots;
    auto raise = [&](uint32_t member, bool person) {
      store::RaisedFlag f;
      f.rule = rule.id;
      f.category = std::string(CategoryName(rule.category));
      f.severity = std::string(SeverityName(rule.severity));
      f.household_id = std::string(hh_id.Text(h));
      if (person) f.id_number = std::string(id_number.Text(member));
      f.village_code = std::string(env.region);
      f.evidence_zh = Render(rule.explain_zh, env, Lang::kZh);
      f.evidence_en = Render(rule.explain_en, env, Lang::kEn);
      for (const Variable& v : rule.variables) {
        if (v.entity < 2 || !env.Bound(v.slot)) continue;
        const Table& t = data.tables[static_cast<size_t>(v.entity)];
        const Column& sr = t.cols[static_cast<size_t>(s.FindField(v.entity, "source_row"))];
        f.evidence_dataset = s.entity(v.entity).name;
        const uint32_t row = env.slots[static_cast<size_t>(v.slot)];
        if (!sr.num.empty()) f.evidence_row = static_cast<int64_t>(sr.Num(row));
        break;
      }
      flags.push_back(std::move(f));
      ++count[r];
    };
    if (!rule.person) {
      env.Reset(slots, h);
      if (EvalBool(*rule.condition, env)) raise(0, false);
      continue;
    }
    if (rule.household_guard) {
      env.Reset(slots, h);
      if (!EvalBool(*rule.household_guard, env)) continue;
    }
    for (uint32_t m = data.member_begin[h]; m < data.member_begin[h + 1]; ++m) {
      env.Reset(slots, h);
      env.slots[1] = m;
      env.Bind(1, true);
      if (EvalBool(*rule.condition, env)) raise(m, true);
    }
  }
}

}  // namespace

std::vector<store::RaisedFlag> Evaluate(const RuleSet& rules, const RuleData& data, int threads,
                                        std::vector<int64_t>* flags_by_rule) {
  const uint32_t households = data.Households();
  constexpr uint32_t kChunk = 2048;
  const uint32_t chunks = (households + kChunk - 1) / kChunk;
  std::vector<std::vector<store::RaisedFlag>> out(chunks);
  std::vector<std::vector<int64_t>> counts(static_cast<size_t>(std::max(1, threads)),
                                           std::vector<int64_t>(rules.rules.size(), 0));
  std::atomic<uint32_t> next{0};
  auto worker = [&](int t) {
    Env env;
    env.data = &data;
    env.thresholds = &rules.thresholds;
    std::vector<int64_t>& count = counts[static_cast<size_t>(t)];
    for (uint32_t c; (c = next.fetch_add(1)) < chunks;) {
      const uint32_t end = std::min(households, (c + 1) * kChunk);
      for (uint32_t h = c * kChunk; h < end; ++h)
        EvaluateOne(rules, data, h, env, nullptr, out[c], count);
    }
  };
  const int parts = std::max(1, threads);
  (void)RunTasks(static_cast<size_t>(parts), parts, [&](size_t t) {
    worker(static_cast<int>(t));
    return OkStatus();
  });
  if (flags_by_rule) {
    flags_by_rule->assign(rules.rules.size(), 0);
    for (const auto& c : counts)
      for (size_t r = 0; r < c.size(); ++r) (*flags_by_rule)[r] += c[r];
  }
  std::vector<store::RaisedFlag> all;
  size_t total = 0;
  for (const auto& v : out) total += v.size();
  all.reserve(total);
  for (auto& v : out)
    for (auto& f : v) all.push_back(std::move(f));
  return all;
}

std::vector<bool> HouseholdLocalRules(const RuleSet& rules) {
  const Schema& s = Schema::Get();
  const int id_households = s.FindField(kMember, "id_households");
  std::vector<bool> local;
  for (const Rule& rule : rules.rules) {
    Usage usage;
    Compiler compiler(rules.thresholds, usage, rule.person);
    CompileError error;
    bool ok = compiler.Condition(rule.condition_text, error) != nullptr;
    for (bool reached : usage.records) ok = ok && !reached;
    ok = ok && !usage.Uses(kMember, id_households);
    local.push_back(ok);
  }
  return local;
}

Result<HouseholdEvaluation> EvaluateHousehold(const RuleSet& rules, const HouseholdReader& read,
                                              long as_of_days) {
  const Schema& s = Schema::Get();
  HouseholdEvaluation out;
  // Which rules are local depends on the rules file only: worked out once per file (by its
  // SHA-256) rather than on every edit.
  std::vector<bool> local;
  {
    static std::mutex mu;
    static std::map<std::string, std::vector<bool>> by_file;
    const std::string key = rules.sha256.empty() ? std::string() : rules.sha256 + rules.source;
    std::lock_guard<std::mutex> lock(mu);
    auto it = key.empty() ? by_file.end() : by_file.find(key);
    if (it != by_file.end() && it->second.size() == rules.rules.size()) {
      local = it->second;
    } else {
      local = HouseholdLocalRules(rules);
      if (!key.empty() && by_file.size() < 64) by_file[key] = local;
    }
  }
  for (size_t r = 0; r < rules.rules.size(); ++r)
    if (local[r]) out.rules.push_back(rules.rules[r].id);
  // What the household-local rules read: the set's usage without department records and
  // without the registry-wide id_households.
  Usage usage = rules.usage;
  for (size_t e = 0; e < usage.records.size(); ++e) usage.records[e] = false;
  const int id_households = s.FindField(kMember, "id_households");
  usage.fields[static_cast<size_t>(kMember)][static_cast<size_t>(id_households)] = false;
  RuleData d;
  d.tables.resize(static_cast<size_t>(s.EntityCount()));
  d.linked.resize(static_cast<size_t>(s.EntityCount()));
  for (int e = 0; e < s.EntityCount(); ++e)
    d.tables[static_cast<size_t>(e)].cols.resize(s.entity(e).fields.size());
  d.as_of_days = as_of_days;
  const bool income = usage.Uses(kHousehold, s.FindField(kHousehold, "per_capita_income")) ||
                      usage.Uses(kHousehold, s.FindField(kHousehold, "income_total"));
  std::initializer_list<std::string_view> hh_income = {
      "household_id",    "village_code",    "income_year",     "income_wage",
      "income_business", "income_property", "income_transfer", "members"};
  std::initializer_list<std::string_view> hh_basic = {"household_id", "village_code",
                                                      "income_year"};
  const ColumnPlan hp = PlanColumns(kHousehold, usage, income ? hh_income : hh_basic);
  Table& hh = d.tables[kHousehold];
  const Entity& he = s.entity(kHousehold);
  RETURN_IF_ERROR(read(kHousehold, hp.columns, [&](std::span<const store::Cell> cells) {
    for (size_t i = 0; i < hp.fields.size(); ++i)
      Push(hh.cols[static_cast<size_t>(hp.fields[i])], he.fields[static_cast<size_t>(hp.fields[i])],
           cells[i]);
    ++hh.rows;
  }));
  if (hh.rows != 1) return Err(NotFound("the household to evaluate is not in the registry"));
  ColumnPlan mp = PlanColumns(kMember, usage, {"id_number", "birth_date"});
  mp.columns.push_back("left_reason");
  Table& mm = d.tables[kMember];
  const Entity& me = s.entity(kMember);
  std::vector<uint64_t> persons;
  const int id_field = s.FindField(kMember, "id_number");
  RETURN_IF_ERROR(read(kMember, mp.columns, [&](std::span<const store::Cell> cells) {
    if (cells.back().kind != store::Cell::Kind::kNull) return;  // left the household
    for (size_t i = 0; i < mp.fields.size(); ++i) {
      Push(mm.cols[static_cast<size_t>(mp.fields[i])], me.fields[static_cast<size_t>(mp.fields[i])],
           cells[i]);
      if (mp.fields[i] == id_field)
        persons.push_back(cells[i].kind == store::Cell::Kind::kText ? PackIdNumber(cells[i].text)
                                                                    : 0);
    }
    ++mm.rows;
  }));
  d.member_begin = {0, mm.rows};
  const PersonIndex index(persons);
  ComputeDerived(d, usage, persons, index);
  Env env;
  env.data = &d;
  env.thresholds = &rules.thresholds;
  std::vector<int64_t> count(rules.rules.size(), 0);
  EvaluateOne(rules, d, 0, env, &local, out.flags, count);
  return out;
}

Result<RunReport> RunRules(store::Store& store, const RuleSet& rules, const RunOptions& options) {
  RunReport report;
  const auto t0 = Clock::now();
  ASSIGN_OR_RETURN(RuleData data, LoadRuleData(store, rules, options, &report.warnings));
  const auto t1 = Clock::now();
  report.households = data.tables[kHousehold].rows;
  report.members = data.tables[kMember].rows;
  for (size_t e = 2; e < data.tables.size(); ++e) report.records += data.tables[e].rows;
  report.data_year = data.data_year;
  report.as_of = FormatDate(CivilFromDays(data.as_of_days));
  if (options.progress) options.progress("rules", 0, static_cast<int64_t>(rules.rules.size()));
  std::vector<store::RaisedFlag> flags =
      Evaluate(rules, data, options.threads, &report.flags_by_rule);
  const auto t2 = Clock::now();
  std::map<std::pair<std::string, std::string>, int64_t> by_prefecture;
  for (const store::RaisedFlag& f : flags) {
    std::string pref = f.village_code.substr(0, 4);
    pref.resize(12, '0');
    ++by_prefecture[{f.rule, pref}];
  }
  for (const auto& [k, n] : by_prefecture) report.by_prefecture.push_back({k.first, k.second, n});
  nlohmann::json summary;
  summary["rules"] = nlohmann::json::array();
  for (size_t r = 0; r < rules.rules.size(); ++r)
    summary["rules"].push_back({{"rule", rules.rules[r].id}, {"flags", report.flags_by_rule[r]}});
  summary["households"] = report.households;
  summary["members"] = report.members;
  summary["as_of"] = report.as_of;
  store::RuleRunInfo info{options.actor, rules.source, rules.sha256, {}};
  for (const Rule& r : rules.rules) info.rules.push_back(r.id);
  ASSIGN_OR_RETURN(report.outcome, store.Rules().ApplyRun(info, flags, summary.dump()));
  const auto t3 = Clock::now();
  report.load_seconds = Seconds(t0, t1);
  report.eval_seconds = Seconds(t1, t2);
  report.write_seconds = Seconds(t2, t3);
  return report;
}

}  // namespace fupin::rules
