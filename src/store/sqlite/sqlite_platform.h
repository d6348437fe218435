// Internal to the SQLite backend: users, sessions, login throttling, API tokens, the audit
// log and the online backup of PlatformStore.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "store/platform_store.h"

namespace fupin::store::sqlite_detail {

// Migration 6: users, sessions, login_failures, login_locks, api_tokens, audit_log (with
// triggers that refuse UPDATE and DELETE on it).
std::string PlatformMigration();

// A PlatformStore on `db` (owned by the caller, who outlives it).
std::unique_ptr<PlatformStore> MakeSqlitePlatformStore(sqlite3* db);

}  // namespace fupin::store::sqlite_detail
