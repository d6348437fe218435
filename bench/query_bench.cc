// Times the dashboard queries of bench/dashboard_queries.tsv on a database's analytics
// snapshot: each query run `--runs` times after one warm-up, the median and the fastest in
// milliseconds, and the answers as CSV into --out (for bench/query-peers to compare with
// DuckDB's). Usage:
//   fupin_query_bench --db F.db --queries bench/dashboard_queries.tsv [--runs 21] [--out DIR]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "analytics/query.h"
#include "core/text.h"
#include "store/sqlite/sqlite_store.h"

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fupin;
  CLI::App app("fupin query benchmark");
  std::string db, queries, out;
  int runs = 21, threads = 2;
  double poverty_line = 0;
  bool no_cube = false;
  app.add_option("--db", db)->required();
  app.add_option("--queries", queries)->required();
  app.add_option("--runs", runs);
  app.add_option("--threads", threads);
  app.add_option("--out", out);
  app.add_option("--line", poverty_line, "poverty line of the fgt_ and mpi_ measures (yuan)");
  app.add_flag("--no-cube", no_cube, "scan every query (QuerySpec::use_cube = false)");
  CLI11_PARSE(app, argc, argv);

  auto store = store::OpenSqliteStore(db);
  if (!store) {
    fmt::print(stderr, "{}\n", store.error().ToString());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string how;
  auto snap = analytics::OpenSnapshot(**store, db, {}, &how);
  if (!snap) {
    fmt::print(stderr, "{}\n", snap.error().ToString());
    return 1;
  }
  const double open_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("snapshot {} in {:.2f} s: {} households, {} members, {:.1f} MiB\n", how, open_s,
             snap->LiveHouseholds(), snap->members,
             static_cast<double>(snap->MemoryBytes()) / (1 << 20));
  fmt::print("{:<5} {:>10} {:>10} {:>7}  {}\n", "query", "median ms", "min ms", "rows", "what");
  std::ifstream in(queries);
  std::string line;
  std::vector<double> medians;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, '\t')) f.push_back(cell);
    f.resize(5);
    analytics::QuerySpec spec;
    spec.measures = Split(f[1], ',');
    spec.by = Split(f[2], ',');
    spec.threads = threads;
    spec.poverty.line = poverty_line;
    spec.use_cube = !no_cube;
    for (const std::string& w : Split(f[3], ';')) {
      const size_t eq = w.find('=');
      spec.where.emplace_back(w.substr(0, eq), Split(w.substr(eq + 1), ','));
    }
    auto warm = analytics::RunQuery(*snap, spec);
    if (!warm) {
      fmt::print(stderr, "{}: {}\n", f[0], warm.error().ToString());
      return 1;
    }
    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
      const auto a = std::chrono::steady_clock::now();
      auto res = analytics::RunQuery(*snap, spec);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(ms.begin(), ms.end());
    medians.push_back(ms[ms.size() / 2]);
    fmt::print("{:<5} {:>10.4f} {:>10.4f} {:>7}  {}\n", f[0], ms[ms.size() / 2], ms.front(),
               warm->rows.size(), f[4]);
    if (!out.empty()) {
      std::ofstream o(out + "/" + f[0] + ".csv");
      for (size_t i = 0; i < warm->columns.size(); ++i)
        o << (i ? "," : "") << CsvQuote(warm->columns[i]);
      o << "\n";
      for (const auto& r : warm->rows) {
        for (size_t i = 0; i < r.size(); ++i) o << (i ? "," : "") << CsvQuote(r[i]);
        o << "\n";
      }
    }
  }
  std::sort(medians.begin(), medians.end());
  if (!medians.empty())
    fmt::print("median of the medians {:.2f} ms, slowest median {:.2f} ms\n",
               medians[medians.size() / 2], medians.back());
  return 0;
}
