// Store: the system of record (数据存储). One interface, one folder per backend
// (store/sqlite/ now, store/postgres/ later), one conformance suite for all.
//
// Every import is one batch and one transaction: BeginBatch .. CommitBatch makes the whole
// batch visible at once; AbortBatch (or a crash) leaves the store as it was. Registry data
// (households, members) is upserted by key and every changed field is kept in `history`.
// A department file is a full snapshot: it replaces that department's previous rows. Rows
// it added carry added_file_id = its file id; `dept_changes` lists the rows it changed
// (same key, new values, same row_id) and the rows that are gone.
//
// A Store is one connection. ReadView and WriteTxn (below) group a connection's reads into one
// consistent view, or its writes into one transaction. Open one connection per thread, or
// lease them from a StorePool (pool.h); OpenStore (open.h) opens one from a URI.
// Thread-safety: a Store and its writers are used from one thread at a time (except the
// scans that link_store.h and rules_store.h allow on several threads, outside a ReadView or
// WriteTxn). Distinct Stores of one database may be used on different threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/datasets.h"
#include "core/status.h"
#include "store/edit_store.h"
#include "store/link_store.h"
#include "store/platform_store.h"
#include "store/rules_store.h"

namespace fupin::store {

// A typed cell. Text is UTF-8.
struct Value {
  enum class Kind : uint8_t { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double r = 0;
  std::string text;

  static Value Null() { return {}; }
  static Value Int(int64_t v) { return {Kind::kInt, v, 0, {}}; }
  static Value Real(double v) { return {Kind::kReal, 0, v, {}}; }
  static Value Text(std::string v) { return {Kind::kText, 0, 0, std::move(v)}; }
  // The value as text for history and reports ("" for null).
  std::string ToText() const;
  bool operator==(const Value&) const = default;
};

struct Region {
  std::string code;  // 12 digits
  std::string name;
  int level = 0;
  std::string parent_code;  // empty for the province
};

struct BatchInfo {
  std::string source;  // the folder or file given to `fupin import`
  Actor actor;         // who ran it (user and role are recorded)
};

struct FileInfo {
  std::string file_name;  // as found in the batch folder
  std::string dataset;    // DatasetSpec::name
  std::string sha256;     // hex
  uint64_t size_bytes = 0;
  std::string encoding;  // "UTF-8", "GB18030", "XLSX"
};

struct FileOutcome {
  int64_t rows_read = 0;
  int64_t rows_imported = 0;
  int64_t rows_rejected = 0;
  int64_t warnings = 0;
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;
  std::string outcome;   // "imported", "unchanged" (same file as the current data), "failed"
  std::string message;   // why a file failed as a whole
  std::string encoding;  // the encoding as finally decided, when known after reading
};

// One row-level error (the row was rejected) or warning (the row was kept).
struct Issue {
  int64_t file_id = 0;
  int64_t row_number = 0;  // 1 = first data row after the header; 0 = the file as a whole
  std::string column;
  std::string value;
  bool is_error = false;
  std::string code;  // stable machine code, e.g. "bad_check_char"
  std::string message_en;
  std::string message_zh;
};

// An issue as read back for reports, with its file's name.
struct IssueRow {
  std::string file_name;
  int64_t row_number = 0;
  std::string column;
  std::string value;
  bool is_error = false;
  std::string code;
  std::string message_en;
  std::string message_zh;
};

struct CurrentFile {
  std::string sha256;
  int64_t rows_rejected = 0;  // rows of it that were rejected when it was imported
};

struct RowMeta {
  int64_t source_row = 0;  // data row number in its file
  uint64_t key_hash = 0;   // identifies the row across snapshots (department data)
  uint64_t content_hash = 0;
};

struct WriteCounts {
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;       // department rows gone from the new snapshot
  int64_t kept_missing = 0;  // missing from the snapshot but kept (see Finish)
};

// Writes one file's rows into a data set's table inside the open batch.
class DatasetWriter {
 public:
  virtual ~DatasetWriter() = default;
  // `values` holds one value per StoredColumns(dataset), in order. Returns kNotFound when the
  // store finds that a member's household does not exist (the row is not written; the batch
  // goes on); the importer checks that first (Store::ForEachHouseholdId).
  virtual Status Put(const RowMeta& meta, std::span<const Value> values) = 0;
  // Completes the file. For department data with `remove_missing`, rows of the previous
  // snapshot that the file did not hold are removed ("gone"); without it they are kept and
  // counted in WriteCounts::kept_missing — the importer passes false when some rows of the
  // file were rejected or unreadable, since a bad row must never cost a good stored one.
  virtual Result<WriteCounts> Finish(bool remove_missing) = 0;
};

struct TableCount {
  std::string table;
  int64_t rows = 0;
};
struct RegionStatusCount {
  std::string prefecture_code;
  std::string prefecture_name;
  int status = 0;  // household status code, 0 when unknown
  int64_t households = 0;
  int64_t members = 0;
};
struct Stats {
  std::vector<TableCount> tables;
  std::vector<RegionStatusCount> by_prefecture;
  int64_t batches = 0;
};

// The backend's side of an open ReadView or WriteTxn.
class TxnHandle {
 public:
  virtual ~TxnHandle() = default;
  // Makes the transaction's writes durable and visible; on failure they are rolled back.
  virtual Status Commit() = 0;
  // Ends the transaction; a write transaction not committed is rolled back.
  virtual void End() = 0;
};

// A consistent read view (一致读视图): while it lives, every read of its Store — the
// registry, links and flags, through any method, the scans included — sees one committed
// state, never a mix, however many batches other connections commit meanwhile. Writes
// through the Store are refused (kFailedPrecondition) while it lives. Ends on destruction.
// Keep views short: SQLite cannot fold the WAL past the oldest open view.
class ReadView {
 public:
  explicit ReadView(std::unique_ptr<TxnHandle> handle) : handle_(std::move(handle)) {}
  ReadView(ReadView&&) noexcept = default;
  ReadView& operator=(ReadView&& other) noexcept {
    if (this != &other) {
      End();
      handle_ = std::move(other.handle_);
    }
    return *this;
  }
  ~ReadView() { End(); }
  // Ends the view now (the destructor does nothing more).
  void End() {
    if (handle_) handle_->End();
    handle_.reset();
  }

 private:
  std::unique_ptr<TxnHandle> handle_;
};

// A write transaction (写事务): every write through its Store until Commit() is one
// transaction, visible to other connections all at once or not at all. Rolled back on
// destruction unless committed. Store methods that run their own transaction (flag and
// review decisions, ApplyRun) join it; a batch or link run cannot start inside it
// (kFailedPrecondition). Keep it short: other writers wait for it (busy_timeout_ms).
class WriteTxn {
 public:
  explicit WriteTxn(std::unique_ptr<TxnHandle> handle) : handle_(std::move(handle)) {}
  WriteTxn(WriteTxn&&) noexcept = default;
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn() {
    if (handle_) handle_->End();
  }
  // Commits. kFailedPrecondition when already committed; on failure the transaction is
  // rolled back (and the error returned).
  Status Commit() {
    if (!handle_) return FailedPrecondition("the write transaction has already ended");
    Status st = handle_->Commit();
    handle_.reset();
    return st;
  }

 private:
  std::unique_ptr<TxnHandle> handle_;
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens a read view (see ReadView). kFailedPrecondition when a view, transaction, batch or
  // link run is already open on this Store.
  virtual Result<ReadView> BeginRead() = 0;
  // Opens a write transaction (see WriteTxn), waiting up to busy_timeout_ms for another
  // connection's write lock (then kUnavailable). kFailedPrecondition when a view,
  // transaction, batch or link run is already open on this Store.
  virtual Result<WriteTxn> BeginWrite() = 0;

  virtual Result<std::vector<Region>> LoadRegions() = 0;

  // Starts a batch and its transaction. kFailedPrecondition when a batch, view, transaction
  // or link run is already open on this Store.
  virtual Result<int64_t> BeginBatch(const BatchInfo& info) = 0;
  // The file whose rows are the current data of `dataset`, if any.
  virtual Result<std::optional<CurrentFile>> CurrentFileOf(std::string_view dataset) = 0;
  // Records a file of the open batch; returns its file id for Issue::file_id.
  virtual Result<int64_t> BeginFile(const FileInfo& info) = 0;
  virtual Result<std::unique_ptr<DatasetWriter>> OpenWriter(const DatasetSpec& dataset,
                                                            int64_t file_id) = 0;
  virtual Status AddIssues(std::span<const Issue> issues) = 0;
  virtual Status FinishFile(int64_t file_id, const FileOutcome& outcome) = 0;
  // Calls `fn` with the id of every stored household, those of the open batch included.
  // Within a batch the store does not check references: the importer checks a member's
  // household against these ids, and a household's village by validation.
  virtual Status ForEachHouseholdId(const std::function<void(std::string_view)>& fn) = 0;
  // Calls `fn` with the key of every current member, those written in the open batch
  // included. A member whose row has left_reason set (减员: died, married or moved out) has
  // left the household: the row and its history stay, but readers of current data (rule
  // and snapshot loads, the person index, statistics) leave it out.
  virtual Status ForEachCurrentMember(
      const std::function<void(const Value& household_id, const Value& id_number)>& fn) = 0;
  // Upserts regions from a regions.csv of the batch.
  virtual Status PutRegions(std::span<const Region> regions) = 0;
  // Makes the batch durable and visible. On failure the batch is rolled back.
  virtual Status CommitBatch() = 0;
  // Discards everything written since BeginBatch.
  virtual void AbortBatch() = 0;

  virtual Result<Stats> GetStats() = 0;

  // Calls `fn` for each issue of a batch, ordered by file and row; stops at the first
  // failed Status and returns it.
  virtual Status ForEachIssue(int64_t batch_id,
                              const std::function<Status(const IssueRow&)>& fn) = 0;
  // The newest batch's id, or 0 when nothing was ever imported.
  virtual Result<int64_t> LatestBatchId() = 0;

  // Import batches, newest first: those with batch_id < `before` (0: from the newest), at
  // most `limit`, each with its files' outcomes.
  struct BatchFileRow {
    int64_t file_id = 0;
    std::string file_name, dataset, outcome;
    int64_t rows_read = 0, rows_imported = 0, rows_rejected = 0, warnings = 0;
  };
  struct BatchRow {
    int64_t batch_id = 0;
    std::string started_at, finished_at, user, role, source;
    std::vector<BatchFileRow> files;
  };
  virtual Result<std::vector<BatchRow>> ListBatches(int64_t before, int limit) = 0;

  // What the analytics snapshot was built from (analytics/snapshot.h), part by part: a part
  // whose number changed must be read again. Each number only grows.
  struct DataVersion {
    int64_t registry = 0;  // the newest file of regions, households or members
    int64_t links = 0;     // the newest finished link run
    int64_t flags = 0;     // the newest rule run plus flag decisions (not edits' flags)
    int64_t edits = 0;     // the newest cadre's edit (edit_id; edit_store.h)
    bool operator==(const DataVersion&) const = default;
  };
  virtual Result<DataVersion> GetDataVersion() = 0;

  // The person index's tables (link_store.h).
  virtual LinkStore& Links() = 0;

  // Rule runs and flags (rules_store.h).
  virtual RulesStore& Rules() = 0;

  // Users, sessions, API tokens, the audit log and backup (platform_store.h).
  virtual PlatformStore& Platform() = 0;

  virtual EditStore& Edits() = 0;  // household edits, photos, the change feed (edit_store.h)
};

}  // namespace fupin::store
