// fupin query: measures by dimensions over the analytics snapshot, for scripts and for
// checking the query model the dashboards and reports share (analytics/query.h); --list
// drills down to the households. fupin portrait: a household or a village. fupin snapshot:
// builds or refreshes the snapshot file. Checking, labels, masking and encodings are the
// service layer's (service/query.h, service/portrait.h); this file reads options and prints.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "analytics/query.h"
#include "analytics/snapshot.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "rules/rule_set.h"
#include "service/portrait.h"
#include "service/query.h"

namespace fupin::cli {
namespace {

struct QueryArgs {
  std::string db, measures, by, format = "csv", out;
  std::vector<std::string> where;
  bool list = false;
  bool codes = false;  // codes rather than labels in CSV and table cells
  int64_t limit = 100, offset = 0;
  int threads = 2;
  // Poverty measures: the line (yuan, or exit|nbs|monitoring from the rules), the rules
  // file the named lines come from (empty: the built-in default), MPI indicators and k.
  std::string line = "exit", rules, mpi_indicators;
  double mpi_k = 1.0 / 3;
};

// Opens the snapshot of the database, saying on stderr when it had to read the store.
Result<analytics::Snapshot> Snapshot(const std::string& db, int threads, bool zh) {
  ASSIGN_OR_RETURN(auto store, OpenExisting(db, zh));
  analytics::BuildOptions options;
  options.threads = threads;
  std::string how;
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(analytics::Snapshot snap,
                   analytics::OpenSnapshot(*store, DbFilePath(db), options, &how));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (how != "loaded")
    fmt::print(stderr, "{}: {} ({:.1f} s)\n", zh ? "分析快照" : "snapshot", how, s);
  return snap;
}

// Prints `text`, or writes it to `out` through a temporary name (a CSV file with the UTF-8
// byte order mark, so that Excel reads it as UTF-8).
int Emit(const std::string& text, const QueryArgs& args, bool zh) {
  if (args.out.empty()) {
    fmt::print("{}", text);
    return kExitOk;
  }
  Status st = WriteAtomically(args.out, [&](const std::string& part) -> Status {
    std::FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) return Unavailable(fmt::format("{} {}", zh ? "无法写入" : "cannot write", args.out));
    if (args.format == "csv") std::fwrite(service::kUtf8Bom.data(), 1, service::kUtf8Bom.size(), f);
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok)
      return Unavailable(fmt::format("{} {}", zh ? "无法写入" : "cannot write", args.out));
    return OkStatus();
  });
  if (!st.ok()) return Fail(st, zh);
  fmt::print(stderr, "{} {}\n", zh ? "已写入" : "wrote", args.out);
  return kExitOk;
}

int Usage(const Status& st, bool zh) {
  fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", st.message());
  return kExitUsage;
}

int ListHouseholdsCommand(const analytics::Snapshot& snap, const analytics::QuerySpec& spec,
                          const QueryArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto list = analytics::ListHouseholds(snap, spec.where, args.offset, args.limit);
  if (!list) return Fail(list.error(), zh);
  if (args.format == "json")
    return Emit(service::HouseholdListJson(snap, *list, lang) + "\n", args, zh);
  const std::string text = args.format == "table"
                               ? service::HouseholdListTable(snap, *list, args.codes, lang)
                               : service::HouseholdListCsv(snap, *list, args.codes, lang);
  if (int rc = Emit(text, args, zh); rc != kExitOk) return rc;
  if (list->total > static_cast<int64_t>(list->rows.size()) + args.offset)
    fmt::print(stderr,
               fmt::runtime(zh ? "共 {} 户，显示第 {}–{} 户（--offset/--limit 翻页）\n"
                               : "{} households, showing {}–{} (page with --offset/--limit)\n"),
               list->total, args.offset + 1, args.offset + static_cast<int64_t>(list->rows.size()));
  return kExitOk;
}

int RunQueryCommand(const QueryArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  service::QueryParams params{args.measures,       args.by,    args.where,  args.line,
                              args.mpi_indicators, args.mpi_k, args.threads};
  if (args.list) {
    if (params.measures.empty()) params.measures = "households";
    if (!params.by.empty()) {
      fmt::print(stderr, "{}\n",
                 zh ? "错误: --list 不能与 --by 同用" : "error: --list takes no --by");
      return kExitUsage;
    }
  }
  auto spec = service::BuildQuerySpec(params, lang);
  if (!spec) return Usage(spec.error(), zh);
  auto rule_set = args.rules.empty() ? rules::DefaultRuleSet() : rules::LoadRuleSet(args.rules);
  if (!rule_set) return Fail(rule_set.error(), zh);
  auto snap = Snapshot(args.db, args.threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  if (Status st = service::ResolveWhere(*snap, &*rule_set, spec->where, lang); !st.ok())
    return Usage(st, zh);
  if (args.list) return ListHouseholdsCommand(*snap, *spec, args, lang);
  auto note = service::ApplyLines(*snap, *rule_set, params, *spec, lang);
  if (!note) return Fail(note.error(), zh);
  if (!note->empty()) fmt::print(stderr, "{}\n", *note);
  auto answer = service::AnswerQuery(*snap, &*rule_set, *spec, lang);
  if (!answer) return Fail(answer.error(), zh);
  if (args.format == "json") return Emit(service::AnswerJson(*answer) + "\n", args, zh);
  if (args.format == "table")
    return Emit(service::AnswerTable(*answer, args.codes, lang), args, zh);
  return Emit(service::AnswerCsv(*answer, args.codes), args, zh);
}

int RunSnapshotCommand(const std::string& db, bool rebuild, int threads,
                       const std::string& export_dir, Lang lang) {
  const bool zh = lang == Lang::kZh;
  if (rebuild) std::remove((DbFilePath(db) + ".snapshot").c_str());
  const auto start = std::chrono::steady_clock::now();
  auto snap = Snapshot(db, threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      fmt::runtime(
          zh ? "分析快照 {}.snapshot: {} 户, {} 人, {} 条有效疑点, 内存 {:.1f} MiB, {:.2f} 秒\n"
             : "snapshot {}.snapshot: {} households, {} members, {} active flag entries, "
               "{:.1f} MiB in memory, {:.2f} s\n"),
      DbFilePath(db), snap->LiveHouseholds(), snap->members, snap->flag_entries.size(),
      static_cast<double>(snap->MemoryBytes()) / (1 << 20), s);
  if (!export_dir.empty()) {
    if (Status st = analytics::ExportSnapshotCsv(*snap, export_dir); !st.ok()) return Fail(st, zh);
    fmt::print("{} {}/households.csv, members.csv, flags.csv\n", zh ? "已导出" : "wrote",
               export_dir);
  }
  return kExitOk;
}

int RunHouseholdPortrait(const std::string& db, const std::string& id, bool json,
                         const service::PortraitOptions& options) {
  const bool zh = options.lang == Lang::kZh;
  auto store = OpenExisting(db, zh);
  if (!store) return Fail(store.error(), zh);
  auto view = service::ShowHousehold(**store, id, options);
  if (!view) return Fail(view.error(), zh);
  if (json) {
    fmt::print("{}\n", service::HouseholdJson(*view, options.lang));
  } else {
    fmt::print("{}", service::HouseholdText(*view, options.lang));
  }
  return kExitOk;
}

int RunVillagePortrait(const std::string& db, const std::string& village, bool json, int threads,
                       Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto snap = Snapshot(db, threads, zh);
  if (!snap) return Fail(snap.error(), zh);
  auto p = service::ShowVillage(*snap, village, lang);
  if (!p) return Fail(p.error(), zh);
  if (json) {
    fmt::print("{}\n", service::VillageJson(*snap, *p, lang));
  } else {
    fmt::print("{}", service::VillageText(*snap, *p, lang));
  }
  return kExitOk;
}

}  // namespace

void AddQueryCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* q = app.add_subcommand(
      "query", "Measures by dimensions over the registry (docs/query.md) / 统计查询");
  q->add_option("--db", args->db, "the store: a SQLite file path or sqlite:PATH")->required();
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
  q->add_flag("--codes", args->codes,
              "codes instead of labels and region names in CSV and table cells (JSON has both)");
  q->add_option("--format", args->format, "csv, json or table (lined up for a terminal)")
      ->check(CLI::IsMember({"csv", "json", "table"}))
      ->capture_default_str();
  q->add_option("--out", args->out,
                "write to this file instead of stdout (CSV with a UTF-8 BOM, for Excel)");
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
    bool unmask = false;
  };
  auto pa = std::make_shared<PortraitArgs>();
  CLI::App* p = app.add_subcommand(
      "portrait",
      "One household or one village, everything known (IDs and names masked) / 精准画像");
  p->add_option("--db", pa->db, "the store: a SQLite file path or sqlite:PATH")->required();
  auto* hh = p->add_option("--household", pa->household, "household_id");
  auto* vv = p->add_option("--village", pa->village, "12-digit village code");
  hh->excludes(vv);
  p->add_option("--format", pa->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  p->add_option("--threads", pa->threads)->capture_default_str();
  p->add_flag("--unmask", pa->unmask,
              "show ID numbers and names whole (for a role allowed to see them) / 不脱敏");
  p->callback([pa, &exit_code, &lang] {
    const bool zh = lang == Lang::kZh;
    if (pa->household.empty() == pa->village.empty()) {
      fmt::print(
          stderr, "{}\n",
          zh ? "错误: 需要 --household 或 --village 之一" : "error: give --household or --village");
      exit_code = kExitUsage;
      return;
    }
    service::PortraitOptions options;
    options.lang = lang;
    options.mask.unmask = pa->unmask;
    options.threads = pa->threads;
    exit_code =
        pa->household.empty()
            ? RunVillagePortrait(pa->db, pa->village, pa->format == "json", pa->threads, lang)
            : RunHouseholdPortrait(pa->db, pa->household, pa->format == "json", options);
  });

  auto db = std::make_shared<std::string>();
  auto rebuild = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(2);
  auto export_dir = std::make_shared<std::string>();
  CLI::App* s = app.add_subcommand(
      "snapshot", "Build or refresh the analytics snapshot (DB.snapshot) / 分析快照");
  s->add_option("--db", *db, "the store: a SQLite file path or sqlite:PATH")->required();
  s->add_flag("--rebuild", *rebuild, "read everything from the store again");
  s->add_option("--threads", *threads)->capture_default_str();
  s->add_option("--export", *export_dir,
                "also write the snapshot's tables as CSV into this folder (for peers)");
  s->callback([db, rebuild, threads, export_dir, &exit_code, &lang] {
    exit_code = RunSnapshotCommand(*db, *rebuild, *threads, *export_dir, lang);
  });
}

}  // namespace fupin::cli
