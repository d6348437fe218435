// fupin rules check|run|default, fupin flags set|import, fupin export flags: rules and their flags
// from the command line.
#include <fmt/format.h>

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
#include "service/flags.h"

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
  options.actor = CliActor(args.user);
  if (!args.quiet)
    options.progress = [zh](std::string_view phase, int64_t done, int64_t total) {
      if (phase == "rules") {
        fmt::print(stderr, "{}\n",
                   zh ? fmt::format("运行规则：{} 条…", total)
                      : fmt::format("running {} rules...", total));
      } else {
        fmt::print(stderr, "{}\n",
                   zh ? fmt::format("已读取 {}：{:L} 行", phase, done)
                      : fmt::format("loaded {}: {:L} rows", phase, done));
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
                                             CliActor(args.user));
  if (!st.ok()) return Fail(st, zh);
  fmt::print("{} {} {}{}{} -> {}\n", zh ? "已更新" : "updated", args.rule, args.household,
             args.id.empty() ? "" : " ", args.id, args.state);
  return kExitOk;
}

struct ExportFlagsArgs {
  std::string db, out;
  service::FlagExportRequest request;
};

int ExportFlags(ExportFlagsArgs args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  args.request.lang = lang;
  if (!args.out.ends_with(".csv") && !args.out.ends_with(".xlsx")) {
    fmt::print(
        stderr, "{}\n",
        zh ? "错误: --out 须以 .csv 或 .xlsx 结尾" : "error: --out must end in .csv or .xlsx");
    return kExitUsage;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto rows = service::ExportFlags(**store, args.request, args.out);
  if (!rows) return Fail(rows.error(), zh);
  fmt::print(
      stderr, "{} {:L} {}{}\n", zh ? "已导出" : "exported", *rows, zh ? "条疑点" : "flags",
      args.request.unmask ? "" : (zh ? "（身份证号、姓名已脱敏）" : " (IDs and names masked)"));
  return kExitOk;
}

struct ImportFlagsArgs {
  std::string db;
  service::FlagImportRequest request;
  std::string user;  // --user
};

int ImportFlags(ImportFlagsArgs args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  args.request.lang = lang;
  args.request.actor = CliActor(args.user);
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto report = service::ImportFlagVerdicts(**store, args.request);
  if (!report) return Fail(report.error(), zh);
  using Outcome = service::FlagImportRow::Outcome;
  for (const service::FlagImportRow& r : report->rows) {
    std::string what;
    switch (r.outcome) {
      case Outcome::kChanged:
        what = fmt::format("{} -> {}", service::VerdictLabel(r.from, lang),
                           service::VerdictLabel(r.to, lang));
        break;
      case Outcome::kUnchanged:
        what = zh ? "无变化" : "unchanged";
        break;
      case Outcome::kSkipped:
      case Outcome::kError:
        what = fmt::format("{}{}", r.outcome == Outcome::kError ? (zh ? "错误: " : "error: ") : "",
                           r.message);
        break;
    }
    fmt::print("{} {:>6}  {} {:<8}  {}\n", zh ? "行" : "line", r.line, zh ? "疑点" : "flag",
               r.flag_id ? std::to_string(r.flag_id) : "-", what);
  }
  fmt::print("{}: {:L}; {}: {:L}; {}: {:L}; {}: {:L}\n", zh ? "更改" : "changed", report->changed,
             zh ? "无变化" : "unchanged", report->unchanged, zh ? "未填" : "no verdict",
             report->skipped, zh ? "错误" : "errors", report->errors);
  if (report->errors > 0) {
    fmt::print(stderr, "{}\n",
               zh ? "有错误的行，全部未写入；改正后重新导入。"
                  : "rows with errors: nothing was applied; correct them and import again.");
    return kExitRejected;
  }
  if (args.request.dry_run) {
    fmt::print("{}\n", zh ? "试运行：未写入。" : "dry run: nothing applied.");
  } else if (report->applied) {
    fmt::print("{}\n", zh ? "已全部写入。" : "all changes applied.");
  }
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
  r->add_option("--db", run->db, "the store: a SQLite file path or sqlite:PATH")->required();
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
  s->add_option("--db", set->db, "the store: a SQLite file path or sqlite:PATH")->required();
  s->add_option("--rule", set->rule, "rule id")->required();
  s->add_option("--household", set->household, "household_id")->required();
  s->add_option("--id", set->id, "member ID number (person-scope rules)");
  s->add_option("--state", set->state, "verified, dismissed or open")->required();
  s->add_option("--note", set->note, "why");
  s->add_option("--user", set->user, "who decides (default: the OS user)");
  s->callback([set, &exit_code, &lang] { exit_code = FlagsSet(*set, lang); });

  auto imp = std::make_shared<ImportFlagsArgs>();
  CLI::App* fi = flags->add_subcommand(
      "import",
      "Enter the verdicts of a filled-in worklist (核查结果, 核查备注; XLSX or CSV), all or "
      "nothing / 批量导入核查结果");
  fi->add_option("FILE", imp->request.file, "worklist from fupin export flags, filled in")
      ->required();
  fi->add_option("--db", imp->db, "the store: a SQLite file path or sqlite:PATH")->required();
  fi->add_flag("--dry-run", imp->request.dry_run, "check and report every row, apply nothing");
  fi->add_option("--user", imp->user, "who decides (default: the OS user)");
  fi->callback([imp, &exit_code, &lang] { exit_code = ImportFlags(*imp, lang); });

  CLI::App* exp = app.get_subcommand("export");
  auto ex = std::make_shared<ExportFlagsArgs>();
  CLI::App* ef = exp->add_subcommand("flags",
                                     "Flags worklist with stable ids and 核查结果 / note columns "
                                     "(CSV or XLSX) / 导出疑点核查清单");
  ef->add_option("--db", ex->db, "the store: a SQLite file path or sqlite:PATH")->required();
  ef->add_option("--out", ex->out, "F.csv or F.xlsx")->required();
  ef->add_option("--region", ex->request.region, "only households in this region (code)");
  ef->add_option("--rule", ex->request.rule, "only this rule");
  ef->add_option("--category", ex->request.category,
                 "only this category (exclusion, exit_ready, risk, policy_gap, data_quality)");
  ef->add_option("--state", ex->request.state, "only open, verified, dismissed or closed flags");
  ef->add_flag("--unmask", ex->request.unmask, "show ID numbers and names in full");
  ef->callback([ex, &exit_code, &lang] { exit_code = ExportFlags(*ex, lang); });
}

}  // namespace fupin::cli
