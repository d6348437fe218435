// The `fupin` command's subcommands. Each Add*Command registers its subcommand on the app;
// the callbacks set the process exit code through `exit_code`.
//
// Exit codes (also in README.md):
//   0  everything done; for import: every row of every file imported
//   1  could not run (missing path, unreadable database, store error); nothing changed
//   2  bad command line
//   3  import finished, but some rows were rejected or some files could not be read
#pragma once

#include <CLI/CLI.hpp>

#include "core/lang.h"

namespace fupin::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRejected = 3;

// Language of messages and tables: Chinese by default, English with --lang en.
using fupin::Lang;

void AddImportCommand(CLI::App& app, int& exit_code, const Lang& lang);
void AddStatsCommand(CLI::App& app, int& exit_code, const Lang& lang);
// link, export links, export findings
void AddLinkCommands(CLI::App& app, int& exit_code, const Lang& lang);
// rules check|run|default, flags set, export flags (after AddLinkCommands: adds to export)
void AddRulesCommands(CLI::App& app, int& exit_code, const Lang& lang);
// query: measures by dimensions (analytics/query.h)
void AddQueryCommand(CLI::App& app, int& exit_code, const Lang& lang);
// report: standard report templates as XLSX or PDF (reports/templates.h)
void AddReportCommand(CLI::App& app, int& exit_code, const Lang& lang);
// template: blank XLSX templates and the generated contract doc (service/template.h)
void AddTemplateCommand(CLI::App& app, int& exit_code, const Lang& lang);
// serve: the HTTP server (server/server.h)
void AddServeCommand(CLI::App& app, int& exit_code, const Lang& lang);
// user, token, audit, backup: accounts, API tokens, the audit chain (service/accounts.h)
void AddAccountCommands(CLI::App& app, int& exit_code, const Lang& lang);
// household edit|history, changes: a cadre's edit and the change feed (service/household_edit.h)
void AddHouseholdCommands(CLI::App& app, int& exit_code, const Lang& lang);

}  // namespace fupin::cli
