#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/code_lists.h"
#include "core/display_width.h"
#include "store/open.h"

namespace fupin::cli {

namespace {

struct StatsArgs {
  std::string db;
  bool json = false;
};

int RunStats(const StatsArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", store.error().message());
    return kExitFailed;
  }
  auto stats = (*store)->GetStats();
  if (!stats) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", stats.error().message());
    return kExitFailed;
  }
  const CodeList* status = FindCodeList("status");
  auto status_label = [&](int code) -> std::string {
    const CodeEntry* e = status->Find(code);
    if (!e) return zh ? "未知" : "unknown";
    return std::string(zh ? e->label_zh : e->label_en);
  };
  if (args.json) {
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& t : stats->tables) tables[t.table] = t.rows;
    nlohmann::json regions = nlohmann::json::array();
    for (const auto& r : stats->by_prefecture)
      regions.push_back({{"prefecture_code", r.prefecture_code},
                         {"prefecture", r.prefecture_name},
                         {"status", r.status},
                         {"status_label", status_label(r.status)},
                         {"households", r.households},
                         {"members", r.members}});
    fmt::print(
        "{}\n",
        nlohmann::json{{"batches", stats->batches}, {"tables", tables}, {"by_prefecture", regions}}
            .dump(2));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> tables;
  for (const auto& t : stats->tables) tables.push_back({t.table, std::to_string(t.rows)});
  fmt::print("{}", FormatTable({zh ? "表" : "table", zh ? "行数" : "rows"}, tables,
                               {Align::kLeft, Align::kRight}));
  std::vector<std::vector<std::string>> regions;
  for (const auto& r : stats->by_prefecture)
    regions.push_back({r.prefecture_code, r.prefecture_name, status_label(r.status),
                       std::to_string(r.households), std::to_string(r.members)});
  fmt::print(
      "\n{}",
      FormatTable({zh ? "市州代码" : "prefecture", zh ? "名称" : "name", zh ? "脱贫状态" : "status",
                   zh ? "户数" : "households", zh ? "人数" : "members"},
                  regions,
                  {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight}));
  return kExitOk;
}

}  // namespace

void AddStatsCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "Rows per table; households and members per prefecture and status / 统计");
  cmd->add_option("--db", args->db, "the store: a SQLite file path or sqlite:PATH")->required();
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args, &exit_code, &lang] { exit_code = RunStats(*args, lang); });
}

}  // namespace fupin::cli
