// Stage, then publish: how an import batch runs while others read and write the store
// (docs/architecture.md, "Batches that don't stop the platform"). Internal to the SQLite
// backend.
//
// A staged batch writes nothing the store's readers see. What it would write goes to tables
// named stage__<table> in the store's own file, in short transactions of a connection of its
// own (so a cadre's write waits for one chunk, never for the batch), while the batch reads
// the store through one read view taken when it began. CommitBatch then publishes in one
// transaction: registry rows as an upsert of the changed rows only, a department's new
// snapshot (written whole, as stage__<table>) by swapping it in for the old table, and the
// batch's records (batch, files, issues, history, changes, identity blocks, data-set state).
// A kill before that commit leaves the store as it was plus stage tables, which the next
// batch drops; one batch at a time per store (a lock file beside it, released by the kernel
// when its process dies).
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/sqlite/sqlite_util.h"
#include "store/store.h"

namespace fupin::store::sqlite_detail {

inline constexpr std::string_view kStagePrefix = "stage__";

// The store's import lock: one batch at a time per database file, staged or not. Held for the
// life of the object; the kernel releases it if the process dies.
class ImportLock {
 public:
  // Waits up to `timeout_ms` (the store's busy timeout) for another batch to finish, then
  // kUnavailable (IsInUse).
  static Result<ImportLock> Take(const std::filesystem::path& db_path, int timeout_ms);
  ImportLock(ImportLock&& o) noexcept;
  ImportLock& operator=(ImportLock&& o) noexcept;
  ImportLock(const ImportLock&) = delete;
  ImportLock& operator=(const ImportLock&) = delete;
  ~ImportLock();

 private:
  explicit ImportLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Drops every stage__ table (what a batch killed before its publish left, or a published
// batch's old department snapshots). REQUIRES: the import lock. `chunked`: `db` has no
// transaction open, and each table's rows go a chunk per transaction first; else at once,
// inside the caller's transaction.
Status DropStageTables(sqlite3* db, bool chunked);

class BatchStage {
 public:
  // Opens a connection of its own to `db_path`, drops leftovers and creates the stage tables
  // of the batch's records and registry rows. REQUIRES: the import lock is held.
  static Result<std::unique_ptr<BatchStage>> Begin(const std::filesystem::path& db_path,
                                                   int busy_timeout_ms, int cache_mib);
  ~BatchStage();  // drops the stage tables (best effort) and closes its connection
  BatchStage(const BatchStage&) = delete;
  BatchStage& operator=(const BatchStage&) = delete;

  // A statement on the staging connection; Add queues executions of it.
  Result<int> Prepare(std::string_view sql);
  // Queues one execution of statement `stmt` with `args` (and, when `blob_index` > 0, `blob`
  // bound as a blob there). Queued statements run in order, in chunks of one short
  // transaction each.
  Status Add(int stmt, std::vector<Value> args, std::string blob = {}, int blob_index = 0);
  // Runs what is queued, in one transaction.
  Status Flush();
  // Creates stage__<table> with main's definition of `table`: a data set written whole, then
  // swapped in by the publish.
  Status CreateCopyOf(std::string_view table);
  // Calls `fn` with each household id staged so far (after a Flush).
  Status ForEachStagedHousehold(const std::function<void(std::string_view)>& fn);

  // Publishes the batch on `main` (the store's connection, nothing open on it) in one
  // transaction. kAborted, and nothing published, when another batch was published since
  // `base_batch` was read or a household whose row the batch changes was edited since the
  // batch read it.
  Status Publish(sqlite3* main, int64_t base_batch);

 private:
  explicit BatchStage(sqlite3* db) : db_(db) {}
  struct Op {
    int stmt;
    std::vector<Value> args;
    std::string blob;
    int blob_index;
  };
  sqlite3* db_;
  std::vector<Stmt> stmts_;
  std::vector<Op> ops_;
  size_t queued_bytes_ = 0;
  std::vector<std::string> swapped_;  // data-set tables staged whole (CreateCopyOf)
};

}  // namespace fupin::store::sqlite_detail
