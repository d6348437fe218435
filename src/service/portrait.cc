#include "service/portrait.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/code_lists.h"
#include "core/datasets.h"
#include "core/display_width.h"
#include "service/query.h"

namespace fupin::service {

namespace {

using Json = nlohmann::ordered_json;

bool Zh(Lang lang) { return lang == Lang::kZh; }

// The label of a code of `list`, or the text itself when it is not one.
std::string CodeLabel(std::string_view list_name, std::string_view text, Lang lang) {
  const CodeList* list = FindCodeList(list_name);
  const std::string s(text);
  char* end = nullptr;
  const long code = std::strtol(s.c_str(), &end, 10);
  if (list && !s.empty() && *end == '\0' && code >= 0 && code < 1000000)
    if (const CodeEntry* e = list->Find(static_cast<int>(code)))
      return std::string(Zh(lang) ? e->label_zh : e->label_en);
  return s;
}

// A value of a field as shown: labels for codes and code sets, the village by name.
struct Shown {
  std::string value, code;
};
Shown ShowValue(const FieldSpec& f, const std::string& value, Lang lang,
                const std::unordered_map<std::string, std::string>& village_names) {
  if (value.empty()) return {};
  switch (f.type) {
    case FieldType::kCode:
      return {CodeLabel(f.code_list, value, lang), value};
    case FieldType::kCodeSet: {
      std::vector<std::string> labels;
      size_t start = 0;
      while (start <= value.size()) {
        size_t semi = value.find(';', start);
        if (semi == std::string::npos) semi = value.size();
        if (semi > start)
          labels.push_back(CodeLabel(f.code_list, value.substr(start, semi - start), lang));
        start = semi + 1;
      }
      return {fmt::format("{}", fmt::join(labels, Zh(lang) ? "、" : "; ")), value};
    }
    case FieldType::kVillage:
    case FieldType::kRegion: {
      auto it = village_names.find(value);
      if (it != village_names.end()) return {it->second, value};
      return {value, ""};
    }
    default:
      return {value, ""};
  }
}

void LabelFields(const DatasetSpec& d, std::vector<analytics::PortraitField>& fields, Lang lang,
                 const std::unordered_map<std::string, std::string>& names) {
  for (analytics::PortraitField& f : fields)
    for (const FieldSpec& spec : d.fields)
      if (spec.name == f.name) {
        Shown s = ShowValue(spec, f.value, lang, names);
        f.value = std::move(s.value);
        f.code = std::move(s.code);
        break;
      }
}

// The field of the household or member table a history column belongs to.
const FieldSpec* HistoryField(std::string_view column, bool member, bool& raw) {
  const DatasetSpec* d = FindDataset(member ? "members" : "households");
  for (const FieldSpec& f : d->fields) {
    const std::string stored = StoredColumnName(f);
    raw = column == stored + "_raw";
    if (column == stored || raw) return &f;
    if (column == stored + "_problem") return nullptr;
  }
  return nullptr;
}

std::string Yuan(const std::string& fen) {
  if (fen.empty()) return "";
  char* end = nullptr;
  const long long v = std::strtoll(fen.c_str(), &end, 10);
  if (*end != '\0') return fen;
  return fmt::format("{}{}.{:02}", v < 0 ? "-" : "", std::llabs(v) / 100, std::llabs(v) % 100);
}

HistoryLine ShowHistory(const store::RulesStore::HistoryRow& h, Lang lang,
                        const std::unordered_map<std::string, std::string>& names) {
  HistoryLine line{h.batch_id,  h.at,        h.entity_key, h.field, h.field,
                   h.old_value, h.new_value, "",           ""};
  bool raw = false;
  const FieldSpec* f = HistoryField(h.field, h.entity_key.find('/') != std::string::npos, raw);
  if (!f) return line;
  line.title = Zh(lang) ? std::string(f->label_zh) : std::string(f->name);
  if (raw) {
    line.title += Zh(lang) ? "（原文）" : " (as written)";
    return line;
  }
  if (f->type == FieldType::kMoney) {
    line.old_value = Yuan(h.old_value);
    line.new_value = Yuan(h.new_value);
    return line;
  }
  Shown o = ShowValue(*f, h.old_value, lang, names), n = ShowValue(*f, h.new_value, lang, names);
  line.old_value = std::move(o.value);
  line.new_value = std::move(n.value);
  line.old_code = std::move(o.code);
  line.new_code = std::move(n.code);
  return line;
}

std::string StateText(store::FlagState state, Lang lang) {
  if (!Zh(lang)) return std::string(store::FlagStateName(state));
  switch (state) {
    case store::FlagState::kOpen:
      return "待核查";
    case store::FlagState::kVerified:
      return "已核实";
    case store::FlagState::kDismissed:
      return "已排除";
    case store::FlagState::kClosed:
      return "已关闭";
  }
  return std::string(store::FlagStateName(state));
}

Json FieldsJson(const std::vector<analytics::PortraitField>& fields) {
  Json o = Json::object();
  for (const auto& f : fields) {
    o[f.name] = f.value;
    if (!f.code.empty()) o[f.name + "_code"] = f.code;
  }
  return o;
}

// Name and value lines, values lined up; a region shows its name and its code. `extra` lines
// follow the fields.
std::string FieldsText(const std::vector<analytics::PortraitField>& fields, Lang lang,
                       std::vector<std::vector<std::string>> extra = {}) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : fields) {
    if (f.value.empty()) continue;
    const bool region = f.name == "village_code" || f.name == "region_code";
    rows.push_back({Zh(lang) ? f.label : f.name,
                    region && !f.code.empty() ? fmt::format("{} ({})", f.value, f.code) : f.value});
  }
  for (auto& e : extra) rows.push_back(std::move(e));
  std::string out;
  int width = 0;
  for (const auto& r : rows) width = std::max(width, DisplayWidth(r[0]));
  for (const auto& r : rows) out += fmt::format("  {}  {}\n", PadToWidth(r[0], width), r[1]);
  return out;
}

}  // namespace

Result<HouseholdView> ShowHousehold(store::Store& store, std::string_view household_id,
                                    const PortraitOptions& options) {
  auto portrait = analytics::ReadHouseholdPortrait(store, household_id, options.threads,
                                                   options.mask, options.index);
  if (!portrait) {
    if (portrait.error().code() == StatusCode::kNotFound)
      return Err(NotFound(fmt::format(
          fmt::runtime(Zh(options.lang) ? "户 {} 不在建档立卡名单中（户编号见 fupin query --list）"
                                        : "no household {} in the registry (household ids: "
                                          "fupin query --list)"),
          household_id)));
    return Err(portrait.error());
  }
  HouseholdView view;
  view.household_id = std::string(household_id);
  view.portrait = std::move(*portrait);
  std::unordered_map<std::string, std::string> own_names;
  if (!options.region_names) {
    ASSIGN_OR_RETURN(std::vector<store::Region> regions, store.LoadRegions());
    for (const store::Region& r : regions) own_names.emplace(r.code, r.name);
  }
  const std::unordered_map<std::string, std::string>& names =
      options.region_names ? *options.region_names : own_names;
  LabelFields(*FindDataset("households"), view.portrait.household, options.lang, names);
  for (auto& m : view.portrait.members)
    LabelFields(*FindDataset("members"), m, options.lang, names);
  for (analytics::LinkedRecord& r : view.portrait.records)
    if (const DatasetSpec* d = FindDataset(r.dataset))
      LabelFields(*d, r.fields, options.lang, names);
  for (const auto& h : view.portrait.history)
    view.history.push_back(ShowHistory(h, options.lang, names));
  return view;
}

std::string HouseholdText(const HouseholdView& view, Lang lang) {
  const analytics::HouseholdPortrait& p = view.portrait;
  std::string out = fmt::format("{} {}\n", Zh(lang) ? "户画像" : "Household", view.household_id);
  std::vector<std::vector<std::string>> income;
  if (!std::isnan(p.per_capita_income))
    income.push_back({Zh(lang) ? "人均纯收入" : "per_capita_income",
                      fmt::format("{:.2f}", p.per_capita_income)});
  out += FieldsText(p.household, lang, std::move(income));
  for (size_t i = 0; i < p.members.size(); ++i) {
    out += fmt::format("{} {}\n", Zh(lang) ? "成员" : "Member", i + 1);
    out += FieldsText(p.members[i], lang);
  }
  out += fmt::format("{} ({})\n", Zh(lang) ? "关联的部门记录" : "Linked department records",
                     p.records.size());
  for (const auto& r : p.records) {
    std::string line;
    for (const auto& f : r.fields)
      if (!f.value.empty() && f.name != "name" && f.name != "id_number" && f.name != "sex" &&
          f.name != "birth_date" && f.name != "region_code")
        line += fmt::format(" {}={}", Zh(lang) ? f.label : f.name, f.value);
    const DatasetSpec* d = FindDataset(r.dataset);
    out += fmt::format("  [{} {}:{}]{}\n", r.member_id,
                       d ? (Zh(lang) ? d->title_zh : d->title_en) : r.dataset, r.source_row, line);
  }
  out += fmt::format("{} ({})\n", Zh(lang) ? "疑点" : "Flags", p.flags.size());
  for (const auto& f : p.flags)
    out += fmt::format("  {} [{}] {}\n", f.flag.rule, StateText(f.state, lang),
                       Zh(lang) ? f.flag.evidence_zh : f.flag.evidence_en);
  out += fmt::format("{} ({})\n", Zh(lang) ? "变更历史" : "History", view.history.size());
  std::vector<std::vector<std::string>> rows;
  for (const HistoryLine& h : view.history)
    rows.push_back({h.at, fmt::format("#{}", h.batch_id), h.entity_key, h.title,
                    h.old_value.empty() ? "-" : h.old_value,
                    h.new_value.empty() ? "-" : h.new_value});
  if (!rows.empty())
    out += FormatTable(
        Zh(lang) ? std::vector<std::string>{"时间", "批次", "对象", "字段", "原值", "新值"}
                 : std::vector<std::string>{"at", "batch", "entity", "field", "old", "new"},
        rows, {}, 2);
  return out;
}

std::string HouseholdJson(const HouseholdView& view, Lang lang) {
  const analytics::HouseholdPortrait& p = view.portrait;
  Json o;
  o["household"] = FieldsJson(p.household);
  o["per_capita_income"] = std::isnan(p.per_capita_income) ? Json() : Json(p.per_capita_income);
  o["members"] = Json::array();
  for (const auto& m : p.members) o["members"].push_back(FieldsJson(m));
  o["records"] = Json::array();
  for (const auto& r : p.records)
    o["records"].push_back({{"dataset", r.dataset},
                            {"source_row", r.source_row},
                            {"member", r.member_id},
                            {"fields", FieldsJson(r.fields)}});
  o["flags"] = Json::array();
  for (const auto& f : p.flags)
    o["flags"].push_back({{"rule", f.flag.rule},
                          {"state", store::FlagStateName(f.state)},
                          {"id_number", f.flag.id_number},
                          {"evidence", Zh(lang) ? f.flag.evidence_zh : f.flag.evidence_en},
                          {"note", f.note}});
  o["history"] = Json::array();
  for (const HistoryLine& h : view.history) {
    Json x = {{"batch", h.batch_id}, {"at", h.at},       {"entity", h.entity_key},
              {"field", h.field},    {"title", h.title}, {"old", h.old_value},
              {"new", h.new_value}};
    if (!h.old_code.empty()) x["old_code"] = h.old_code;
    if (!h.new_code.empty()) x["new_code"] = h.new_code;
    o["history"].push_back(std::move(x));
  }
  return o.dump();
}

Result<analytics::VillagePortrait> ShowVillage(const analytics::Snapshot& snap,
                                               std::string_view village, Lang lang) {
  std::string code(village);
  if (code.size() < 12 && code.find_first_not_of("0123456789") == std::string::npos)
    code.resize(12, '0');
  auto p = analytics::BuildVillagePortrait(snap, code);
  if (!p && p.error().code() == StatusCode::kNotFound)
    return Err(NotFound(fmt::format(
        fmt::runtime(Zh(lang) ? "没有村 {}（须为区划表中的 12 位村代码）"
                              : "no village {} in the regions (a 12-digit village code)"),
        village)));
  return p;
}

namespace {

// A section's columns that are dimensions (the rest are measures).
size_t DimensionColumns(const analytics::QueryResult& r) {
  size_t n = 0;
  while (n < r.columns.size() && analytics::FindDimensionInfo(r.columns[n])) ++n;
  return n;
}

}  // namespace

// The main industries as sent ("茶叶、辣椒"), one by one; 、, ; and , all separate them.
std::vector<std::string> Industries(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    const size_t b = current.find_first_not_of(' ');
    if (b != std::string::npos)
      out.push_back(current.substr(b, current.find_last_not_of(' ') - b + 1));
    current.clear();
  };
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with("、") || text.substr(i).starts_with("，")) {
      flush();
      i += 3;
    } else if (text[i] == ';' || text[i] == ',') {
      flush();
      ++i;
    } else {
      current += text[i++];
    }
  }
  flush();
  return out;
}

constexpr std::string_view kFacilityNames[] = {"road",      "water",  "power",
                                               "broadband", "clinic", "school"};
constexpr std::string_view kFacilityZh[] = {"通硬化路", "通自来水", "通动力电",
                                            "通宽带",   "有卫生室", "有小学或教学点"};

// The village's attributes (村情) as JSON, null when its villages row was never imported.
Json AttributesJson(const analytics::VillageAttributes& a, Lang lang) {
  if (!a.known) return nullptr;
  Json o;
  o["terrain"] = a.terrain.empty()
                     ? Json(nullptr)
                     : Json{{"code", a.terrain}, {"label", CodeLabel("terrain", a.terrain, lang)}};
  o["industries"] = Industries(a.industries);
  for (size_t k = 0; k < a.facilities.size(); ++k)
    o[std::string(kFacilityNames[k])] =
        a.facilities[k] < 0 ? Json(nullptr) : Json(a.facilities[k] == 1);
  o["distance_km"] = std::isnan(a.distance_km) ? Json(nullptr) : Json(a.distance_km);
  o["collective_income"] =
      std::isnan(a.collective_income) ? Json(nullptr) : Json(a.collective_income);
  return o;
}

std::string AttributesText(const analytics::VillageAttributes& a, Lang lang) {
  const bool zh = Zh(lang);
  if (!a.known)
    return fmt::format("[{}] {}\n", zh ? "村情" : "attributes", zh ? "未导入" : "not imported");
  auto yes_no = [&](int8_t v) -> std::string {
    if (v < 0) return zh ? "未知" : "unknown";
    return v ? (zh ? "是" : "yes") : (zh ? "否" : "no");
  };
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {zh ? "地形" : "terrain", a.terrain.empty() ? "" : CodeLabel("terrain", a.terrain, lang)});
  rows.push_back({zh ? "主导产业" : "industries",
                  fmt::format("{}", fmt::join(Industries(a.industries), zh ? "、" : ", "))});
  for (size_t k = 0; k < a.facilities.size(); ++k)
    rows.push_back({zh ? std::string(kFacilityZh[k]) : std::string(kFacilityNames[k]),
                    yes_no(a.facilities[k])});
  rows.push_back({zh ? "距乡镇政府（公里）" : "distance_km",
                  std::isnan(a.distance_km) ? "" : fmt::format("{:.1f}", a.distance_km)});
  rows.push_back(
      {zh ? "村集体经济收入（元）" : "collective_income",
       std::isnan(a.collective_income) ? "" : fmt::format("{:.2f}", a.collective_income)});
  return fmt::format("[{}]\n", zh ? "村情" : "attributes") +
         FormatTable({zh ? "项目" : "item", zh ? "值" : "value"}, rows,
                     {Align::kLeft, Align::kLeft}, 2);
}

std::string VillageText(const analytics::Snapshot& snap, const analytics::VillagePortrait& p,
                        Lang lang) {
  std::string out = fmt::format("{} {} {}（{} {}）\n", Zh(lang) ? "村画像" : "Village", p.code,
                                p.name, p.county, p.township);
  out += AttributesText(p.attributes, lang);
  for (const auto& [title, r] : p.sections) {
    const size_t dims = DimensionColumns(r);
    std::vector<std::string> header;
    std::vector<Align> align;
    for (size_t c = 0; c < r.columns.size(); ++c) {
      header.push_back(c < dims ? DimensionTitle(r.columns[c], lang)
                                : MeasureTitle(r.columns[c], lang));
      align.push_back(c < dims ? Align::kLeft : Align::kRight);
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : r.rows) {
      std::vector<std::string> cells = row;
      for (size_t c = 0; c < dims; ++c)
        cells[c] = ValueLabel(snap, nullptr, r.columns[c], row[c], lang);
      rows.push_back(std::move(cells));
    }
    out += fmt::format("[{}]\n", title);
    out += FormatTable(header, rows, align, 2);
  }
  out += fmt::format("[{}] {}\n", Zh(lang) ? "户清单" : "households", p.households.total);
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : p.households.rows)
    rows.push_back({h.household_id, ValueLabel(snap, nullptr, "status", h.status, lang),
                    ValueLabel(snap, nullptr, "primary_cause", h.primary_cause, lang),
                    std::to_string(h.members), fmt::format("{}", fmt::join(h.flags, ";"))});
  out += FormatTable(
      Zh(lang)
          ? std::vector<std::string>{"户编号", "脱贫状态", "主要致贫原因", "人口", "疑点"}
          : std::vector<std::string>{"household_id", "status", "primary_cause", "members", "flags"},
      rows, {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight}, 2);
  return out;
}

std::string VillageJson(const analytics::Snapshot& snap, const analytics::VillagePortrait& p,
                        Lang lang) {
  Json o;
  o["village"] = {{"code", p.code},
                  {"name", p.name},
                  {"township", p.township},
                  {"county", p.county},
                  {"prefecture", p.prefecture},
                  {"province", p.province}};
  o["attributes"] = AttributesJson(p.attributes, lang);
  for (const auto& [title, r] : p.sections) {
    const size_t dims = DimensionColumns(r);
    Json rows = Json::array();
    for (size_t i = 0; i < r.rows.size(); ++i) {
      Json x = Json::object();
      for (size_t c = 0; c < r.columns.size(); ++c) {
        if (c < dims) {
          x[r.columns[c]] = r.rows[i][c];
          x[r.columns[c] + "_label"] = ValueLabel(snap, nullptr, r.columns[c], r.rows[i][c], lang);
        } else {
          const std::string& text = r.rows[i][c];
          if (text.empty()) {
            x[r.columns[c]] = nullptr;
          } else if (text.find('.') == std::string::npos) {
            x[r.columns[c]] = std::strtoll(text.c_str(), nullptr, 10);
          } else {
            x[r.columns[c]] = std::strtod(text.c_str(), nullptr);
          }
        }
      }
      rows.push_back(std::move(x));
    }
    o[title] = std::move(rows);
  }
  o["households"] = Json::array();
  for (const auto& h : p.households.rows)
    o["households"].push_back(
        {{"household_id", h.household_id},
         {"status", h.status},
         {"status_label", ValueLabel(snap, nullptr, "status", h.status, lang)},
         {"primary_cause", h.primary_cause},
         {"primary_cause_label", ValueLabel(snap, nullptr, "primary_cause", h.primary_cause, lang)},
         {"members", h.members},
         {"flags", h.flags},
         {"lat", std::isnan(h.lat) ? Json(nullptr) : Json(h.lat)},
         {"lon", std::isnan(h.lon) ? Json(nullptr) : Json(h.lon)}});
  return o.dump();
}

}  // namespace fupin::service
