#include "service/query.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/code_lists.h"
#include "core/datasets.h"
#include "core/display_width.h"
#include "core/text.h"

namespace fupin::service {

namespace {

using analytics::DimensionInfo;
using analytics::DimensionKind;

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Spaces and full-width forms folded, as the importer compares labels.
std::string Fold(std::string_view text) { return RemoveAllSpace(FullWidthToAscii(text)); }

std::string_view Pick(Lang lang, std::string_view zh, std::string_view en) {
  return lang == Lang::kZh ? zh : en;
}

constexpr std::string_view kLevelZh[] = {"省", "市州", "县", "乡镇", "村"};

Status Unknown(Lang lang, std::string_view dim, std::string_view value, std::string_view what_zh,
               std::string_view what_en, const std::vector<std::string>& accepted) {
  const std::string list = fmt::format("{}", fmt::join(accepted, ", "));
  if (lang == Lang::kZh)
    return InvalidArgument(fmt::format("--where {}={}: 没有这个{}（可用: {}）", dim, value, what_zh,
                                       list.empty() ? "无" : list));
  return InvalidArgument(fmt::format("--where {}={}: no such {} (known: {})", dim, value, what_en,
                                     list.empty() ? "none" : list));
}

// A region value: a 12-digit code, its significant digits, or the exact name of one region of
// that level.
Result<std::string> ResolveRegion(const analytics::Snapshot& snap, const DimensionInfo& info,
                                  const std::string& value, Lang lang) {
  const auto level = static_cast<size_t>(info.region_level);
  const auto& codes = snap.region_codes[level];
  const auto& names = snap.region_names[level];
  std::string code = value;
  if ((code.size() == 2 || code.size() == 4 || code.size() == 6 || code.size() == 9) &&
      code.find_first_not_of("0123456789") == std::string::npos)
    code.resize(12, '0');
  if (std::binary_search(codes.begin(), codes.end(), code)) return code;
  std::vector<size_t> named;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == value) named.push_back(i);
  if (named.size() == 1) return codes[named[0]];
  if (named.size() > 1) {
    std::vector<std::string> choices;
    for (size_t i : named) choices.push_back(codes[i]);
    return Err(InvalidArgument(fmt::format(
        fmt::runtime(Pick(lang, "--where {}={}: 有 {} 个同名的{}，请用代码: {}",
                          "--where {}={}: {} regions of level {} have that name; give a code: {}")),
        info.name, value, named.size(), lang == Lang::kZh ? kLevelZh[level] : info.name,
        fmt::join(choices, ", "))));
  }
  return Err(InvalidArgument(fmt::format(
      fmt::runtime(Pick(lang,
                        "--where {0}={1}: 没有这个{2}级区划（12 位代码或其前 2、4、6、9 "
                        "位有效数字，或区划名称）",
                        "--where {0}={1}: no such {0} (a 12-digit code, its 2, 4, 6 or 9 "
                        "significant digits, or the region's name)")),
      info.name, value, kLevelZh[level])));
}

// A coded value: the code or a label (zh or en), as the snapshot writes that code.
Result<std::string> ResolveCode(const analytics::Snapshot& snap, const DimensionInfo& info,
                                const std::string& value, Lang lang) {
  const CodeList* list = FindCodeList(info.code_list);
  const CodeEntry* entry = nullptr;
  const std::string folded = Fold(value);
  char* end = nullptr;
  const long number = std::strtol(value.c_str(), &end, 10);
  if (!value.empty() && *end == '\0' && number >= 0 && number < 1000000) {
    entry = list->Find(static_cast<int>(number));
  } else {
    for (const CodeEntry& e : list->entries)
      if (Fold(e.label_zh) == folded || Fold(e.label_en) == folded) entry = &e;
  }
  if (!entry) {
    std::vector<std::string> accepted;
    for (const CodeEntry& e : list->entries)
      accepted.push_back(fmt::format("{} {}", e.code, lang == Lang::kZh ? e.label_zh : e.label_en));
    return Err(Unknown(lang, info.name, value, std::string(list->title_zh) + "代码",
                       std::string(info.name) + " code", accepted));
  }
  for (const std::string& v : analytics::DimensionValues(snap, info.name)) {
    end = nullptr;
    if (std::strtol(v.c_str(), &end, 10) == entry->code && *end == '\0') return v;
  }
  return std::to_string(entry->code);  // a known code no household has: an empty group
}

std::vector<std::string> KnownRules(const analytics::Snapshot& snap,
                                    const rules::RuleSet* rule_set) {
  std::vector<std::string> ids = snap.rules;
  if (rule_set)
    for (const rules::Rule& r : rule_set->rules) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<std::string> ResolveValue(const analytics::Snapshot& snap, const rules::RuleSet* rule_set,
                                 const DimensionInfo& info, const std::string& value, Lang lang) {
  if (value.empty()) return value;
  switch (info.kind) {
    case DimensionKind::kRegion:
      return ResolveRegion(snap, info, value, lang);
    case DimensionKind::kCoded:
      return ResolveCode(snap, info, value, lang);
    case DimensionKind::kYear:
    case DimensionKind::kAgeBand: {
      std::vector<std::string> present = analytics::DimensionValues(snap, info.name);
      if (info.kind == DimensionKind::kAgeBand) present = {"0-6", "7-15", "16-59", "60+"};
      if (std::find(present.begin(), present.end(), value) != present.end()) return value;
      if (info.kind == DimensionKind::kAgeBand)
        return Err(Unknown(lang, info.name, value, "年龄段", "age band", present));
      return Err(Unknown(lang, info.name, value, "年度的户", "year in the registry", present));
    }
    case DimensionKind::kFlag: {
      const std::vector<std::string> known = KnownRules(snap, rule_set);
      if (std::binary_search(known.begin(), known.end(), value)) return value;
      return Err(Unknown(lang, info.name, value, "规则", "rule", known));
    }
    case DimensionKind::kIncomeBand: {
      std::vector<std::string> accepted;
      for (const analytics::IncomeBand& b : analytics::IncomeBands()) {
        if (b.value == value || Fold(b.label_zh) == Fold(value) || Fold(b.label_en) == Fold(value))
          return std::string(b.value);
        accepted.emplace_back(b.value);
      }
      return Err(Unknown(lang, info.name, value, "收入分组", "income band", accepted));
    }
    case DimensionKind::kLinked: {
      std::vector<std::string> names;
      for (const DatasetSpec& d : AllDatasets()) {
        if (d.kind != DatasetKind::kDepartment) continue;
        if (d.name == value || d.title_zh == value) return std::string(d.name);
        names.emplace_back(d.name);
      }
      return Err(Unknown(lang, info.name, value, "部门数据集", "department data set", names));
    }
  }
  return value;
}

}  // namespace

std::optional<rules::LineKind> NamedLine(std::string_view line) {
  if (line == "exit") return rules::LineKind::kExit;
  if (line == "nbs") return rules::LineKind::kNbs;
  if (line == "monitoring") return rules::LineKind::kMonitoring;
  return std::nullopt;
}

Result<analytics::QuerySpec> BuildQuerySpec(const QueryParams& params, Lang lang) {
  analytics::QuerySpec base;
  base.threads = params.threads;
  base.poverty.k = params.mpi_k;
  for (const std::string& item : SplitComma(params.mpi_indicators)) {
    analytics::MpiIndicator ind;
    const size_t colon = item.find(':');
    ind.name = item.substr(0, colon);
    if (colon != std::string::npos) {
      char* end = nullptr;
      const std::string w = item.substr(colon + 1);
      ind.weight = std::strtod(w.c_str(), &end);
      if (w.empty() || *end != '\0')
        return Err(InvalidArgument(fmt::format(
            "--mpi-indicators {}: {}", item,
            Pick(lang, "权重须为数字（指标:权重）", "a weight must be a number (name:weight)"))));
    }
    base.poverty.indicators.push_back(std::move(ind));
  }
  if (!NamedLine(params.line)) {
    char* end = nullptr;
    base.poverty.line = std::strtod(params.line.c_str(), &end);
    if (params.line.empty() || *end != '\0' || !(base.poverty.line > 0))
      return Err(InvalidArgument(fmt::format(
          "--line {}: {}", params.line,
          Pick(lang, "贫困线须为正数（元/人·年）或 exit、nbs、monitoring",
               "the line is a positive number of yuan per person per year, or exit, nbs, "
               "monitoring"))));
  }
  base.measures = SplitComma(params.measures);
  base.by = SplitComma(params.by);
  base.where.clear();
  for (const std::string& w : params.where) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return Err(InvalidArgument(fmt::format(
          "--where {}: {}", w, Pick(lang, "须为 维度=值[,值]", "need dimension=value[,value]"))));
    const std::string dim = w.substr(0, eq);
    std::vector<std::string> values = SplitComma(std::string_view(w).substr(eq + 1));
    base.where.emplace_back(dim, std::move(values));
  }
  std::vector<std::string> named = base.by;
  for (const auto& [dim, values] : base.where) named.push_back(dim);
  for (const std::string& dim : named)
    if (!analytics::FindDimensionInfo(dim))
      return Err(
          InvalidArgument(fmt::format(fmt::runtime(Pick(lang, "没有维度 '{}'（维度: {}）",
                                                        "unknown dimension '{}' (dimensions: {})")),
                                      dim, fmt::join(analytics::DimensionNames(), ", "))));
  RETURN_IF_ERROR(analytics::CheckQuery(base));
  return base;
}

Result<std::string> ApplyLines(const analytics::Snapshot& snap, const rules::RuleSet& rule_set,
                               const QueryParams& params, analytics::QuerySpec& spec, Lang lang) {
  const std::optional<rules::LineKind> kind = NamedLine(params.line);
  if (!kind) return std::string();
  spec.poverty.lines = analytics::LinesByYear(snap, rule_set.thresholds, *kind);
  bool poverty = false;
  for (const std::string& m : spec.measures)
    poverty |= m.starts_with("fgt_") || m.starts_with("mpi_");
  for (const std::string& d : spec.by) poverty |= d == "income_band";
  for (const auto& [d, values] : spec.where) poverty |= d == "income_band";
  std::vector<std::string> missing;
  for (const std::string& y : snap.h_dicts[analytics::kIncomeYear].values)
    if (!y.empty() && !spec.poverty.lines.contains(std::atoi(y.c_str()))) missing.push_back(y);
  if (!poverty || missing.empty()) return std::string();
  const std::string years = fmt::format("{}", fmt::join(missing, ", "));
  if (spec.poverty.lines.empty())
    return Err(FailedPrecondition(fmt::format(
        fmt::runtime(Pick(lang,
                          "规则中没有收入年度 {} 的 {} 贫困线：请给出 --line 元数，"
                          "或 --line exit|nbs|monitoring 中有该年度的一种",
                          "the rules have no {1} line for income year {0}: give --line YUAN, "
                          "or the one of exit|nbs|monitoring that has it")),
        years, params.line)));
  return fmt::format(
      fmt::runtime(Pick(lang,
                        "注意: 规则中没有收入年度 {} 的 {} 贫困线，这些户不计入 fgt_/mpi_ 指标",
                        "note: the rules have no {1} line for income year {0}: those "
                        "households are left out of the fgt_ and mpi_ measures")),
      years, params.line);
}

Status ResolveWhere(const analytics::Snapshot& snap, const rules::RuleSet* rule_set, Where& where,
                    Lang lang) {
  for (auto& [dim, values] : where) {
    const std::optional<DimensionInfo> info = analytics::FindDimensionInfo(dim);
    if (!info)
      return InvalidArgument(
          fmt::format(fmt::runtime(Pick(lang, "--where 中没有维度 '{}'（维度: {}）",
                                        "unknown dimension '{}' in --where (dimensions: {})")),
                      dim, fmt::join(analytics::DimensionNames(), ", ")));
    for (std::string& v : values) {
      ASSIGN_OR_RETURN(std::string code, ResolveValue(snap, rule_set, *info, v, lang));
      v = std::move(code);
    }
  }
  return OkStatus();
}

std::string ValueLabel(const analytics::Snapshot& snap, const rules::RuleSet* rule_set,
                       std::string_view dimension, std::string_view value, Lang lang) {
  if (value.empty()) return std::string(Pick(lang, "（空）", "(none)"));
  const std::optional<DimensionInfo> info = analytics::FindDimensionInfo(dimension);
  if (!info) return std::string(value);
  switch (info->kind) {
    case DimensionKind::kRegion: {
      const auto level = static_cast<size_t>(info->region_level);
      const auto& codes = snap.region_codes[level];
      auto it = std::lower_bound(codes.begin(), codes.end(), value);
      if (it != codes.end() && *it == value)
        return snap.region_names[level][static_cast<size_t>(it - codes.begin())];
      break;
    }
    case DimensionKind::kCoded: {
      const CodeList* list = FindCodeList(info->code_list);
      char* end = nullptr;
      const std::string text(value);
      const long code = std::strtol(text.c_str(), &end, 10);
      if (*end == '\0' && code >= 0 && code < 1000000)
        if (const CodeEntry* e = list->Find(static_cast<int>(code)))
          return std::string(lang == Lang::kZh ? e->label_zh : e->label_en);
      break;
    }
    case DimensionKind::kFlag:
      if (rule_set)
        for (const rules::Rule& r : rule_set->rules)
          if (r.id == value) return lang == Lang::kZh ? r.name_zh : r.name_en;
      break;
    case DimensionKind::kLinked:
      if (const DatasetSpec* d = FindDataset(value))
        return std::string(lang == Lang::kZh ? d->title_zh : d->title_en);
      break;
    case DimensionKind::kIncomeBand:
      for (const analytics::IncomeBand& b : analytics::IncomeBands())
        if (b.value == value) return std::string(lang == Lang::kZh ? b.label_zh : b.label_en);
      break;
    case DimensionKind::kYear:
    case DimensionKind::kAgeBand:
      break;
  }
  return std::string(value);
}

std::string DimensionTitle(std::string_view dimension, Lang lang) {
  if (lang != Lang::kZh) return std::string(dimension);
  const std::optional<DimensionInfo> info = analytics::FindDimensionInfo(dimension);
  if (!info) return std::string(dimension);
  switch (info->kind) {
    case DimensionKind::kRegion:
      return std::string(kLevelZh[info->region_level]);
    case DimensionKind::kCoded:
      if (dimension == "primary_cause") return "主要致贫原因";
      if (dimension == "in_school") return "在校生状况";
      if (dimension == "work_status") return "务工状况";
      for (const FieldSpec& f : FindDataset("households")->fields)
        if (f.name == dimension) return std::string(f.label_zh);
      for (const FieldSpec& f : FindDataset("members")->fields)
        if (f.name == dimension) return std::string(f.label_zh);
      break;
    case DimensionKind::kYear:
      return dimension == "year" ? "收入年度" : dimension == "exit_year" ? "脱贫年度" : "识别年度";
    case DimensionKind::kAgeBand:
      return "年龄段";
    case DimensionKind::kIncomeBand:
      return "收入与标准之比";
    case DimensionKind::kFlag:
      return "疑点规则";
    case DimensionKind::kLinked:
      return "关联部门数据";
  }
  return std::string(dimension);
}

Result<QueryAnswer> AnswerQuery(const analytics::Snapshot& snap, const rules::RuleSet* rule_set,
                                const analytics::QuerySpec& spec, Lang lang) {
  ASSIGN_OR_RETURN(analytics::QueryResult result, analytics::RunQuery(snap, spec));
  QueryAnswer answer;
  answer.dimensions = spec.by;
  answer.measures = spec.measures;
  answer.from_cube = result.from_cube;
  const size_t dims = spec.by.size();
  for (std::vector<std::string>& r : result.rows) {
    QueryAnswer::Row row;
    for (size_t d = 0; d < dims; ++d) {
      row.labels.push_back(ValueLabel(snap, rule_set, spec.by[d], r[d], lang));
      row.codes.push_back(std::move(r[d]));
    }
    for (size_t m = dims; m < r.size(); ++m) row.texts.push_back(std::move(r[m]));
    answer.rows.push_back(std::move(row));
  }
  return answer;
}

std::string MeasureTitle(std::string_view measure, Lang lang) {
  static constexpr std::pair<std::string_view, std::string_view> kTitles[] = {
      {"persons", "人数"},
      {"households", "户数"},
      {"poor_persons", "贫困人口"},
      {"exited_persons", "脱贫人口"},
      {"returned_persons", "返贫人口"},
      {"monitored_persons", "监测对象人口"},
      {"poor_households", "贫困户数"},
      {"incidence", "贫困人口占比"},
      {"mean_income", "人均纯收入均值（元）"},
      {"median_income", "人均纯收入中位数（元）"},
      {"income_wage", "工资性收入（元）"},
      {"income_business", "生产经营性收入（元）"},
      {"income_property", "财产性收入（元）"},
      {"income_transfer", "转移性收入（元）"},
      {"flags", "疑点数"},
      {"flagged_households", "有疑点户数"},
  };
  if (lang == Lang::kZh)
    for (const auto& [name, title] : kTitles)
      if (name == measure) return std::string(title);
  return std::string(measure);
}

std::vector<std::string> AnswerHeader(const QueryAnswer& answer, bool titles, Lang lang) {
  std::vector<std::string> header;
  for (const std::string& d : answer.dimensions)
    header.push_back(titles ? DimensionTitle(d, lang) : d);
  for (const std::string& m : answer.measures) header.push_back(titles ? MeasureTitle(m, lang) : m);
  return header;
}

std::vector<std::vector<std::string>> AnswerCells(const QueryAnswer& answer, bool codes) {
  std::vector<std::vector<std::string>> cells;
  for (const QueryAnswer::Row& r : answer.rows) {
    std::vector<std::string> line = codes ? r.codes : r.labels;
    line.insert(line.end(), r.texts.begin(), r.texts.end());
    cells.push_back(std::move(line));
  }
  return cells;
}

std::string AnswerCsv(const QueryAnswer& answer, bool codes) {
  std::string out;
  auto line = [&](std::span<const std::string> cells) { AppendCsvLine(out, cells); };
  line(AnswerHeader(answer, false, Lang::kEn));
  for (const auto& cells : AnswerCells(answer, codes)) line(cells);
  return out;
}

std::string AnswerJson(const QueryAnswer& answer) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const QueryAnswer::Row& r : answer.rows) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (size_t d = 0; d < answer.dimensions.size(); ++d) {
      o[answer.dimensions[d]] = r.codes[d];
      o[answer.dimensions[d] + "_label"] = r.labels[d];
    }
    for (size_t m = 0; m < answer.measures.size(); ++m) {
      const std::string& text = r.texts[m];
      if (text.empty()) {
        o[answer.measures[m]] = nullptr;
      } else if (text.find('.') == std::string::npos) {
        o[answer.measures[m]] = std::strtoll(text.c_str(), nullptr, 10);
      } else {
        o[answer.measures[m]] = std::strtod(text.c_str(), nullptr);
      }
    }
    rows.push_back(std::move(o));
  }
  return rows.dump();
}

std::string AnswerTable(const QueryAnswer& answer, bool codes, Lang lang) {
  std::vector<Align> align(answer.dimensions.size(), Align::kLeft);
  align.resize(answer.dimensions.size() + answer.measures.size(), Align::kRight);
  return FormatTable(AnswerHeader(answer, true, lang), AnswerCells(answer, codes), align);
}

namespace {

const std::vector<std::string> kListColumns = {"household_id",      "village",       "status",
                                               "category",          "primary_cause", "members",
                                               "per_capita_income", "flags"};

std::vector<std::vector<std::string>> ListCells(const analytics::Snapshot& snap,
                                                const analytics::HouseholdList& list, bool codes,
                                                Lang lang) {
  auto shown = [&](std::string_view dim, const std::string& code) {
    return codes ? code : ValueLabel(snap, nullptr, dim, code, lang);
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : list.rows)
    rows.push_back({r.household_id, shown("village", r.village_code), shown("status", r.status),
                    shown("category", r.category), shown("primary_cause", r.primary_cause),
                    std::to_string(r.members),
                    std::isnan(r.per_capita_income) ? std::string()
                                                    : fmt::format("{:.2f}", r.per_capita_income),
                    fmt::format("{}", fmt::join(r.flags, ";"))});
  return rows;
}

}  // namespace

std::string HouseholdListCsv(const analytics::Snapshot& snap, const analytics::HouseholdList& list,
                             bool codes, Lang lang) {
  std::string out;
  auto line = [&](std::span<const std::string> cells) { AppendCsvLine(out, cells); };
  line(kListColumns);
  for (const auto& cells : ListCells(snap, list, codes, lang)) line(cells);
  return out;
}

std::string HouseholdListTable(const analytics::Snapshot& snap,
                               const analytics::HouseholdList& list, bool codes, Lang lang) {
  std::vector<std::string> titles = kListColumns;
  for (size_t i = 1; i < 5; ++i) titles[i] = DimensionTitle(kListColumns[i], lang);
  if (lang == Lang::kZh)
    titles[0] = "户编号", titles[5] = "人口", titles[6] = "人均纯收入", titles[7] = "疑点";
  return FormatTable(titles, ListCells(snap, list, codes, lang),
                     {Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft,
                      Align::kRight, Align::kRight});
}

std::string HouseholdListJson(const analytics::Snapshot& snap, const analytics::HouseholdList& list,
                              Lang lang) {
  using Json = nlohmann::ordered_json;
  auto label = [&](std::string_view dim, const std::string& code) {
    return ValueLabel(snap, nullptr, dim, code, lang);
  };
  Json rows = Json::array();
  for (const auto& r : list.rows)
    rows.push_back({{"household_id", r.household_id},
                    {"village", r.village_code},
                    {"village_label", label("village", r.village_code)},
                    {"status", r.status},
                    {"status_label", label("status", r.status)},
                    {"category", r.category},
                    {"category_label", label("category", r.category)},
                    {"primary_cause", r.primary_cause},
                    {"primary_cause_label", label("primary_cause", r.primary_cause)},
                    {"members", r.members},
                    {"per_capita_income",
                     std::isnan(r.per_capita_income) ? Json() : Json(r.per_capita_income)},
                    {"flags", r.flags}});
  return Json{{"total", list.total}, {"households", rows}}.dump();
}

}  // namespace fupin::service
