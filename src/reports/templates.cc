#include "reports/templates.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include "analytics/query.h"
#include "core/code_lists.h"
#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/text.h"
#include "rules/rule_set.h"
#include "store/rules_store.h"

namespace fupin::reports {

// GCC 12 warns of a moved-from std::string inside std::variant when a row of cells grows
// (a known false positive, GCC bug 105593 and kin); the code here copies plain values.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

using analytics::QuerySpec;
using analytics::Snapshot;

constexpr std::string_view kLevels[analytics::kRegionLevels] = {"province", "prefecture", "county",
                                                                "township", "village"};

struct Ctx {
  const Snapshot& snap;
  const ReportRequest& req;
  const MemberNameMap* names = nullptr;  // read once for several flag lists; null: read here
  std::string region;                    // 12 digits
  int level = 0;                         // of the region
  int child = 0;                         // level of the rows
  int year = 0;
  std::string T(std::string_view zh, std::string_view en) const {
    return std::string(req.english ? en : zh);
  }
  std::pair<std::string, std::vector<std::string>> RegionFilter() const {
    return {std::string(kLevels[level]), {region}};
  }
  std::pair<std::string, std::vector<std::string>> YearFilter() const {
    return {"year", {std::to_string(year)}};
  }
  std::string RegionName(int l, const std::string& code) const {
    const auto& codes = snap.region_codes[static_cast<size_t>(l)];
    auto it = std::lower_bound(codes.begin(), codes.end(), code);
    if (it == codes.end() || *it != code) return code;
    const std::string& name =
        snap.region_names[static_cast<size_t>(l)][static_cast<size_t>(it - codes.begin())];
    return name.empty() ? code : name;
  }
  // The region's sub-regions (its children; the region itself when it is a village).
  std::vector<std::string> Children() const {
    std::vector<std::string> out;
    const size_t digits[] = {2, 4, 6, 9, 12};
    const std::string prefix = region.substr(0, digits[level]);
    for (const std::string& c : snap.region_codes[static_cast<size_t>(child)])
      if (c.starts_with(prefix)) out.push_back(c);
    return out;
  }
};

Result<analytics::QueryResult> Ask(
    const Ctx& c, std::vector<std::string> measures, std::vector<std::string> by,
    std::vector<std::pair<std::string, std::vector<std::string>>> where) {
  QuerySpec q;
  q.measures = std::move(measures);
  q.by = std::move(by);
  q.where = std::move(where);
  return analytics::RunQuery(c.snap, q);
}

// Query rows keyed by their dimension values joined with '|'.
std::map<std::string, std::vector<double>> ByKey(const analytics::QueryResult& r, size_t dims) {
  std::map<std::string, std::vector<double>> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    std::string key;
    for (size_t d = 0; d < dims; ++d) key += (d ? "|" : "") + r.rows[i][d];
    out[key] = r.values[i];
  }
  return out;
}

double Get(const std::map<std::string, std::vector<double>>& m, const std::string& key,
           size_t i = 0) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second[i];
}

std::string Label(const Ctx& c, std::string_view list, const std::string& code) {
  const CodeList* l = FindCodeList(list);
  const CodeEntry* e = l && !code.empty() ? l->Find(std::atoi(code.c_str())) : nullptr;
  if (!e) return code.empty() ? c.T("未填", "blank") : code;
  return std::string(c.req.english ? e->label_en : e->label_zh);
}

// A rule's name in the report's language ("低保或特困户在民政无保障记录" for GAP_DIBAO), from the
// default rules; the id itself for a rule they do not hold (a custom rules file's own rule).
std::string RuleName(const Ctx& c, const std::string& id) {
  static const std::map<std::string, std::pair<std::string, std::string>> names = [] {
    std::map<std::string, std::pair<std::string, std::string>> out;
    if (auto set = rules::DefaultRuleSet())
      for (const rules::Rule& r : set->rules) out[r.id] = {r.name_zh, r.name_en};
    return out;
  }();
  auto it = names.find(id);
  if (it == names.end()) return id;
  return c.req.english ? it->second.second : it->second.first;
}

// A rule category's label ("返贫风险" for risk).
std::string CategoryLabel(const Ctx& c, const std::string& name) {
  for (int i = 0; i < rules::kCategoryCount; ++i) {
    const auto category = static_cast<rules::Category>(i);
    if (rules::CategoryName(category) != name) continue;
    if (!c.req.english) return std::string(rules::CategoryLabelZh(category));
    std::string en(name);
    std::replace(en.begin(), en.end(), '_', ' ');
    return en;
  }
  return name;
}

// The codes of a household dimension present in the snapshot, in numeric order.
std::vector<std::string> Codes(const Snapshot& s, analytics::HouseholdDim d) {
  std::vector<std::string> out(s.h_dicts[d].values.begin() + 1, s.h_dicts[d].values.end());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return std::atoi(a.c_str()) < std::atoi(b.c_str());
  });
  return out;
}

Column Col(std::string header, NumberFormat f, double width = 10) {
  return Column{std::move(header), f, width};
}

// The first two columns of a sub-region table.
void RegionColumns(const Ctx& c, Table& t) {
  t.columns.push_back(Col(c.T("区划代码", "Code"), NumberFormat::kText, 14));
  t.columns.push_back(Col(c.T("名称", "Name"), NumberFormat::kText, 16));
}

std::vector<Cell> RegionCells(const Ctx& c, const std::string& code) {
  return {code, c.RegionName(c.child, code)};
}

std::vector<Cell> TotalsFrom(const Table& t, const Ctx& c) {
  std::vector<Cell> totals(t.columns.size());
  totals[0] = c.T("合计", "Total");
  for (size_t col = 0; col < t.columns.size(); ++col) {
    if (t.columns[col].format != NumberFormat::kInteger) continue;
    double sum = 0;
    for (const auto& row : t.rows)
      if (const double* v = std::get_if<double>(&row[col])) sum += *v;
    totals[col] = sum;
  }
  return totals;
}

// ---- 建档立卡贫困人口统计表 ----
// The status columns of the registry: 未脱贫 (IsPoorStatus, the one definition every report
// uses), then each status on its own, a poor status other than 1 shown as "of which" (其中返贫)
// so that no column named 未脱贫 counts less than the 未脱贫 of the other reports.
struct StatusColumn {
  std::string header;
  std::vector<std::string> codes;  // summed
};

std::vector<StatusColumn> StatusColumns(const Ctx& c) {
  std::vector<StatusColumn> out;
  out.push_back({c.T("未脱贫", "Poor"), {}});
  for (const std::string& st : Codes(c.snap, analytics::kStatus)) {
    const int code = std::atoi(st.c_str());
    if (IsPoorStatus(code)) out[0].codes.push_back(st);
    if (code == 1) continue;
    out.push_back(
        {(IsPoorStatus(code) ? c.T("其中", "of which ") : "") + Label(c, "status", st), {st}});
  }
  return out;
}

Status Registry(const Ctx& c, Document& doc) {
  const std::vector<StatusColumn> statuses = StatusColumns(c);
  ASSIGN_OR_RETURN(analytics::QueryResult r,
                   Ask(c, {"households", "persons"}, {std::string(kLevels[c.child]), "status"},
                       {c.RegionFilter(), c.YearFilter()}));
  const auto by = ByKey(r, 2);
  const auto sum = [&](const std::string& code, const StatusColumn& column, size_t m) {
    double n = 0;
    for (const std::string& st : column.codes) n += Get(by, code + "|" + st, m);
    return n;
  };
  Table t;
  t.title = c.T("按区划和脱贫状态", "By sub-region and status");
  RegionColumns(c, t);
  const int s = static_cast<int>(statuses.size());
  t.groups.push_back({{c.T("区划", "Region"), 0, 2},
                      {c.T("户数（户）", "Households"), 2, s + 1},
                      {c.T("人数（人）", "Persons"), 3 + s, s + 1}});
  for (int pass = 0; pass < 2; ++pass) {
    t.columns.push_back(Col(c.T("合计", "Total"), NumberFormat::kInteger));
    for (const StatusColumn& st : statuses)
      t.columns.push_back(Col(st.header, NumberFormat::kInteger, 12));
  }
  Chart chart;
  chart.title = c.T("各区划人数（按脱贫状态）", "Persons by sub-region and status");
  chart.value_axis = c.T("人", "persons");
  // The chart's bars add up to the total: 未脱贫 and the statuses that are not poor.
  std::vector<const StatusColumn*> bars;
  for (const StatusColumn& st : statuses)
    if (&st == &statuses[0] || !IsPoorStatus(std::atoi(st.codes[0].c_str()))) {
      bars.push_back(&st);
      chart.series.push_back({st.header, {}});
    }
  for (const std::string& code : c.Children()) {
    std::vector<Cell> row = RegionCells(c, code);
    for (size_t m = 0; m < 2; ++m) {
      double total = 0;
      for (const std::string& st : Codes(c.snap, analytics::kStatus))
        total += Get(by, code + "|" + st, m);
      row.push_back(total);
      for (const StatusColumn& st : statuses) row.push_back(sum(code, st, m));
    }
    t.rows.push_back(std::move(row));
    chart.categories.push_back(c.RegionName(c.child, code));
    for (size_t i = 0; i < bars.size(); ++i)
      chart.series[i].values.push_back(sum(code, *bars[i], 1));
  }
  t.totals = TotalsFrom(t, c);
  t.note = c.T("数据年度 ", "Data year ") + std::to_string(c.year) +
           c.T("；未脱贫 = 脱贫状态为未脱贫或返贫的户，人数为其家庭成员记录数（各报表同一口径）。",
               "; poor = households whose status is poor or returned to poverty, persons their "
               "member rows (the same in every report).");
  doc.sections.push_back({std::move(t)});
  doc.sections.push_back({std::move(chart)});
  return OkStatus();
}

// ---- 致贫原因分析表 ----
Status Causes(const Ctx& c, Document& doc) {
  std::vector<std::string> causes = Codes(c.snap, analytics::kPrimaryCause);
  ASSIGN_OR_RETURN(analytics::QueryResult r,
                   Ask(c, {"households", "persons", "poor_households"}, {"primary_cause"},
                       {c.RegionFilter(), c.YearFilter()}));
  const auto by = ByKey(r, 1);
  // Households without a recorded cause get their own row (未填), so the shares add up.
  if (Get(by, "", 0) > 0) causes.push_back("");
  double all = 0;
  for (const auto& [k, v] : by) all += v[0];
  Table t;
  t.title = c.T("按主要致贫原因", "By primary cause");
  t.columns = {Col(c.T("致贫原因", "Cause"), NumberFormat::kText, 18),
               Col(c.T("户数", "Households"), NumberFormat::kInteger),
               Col(c.T("占比", "Share"), NumberFormat::kPercent),
               Col(c.T("人数", "Persons"), NumberFormat::kInteger),
               Col(c.T("未脱贫户数", "Poor households"), NumberFormat::kInteger, 12)};
  Chart chart;
  chart.title = c.T("各致贫原因户数", "Households by primary cause");
  chart.value_axis = c.T("户", "households");
  chart.series.push_back({c.T("户数", "Households"), {}});
  for (const std::string& cause : causes) {
    const double h = Get(by, cause, 0);
    t.rows.push_back({Label(c, "cause", cause), h, all > 0 ? h / all : 0.0, Get(by, cause, 1),
                      Get(by, cause, 2)});
    chart.categories.push_back(Label(c, "cause", cause));
    chart.series[0].values.push_back(h);
  }
  t.totals = TotalsFrom(t, c);
  t.totals[2] = all > 0 ? 1.0 : 0.0;
  doc.sections.push_back({std::move(t)});
  doc.sections.push_back({std::move(chart)});

  // Sub-region by cause.
  ASSIGN_OR_RETURN(analytics::QueryResult m,
                   Ask(c, {"households"}, {std::string(kLevels[c.child]), "primary_cause"},
                       {c.RegionFilter(), c.YearFilter()}));
  const auto cells = ByKey(m, 2);
  Table x;
  x.title = c.T("各区划致贫原因户数", "Households by sub-region and primary cause");
  RegionColumns(c, x);
  x.groups.push_back({{c.T("区划", "Region"), 0, 2},
                      {c.T("主要致贫原因（户）", "Primary cause (households)"), 2,
                       static_cast<int>(causes.size()) + 1}});
  x.columns.push_back(Col(c.T("合计", "Total"), NumberFormat::kInteger));
  for (const std::string& cause : causes)
    x.columns.push_back(Col(Label(c, "cause", cause), NumberFormat::kInteger, 9));
  for (const std::string& code : c.Children()) {
    std::vector<Cell> row = RegionCells(c, code);
    double total = 0;
    for (const std::string& cause : causes) total += Get(cells, code + "|" + cause);
    row.push_back(total);
    for (const std::string& cause : causes) row.push_back(Get(cells, code + "|" + cause));
    x.rows.push_back(std::move(row));
  }
  x.totals = TotalsFrom(x, c);
  doc.sections.push_back({std::move(x)});
  return OkStatus();
}

// ---- 脱贫进度表 ----
Status Progress(const Ctx& c, Document& doc) {
  // Removed households (status 9, 注销) left the registry: they are neither exited nor
  // remaining. Returned households (3) count as remaining, not as exited.
  std::pair<std::string, std::vector<std::string>> kept{"status", {}}, out{"status", {}};
  for (const std::string& st : Codes(c.snap, analytics::kStatus)) {
    const int code = std::atoi(st.c_str());
    if (IsPoorStatus(code) || IsExitedStatus(code)) kept.second.push_back(st);
    if (IsExitedStatus(code)) out.second.push_back(st);
  }
  ASSIGN_OR_RETURN(analytics::QueryResult reg, Ask(c, {"households", "persons"},
                                                   {"registered_year"}, {c.RegionFilter(), kept}));
  ASSIGN_OR_RETURN(analytics::QueryResult ex,
                   Ask(c, {"households", "persons"}, {"exit_year"}, {c.RegionFilter(), out}));
  const auto registered = ByKey(reg, 1), exited = ByKey(ex, 1);
  int first = c.year;
  for (const auto& [y, v] : registered)
    if (!y.empty()) first = std::min(first, std::atoi(y.c_str()));
  Table t;
  t.title = c.T("历年识别与脱贫", "Registered and exited by year");
  t.columns = {Col(c.T("年度", "Year"), NumberFormat::kText, 8),
               Col(c.T("识别户数", "Registered households"), NumberFormat::kInteger, 12),
               Col(c.T("识别人数", "Registered persons"), NumberFormat::kInteger, 12),
               Col(c.T("脱贫户数", "Exited households"), NumberFormat::kInteger, 12),
               Col(c.T("脱贫人数", "Exited persons"), NumberFormat::kInteger, 12),
               Col(c.T("累计脱贫人数", "Exited persons, cumulative"), NumberFormat::kInteger, 14),
               Col(c.T("年末未脱贫人数", "Poor persons at year end"), NumberFormat::kInteger, 14),
               Col(c.T("累计脱贫率", "Exited share"), NumberFormat::kPercent, 10)};
  t.groups.push_back({{c.T("年度", "Year"), 0, 1},
                      {c.T("识别", "Registered"), 1, 2},
                      {c.T("脱贫", "Exited"), 3, 3},
                      {c.T("进度", "Progress"), 6, 2}});
  Chart chart;
  chart.title = c.T("历年脱贫人数与剩余贫困人口", "Exited and remaining persons by year");
  chart.value_axis = c.T("人", "persons");
  chart.series = {{c.T("脱贫人数", "Exited"), {}}, {c.T("年末未脱贫", "Poor at year end"), {}}};
  double reg_cum = 0, exit_cum = 0;
  for (int y = first; y <= c.year; ++y) {
    const std::string key = std::to_string(y);
    reg_cum += Get(registered, key, 1);
    exit_cum += Get(exited, key, 1);
    const double remaining = reg_cum - exit_cum;
    t.rows.push_back({key, Get(registered, key, 0), Get(registered, key, 1), Get(exited, key, 0),
                      Get(exited, key, 1), exit_cum, remaining,
                      reg_cum > 0 ? exit_cum / reg_cum : 0.0});
    chart.categories.push_back(key);
    chart.series[0].values.push_back(Get(exited, key, 1));
    chart.series[1].values.push_back(remaining);
  }
  t.note = c.T(
      "人数按户的当前成员计；年末未脱贫 = 累计识别 − 累计脱贫，返贫户计入未脱贫；已注销户不计。",
      "Persons are the households' current members; poor at year end = registered "
      "less exited, returned households counting as poor; removed households are left "
      "out.");
  doc.sections.push_back({std::move(t)});
  doc.sections.push_back({std::move(chart)});
  return OkStatus();
}

// ---- 政策落实情况表 ----
struct Policy {
  std::string_view dataset, zh, en;
};
constexpr Policy kPolicies[] = {
    {"health_enrollment", "医保参保", "Health insurance"},
    {"health_claims", "医疗报销救助", "Medical claims"},
    {"civil_dibao", "低保", "Dibao"},
    {"disability", "残疾人证", "Disability cert."},
    {"edu_students", "教育资助", "Student aid"},
    {"hr_employment", "就业", "Employment"},
    {"relocation", "易地搬迁", "Relocation"},
};

Status PolicyReport(const Ctx& c, Document& doc) {
  const std::string level(kLevels[c.child]);
  ASSIGN_OR_RETURN(analytics::QueryResult all, Ask(c, {"persons", "poor_persons"}, {level},
                                                   {c.RegionFilter(), c.YearFilter()}));
  ASSIGN_OR_RETURN(analytics::QueryResult linked,
                   Ask(c, {"persons"}, {level, "linked"}, {c.RegionFilter(), c.YearFilter()}));
  const auto persons = ByKey(all, 1), reached = ByKey(linked, 2);
  Table t;
  t.title = c.T("各部门政策覆盖人数与覆盖率", "Persons reached by each policy");
  RegionColumns(c, t);
  t.columns.push_back(Col(c.T("人数", "Persons"), NumberFormat::kInteger));
  t.columns.push_back(Col(c.T("未脱贫人数", "Poor persons"), NumberFormat::kInteger));
  t.groups.push_back({{c.T("区划", "Region"), 0, 2}, {c.T("建档立卡", "Registry"), 2, 2}});
  int at = 4;
  for (const Policy& p : kPolicies) {
    t.groups.back().push_back({c.T(p.zh, p.en), at, 2});
    t.columns.push_back(Col(c.T("人数", "Persons"), NumberFormat::kInteger, 9));
    t.columns.push_back(Col(c.T("覆盖率", "Rate"), NumberFormat::kPercent, 9));
    at += 2;
  }
  for (const std::string& code : c.Children()) {
    std::vector<Cell> row = RegionCells(c, code);
    const double n = Get(persons, code, 0);
    row.push_back(n);
    row.push_back(Get(persons, code, 1));
    for (const Policy& p : kPolicies) {
      const double k = Get(reached, code + "|" + std::string(p.dataset));
      row.push_back(k);
      row.push_back(n > 0 ? k / n : 0.0);
    }
    t.rows.push_back(std::move(row));
  }
  t.totals = TotalsFrom(t, c);
  Chart chart;
  chart.title = c.T("各项政策覆盖率", "Coverage of each policy");
  chart.value_axis = "%";
  chart.series.push_back({c.T("覆盖率", "Coverage"), {}});
  const double total = std::get<double>(t.totals[2]);
  for (size_t i = 0; i < std::size(kPolicies); ++i) {
    const double k = std::get<double>(t.totals[4 + 2 * i]);
    t.totals[5 + 2 * i] = total > 0 ? k / total : 0.0;
    chart.categories.push_back(c.T(kPolicies[i].zh, kPolicies[i].en));
    chart.series[0].values.push_back(total > 0 ? std::round(k / total * 1000) / 10 : 0);
  }
  t.note = c.T("覆盖：在该部门数据中有关联记录的建档立卡人员。",
               "Reached: registered persons with a linked record in the department's data.");
  doc.sections.push_back({std::move(t)});
  doc.sections.push_back({std::move(chart)});

  // Policy gaps flagged by the rules, by sub-region.
  ASSIGN_OR_RETURN(analytics::QueryResult gaps,
                   Ask(c, {"flags"}, {level, "flag"}, {c.RegionFilter(), c.YearFilter()}));
  std::vector<std::string> rules;
  for (const std::string& r : c.snap.rules)
    if (r.starts_with("GAP_")) rules.push_back(r);
  if (!rules.empty()) {
    const auto g = ByKey(gaps, 2);
    Table x;
    x.title = c.T("政策落实疑点（政策落实类规则，未核查与已核实）",
                  "Policy gaps flagged by the rules (open and verified)");
    RegionColumns(c, x);
    for (const std::string& r : rules)
      x.columns.push_back(Col(RuleName(c, r), NumberFormat::kInteger, 12));
    for (const std::string& code : c.Children()) {
      std::vector<Cell> row = RegionCells(c, code);
      for (const std::string& r : rules) row.push_back(Get(g, code + "|" + r));
      x.rows.push_back(std::move(row));
    }
    x.totals = TotalsFrom(x, c);
    doc.sections.push_back({std::move(x)});
  }
  return OkStatus();
}

// ---- 疑点核查清单 ----
// The names of the members of `households` (household_id -> names, longest first, so that
// a name inside another is not masked half), from one scan of the members table.
Result<MemberNameMap> MemberNames(store::Store& store, const std::set<std::string>& households) {
  MemberNameMap names;
  if (households.empty()) return names;
  std::string key;
  // Members who left are included: evidence may still quote their names.
  RETURN_IF_ERROR(
      store.Rules().ForEachMemberName({}, [&](std::string_view household, std::string_view name) {
        key.assign(household);
        if (households.contains(key)) names[key].emplace_back(name);
      }));
  for (auto& [household, list] : names)
    std::sort(list.begin(), list.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return names;
}

// The open flags by rule: name, id and count, and their total.
Table FlagSummary(const Ctx& c, const std::map<std::string, double>& by_rule) {
  Table summary;
  summary.title = c.T("疑点汇总", "Summary");
  summary.columns = {Col(c.T("规则", "Rule"), NumberFormat::kText, 36),
                     Col(c.T("规则编号", "Rule id"), NumberFormat::kText, 18),
                     Col(c.T("待核查条数", "Open flags"), NumberFormat::kInteger, 12)};
  for (const auto& [rule, n] : by_rule) summary.rows.push_back({RuleName(c, rule), rule, n});
  summary.totals = TotalsFrom(summary, c);
  return summary;
}

Status FlagList(const Ctx& c, store::Store& store, Document& doc) {
  const size_t digits[] = {2, 4, 6, 9, 12};
  store::FlagFilter filter;
  filter.region = c.region.substr(0, digits[c.level]);
  filter.state = store::FlagState::kOpen;
  Table list;
  list.title =
      c.T("待核查疑点（身份证号、姓名已脱敏）", "Flags to verify (ID numbers and names masked)");
  list.columns = {Col(c.T("疑点编号", "Flag id"), NumberFormat::kInteger, 8),
                  Col(c.T("规则", "Rule"), NumberFormat::kText, 18),
                  Col(c.T("类别", "Category"), NumberFormat::kText, 10),
                  Col(c.T("村", "Village"), NumberFormat::kText, 16),
                  Col(c.T("户编号", "Household"), NumberFormat::kText, 18),
                  Col(c.T("身份证号", "ID number"), NumberFormat::kText, 20),
                  Col(c.T("疑点说明", "Evidence"), NumberFormat::kText, 48),
                  Col(c.T("核查结果", "Result"), NumberFormat::kText, 12)};
  std::map<std::string, double> by_rule;
  std::vector<std::string> households;  // of each row, to mask the names in its evidence
  RETURN_IF_ERROR(store.Rules().ForEachFlag(filter, [&](const store::FlagRow& f) -> Status {
    std::string evidence = c.req.english ? f.flag.evidence_en : f.flag.evidence_zh;
    households.push_back(f.flag.household_id);
    list.rows.push_back({static_cast<double>(f.flag_id), RuleName(c, f.flag.rule),
                         CategoryLabel(c, f.flag.category), c.RegionName(4, f.flag.village_code),
                         f.flag.household_id,
                         f.flag.id_number.empty() ? std::string() : MaskIdNumber(f.flag.id_number),
                         std::move(evidence), std::string()});
    ++by_rule[f.flag.rule];
    return OkStatus();
  }));
  MemberNameMap read;
  if (!c.names) {
    ASSIGN_OR_RETURN(
        read, MemberNames(store, std::set<std::string>(households.begin(), households.end())));
  } else {
    // A household flagged after the index was read (a server builds a long list county by
    // county, applying edits in between): its names are read here, so they are masked too.
    for (const std::string& household : households) {
      if (c.names->contains(household) || read.contains(household)) continue;
      std::vector<std::string>& list = read[household];
      RETURN_IF_ERROR(store.Rules().ForEachMemberName(
          household, [&](std::string_view, std::string_view name) { list.emplace_back(name); }));
      std::sort(list.begin(), list.end(),
                [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    }
  }
  const auto names_of = [&](const std::string& household) -> std::span<const std::string> {
    if (auto it = read.find(household); it != read.end()) return it->second;
    if (c.names)
      if (auto it = c.names->find(household); it != c.names->end()) return it->second;
    return {};
  };
  for (size_t r = 0; r < list.rows.size(); ++r) {
    std::string& evidence = std::get<std::string>(list.rows[r][6]);
    evidence = MaskPersonalData(evidence, names_of(households[r]));
  }
  list.note = c.T(
      "请逐条核查。批量录入：fupin export flags --out 疑点.xlsx 导出核查表，填写“核查结果”"
      "（已核实 / 误报）后以 fupin flags import 疑点.xlsx 录入；疑点编号在各次规则运行间不变。",
      "Check each flag. To enter verdicts in bulk: fupin export flags --out flags.xlsx, fill in "
      "the verdict (verified / dismissed), then fupin flags import flags.xlsx; a flag keeps its "
      "id across rule runs.");
  doc.sections.push_back({FlagSummary(c, by_rule)});
  doc.sections.push_back({std::move(list)});
  return OkStatus();
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

// The years a report can be asked for: the income years of the data; for progress, any year
// from the first registration up to the latest of them.
std::vector<int> ReportYears(const Snapshot& snap, const std::string& template_name) {
  std::vector<int> years;
  for (size_t i = 1; i < snap.h_dicts[analytics::kIncomeYear].values.size(); ++i)
    years.push_back(std::atoi(snap.h_dicts[analytics::kIncomeYear].values[i].c_str()));
  std::sort(years.begin(), years.end());
  if (template_name == "progress" && !years.empty()) {
    int first = years.front();
    for (size_t i = 1; i < snap.h_dicts[analytics::kRegisteredYear].values.size(); ++i)
      if (const int y = std::atoi(snap.h_dicts[analytics::kRegisteredYear].values[i].c_str()); y)
        first = std::min(first, y);
    const int last = years.back();
    years.clear();
    for (int y = first; y <= last; ++y) years.push_back(y);
  }
  return years;
}

}  // namespace

const std::vector<TemplateInfo>& Templates() {
  static const std::vector<TemplateInfo> t = {
      {"registry", "建档立卡贫困人口统计表", "Registered poor population"},
      {"causes", "致贫原因分析表", "Causes of poverty"},
      {"progress", "脱贫进度表", "Progress out of poverty"},
      {"policy", "政策落实情况表", "Policy coverage"},
      {"flags", "疑点核查清单", "Flags to verify"},
  };
  return t;
}

Result<ReportScope> ResolveScope(const Snapshot& snap, const ReportRequest& req) {
  const auto T = [&](std::string_view zh, std::string_view en) {
    return fmt::runtime(req.english ? en : zh);
  };
  ReportScope scope;
  for (const TemplateInfo& t : Templates())
    if (t.name == req.template_name) scope.info = &t;
  if (!scope.info) {
    std::vector<std::string> names;
    for (const TemplateInfo& t : Templates()) names.push_back(t.name);
    return Err(InvalidArgument(
        fmt::format(T("未知报表模板“{}”（可用模板：{}）", "unknown template '{}' (templates: {})"),
                    req.template_name, fmt::join(names, ", "))));
  }
  scope.region = req.region.empty() ? (snap.region_codes[0].empty() ? "" : snap.region_codes[0][0])
                                    : req.region;
  const size_t n = scope.region.size();
  if ((n == 2 || n == 4 || n == 6 || n == 9) &&
      scope.region.find_first_not_of("0123456789") == std::string::npos)
    scope.region.resize(12, '0');
  scope.level = -1;
  for (int l = 0; l < analytics::kRegionLevels && scope.level < 0; ++l) {
    const auto& codes = snap.region_codes[static_cast<size_t>(l)];
    if (std::binary_search(codes.begin(), codes.end(), scope.region)) scope.level = l;
  }
  if (scope.level < 0)
    return Err(InvalidArgument(fmt::format(
        T("未知区划“{}”：数据中没有该区划（请给 12 位区划代码或其前 2、4、6、9 位）",
          "unknown region '{}': the data holds no such region (give a 12-digit code or its "
          "first 2, 4, 6 or 9 digits)"),
        req.region)));
  scope.year = req.year ? req.year : snap.data_year;
  const std::vector<int> years = ReportYears(snap, req.template_name);
  if (std::find(years.begin(), years.end(), scope.year) == years.end()) {
    std::string list = years.empty() ? (req.english ? "none" : "无") : "";
    if (req.template_name == "progress" && !years.empty())
      list = fmt::format("{}–{}", years.front(), years.back());
    else if (!years.empty())
      list = fmt::format("{}", fmt::join(years, ", "));
    return Err(InvalidArgument(
        fmt::format(T("数据中没有 {} 年度（{}可用年度：{}）",
                      "no data for year {} (years the {} report can show: {})"),
                    scope.year, req.english ? req.template_name : scope.info->title_zh, list)));
  }
  return scope;
}

Result<std::vector<RegionCount>> FlagBoundsByCounty(const Snapshot& snap,
                                                    const ReportRequest& request) {
  ASSIGN_OR_RETURN(const ReportScope scope, ResolveScope(snap, request));
  QuerySpec q;
  q.measures = {"flags"};
  q.by = {"county"};
  q.where = {{std::string(kLevels[scope.level]), {scope.region}}};
  ASSIGN_OR_RETURN(const analytics::QueryResult r, analytics::RunQuery(snap, q));
  Ctx c{snap, request};
  std::vector<RegionCount> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (r.values[i].empty() || r.values[i][0] <= 0) continue;
    const std::string& code = r.rows[i][0];
    out.push_back({code, c.RegionName(2, code), static_cast<int64_t>(r.values[i][0])});
  }
  return out;
}

namespace {
// BuildReport; a flags report takes its names from `index` when given, and is only the
// summary by rule (from the index's counts) when `summary_only`.
Result<Document> Build(const Snapshot& snap, store::Store& store, const ReportRequest& req,
                       const FlagListIndex* index, bool summary_only);
constexpr int kDigits[] = {2, 4, 6, 9, 12};
}  // namespace

Result<FlagListIndex> IndexFlagList(const Snapshot& snap, store::Store& store,
                                    const ReportRequest& request) {
  ASSIGN_OR_RETURN(const ReportScope scope, ResolveScope(snap, request));
  store::FlagFilter filter;
  filter.region = scope.region.substr(0, static_cast<size_t>(kDigits[scope.level]));
  filter.state = store::FlagState::kOpen;
  std::map<std::string, int64_t> counts;
  std::set<std::string> households;
  FlagListIndex index;
  RETURN_IF_ERROR(store.Rules().ForEachFlag(filter, [&](const store::FlagRow& f) -> Status {
    ++counts[f.flag.village_code.substr(0, 6) + "000000"];
    ++index.by_rule[f.flag.rule];
    households.insert(f.flag.household_id);
    return OkStatus();
  }));
  Ctx c{snap, request};
  for (const auto& [code, n] : counts) index.counties.push_back({code, c.RegionName(2, code), n});
  ASSIGN_OR_RETURN(index.names, MemberNames(store, households));
  return index;
}

Result<Document> BuildFlagList(const Snapshot& snap, store::Store& store,
                               const ReportRequest& request, const FlagListIndex& index) {
  return Build(snap, store, request, &index, false);
}

Result<Document> BuildFlagSummary(const Snapshot& snap, store::Store& store,
                                  const ReportRequest& request, const FlagListIndex& index) {
  return Build(snap, store, request, &index, true);
}

Result<Document> BuildReport(const Snapshot& snap, store::Store& store, const ReportRequest& req) {
  return Build(snap, store, req, nullptr, false);
}

namespace {
Result<Document> Build(const Snapshot& snap, store::Store& store, const ReportRequest& req,
                       const FlagListIndex* index, bool summary_only) {
  ASSIGN_OR_RETURN(const ReportScope scope, ResolveScope(snap, req));
  const TemplateInfo* info = scope.info;
  Ctx c{snap, req, index ? &index->names : nullptr};
  c.region = scope.region;
  c.level = scope.level;
  c.child = std::min(c.level + 1, analytics::kRegionLevels - 1);
  c.year = scope.year;
  Document doc;
  doc.english = req.english;
  doc.title = req.english ? info->title_en : info->title_zh;
  doc.region_code = c.region;
  doc.region_name = c.RegionName(c.level, c.region);
  doc.year = c.year;
  doc.date = req.date.empty() ? Today() : req.date;
  doc.sheet_name = doc.title;  // at most 12 characters (Excel allows 31)
  if (req.english) doc.sheet_name = req.template_name;
  if (req.template_name == "registry") RETURN_IF_ERROR(Registry(c, doc));
  if (req.template_name == "causes") RETURN_IF_ERROR(Causes(c, doc));
  if (req.template_name == "progress") RETURN_IF_ERROR(Progress(c, doc));
  if (req.template_name == "policy") RETURN_IF_ERROR(PolicyReport(c, doc));
  if (req.template_name == "flags" && summary_only) {
    std::map<std::string, double> by_rule;
    for (const auto& [rule, n] : index->by_rule) by_rule[rule] = static_cast<double>(n);
    doc.sections.push_back({FlagSummary(c, by_rule)});
  } else if (req.template_name == "flags") {
    RETURN_IF_ERROR(FlagList(c, store, doc));
  }
  return doc;
}

}  // namespace

}  // namespace fupin::reports
