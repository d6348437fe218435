// fupin serve: the platform's HTTP server (server/server.h).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "server/server.h"

namespace fupin::cli {

namespace {

// The web app's folder when --web is not given: the first that exists of $FUPIN_WEB, the build
// tree's web/dist (the binary is build/src/cli/fupin) and the installed share/fupin/web beside
// bin/; "" when none does (the API only).
std::string DefaultWebDir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("FUPIN_WEB"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path binary = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = binary.parent_path();
    candidates.push_back(dir / ".." / ".." / ".." / "web" / "dist");
    candidates.push_back(dir / ".." / "share" / "fupin" / "web");
  }
  for (const fs::path& candidate : candidates)
    if (fs::is_regular_file(candidate / "index.html", ec))
      return fs::weakly_canonical(candidate, ec).string();
  return "";
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code, const Lang& lang) {
  auto options = std::make_shared<server::ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "serve the JSON API, /healthz, /metrics and the web app / 启动平台服务");
  cmd->add_option("--db", options->db, "store: a path or sqlite:PATH")->required();
  cmd->add_option("--listen", options->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--web", options->web_dir,
                  "folder of the web app's static files (default: $FUPIN_WEB, the build tree's "
                  "web/dist or the installed share/fupin/web, the first holding index.html)");
  cmd->add_option("--rules", options->rules, "rule set file (default: the built-in rules)");
  cmd->add_option("--tls-cert", options->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", options->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--threads", options->threads,
                  "worker threads; each open keep-alive connection holds one")
      ->capture_default_str();
  cmd->add_option("--active-reads", options->active_reads,
                  "light reads (queries, portraits, lists) computed at once; the others wait "
                  "their turn in order (0: four per core)")
      ->capture_default_str();
  cmd->add_option("--reader-nice", options->reader_nice,
                  "added to the nice value of every thread but the one that writes edits, so "
                  "edits keep their share of the CPU under heavy reads (0 to 19; 0: none)")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  cmd->add_option("--read-timeout-s", options->read_timeout_s,
                  "seconds a client may take to send a request before it is dropped")
      ->capture_default_str();
  cmd->add_option("--session-idle-s", options->idle_session_s, "a session unused this long ends")
      ->capture_default_str();
  cmd->add_option("--session-max-s", options->absolute_session_s,
                  "a session ends this long after login, used or not")
      ->capture_default_str();
  cmd->add_option(
      "--max-body-mib",
      [options](const CLI::results_t& r) {
        options->max_body_bytes = static_cast<size_t>(std::stoul(r[0])) << 20;
        return true;
      },
      "largest request body in MiB (larger: 413)");
  cmd->callback([options, &exit_code, &lang] {
    const bool zh = lang == Lang::kZh;
    if (options->web_dir.empty()) options->web_dir = DefaultWebDir();
    if (!options->web_dir.empty())
      fmt::print(stderr, "{} {}\n", zh ? "网页应用目录:" : "web app:", options->web_dir);
    options->on_listening = [zh](const std::string& url) {
      fmt::print("{} {}\n", zh ? "服务已启动:" : "listening on", url);
      std::fflush(stdout);
    };
    Status st = server::Serve(*options, lang);
    exit_code = st.ok() ? kExitOk : Fail(st, zh);
  });
}

}  // namespace fupin::cli
