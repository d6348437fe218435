// fupin query: measures by dimensions over the analytics snapshot, for scripts and for
// checking the query model the dashboards and reports share (analytics/query.h); --list
// drills down to the households. fupin snapshot: builds or refreshes the snapshot file.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "analytics/query.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"

namespace fupin::cli {
namespace {

struct QueryArgs {
  std::string db, measures, by, format = "csv";
  std::vector<std::string> where;
  bool list = false;
  int64_t limit = 100, offset = 0;
  int threads = 2;
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
