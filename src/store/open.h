// Opening a store by URI (打开数据存储): the one factory every front end (the CLI's --db, the
// server's configuration, tests) goes through, so that the backend is chosen by the address
// alone. Today: SQLite files; `postgresql://` arrives with the PostgreSQL issue.
// Thread-safety: the functions here are thread-safe; the Store returned is used from one
// thread at a time (store.h) — give each thread its own, or a StorePool lease (pool.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace fupin::store {

// How a store is opened, whatever the backend.
struct OpenOptions {
  // Page cache per connection, in MiB; an import's peak memory depends on it.
  int cache_mib = 128;
  // How long opening and a write wait for another connection's write lock before
  // kUnavailable (the message says that another fupin process holds the database).
  int busy_timeout_ms = 5000;
  // SQLite: let an import run with a rollback journal when no other connection has the file
  // open (faster; see SqliteStore::BeginBatch). Pools turn it off.
  bool bulk_journal = true;
  // False: a database that does not exist yet is kNotFound instead of being created.
  bool create = true;
};

enum class StoreBackend { kSqlite, kPostgresql };

// A parsed store URI.
struct StoreLocation {
  StoreBackend backend = StoreBackend::kSqlite;
  std::filesystem::path path;  // kSqlite: the database file
};

// Parses "PATH", "sqlite:PATH" and "sqlite:///abs/path" (kSqlite), "postgresql://..." and
// "postgres://..." (kPostgresql). kInvalidArgument naming the scheme for any other
// "scheme:" prefix, and for an empty URI or path.
Result<StoreLocation> ParseStoreUri(std::string_view uri);

// Opens (creating, unless options.create is false) the store at `uri` and migrates it to
// the current schema. kUnimplemented for PostgreSQL ("PostgreSQL arrives with the PostgreSQL
// issue"); kInvalidArgument for an unknown scheme; kNotFound for a missing database when
// !options.create; otherwise as OpenSqliteStore (sqlite/sqlite_store.h).
Result<std::unique_ptr<Store>> OpenStore(std::string_view uri, const OpenOptions& options = {});

}  // namespace fupin::store
