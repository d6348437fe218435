// fupin query: measures by dimensions over the registry, for scripts and for checking the
// query model the dashboards and reports share (analytics/query.h).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "analytics/query.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "rules/engine.h"

namespace fupin::cli {
namespace {

struct QueryArgs {
  std::string db, measures, by, format = "csv";
  std::vector<std::string> where;
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

int RunQueryCommand(const QueryArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  analytics::QuerySpec spec;
  spec.measures = SplitComma(args.measures);
  spec.by = SplitComma(args.by);
  for (const std::string& w : args.where) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "{}: --where {}\n",
                 zh ? "错误: 须为 维度=值[,值]" : "error: need dimension=value[,value]", w);
      return kExitUsage;
    }
    spec.where.emplace_back(w.substr(0, eq), SplitComma(w.substr(eq + 1)));
  }
  if (Status st = analytics::CheckQuery(spec); !st.ok()) {
    fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", st.message());
    return kExitUsage;
  }
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  const rules::RuleSet fields = analytics::QueryFields();
  auto data = rules::LoadRuleData(**store, fields, {});
  if (!data) return Fail(data.error(), zh);
  auto result = analytics::RunQuery(*data, spec);
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
  std::string line;
  for (size_t i = 0; i < result->columns.size(); ++i)
    line += (i ? "," : "") + CsvQuote(result->columns[i]);
  fmt::print("{}\n", line);
  for (const auto& r : result->rows) {
    line.clear();
    for (size_t i = 0; i < r.size(); ++i) line += (i ? "," : "") + CsvQuote(r[i]);
    fmt::print("{}\n", line);
  }
  return kExitOk;
}

}  // namespace

void AddQueryCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* q = app.add_subcommand(
      "query", "Measures by dimensions over the registry (docs/query.md) / 统计查询");
  q->add_option("--db", args->db, "SQLite database file")->required();
  q->add_option("--measure", args->measures, "persons,households,... (docs/query.md)")->required();
  q->add_option("--by", args->by, "county,status,... (docs/query.md)");
  q->add_option("--where", args->where, "dimension=value[,value], repeatable");
  q->add_option("--format", args->format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  q->callback([args, &exit_code, &lang] { exit_code = RunQueryCommand(*args, lang); });
}

}  // namespace fupin::cli
