// Internal to the SQLite backend: the person index's tables and their LinkStore.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/link_store.h"

namespace fupin::store::sqlite_detail {

// Migration 2: persons, link runs, one links table per department data set, findings.
std::string LinkMigration();

// Migration 3: dept_identity and link_exact (sqlite_blocks.h).
std::string BlocksMigration();

// A LinkStore writing through `db` (owned by the caller, who outlives it); department scans
// open their own read-only connections to `path`.
// Migration 8 (part): the role beside every user name of link runs and review decisions.
std::string LinkRoleMigration();

struct Connection;
// The person index's part of the store on `conn`, which must outlive it.
std::unique_ptr<LinkStore> MakeSqliteLinkStore(Connection& conn);

}  // namespace fupin::store::sqlite_detail
