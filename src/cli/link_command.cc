// fupin link / fupin review / fupin export links|findings: the person index from the command
// line.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/text.h"
#include "link/link_files.h"
#include "link/linker.h"
#include "service/review.h"
#include "store/open.h"

namespace fupin::cli {
namespace {

namespace fs = std::filesystem;

struct LinkArgs {
  std::string db;
  bool json = false;
  bool full = false;
  bool quiet = false;
  double upper = 0.95;
  double lower = 0.5;
  int threads = 2;
  std::string user;
};

int RunLink(const LinkArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  if (args.lower > args.upper || args.lower <= 0 || args.upper > 1) {
    fmt::print(
        stderr, "{}\n",
        zh ? "错误: 需要 0 < --lower <= --upper <= 1" : "error: need 0 < --lower <= --upper <= 1");
    return kExitUsage;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  link::LinkOptions options;
  options.full = args.full;
  options.upper = args.upper;
  options.lower = args.lower;
  options.threads = args.threads;
  options.actor = CliActor(args.user);
  if (!args.quiet)
    options.progress = [zh](std::string_view what, int64_t done, int64_t total) {
      if (what == "registry") {
        fmt::print(stderr, "{}\n",
                   zh ? fmt::format("已读取登记人员：{:L} 人", done)
                      : fmt::format("registry read: {:L} members", done));
      } else if (what == "blocking") {
        fmt::print(stderr, "{}\n",
                   zh ? fmt::format("概率匹配：{:L} 行待匹配", total)
                      : fmt::format("probabilistic stage: {:L} rows to match", total));
      } else {
        fmt::print(stderr, "{}\n",
                   zh ? fmt::format("{}：已处理 {:L} 行", what, done)
                      : fmt::format("{}: {:L} rows done", what, done));
      }
    };
  auto summary = link::RunLinker(**store, options);
  if (!summary) return Fail(summary.error(), zh);
  if (args.json) {
    fmt::print("{}\n", link::LinkSummaryJson(*summary));
    return kExitOk;
  }
  if (summary->nothing_to_do) {
    fmt::print("{}\n", zh ? "登记数据和部门数据自上次关联以来均未变化，无需重新关联。"
                          : "Neither the registry nor any department file changed since the last "
                            "run: nothing to link.");
    return kExitOk;
  }
  fmt::print("{} {} ({})\n", zh ? "关联批次" : "link run", summary->run_id,
             summary->full ? (zh ? "全量" : "full") : (zh ? "增量" : "incremental"));
  fmt::print("{:<20} {:>11} {:>11} {:>9} {:>9} {:>9} {:>11}\n", zh ? "数据集" : "dataset",
             zh ? "行数" : "rows", zh ? "精确" : "exact", zh ? "修复" : "repaired",
             zh ? "概率" : "probab.", zh ? "待核" : "review", zh ? "未关联" : "unlinked");
  link::DatasetLinkSummary total;
  for (const auto& d : summary->datasets) {
    fmt::print("{:<20} {:>11L} {:>11L} {:>9L} {:>9L} {:>9L} {:>11L}\n", d.dataset, d.rows, d.exact,
               d.repaired, d.probabilistic, d.review, d.unlinked);
    total.rows += d.rows;
    total.exact += d.exact;
    total.repaired += d.repaired;
    total.probabilistic += d.probabilistic;
    total.review += d.review;
    total.unlinked += d.unlinked;
  }
  fmt::print("{:<20} {:>11L} {:>11L} {:>9L} {:>9L} {:>9L} {:>11L}\n", zh ? "合计" : "total",
             total.rows, total.exact, total.repaired, total.probabilistic, total.review,
             total.unlinked);
  int64_t accepted = 0;
  for (const auto& d : summary->datasets) accepted += d.accepted;
  if (accepted > 0)
    fmt::print("{}: {:L}\n",
               zh ? "其中按人工核查确认关联" : "of which linked as accepted in review", accepted);
  fmt::print("{}: {:L}; {}: {:L}\n", zh ? "登记人员" : "registry members",
             summary->registry_members, zh ? "候选对" : "candidate pairs",
             summary->candidate_pairs);
  for (const auto& [kind, n] : summary->findings)
    fmt::print("{} {}: {:L}\n", zh ? "登记数据问题" : "registry finding", kind, n);
  fmt::print("{}: {:.1f} s\n", zh ? "用时" : "time", summary->timings.total_s);
  return kExitOk;
}

struct ExportArgs {
  std::string db;
  std::string out;
  bool unmask = false;  // show ID numbers and names in full
};

int WriteCsv(const ExportArgs& args, bool zh, std::string_view header,
             const std::function<Status(std::FILE*)>& body) {
  Status st = WriteAtomically(args.out, [&](const std::string& part) {
    std::FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) return Unavailable(fmt::format("cannot write {}", part));
    // UTF-8 with BOM, so Excel reads it as UTF-8.
    std::fprintf(f, "\xEF\xBB\xBF%.*s\n", static_cast<int>(header.size()), header.data());
    Status written = body(f);
    if (std::fclose(f) != 0 && written.ok())
      written = Unavailable(fmt::format("cannot write {}", part));
    return written;
  });
  if (!st.ok()) return Fail(st, zh);
  if (!args.unmask)
    fmt::print(stderr, "{}\n",
               zh ? "身份证号、姓名已脱敏（--unmask 显示全文）"
                  : "ID numbers and names masked (--unmask shows them)");
  return kExitOk;
}

// A finding's detail ("王小明 / 王晓明", "王小明 19800101") with its names masked.
std::string MaskDetail(std::string_view detail) {
  std::string out;
  size_t i = 0;
  while (i <= detail.size()) {
    size_t end = detail.find(' ', i);
    if (end == std::string_view::npos) end = detail.size();
    std::string_view word = detail.substr(i, end - i);
    const bool ascii = std::all_of(word.begin(), word.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    out += ascii ? MaskIdAndPhoneNumbersIn(word) : MaskName(word);
    if (end < detail.size()) out += ' ';
    i = end + 1;
  }
  return out;
}

int ExportLinks(const ExportArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  return WriteCsv(args, zh, "dataset,row,id_number,stage,weight", [&](std::FILE* f) {
    return (*store)->Links().ForEachLinkRow([&](const store::LinkExportRow& r) {
      std::string weight = r.weight ? fmt::format("{:.3f}", *r.weight) : "";
      std::string id = r.person_id > 0 ? UnpackIdNumber(static_cast<uint64_t>(r.person_id)) : "";
      if (!args.unmask) id = MaskIdNumber(id);
      fmt::print(f, "{},{},{},{},{}\n", r.dataset, r.source_row, id, store::LinkStageName(r.stage),
                 weight);
      return OkStatus();
    });
  });
}

int ExportFindings(const ExportArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  return WriteCsv(
      args, zh, "kind,id_number,household_id,other_id_number,other_household_id,detail",
      [&](std::FILE* f) {
        return (*store)->Links().ForEachFinding([&](const store::LinkFinding& x) {
          const bool full = args.unmask;
          fmt::print(
              f, "{},{},{},{},{},{}\n", x.kind, full ? x.id_number : MaskIdNumber(x.id_number),
              CsvQuote(x.household_id), full ? x.other_id_number : MaskIdNumber(x.other_id_number),
              CsvQuote(x.other_household_id), CsvQuote(full ? x.detail : MaskDetail(x.detail)));
          return OkStatus();
        });
      });
}

struct LinkFilesArgs {
  std::string config, left, right, out;
  double min_probability = 0.5;
  bool quiet = false;
  bool json = false;
};

int RunLinkFiles(const LinkFilesArgs& args, Lang lang) {
  bool zh = lang == Lang::kZh;
  auto config = link::ReadLinkFilesConfig(args.config);
  if (!config) return Fail(config.error(), zh);
  for (const std::string& f : {args.left, args.right})
    if (!f.empty() && !fs::exists(f))
      return Fail(NotFound(fmt::format("{} {}", f, zh ? "不存在" : "does not exist")), zh);
  link::LinkFilesOptions options;
  options.left = args.left;
  options.right = args.right;
  options.out = args.out;
  options.min_probability = args.min_probability;
  if (!args.quiet)
    options.progress = [](std::string_view what, int64_t, int64_t) {
      fmt::print(stderr, "{}\n", what);
    };
  auto s = link::LinkFiles(*config, options);
  if (!s) return Fail(s.error(), zh);
  if (args.json) {
    nlohmann::json j = {{"left_records", s->left_records},
                        {"right_records", s->right_records},
                        {"candidate_pairs", s->candidate_pairs},
                        {"pairs_written", s->pairs_written},
                        {"seconds", s->seconds},
                        {"blocking_keys", s->blocking_keys},
                        {"model", nlohmann::json::parse(s->model.ToJson())}};
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("{}: {} / {}\n", zh ? "记录" : "records", s->left_records, s->right_records);
  fmt::print("{}: {}\n", zh ? "分块键" : "blocking keys", fmt::join(s->blocking_keys, ", "));
  fmt::print("{}: {:L}; {}: {:L}\n", zh ? "候选对" : "candidate pairs", s->candidate_pairs,
             zh ? "写出" : "pairs written", s->pairs_written);
  fmt::print("{}: {:.1f} s\n", zh ? "用时" : "time", s->seconds);
  return kExitOk;
}

struct ReviewArgs {
  std::string db;
  service::ReviewListRequest list;
  service::ReviewDecisionRequest decide;
  std::string user;  // --user
};

std::string_view SexLabel(int sex, bool zh) {
  if (sex == 1) return zh ? "男" : "male";
  if (sex == 2) return zh ? "女" : "female";
  return zh ? "性别未知" : "sex unknown";
}

void PrintReviewItem(const service::ReviewItem& item, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  fmt::print("{} {} {}  {} {:.3f}  {} {:.2f}\n", item.dataset, zh ? "第" : "row",
             zh ? fmt::format("{} 行", item.source_row) : std::to_string(item.source_row),
             zh ? "概率" : "probability", item.probability, zh ? "权重" : "weight", item.weight);
  fmt::print("  {:<10} {}  {}  {}  {}  {}\n", zh ? "部门记录" : "row", or_dash(item.row_name),
             or_dash(item.row_id_number), or_dash(item.row_birth_date), SexLabel(item.row_sex, zh),
             or_dash(item.row_region_code));
  if (item.person_found) {
    fmt::print("  {:<10} {}  {}  {}  {}  {} {}\n", zh ? "登记人员" : "registry", item.person_name,
               item.person_id_number, or_dash(item.person_birth_date),
               SexLabel(item.person_sex, zh), zh ? "户" : "household", item.person_household_id);
  } else {
    fmt::print("  {:<10} {}  {}\n", zh ? "登记人员" : "registry", item.person_id_number,
               zh ? "（已不在登记数据中）" : "(no longer in the registry)");
  }
  std::string fields;
  for (size_t f = 0; f < item.levels.size(); ++f)
    fields += fmt::format("{}{} {}", f ? " · " : "", service::ReviewFieldLabel(f, lang),
                          service::ReviewLevelLabel(f, item.levels[f], lang));
  fmt::print("  {:<10} {}\n", zh ? "字段比对" : "agreement", fields);
}

int ReviewList(ReviewArgs args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  args.list.lang = lang;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto items = service::ListReview(**store, args.list);
  if (!items) return Fail(items.error(), zh);
  for (const service::ReviewItem& item : *items) PrintReviewItem(item, lang);
  const bool cut = args.list.limit > 0 && items->size() == args.list.limit;
  fmt::print(
      "{}: {:L}{}\n", zh ? "待核查候选" : "candidates awaiting review", items->size(),
      cut ? (zh ? "（已达 --limit，可能还有更多）" : " (--limit reached; there may be more)") : "");
  return kExitOk;
}

int ReviewDecide(ReviewArgs args, bool accept, Lang lang) {
  const bool zh = lang == Lang::kZh;
  args.decide.lang = lang;
  args.decide.accept = accept;
  args.decide.actor = CliActor(args.user);
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto item = service::DecideReview(**store, args.decide);
  if (!item) return Fail(item.error(), zh);
  PrintReviewItem(*item, lang);
  fmt::print("{}\n", accept ? (zh ? "已确认关联：此后的关联运行保留该关联。"
                                  : "accepted: linked, and later link runs keep it.")
                            : (zh ? "已否决：此后的关联运行不再关联或提交这一对。"
                                  : "rejected: later link runs will not link or queue this pair."));
  return kExitOk;
}

}  // namespace

void AddLinkCommands(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<LinkArgs>();
  CLI::App* cmd = app.add_subcommand(
      "link", "Link every department row to a registry person / 人员关联（精确、修复、概率匹配）");
  cmd->add_option("--db", args->db, "the store: a SQLite file path or sqlite:PATH")->required();
  cmd->add_flag("--json", args->json, "machine-readable summary");
  cmd->add_flag("--full", args->full, "link every row again, not only new and changed ones");
  cmd->add_flag("--quiet", args->quiet, "no progress");
  cmd->add_option("--upper", args->upper, "probability at or above which a candidate is linked")
      ->capture_default_str();
  cmd->add_option("--lower", args->lower, "probability at or above which it goes to review")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "matching threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--user", args->user, "who runs it (default: the OS user)");
  cmd->callback([args, &exit_code, &lang] { exit_code = RunLink(*args, lang); });

  auto files = std::make_shared<LinkFilesArgs>();
  CLI::App* lf = app.add_subcommand(
      "link-files",
      "Link two CSV files (or find duplicates in one) without a registry / 通用记录匹配");
  lf->add_option("--config", files->config, "TOML: key columns and compared fields")->required();
  lf->add_option("--left", files->left, "CSV file")->required();
  lf->add_option("--right", files->right, "CSV file; absent: deduplicate --left");
  lf->add_option("--out", files->out, "pairs CSV to write")->required();
  lf->add_option("--min-probability", files->min_probability, "pairs at or above this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  lf->add_flag("--quiet", files->quiet, "no progress");
  lf->add_flag("--json", files->json, "machine-readable summary");
  lf->callback([files, &exit_code, &lang] { exit_code = RunLinkFiles(*files, lang); });

  CLI::App* review = app.add_subcommand(
      "review", "The review queue of doubtful links: list, accept, reject / 待核查关联");
  review->require_subcommand(1);
  auto rl = std::make_shared<ReviewArgs>();
  CLI::App* list = review->add_subcommand(
      "list", "Candidates awaiting review, with the field agreements / 列出待核查候选");
  list->add_option("--db", rl->db, "the store: a SQLite file path or sqlite:PATH")->required();
  list->add_option("--dataset", rl->list.dataset, "only this department data set");
  list->add_option("--row", rl->list.source_row, "only this row (with --dataset)");
  list->add_option("--limit", rl->list.limit, "at most this many");
  list->add_flag("--unmask", rl->list.unmask, "show ID numbers and names in full");
  list->callback([rl, &exit_code, &lang] { exit_code = ReviewList(*rl, lang); });
  for (bool accept : {true, false}) {
    auto rd = std::make_shared<ReviewArgs>();
    CLI::App* c = review->add_subcommand(
        accept ? "accept" : "reject",
        accept ? "Link the row to its candidate; later runs keep it / 确认关联"
               : "Never link or queue this pair again / 否决候选");
    c->add_option("--db", rd->db, "the store: a SQLite file path or sqlite:PATH")->required();
    c->add_option("--dataset", rd->decide.dataset, "department data set")->required();
    c->add_option("--row", rd->decide.source_row, "row number, as review list shows it")
        ->required()
        ->check(CLI::PositiveNumber);
    c->add_option("--note", rd->decide.note, "why");
    c->add_option("--user", rd->user, "who decides (default: the OS user)");
    c->add_flag("--unmask", rd->decide.unmask, "show ID numbers and names in full");
    c->callback([rd, accept, &exit_code, &lang] { exit_code = ReviewDecide(*rd, accept, lang); });
  }

  CLI::App* exp = app.add_subcommand("export", "Export results as CSV / 导出");
  exp->require_subcommand(1);
  auto links = std::make_shared<ExportArgs>();
  CLI::App* el = exp->add_subcommand(
      "links", "dataset,row,id_number,stage,weight for every department row / 导出关联结果");
  el->add_option("--db", links->db, "the store: a SQLite file path or sqlite:PATH")->required();
  el->add_option("--out", links->out, "CSV file to write")->required();
  el->add_flag("--unmask", links->unmask, "show ID numbers in full (masked by default)");
  el->callback([links, &exit_code, &lang] { exit_code = ExportLinks(*links, lang); });
  auto findings = std::make_shared<ExportArgs>();
  CLI::App* ef = exp->add_subcommand(
      "findings", "registry duplicates found by the last link run / 导出登记数据问题");
  ef->add_option("--db", findings->db, "the store: a SQLite file path or sqlite:PATH")->required();
  ef->add_option("--out", findings->out, "CSV file to write")->required();
  ef->add_flag("--unmask", findings->unmask,
               "show ID numbers and names in full (masked by default)");
  ef->callback([findings, &exit_code, &lang] { exit_code = ExportFindings(*findings, lang); });
}

}  // namespace fupin::cli
