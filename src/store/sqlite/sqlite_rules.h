// Internal to the SQLite backend: rule runs, flags and the column reader of RulesStore.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/link_store.h"
#include "store/rules_store.h"

namespace fupin::store::sqlite_detail {

// Migration 4: rule_runs, flags, flag_events.
std::string RulesMigration();

// A RulesStore writing through `db` and reading links through `links` (both owned by the
// caller, who outlives it); column scans open their own read-only connections to `path`.
// Migration 8 (part): the role beside every user name of rule runs and flag decisions.
std::string RulesRoleMigration();

struct Connection;
// The rules' part of the store on `conn`, which must outlive it (as must `links`).
std::unique_ptr<RulesStore> MakeSqliteRulesStore(Connection& conn, LinkStore& links);

}  // namespace fupin::store::sqlite_detail
