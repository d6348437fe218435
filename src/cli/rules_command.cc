// fupin rules check|run|default, fupin flags set, fupin export flags: rules and their flags
// from the command line.
#include <fmt/format.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace fupin::cli {
namespace {

Result<rules::RuleSet> LoadRules(const std::string& path) {
  return path.empty() ? rules::DefaultRuleSet() : rules::LoadRuleSet(path);
}

int RulesCheck(const std::string& path, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto set = rules::LoadRuleSet(path);
  if (!set) {
    fmt::print(stderr, "{}: {}\n", zh ? "规则文件有误，未采用" : "rules file refused",
               set.error().message());
    return kExitFailed;
  }
  int counts[rules::kCategoryCount] = {};
  for (const rules::Rule& r : set->rules) ++counts[static_cast<int>(r.category)];
  fmt::print("{}: {} {}\n", path, set->rules.size(), zh ? "条规则，无错误" : "rules, no errors");
  for (int c = 0; c < rules::kCategoryCount; ++c) {
    const auto cat = static_cast<rules::Category>(c);
    fmt::print("  {:<14} {:<8} {}\n", rules::CategoryName(cat), rules::CategoryLabelZh(cat),
               counts[c]);
  }
  size_t lines = 0;
  for (const auto& table : set->thresholds.lines) lines += table.size();
  fmt::print("{}: {}; {}: {}\n", zh ? "贫困线条目" : "line entries", lines,
             zh ? "阈值" : "thresholds", set->thresholds.values.size());
  return kExitOk;
}

struct RunArgs {
  std::string db;
  std::string rules;
  std::string user;
  int threads = 2;
  bool json = false;
  bool quiet = false;
};

int RulesRun(const RunArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto set = LoadRules(args.rules);
  if (!set) {
    fmt::print(stderr, "{}: {}\n", zh ? "规则文件有误，未运行" : "rules file refused, nothing run",
               set.error().message());
    return kExitFailed;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  rules::RunOptions options;
  options.threads = args.threads;
  options.user = args.user;
  if (!args.quiet)
    options.progress = [zh](std::string_view phase, int64_t done, int64_t) {
      if (phase == "rules") {
        fmt::print(stderr, "{}\n", zh ? "运行规则…" : "running rules...");
      } else {
        fmt::print(stderr, "{} {} {:L}\n", zh ? "已读取" : "loaded", phase, done);
      }
    };
  auto report = rules::RunRules(**store, *set, options);
  if (!report) return Fail(report.error(), zh);
  for (const std::string& w : report->warnings)
    fmt::print(stderr, "{}: {}\n", zh ? "注意" : "warning", w);
  if (args.json) {
    nlohmann::json j;
    j["run_id"] = report->outcome.run_id;
    j["rules_source"] = set->source;
    j["rules_sha256"] = set->sha256;
    j["households"] = report->households;
    j["members"] = report->members;
    j["records"] = report->records;
    j["as_of"] = report->as_of;
    j["opened"] = report->outcome.opened;
    j["kept"] = report->outcome.kept;
    j["reopened"] = report->outcome.reopened;
    j["closed"] = report->outcome.closed;
    j["rules"] = nlohmann::json::array();
    for (size_t r = 0; r < set->rules.size(); ++r)
      j["rules"].push_back({{"rule", set->rules[r].id},
                            {"category", rules::CategoryName(set->rules[r].category)},
                            {"flags", report->flags_by_rule[r]}});
    j["by_prefecture"] = nlohmann::json::array();
    for (const rules::RuleCount& c : report->by_prefecture)
      j["by_prefecture"].push_back(
          {{"rule", c.rule}, {"prefecture", c.prefecture}, {"flags", c.flags}});
    j["warnings"] = report->warnings;
    j["seconds"] = {{"load", report->load_seconds},
                    {"evaluate", report->eval_seconds},
                    {"write", report->write_seconds}};
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  // By rule, then a rule × prefecture table.
  std::map<std::string, std::string> prefecture_names;
  if (auto regions = (*store)->LoadRegions())
    for (const store::Region& r : *regions)
      if (r.level == 2) prefecture_names[r.code] = r.name;
  std::vector<std::string> prefectures;
  std::map<std::pair<std::string, std::string>, int64_t> cell;
  for (const rules::RuleCount& c : report->by_prefecture) {
    if (std::find(prefectures.begin(), prefectures.end(), c.prefecture) == prefectures.end())
      prefectures.push_back(c.prefecture);
    cell[{c.rule, c.prefecture}] = c.flags;
  }
  std::sort(prefectures.begin(), prefectures.end());
  fmt::print("{:<20} {:<13} {:>9}", zh ? "规则" : "rule", zh ? "类别" : "category",
             zh ? "疑点" : "flags");
  for (const std::string& p : prefectures) fmt::print(" {:>8}", p.substr(0, 4));
  fmt::print("  {}\n", zh ? "名称" : "name");
  for (size_t r = 0; r < set->rules.size(); ++r) {
    const rules::Rule& rule = set->rules[r];
    fmt::print("{:<20} {:<13} {:>9L}", rule.id, rules::CategoryName(rule.category),
               report->flags_by_rule[r]);
    for (const std::string& p : prefectures) {
      auto it = cell.find({rule.id, p});
      fmt::print(" {:>8L}", it == cell.end() ? 0 : it->second);
    }
    fmt::print("  {}\n", zh ? rule.name_zh : rule.name_en);
  }
  for (const std::string& p : prefectures)
    fmt::print("{} {}\n", p.substr(0, 4), prefecture_names.count(p) ? prefecture_names[p] : p);
  fmt::print("{}: {:L} / {:L} / {:L}; {}: {}\n",
             zh ? "户 / 人 / 关联部门记录" : "households / members / linked records",
             report->households, report->members, report->records, zh ? "年龄计算日" : "ages as of",
             report->as_of);
  fmt::print("{}: {:L}, {}: {:L}, {}: {:L}, {}: {:L}\n", zh ? "新疑点" : "new",
             report->outcome.opened, zh ? "仍成立" : "still holding", report->outcome.kept,
             zh ? "重新成立" : "reopened", report->outcome.reopened,
             zh ? "已不成立（关闭）" : "closed", report->outcome.closed);
  fmt::print("{}: {:.1f} s ({} {:.1f} s, {} {:.1f} s, {} {:.1f} s)\n", zh ? "用时" : "time",
             report->load_seconds + report->eval_seconds + report->write_seconds,
             zh ? "读取" : "load", report->load_seconds, zh ? "规则" : "rules",
             report->eval_seconds, zh ? "写入" : "write", report->write_seconds);
  return kExitOk;
}

struct SetArgs {
  std::string db, rule, household, id, state, note, user;
};

int FlagsSet(const SetArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  const auto state = store::ParseFlagState(args.state);
  if (!state || *state == store::FlagState::kClosed) {
    fmt::print(stderr, "{}\n",
               zh ? "错误: --state 须为 verified（属实）、dismissed（误报）或 open"
                  : "error: --state must be verified, dismissed or open");
    return kExitUsage;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  Status st = (*store)->Rules().SetFlagState(args.rule, args.household, args.id, *state, args.note,
                                             args.user);
  if (!st.ok()) return Fail(st, zh);
  fmt::print("{} {} {}{}{} -> {}\n", zh ? "已更新" : "updated", args.rule, args.household,
             args.id.empty() ? "" : " ", args.id, args.state);
  return kExitOk;
}

struct ExportFlagsArgs {
  std::string db, out, region, rule, state;
};

Status WriteFlagsXlsx(store::Store& store, const store::FlagFilter& filter, bool zh,
                      const std::string& path) {
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &options);
  if (!wb) return Unavailable(fmt::format("cannot write {}", path));
  lxw_worksheet* ws = workbook_add_worksheet(wb, zh ? "疑点核查清单" : "flags");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  const char* headers_zh[] = {"规则", "类别",   "户编号",   "身份证号", "状态",
                              "证据", "村代码", "证据来源", "证据行号", "核查备注"};
  const char* headers_en[] = {"rule",         "category", "household_id", "id_number",
                              "state",        "evidence", "village_code", "evidence_dataset",
                              "evidence_row", "note"};
  for (lxw_col_t c = 0; c < 10; ++c)
    worksheet_write_string(ws, 0, c, zh ? headers_zh[c] : headers_en[c], bold);
  worksheet_freeze_panes(ws, 1, 0);
  worksheet_set_column(ws, 0, 0, 20, nullptr);
  worksheet_set_column(ws, 2, 3, 20, nullptr);
  worksheet_set_column(ws, 5, 5, 80, nullptr);
  lxw_row_t row = 1;
  Status st = store.Rules().ForEachFlag(filter, [&](const store::FlagRow& f) {
    const std::string cells[] = {f.flag.rule,
                                 f.flag.category,
                                 f.flag.household_id,
                                 f.flag.id_number,
                                 std::string(store::FlagStateName(f.state)),
                                 zh ? f.flag.evidence_zh : f.flag.evidence_en,
                                 f.flag.village_code,
                                 f.flag.evidence_dataset,
                                 f.flag.evidence_row ? std::to_string(f.flag.evidence_row) : "",
                                 f.note};
    for (lxw_col_t c = 0; c < 10; ++c)
      if (!cells[c].empty()) worksheet_write_string(ws, row, c, cells[c].c_str(), nullptr);
    ++row;
    if (row >= 1048576) return InvalidArgument("more flags than an XLSX sheet holds: use CSV");
    return OkStatus();
  });
  if (row > 1) worksheet_autofilter(ws, 0, 0, row - 1, 9);
  const lxw_error closed = workbook_close(wb);
  if (st.ok() && closed != LXW_NO_ERROR)
    st = Unavailable(fmt::format("cannot write {}: {}", path, lxw_strerror(closed)));
  return st;
}

int ExportFlags(const ExportFlagsArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  store::FlagFilter filter;
  filter.region = args.region;
  if (!filter.region.empty()) {
    if (filter.region.find_first_not_of("0123456789") != std::string::npos ||
        filter.region.size() > 12) {
      fmt::print(stderr, "{}\n",
                 zh ? "错误: --region 须为区划代码" : "error: --region must be a region code");
      return kExitUsage;
    }
    // A region's villages share its code without the trailing zeros of its level.
    std::string code = filter.region;
    code.resize(12, '0');
    size_t keep = 12;
    for (size_t level : {9u, 6u, 4u, 2u})
      if (code.substr(level) == std::string(12 - level, '0')) keep = level;
    filter.region = code.substr(0, keep);
  }
  filter.rule = args.rule;
  if (!args.state.empty()) {
    filter.state = store::ParseFlagState(args.state);
    if (!filter.state) {
      fmt::print(stderr, "{}\n",
                 zh ? "错误: --state 须为 open、verified、dismissed 或 closed"
                    : "error: --state must be open, verified, dismissed or closed");
      return kExitUsage;
    }
  }
  const bool xlsx = args.out.ends_with(".xlsx");
  if (!xlsx && !args.out.ends_with(".csv")) {
    fmt::print(
        stderr, "{}\n",
        zh ? "错误: --out 须以 .csv 或 .xlsx 结尾" : "error: --out must end in .csv or .xlsx");
    return kExitUsage;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  int64_t rows = 0;
  Status st = WriteAtomically(args.out, [&](const std::string& part) -> Status {
    if (xlsx) return WriteFlagsXlsx(**store, filter, zh, part);
    std::FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) return Unavailable(fmt::format("cannot write {}", part));
    std::fputs("rule,category,household_id,id_number,state,evidence\n", f);
    Status written = (*store)->Rules().ForEachFlag(filter, [&](const store::FlagRow& r) {
      fmt::print(f, "{},{},{},{},{},{}\n", r.flag.rule, r.flag.category,
                 CsvQuote(r.flag.household_id), r.flag.id_number, store::FlagStateName(r.state),
                 CsvQuote(zh ? r.flag.evidence_zh : r.flag.evidence_en));
      ++rows;
      return OkStatus();
    });
    if (std::fclose(f) != 0 && written.ok())
      written = Unavailable(fmt::format("cannot write {}", part));
    return written;
  });
  if (!st.ok()) return Fail(st, zh);
  if (!xlsx)
    fmt::print(stderr, "{} {:L} {}\n", zh ? "已导出" : "exported", rows, zh ? "条疑点" : "flags");
  return kExitOk;
}

}  // namespace

void AddRulesCommands(CLI::App& app, int& exit_code, const Lang& lang) {
  CLI::App* rules_cmd =
      app.add_subcommand("rules", "Rules: check a rules file, run rules / 规则：检查、运行");
  rules_cmd->require_subcommand(1);
  auto check_path = std::make_shared<std::string>();
  CLI::App* check = rules_cmd->add_subcommand(
      "check", "Validate a rules file (line, column and reason of any error) / 检查规则文件");
  check->add_option("FILE", *check_path, "rules file (TOML)")->required();
  check->callback([check_path, &exit_code, &lang] { exit_code = RulesCheck(*check_path, lang); });

  CLI::App* def = rules_cmd->add_subcommand(
      "default", "Print the default rules file, to copy and edit / 输出默认规则文件");
  def->callback([&exit_code] {
    const std::string_view text = rules::DefaultRulesText();
    std::fwrite(text.data(), 1, text.size(), stdout);
    exit_code = kExitOk;
  });

  auto run = std::make_shared<RunArgs>();
  CLI::App* r = rules_cmd->add_subcommand(
      "run", "Run the rules over the registry and linked data; flags keep their state / 运行规则");
  r->add_option("--db", run->db, "SQLite database file")->required();
  r->add_option("--rules", run->rules, "rules file (default: the built-in rules)");
  r->add_option("--threads", run->threads, "threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  r->add_option("--user", run->user, "who runs it (default: the OS user)");
  r->add_flag("--json", run->json, "machine-readable summary");
  r->add_flag("--quiet", run->quiet, "no progress");
  r->callback([run, &exit_code, &lang] { exit_code = RulesRun(*run, lang); });

  CLI::App* flags = app.add_subcommand("flags", "Decide on flags / 疑点核查");
  flags->require_subcommand(1);
  auto set = std::make_shared<SetArgs>();
  CLI::App* s = flags->add_subcommand(
      "set", "Mark a flag verified (true), dismissed (false positive) or open / 标记核查结果");
  s->add_option("--db", set->db, "SQLite database file")->required();
  s->add_option("--rule", set->rule, "rule id")->required();
  s->add_option("--household", set->household, "household_id")->required();
  s->add_option("--id", set->id, "member ID number (person-scope rules)");
  s->add_option("--state", set->state, "verified, dismissed or open")->required();
  s->add_option("--note", set->note, "why");
  s->add_option("--user", set->user, "who decides (default: the OS user)");
  s->callback([set, &exit_code, &lang] { exit_code = FlagsSet(*set, lang); });

  CLI::App* exp = app.get_subcommand("export");
  auto ex = std::make_shared<ExportFlagsArgs>();
  CLI::App* ef = exp->add_subcommand(
      "flags", "rule,category,household_id,id_number,state,evidence (CSV or XLSX) / 导出疑点");
  ef->add_option("--db", ex->db, "SQLite database file")->required();
  ef->add_option("--out", ex->out, "F.csv or F.xlsx")->required();
  ef->add_option("--region", ex->region, "only households in this region (code)");
  ef->add_option("--rule", ex->rule, "only this rule");
  ef->add_option("--state", ex->state, "only open, verified, dismissed or closed flags");
  ef->callback([ex, &exit_code, &lang] { exit_code = ExportFlags(*ex, lang); });
}

}  // namespace fupin::cli
