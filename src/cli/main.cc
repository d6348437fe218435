// fupin: the command line of the poverty-alleviation data platform (扶贫云).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/gen_command.h"

int main(int argc, char** argv) {
  using namespace fupin::cli;
  CLI::App app{"fupin 扶贫云 — precision poverty-alleviation data platform / 精准扶贫大数据平台"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // --lang may come before or after the subcommand
  app.set_version_flag("--version", std::string("fupin 0.1.0"));
  int exit_code = kExitOk;
  Lang lang = Lang::kZh;
  if (const char* env = std::getenv("FUPIN_LANG"); env && std::string(env) == "en")
    lang = Lang::kEn;
  app.add_option_function<std::string>(
         "--lang", [&](const std::string& v) { lang = v == "en" ? Lang::kEn : Lang::kZh; },
         "zh (default) or en; also FUPIN_LANG")
      ->check(CLI::IsMember({"zh", "en"}));
  AddImportCommand(app, exit_code, lang);
  AddStatsCommand(app, exit_code, lang);
  AddLinkCommands(app, exit_code, lang);
  AddRulesCommands(app, exit_code, lang);
  AddQueryCommand(app, exit_code, lang);
  AddReportCommand(app, exit_code, lang);
  AddTemplateCommand(app, exit_code, lang);
  AddServeCommand(app, exit_code, lang);
  AddAccountCommands(app, exit_code, lang);
  AddHouseholdCommands(app, exit_code, lang);
  AddGenCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    // A bare `fupin`: the list of commands, as --help shows it; still no command was run.
    fmt::print("{}", app.help());
    return kExitUsage;
  }
  return exit_code;
}
