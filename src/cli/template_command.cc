// fupin template DATASET|all --out DIR: blank XLSX templates (service/template.h).
// fupin template --markdown FILE: rewrites the generated contract part of FILE
// (docs/exchange-format.md) from the catalogue (service/contract.h).
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/common.h"
#include "service/contract.h"
#include "service/template.h"

namespace fupin::cli {
namespace {

struct TemplateArgs {
  std::string dataset;
  std::string out;
  std::string markdown;
};

int RewriteMarkdown(const std::string& path, bool zh) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(NotFound(fmt::format("{} {}", path, zh ? "无法读取" : "cannot be read")), zh);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = service::SpliceContract(text.str());
  if (!doc) return Fail(doc.error(), zh);
  Status st = WriteAtomically(path, [&](const std::string& part) -> Status {
    std::ofstream out(part, std::ios::binary);
    out << *doc;
    out.close();
    if (!out) return Unavailable(fmt::format("cannot write {}", part));
    return OkStatus();
  });
  if (!st.ok()) return Fail(st, zh);
  fmt::print("{} {}\n", zh ? "已更新" : "updated", path);
  return kExitOk;
}

int RunTemplate(const TemplateArgs& args, bool zh) {
  if (!args.markdown.empty()) return RewriteMarkdown(args.markdown, zh);
  if (args.dataset.empty() || args.out.empty()) {
    fmt::print(stderr, "{}\n",
               zh ? "错误：请给出数据集（或 all）和 --out 目录"
                  : "error: give a data set (or all) and --out DIR");
    return kExitUsage;
  }
  auto datasets = service::TemplateDatasets(args.dataset);
  if (!datasets) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", datasets.error().message());
    return kExitUsage;
  }
  for (const DatasetSpec* d : *datasets) {
    if (Status st = service::WriteTemplate(*d, args.out); !st.ok()) return Fail(st, zh);
    fmt::print("{}.xlsx  {}\n", d->name, zh ? d->title_zh : d->title_en);
  }
  return kExitOk;
}

}  // namespace

void AddTemplateCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<TemplateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "template", "blank XLSX templates of the exchange data sets / 生成空白填报模板");
  cmd->add_option("dataset", args->dataset, "data set (households, members, ...) or all");
  cmd->add_option("--out", args->out, "folder for the .xlsx files");
  cmd->add_option("--markdown", args->markdown,
                  "rewrite the generated contract part of this Markdown file "
                  "(docs/exchange-format.md)");
  cmd->callback([args, &exit_code, &lang] { exit_code = RunTemplate(*args, lang == Lang::kZh); });
}

}  // namespace fupin::cli
