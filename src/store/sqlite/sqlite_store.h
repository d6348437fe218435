// The SQLite backend of the Store: one database file in WAL mode with foreign keys on.
// The schema is versioned; pending migrations are applied when the file is opened.
#pragma once

#include <filesystem>
#include <memory>

#include "core/status.h"
#include "store/store.h"

namespace fupin::store {

// True when the environment sets FUPIN_STAGE_BATCHES=1.
bool StageBatchesByDefault();

struct SqliteOptions {
  // Page cache size; the import's peak memory depends on it.
  int cache_mib = 128;
  // How long opening the database and a writer wait for another process's lock before
  // kUnavailable, whose message says that another fupin process holds the database.
  int busy_timeout_ms = 5000;
  // Run batches with a rollback journal when no other connection is open (see BeginBatch).
  bool bulk_journal = true;
  // Stage every batch (sqlite_stage.h), even with no other connection open; otherwise only
  // then. Default: the environment's FUPIN_STAGE_BATCHES=1 (for tests of the staged path).
  bool stage_batches = StageBatchesByDefault();
};

// Opens (creating if needed) the database at `path` and migrates it to the current schema.
// A new database starts with the built-in regions (core/regions_data.h).
// Several processes may open and create the same new file at once: the schema is created in
// one immediate transaction per migration, re-checked under the lock. Fails with kUnavailable
// when another process still holds the file locked after busy_timeout_ms, kDataLoss when the
// file is not a SQLite database or has a newer schema than this build knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path,
                                               const SqliteOptions& options = {});

// The schema version this build creates and understands.
int SqliteSchemaVersion();

}  // namespace fupin::store
