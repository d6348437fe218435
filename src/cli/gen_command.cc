#include "cli/gen_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "gen/generator.h"

namespace fupin::cli {
namespace {

struct GenArgs {
  double scale = 0.01;
  uint64_t seed = 1;
  std::string out;
  bool xlsx = false;
  std::string encoding = "utf8";
  int threads = 0;
};

std::string Megabytes(int64_t bytes) {
  if (bytes >= 1'000'000'000) return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// Runs the generator; returns 0 or 1.
int RunGen(const GenArgs& args) {
  gen::GenOptions options;
  options.scale = args.scale;
  options.seed = args.seed;
  options.out = args.out;
  options.xlsx = args.xlsx;
  options.gb18030 = args.encoding == "gb18030";
  options.threads = args.threads;

  const bool tty = isatty(fileno(stderr)) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  int last_percent = -1;
  auto progress = [&](const gen::GenProgress& p) {
    const int percent = p.townships_total > 0 ? p.townships_done * 100 / p.townships_total : 100;
    if (percent == last_percent || (!tty && percent % 10 != 0)) return;
    last_percent = percent;
    std::fprintf(stderr, "%sgen: %3d%%  %d/%d townships  %.1f M rows  %s  %.0f s%s",
                 tty ? "\r" : "", percent, p.townships_done, p.townships_total,
                 static_cast<double>(p.rows_written) / 1e6, Megabytes(p.bytes_written).c_str(),
                 seconds(), tty ? "" : "\n");
    std::fflush(stderr);
  };
  Result<gen::GenSummary> result = gen::Generate(options, progress);
  if (tty && last_percent >= 0) std::fputc('\n', stderr);
  if (!result) {
    std::fprintf(stderr, "gen: %s\n", result.error().ToString().c_str());
    return 1;
  }
  const gen::GenSummary& s = *result;
  std::fprintf(stderr,
               "gen: wrote %s: %lld households, %lld members, %lld department rows, %lld planted "
               "cases, %lld dirty identity fields, %s in %.1f s\n",
               args.out.c_str(), static_cast<long long>(s.households),
               static_cast<long long>(s.members), static_cast<long long>(s.department_rows),
               static_cast<long long>(s.planted_cases), static_cast<long long>(s.dirty_fields),
               Megabytes(s.bytes_written).c_str(), seconds());
  return 0;
}

CLI::App* AddSubcommand(CLI::App& app, const std::shared_ptr<GenArgs>& args) {
  CLI::App* cmd = app.add_subcommand(
      "gen", "write a synthetic Guizhou exchange batch with ground truth / 生成合成数据");
  cmd->add_option("--scale", args->scale, "1.0 = Guizhou (~2.3 M households, ~7.46 M members)")
      ->check(CLI::Range(0.000001, 5.0))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "random seed; same seed and scale give identical files")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "output folder (created if missing)")->required();
  cmd->add_flag("--xlsx", args->xlsx, "also write households.xlsx and members.xlsx");
  cmd->add_option("--encoding", args->encoding, "CSV encoding: utf8 (default) or gb18030")
      ->check(CLI::IsMember({"utf8", "gb18030"}))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "worker threads (0 = all cores)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  return cmd;
}

}  // namespace

void AddGenCommand(CLI::App& app, int& exit_code) {
  // The options outlive this function: CLI11 writes them during parse, the callback reads them.
  auto args = std::make_shared<GenArgs>();
  AddSubcommand(app, args)->callback([args, &exit_code] { exit_code = RunGen(*args); });
}

}  // namespace fupin::cli
