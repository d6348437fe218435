// fupin query: measures by dimensions over the analytics snapshot, for scripts and for
// checking the query model the dashboards and reports share (analytics/query.h); --list
// drills down to the households. fupin snapshot: builds or refreshes the snapshot file.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "analytics/portrait.h"
#include "analytics/query.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "rules/rule_set.h"

namespace fupin::cli {
namespace {

struct QueryArgs {
  std::string db, measures, by, format = "csv";
  std::vector<std::string> where;
  bool list = false;
  int64_t limit = 100, offset = 0;
  int threads = 2;
  // Poverty measures: the line (yuan, or exit|nbs|monitoring from the rules), the rules
  // file the named lines come from (empty: the built-in default), MPI indicators and k.
  std::string line = "exit", rules, mpi_indicators;
  double mpi_k = 1.0 / 3;
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

std::string CsvLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + CsvQuote(cells[i]);
  return line;
}

// Opens the snapshot of the database, saying on stderr when it had to read the store.
Result<analytics::Snapshot> Snapshot(const std::string& db, int threads, bool zh) {
  ASSIGN_OR_RETURN(auto store, OpenExisting(db, zh));
  analytics::BuildOptions options;
  options.threads = threads;
  std::string how;
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(analytics::Snapshot snap, analytics::OpenSnapshot(*store, db, options, &how));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (how != "loaded")
    fmt::print(stderr, "{}: {} ({:.1f} s)\n", zh ? "分析快照" : "snapshot", how, s);
  return snap;
}

int RunQueryCommand(const QueryArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  analytics::QuerySpec spec;
  spec.measures = SplitComma(args.measures);
  spec.by = SplitComma(args.by);
  spec.threads = args.threads;
  for (const std::string& w : args.where) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "{}: --where {}\n",
                 zh ? "错误: 须为 维度=值[,值]" : "error: need dimension=value[,value]", w);
      return kExitUsage;
    }
    spec.where.emplace_back(w.substr(0, eq), SplitComma(w.substr(eq + 1)));
  }
  spec.poverty.k = args.mpi_k;
  for (const std::string& item : SplitComma(args.mpi_indicators)) {
    analytics::MpiIndicator ind;
    const size_t colon = item.find(':');
    ind.name = item.substr(0, colon);
    if (colon != std::string::npos) {
      char* end = nullptr;
      const std::string w = item.substr(colon + 1);
      ind.weight = std::strtod(w.c_str(), &end);
      if (w.empty() || *end != '\0') {
        fmt::print(stderr, "{}: --mpi-indicators {}\n",
                   zh ? "错误: 权重须为数字（指标:权重）"
                      : "error: a weight must be a number (name:weight)",
                   item);
        return kExitUsage;
      }
    }
    spec.poverty.indicators.push_back(std::move(ind));
  }
  std::optional<rules::LineKind> line_kind;
  if (args.line == "exit") {
    line_kind = rules::LineKind::kExit;
  } else if (args.line == "nbs") {
    line_kind = rules::LineKind::kNbs;
  } else if (args.line == "monitoring") {
    line_kind = rules::LineKind::kMonitoring;
  } else {
    char* end = nullptr;
    spec.poverty.line = std::strtod(args.line.c_str(), &end);
    if (args.line.empty() || *end != '\0' || !(spec.poverty.line > 0)) {
      fmt::print(stderr, "{}: --line {}\n",
                 zh ? "错误: 贫困线须为正数（元/人·年）或 exit、nbs、monitoring"
                    : "error: the line is a positive number of yuan per person per year, or exit, "
                      "nbs, monitoring",
                 args.line);
      return kExitUsage;
    }
  }
  if (args.list) {
    if (spec.measures.empty()) spec.measures = {"households"};
    if (!spec.by.empty()) {
      fmt::print(stderr, "{}\n",
                 zh ? "错误: --list 不能与 --by 同用" : "error: --list takes no --by");
      return kExitUsage;
    }
  }
  if (Status st = analytics::CheckQuery(spec); !st.ok()) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", st.message());
    return kExitUsage;
  }
  auto snap = Snapshot(args.db, args.threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  if (args.list) {
    auto list = analytics::ListHouseholds(*snap, spec.where, args.offset, args.limit);
    if (!list) return Fail(list.error(), zh);
    auto income = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.2f}", v); };
    if (args.format == "json") {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& r : list->rows)
        rows.push_back({{"household_id", r.household_id},
                        {"village", r.village_code},
                        {"status", r.status},
                        {"category", r.category},
                        {"primary_cause", r.primary_cause},
                        {"members", r.members},
                        {"per_capita_income", income(r.per_capita_income)},
                        {"flags", r.flags}});
      fmt::print("{}\n", nlohmann::json{{"total", list->total}, {"households", rows}}.dump());
      return kExitOk;
    }
    fmt::print(
        "household_id,village,status,category,primary_cause,members,per_capita_income,"
        "flags\n");
    for (const auto& r : list->rows)
      fmt::print("{}\n",
                 CsvLine({r.household_id, r.village_code, r.status, r.category, r.primary_cause,
                          std::to_string(r.members), income(r.per_capita_income),
                          fmt::format("{}", fmt::join(r.flags, ";"))}));
    if (list->total > static_cast<int64_t>(list->rows.size()) + args.offset)
      fmt::print(stderr,
                 fmt::runtime(zh ? "共 {} 户，显示第 {}–{} 户（--offset/--limit 翻页）\n"
                                 : "{} households, showing {}–{} (page with --offset/--limit)\n"),
                 list->total, args.offset + 1,
                 args.offset + static_cast<int64_t>(list->rows.size()));
    return kExitOk;
  }
  if (line_kind) {
    auto rule_set = args.rules.empty() ? rules::DefaultRuleSet() : rules::LoadRuleSet(args.rules);
    if (!rule_set) return Fail(rule_set.error(), zh);
    spec.poverty.lines = analytics::LinesByYear(*snap, rule_set->thresholds, *line_kind);
    bool poverty = false;
    for (const std::string& m : spec.measures)
      poverty |= m.starts_with("fgt_") || m.starts_with("mpi_");
    std::vector<std::string> missing;
    for (const std::string& y : snap->h_dicts[analytics::kIncomeYear].values)
      if (!y.empty() && !spec.poverty.lines.contains(std::atoi(y.c_str()))) missing.push_back(y);
    if (poverty && !missing.empty()) {
      const std::string years = fmt::format("{}", fmt::join(missing, ", "));
      if (spec.poverty.lines.empty()) {
        fmt::print(
            stderr,
            fmt::runtime(zh ? "错误: 规则中没有收入年度 {} 的 {} 贫困线：请给出 --line 元数，"
                              "或 --line exit|nbs|monitoring 中有该年度的一种\n"
                            : "error: the rules have no {1} line for income year {0}: give "
                              "--line YUAN, or the one of exit|nbs|monitoring that has it\n"),
            years, args.line);
        return kExitFailed;
      }
      fmt::print(stderr,
                 fmt::runtime(
                     zh ? "注意: 规则中没有收入年度 {} 的 {} 贫困线，这些户不计入 fgt_/mpi_ 指标\n"
                        : "note: the rules have no {1} line for income year {0}: those "
                          "households are left out of the fgt_ and mpi_ measures\n"),
                 years, args.line);
    }
  }
  auto result = analytics::RunQuery(*snap, spec);
  if (!result) return Fail(result.error(), zh);
  if (args.format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : result->rows) {
      nlohmann::json o;
      for (size_t i = 0; i < r.size(); ++i) o[result->columns[i]] = r[i];
      rows.push_back(std::move(o));
    }
    fmt::print("{}\n", rows.dump());
    return kExitOk;
  }
  fmt::print("{}\n", CsvLine(result->columns));
  for (const auto& r : result->rows) fmt::print("{}\n", CsvLine(r));
  return kExitOk;
}

int RunSnapshotCommand(const std::string& db, bool rebuild, int threads,
                       const std::string& export_dir, Lang lang) {
  const bool zh = lang == Lang::kZh;
  if (rebuild) std::remove((db + ".snapshot").c_str());
  const auto start = std::chrono::steady_clock::now();
  auto snap = Snapshot(db, threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      fmt::runtime(
          zh ? "分析快照 {}.snapshot: {} 户, {} 人, {} 条有效疑点, 内存 {:.1f} MiB, {:.2f} 秒\n"
             : "snapshot {}.snapshot: {} households, {} members, {} active flag entries, "
               "{:.1f} MiB in memory, {:.2f} s\n"),
      db, snap->LiveHouseholds(), snap->members, snap->flag_entries.size(),
      static_cast<double>(snap->MemoryBytes()) / (1 << 20), s);
  if (!export_dir.empty()) {
    if (Status st = analytics::ExportSnapshotCsv(*snap, export_dir); !st.ok()) return Fail(st, zh);
    fmt::print("{} {}/households.csv, members.csv, flags.csv\n", zh ? "已导出" : "wrote",
               export_dir);
  }
  return kExitOk;
}

nlohmann::json FieldsJson(const std::vector<analytics::PortraitField>& fields) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& f : fields) o[f.name] = f.value;
  return o;
}

void PrintFields(const std::vector<analytics::PortraitField>& fields, bool zh) {
  for (const auto& f : fields)
    if (!f.value.empty()) fmt::print("  {}: {}\n", zh ? f.label : f.name, f.value);
}

int RunHouseholdPortrait(const std::string& db, const std::string& id, bool json, int threads,
                         bool zh) {
  auto store = OpenExisting(db, zh);
  if (!store) return Fail(store.error(), zh);
  auto p = analytics::ReadHouseholdPortrait(**store, id, threads);
  if (!p) return Fail(p.error(), zh);
  if (json) {
    nlohmann::json o;
    o["household"] = FieldsJson(p->household);
    o["per_capita_income"] =
        std::isnan(p->per_capita_income) ? nlohmann::json() : nlohmann::json(p->per_capita_income);
    o["members"] = nlohmann::json::array();
    for (const auto& m : p->members) o["members"].push_back(FieldsJson(m));
    o["records"] = nlohmann::json::array();
    for (const auto& r : p->records)
      o["records"].push_back({{"dataset", r.dataset},
                              {"source_row", r.source_row},
                              {"member", r.member_id},
                              {"fields", FieldsJson(r.fields)}});
    o["flags"] = nlohmann::json::array();
    for (const auto& f : p->flags)
      o["flags"].push_back({{"rule", f.flag.rule},
                            {"state", store::FlagStateName(f.state)},
                            {"id_number", f.flag.id_number},
                            {"evidence", zh ? f.flag.evidence_zh : f.flag.evidence_en},
                            {"note", f.note}});
    o["history"] = nlohmann::json::array();
    for (const auto& h : p->history)
      o["history"].push_back({{"batch", h.batch_id},
                              {"at", h.at},
                              {"entity", h.entity_key},
                              {"field", h.field},
                              {"old", h.old_value},
                              {"new", h.new_value}});
    fmt::print("{}\n", o.dump());
    return kExitOk;
  }
  fmt::print("{} {}\n", zh ? "户画像" : "Household", id);
  PrintFields(p->household, zh);
  if (!std::isnan(p->per_capita_income))
    fmt::print("  {}: {:.2f}\n", zh ? "人均纯收入" : "per_capita_income", p->per_capita_income);
  for (size_t i = 0; i < p->members.size(); ++i) {
    fmt::print("{} {}\n", zh ? "成员" : "Member", i + 1);
    PrintFields(p->members[i], zh);
  }
  fmt::print("{} ({})\n", zh ? "关联的部门记录" : "Linked department records", p->records.size());
  for (const auto& r : p->records) {
    std::string line;
    for (const auto& f : r.fields)
      if (!f.value.empty() && f.name != "name" && f.name != "id_number" && f.name != "sex" &&
          f.name != "birth_date" && f.name != "region_code")
        line += fmt::format(" {}={}", zh ? f.label : f.name, f.value);
    fmt::print("  [{} {}:{}] {}{}\n", r.member_id, zh ? r.title_zh : r.dataset, r.source_row,
               zh ? "" : "", line);
  }
  fmt::print("{} ({})\n", zh ? "疑点" : "Flags", p->flags.size());
  for (const auto& f : p->flags)
    fmt::print("  {} [{}] {}\n", f.flag.rule, store::FlagStateName(f.state),
               zh ? f.flag.evidence_zh : f.flag.evidence_en);
  fmt::print("{} ({})\n", zh ? "变更历史" : "History", p->history.size());
  for (const auto& h : p->history)
    fmt::print("  {} #{} {} {}: {} -> {}\n", h.at, h.batch_id, h.entity_key, h.field, h.old_value,
               h.new_value);
  return kExitOk;
}

int RunVillagePortrait(const std::string& db, const std::string& village, bool json, int threads,
                       bool zh) {
  auto snap = Snapshot(db, threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  std::string code = village;
  if (code.size() < 12) code.resize(12, '0');
  auto p = analytics::BuildVillagePortrait(*snap, code);
  if (!p) return Fail(p.error(), zh);
  if (json) {
    nlohmann::json o;
    o["village"] = {
        {"code", p->code}, {"name", p->name}, {"township", p->township}, {"county", p->county}};
    for (const auto& [title, r] : p->sections) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& row : r.rows) {
        nlohmann::json x;
        for (size_t i = 0; i < row.size(); ++i) x[r.columns[i]] = row[i];
        rows.push_back(std::move(x));
      }
      o[title] = std::move(rows);
    }
    o["households"] = nlohmann::json::array();
    for (const auto& h : p->households.rows)
      o["households"].push_back({{"household_id", h.household_id},
                                 {"status", h.status},
                                 {"primary_cause", h.primary_cause},
                                 {"members", h.members},
                                 {"flags", h.flags}});
    fmt::print("{}\n", o.dump());
    return kExitOk;
  }
  fmt::print("{} {} {}（{} {}）\n", zh ? "村画像" : "Village", p->code, p->name, p->county,
             p->township);
  for (const auto& [title, r] : p->sections) {
    fmt::print("[{}]\n  {}\n", title, fmt::join(r.columns, " | "));
    for (const auto& row : r.rows) fmt::print("  {}\n", fmt::join(row, " | "));
  }
  fmt::print("[{}] {}\n", zh ? "户清单" : "households", p->households.total);
  for (const auto& h : p->households.rows)
    fmt::print("  {} status={} cause={} members={} flags={}\n", h.household_id, h.status,
               h.primary_cause, h.members, fmt::join(h.flags, ";"));
  return kExitOk;
}

}  // namespace

void AddQueryCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* q = app.add_subcommand(
      "query", "Measures by dimensions over the registry (docs/query.md) / 统计查询");
  q->add_option("--db", args->db, "SQLite database file")->required();
  q->add_option("--measure", args->measures, "persons,households,... (docs/query.md)");
  q->add_option("--by", args->by, "county,status,... (docs/query.md)");
  q->add_option("--where", args->where, "dimension=value[,value], repeatable");
  q->add_flag("--list", args->list, "list the households passing --where (drill-down) / 户清单");
  q->add_option("--limit", args->limit, "--list: at most this many households")
      ->capture_default_str();
  q->add_option("--offset", args->offset, "--list: skip this many first")->capture_default_str();
  q->add_option("--threads", args->threads)->capture_default_str();
  q->add_option("--line", args->line,
                "poverty line of fgt_* and the MPI income indicator: yuan per person per year, "
                "or exit|nbs|monitoring (the rules' line of each household's income year)")
      ->capture_default_str();
  q->add_option("--rules", args->rules, "rules file the named lines come from (default: built in)");
  q->add_option("--mpi-indicators", args->mpi_indicators,
                "MPI indicators with weights, e.g. income:2,housing:1,water:1 (default: income, "
                "housing, water, schooling, medical_insurance, equal weights)");
  q->add_option("--mpi-k", args->mpi_k, "MPI poverty cutoff: a share of the weights (0 < k <= 1)")
      ->capture_default_str();
  q->add_option("--format", args->format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  q->callback([args, &exit_code, &lang] {
    if (args->measures.empty() && !args->list) {
      fmt::print(stderr, "{}\n",
                 lang == Lang::kZh ? "错误: 需要 --measure（或 --list）"
                                   : "error: --measure (or --list) is required");
      exit_code = kExitUsage;
      return;
    }
    exit_code = RunQueryCommand(*args, lang);
  });

  struct PortraitArgs {
    std::string db, household, village, format = "text";
    int threads = 2;
  };
  auto pa = std::make_shared<PortraitArgs>();
  CLI::App* p = app.add_subcommand(
      "portrait",
      "One household or one village, everything known (IDs and names masked) / 精准画像");
  p->add_option("--db", pa->db, "SQLite database file")->required();
  auto* hh = p->add_option("--household", pa->household, "household_id");
  auto* vv = p->add_option("--village", pa->village, "12-digit village code");
  hh->excludes(vv);
  p->add_option("--format", pa->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  p->add_option("--threads", pa->threads)->capture_default_str();
  p->callback([pa, &exit_code, &lang] {
    const bool zh = lang == Lang::kZh;
    if (pa->household.empty() == pa->village.empty()) {
      fmt::print(
          stderr, "{}\n",
          zh ? "错误: 需要 --household 或 --village 之一" : "error: give --household or --village");
      exit_code = kExitUsage;
      return;
    }
    exit_code =
        pa->household.empty()
            ? RunVillagePortrait(pa->db, pa->village, pa->format == "json", pa->threads, zh)
            : RunHouseholdPortrait(pa->db, pa->household, pa->format == "json", pa->threads, zh);
  });

  auto db = std::make_shared<std::string>();
  auto rebuild = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(2);
  auto export_dir = std::make_shared<std::string>();
  CLI::App* s = app.add_subcommand(
      "snapshot", "Build or refresh the analytics snapshot (DB.snapshot) / 分析快照");
  s->add_option("--db", *db, "SQLite database file")->required();
  s->add_flag("--rebuild", *rebuild, "read everything from the store again");
  s->add_option("--threads", *threads)->capture_default_str();
  s->add_option("--export", *export_dir,
                "also write the snapshot's tables as CSV into this folder (for peers)");
  s->callback([db, rebuild, threads, export_dir, &exit_code, &lang] {
    exit_code = RunSnapshotCommand(*db, *rebuild, *threads, *export_dir, lang);
  });
}

}  // namespace fupin::cli
