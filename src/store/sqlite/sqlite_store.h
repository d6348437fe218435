// The SQLite backend of the Store: one database file in WAL mode with foreign keys on.
// The schema is versioned; pending migrations are applied when the file is opened.
#pragma once

#include <filesystem>
#include <memory>

#include "core/status.h"
#include "store/store.h"

namespace fupin::store {

struct SqliteOptions {
  // Page cache size; the import's peak memory depends on it.
  int cache_mib = 128;
  // How long a writer waits for another process's write lock before kUnavailable.
  int busy_timeout_ms = 5000;
  // Run batches with a rollback journal when no other connection is open (see BeginBatch).
  bool bulk_journal = true;
};

// Opens (creating if needed) the database at `path` and migrates it to the current schema.
// A new database starts with the built-in regions (core/regions_data.h).
// Fails with kUnavailable when another process holds the file locked, kDataLoss when the
// file is not a SQLite database or has a newer schema than this build knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path,
                                               const SqliteOptions& options = {});

// The schema version this build creates and understands.
int SqliteSchemaVersion();

}  // namespace fupin::store
