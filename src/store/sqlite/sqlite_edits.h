// Internal to the SQLite backend: household edits, visits, photos and the change feed
// (store/edit_store.h).
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/edit_store.h"

namespace fupin::store::sqlite_detail {

// Migration 7: households.version and the triggers that bump it, edits, history rows that
// belong to an edit (history.batch_id becomes nullable, edit_id added: a row has exactly one
// of them), household_visits, household_photos.
std::string EditsMigration();

// Migration 9: flag events made by an edit carry its edit_id (so the snapshot's `flags`
// version counts decisions only: an edit's flags reach it with the edit), an index of the
// decisions for counting them, and flags by household (an edit reads its household's flags).
std::string EditsFlagsMigration();

struct Connection;

// An EditStore writing through `conn` (owned by the caller, who outlives it): an edit is a
// transaction of its own, or a savepoint inside a WriteTxn open on `conn`. The change feed
// reads on a read-only connection of its own to the database, in one read transaction.
std::unique_ptr<EditStore> MakeSqliteEditStore(Connection& conn);

}  // namespace fupin::store::sqlite_detail
