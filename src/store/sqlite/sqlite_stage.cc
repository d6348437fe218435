#include "store/sqlite/sqlite_stage.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/datasets.h"
#include "store/sqlite/write_gate.h"

namespace fupin::store::sqlite_detail {
namespace {

// A batch's queue is written once it holds this many statements or bytes: a chunk holds the
// write lock for tens of milliseconds.
constexpr size_t kChunkOps = 20000;
constexpr size_t kChunkBytes = size_t{16} << 20;

// The tables a batch writes besides whole data sets, staged from the start.
constexpr std::string_view kStagedTables[] = {
    "import_batches", "batch_files",   "import_issues", "history",    "dept_changes",
    "dept_identity",  "dataset_state", "regions",       "households", "members"};

// main's CREATE TABLE statement of `table`, renamed stage__<table>.
Result<std::string> StageDefinition(sqlite3* db, std::string_view table) {
  ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db,
                                         "SELECT sql FROM main.sqlite_master WHERE type = 'table' "
                                         "AND name = ?"));
  s.Bind(1, table);
  ASSIGN_OR_RETURN(bool row, s.Step(db));
  if (!row) return Err(Internal(fmt::format("no table {} to stage", table)));
  std::string sql = s.Text(0);
  s.Reset();
  constexpr std::string_view kCreate = "CREATE TABLE ";
  if (!sql.starts_with(kCreate))
    return Err(Internal(fmt::format("unexpected definition of {}", table)));
  // The name as written: bare, or quoted after a rename ("history").
  size_t name_end = kCreate.size();
  if (sql[name_end] == '"') {
    name_end = sql.find('"', name_end + 1);
    if (name_end == std::string::npos)
      return Err(Internal(fmt::format("unexpected definition of {}", table)));
    ++name_end;
  } else {
    name_end = sql.find_first_of(" (", name_end);
  }
  return fmt::format("CREATE TABLE {}{}{}", kStagePrefix, table, sql.substr(name_end));
}

std::string Columns(const DatasetSpec& d) {
  std::string out;
  for (const StoredColumn& c : StoredColumns(d)) out += fmt::format(", {}", c.name);
  return out;
}

// Registry rows staged by the batch (new and changed) into their table: an upsert that keeps
// the household's version counter (its trigger counts the change, as for a direct batch).
std::string UpsertRegistry(const DatasetSpec& d) {
  std::string sets =
      "file_id = excluded.file_id, source_row = excluded.source_row, "
      "row_hash = excluded.row_hash";
  for (const StoredColumn& c : StoredColumns(d))
    sets += fmt::format(", {0} = excluded.{0}", c.name);
  const std::string cols = "file_id, source_row, row_hash" + Columns(d);
  return fmt::format(
      "INSERT INTO {0} ({1}) SELECT {1} FROM {2}{0} WHERE true ON CONFLICT ({3}) DO UPDATE "
      "SET {4}",
      d.table, cols, kStagePrefix,
      d.kind == DatasetKind::kHousehold ? "household_id" : "household_id, id_number", sets);
}

}  // namespace

// ---- the import lock ------------------------------------------------------------------

Result<ImportLock> ImportLock::Take(const std::filesystem::path& db_path, int timeout_ms) {
  const std::string path = db_path.string() + ".import-lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Err(
        Unavailable(fmt::format("cannot open the import lock {}: {}", path, std::strerror(errno))));
  // Another batch may be finishing: wait as long as a writer waits for SQLite's lock.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      Status st = Unavailable(fmt::format("cannot lock {}: {}", path, std::strerror(errno)));
      ::close(fd);
      return Err(st);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return Err(Unavailable(std::string(kInUseMessage)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ImportLock(fd);
}

ImportLock::ImportLock(ImportLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
ImportLock& ImportLock::operator=(ImportLock&& o) noexcept {
  std::swap(fd_, o.fd_);
  return *this;
}
ImportLock::~ImportLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

// Drops `table`: first its rows, a chunk per transaction, so that dropping a department's old
// snapshot of millions of rows never holds the write lock for long (DROP TABLE frees every
// page at once). A WITHOUT ROWID table (a staged registry delta) is dropped at once.
Status DropInChunks(sqlite3* db, const std::string& table) {
  const std::string del = fmt::format(
      "DELETE FROM main.\"{0}\" WHERE rowid IN (SELECT rowid FROM main.\"{0}\" LIMIT {1})", table,
      kChunkOps);
  for (bool rowid = true; rowid;) {
    RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    Status st = Exec(db, del);
    const int deleted = st.ok() ? sqlite3_changes(db) : 0;
    if (!st.ok()) rowid = false;  // no rowid: dropped whole below
    if (Status c = Exec(db, st.ok() ? "COMMIT" : "ROLLBACK"); !c.ok()) return c;
    if (deleted == 0) break;
  }
  return Exec(db, fmt::format("DROP TABLE main.\"{}\"", table));
}

Status DropStageTables(sqlite3* db, bool chunked) {
  std::vector<std::string> names;
  {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db,
                                           "SELECT name FROM main.sqlite_master WHERE type = "
                                           "'table' AND substr(name, 1, 7) = 'stage__'"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db));
      if (!row) break;
      names.push_back(s.Text(0));
    }
  }
  for (const std::string& name : names)
    RETURN_IF_ERROR(chunked ? DropInChunks(db, name)
                            : Exec(db, fmt::format("DROP TABLE main.\"{}\"", name)));
  return OkStatus();
}

// ---- the stage ------------------------------------------------------------------------

Result<std::unique_ptr<BatchStage>> BatchStage::Begin(const std::filesystem::path& db_path,
                                                      int busy_timeout_ms, int cache_mib) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    Status st = SqliteError(db, fmt::format("open {} to stage a batch", db_path.string()));
    sqlite3_close_v2(db);
    return Err(st);
  }
  auto stage = std::unique_ptr<BatchStage>(new BatchStage(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // The stage's chunks queue with the process's other writers (a server's cadres) in turn.
  AttachWriteGate(db, db_path, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = OFF"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous = NORMAL"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA temp_store = MEMORY"));
  RETURN_IF_ERROR(Exec(db, fmt::format("PRAGMA cache_size = -{}", cache_mib * 1024)));
  // What a killed batch left, dropped chunk by chunk, then the stage created in one go.
  RETURN_IF_ERROR(DropStageTables(db, true));
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  auto create = [&]() -> Status {
    for (std::string_view table : kStagedTables) {
      ASSIGN_OR_RETURN(std::string sql, StageDefinition(db, table));
      RETURN_IF_ERROR(Exec(db, sql));
    }
    // The version of each household whose row the batch changes, as the batch read it.
    RETURN_IF_ERROR(Exec(db,
                         "CREATE TABLE stage__seen (household_id TEXT PRIMARY KEY, version "
                         "INTEGER NOT NULL) WITHOUT ROWID"));
    // Data sets whose identity blocks the batch replaces (maybe by none).
    RETURN_IF_ERROR(
        Exec(db, "CREATE TABLE stage__identity_replaced (dataset TEXT PRIMARY KEY) WITHOUT ROWID"));
    return Exec(db, "COMMIT");
  };
  if (Status st = create(); !st.ok()) {
    Exec(db, "ROLLBACK").ok();
    return Err(st);
  }
  return stage;
}

BatchStage::~BatchStage() {
  ops_.clear();
  stmts_.clear();
  if (!sqlite3_get_autocommit(db_)) Exec(db_, "ROLLBACK").ok();
  DropStageTables(db_, true).ok();  // else the next batch drops them
  DetachWriteGate(db_);
  CloseConnection(db_);
}

Result<int> BatchStage::Prepare(std::string_view sql) {
  ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, sql));
  stmts_.push_back(std::move(s));
  return static_cast<int>(stmts_.size() - 1);
}

Status BatchStage::Add(int stmt, std::vector<Value> args, std::string blob, int blob_index) {
  for (const Value& v : args) queued_bytes_ += sizeof(Value) + v.text.size();
  queued_bytes_ += blob.size();
  ops_.push_back({stmt, std::move(args), std::move(blob), blob_index});
  if (ops_.size() >= kChunkOps || queued_bytes_ >= kChunkBytes) return Flush();
  return OkStatus();
}

Status BatchStage::Flush() {
  if (ops_.empty()) return OkStatus();
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
  for (Op& op : ops_) {
    Stmt& s = stmts_[static_cast<size_t>(op.stmt)];
    s.Reset();
    for (size_t i = 0; i < op.args.size(); ++i) s.Bind(static_cast<int>(i + 1), op.args[i]);
    if (op.blob_index > 0)
      sqlite3_bind_blob64(s.get(), op.blob_index, op.blob.data(), op.blob.size(), SQLITE_STATIC);
    if (Status st = s.Run(db_); !st.ok()) {
      Exec(db_, "ROLLBACK").ok();
      ops_.clear();
      queued_bytes_ = 0;
      return st;
    }
  }
  ops_.clear();
  queued_bytes_ = 0;
  return Exec(db_, "COMMIT");
}

Status BatchStage::CreateCopyOf(std::string_view table) {
  RETURN_IF_ERROR(Flush());
  ASSIGN_OR_RETURN(std::string sql, StageDefinition(db_, table));
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
  Status st = Exec(db_, fmt::format("DROP TABLE IF EXISTS {}{}", kStagePrefix, table));
  if (st.ok()) st = Exec(db_, sql);
  if (st.ok()) st = Exec(db_, "COMMIT");
  if (!st.ok()) {
    Exec(db_, "ROLLBACK").ok();
    return st;
  }
  swapped_.emplace_back(table);
  return OkStatus();
}

Status BatchStage::ForEachStagedHousehold(const std::function<void(std::string_view)>& fn) {
  RETURN_IF_ERROR(Flush());
  ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, "SELECT household_id FROM stage__households"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return OkStatus();
    fn(s.TextView(0));
  }
}

Status BatchStage::Publish(sqlite3* main, int64_t base_batch) {
  RETURN_IF_ERROR(Flush());
  RETURN_IF_ERROR(Exec(main, "BEGIN IMMEDIATE"));
  auto publish = [&]() -> Status {
    {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(main,
                                             "SELECT coalesce(max(batch_id), 0) FROM "
                                             "import_batches"));
      ASSIGN_OR_RETURN(bool row, s.Step(main));
      const int64_t latest = row ? s.Int(0) : 0;
      s.Reset();
      if (latest != base_batch)
        return Aborted(fmt::format(
            "another import batch ({}) was published while this one was being staged; nothing "
            "of this batch was published: run the import again / 本批次暂存期间另一批次（{}）"
            "已发布，本批次未发布，请重新导入",
            latest, latest));
    }
    {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(main,
                                             "SELECT count(*), min(s.household_id) FROM "
                                             "stage__seen s JOIN households h ON "
                                             "h.household_id = s.household_id WHERE h.version <> "
                                             "s.version"));
      ASSIGN_OR_RETURN(bool row, s.Step(main));
      if (row && s.Int(0) > 0) {
        Status st = Aborted(fmt::format(
            "{} household(s) whose rows this batch changes (the first: {}) were edited on the "
            "platform while the batch was being staged; nothing of this batch was published: "
            "run the import again / 本批次暂存期间平台上修改了本批次要更新的 {} 户（首户：{}），"
            "本批次未发布，请重新导入",
            s.Int(0), s.Text(1), s.Int(0), s.Text(1)));
        s.Reset();
        return st;
      }
      s.Reset();
    }
    std::vector<std::string> sql = {
        "INSERT INTO regions (code, name, level, parent_code) SELECT code, name, level, "
        "parent_code FROM stage__regions WHERE true ON CONFLICT (code) DO UPDATE SET name = "
        "excluded.name, level = excluded.level, parent_code = excluded.parent_code WHERE name <> "
        "excluded.name OR level <> excluded.level",
        "INSERT INTO import_batches SELECT * FROM stage__import_batches",
        "INSERT INTO batch_files SELECT * FROM stage__batch_files",
        "INSERT INTO import_issues SELECT * FROM stage__import_issues ORDER BY rowid",
    };
    for (const DatasetSpec& d : AllDatasets())
      if (d.kind == DatasetKind::kHousehold || d.kind == DatasetKind::kMember)
        sql.push_back(UpsertRegistry(d));
    sql.push_back(
        "INSERT INTO history (batch_id, entity, entity_key, field, old_value, new_value) SELECT "
        "batch_id, entity, entity_key, field, old_value, new_value FROM stage__history ORDER BY "
        "history_id");
    // A department's new snapshot replaces its table whole: two renames, whatever its size.
    // The old snapshot, renamed stage__old_<table>, is dropped after the commit, in chunks.
    for (const std::string& t : swapped_) {
      sql.push_back(fmt::format("ALTER TABLE main.{0} RENAME TO {1}old_{0}", t, kStagePrefix));
      sql.push_back(fmt::format("ALTER TABLE {}{} RENAME TO {}", kStagePrefix, t, t));
    }
    sql.push_back("INSERT INTO dept_changes SELECT * FROM stage__dept_changes ORDER BY rowid");
    sql.push_back(
        "DELETE FROM dept_identity WHERE dataset IN (SELECT dataset FROM "
        "stage__identity_replaced)");
    sql.push_back("INSERT INTO dept_identity SELECT * FROM stage__dept_identity");
    sql.push_back(
        "INSERT INTO dataset_state SELECT * FROM stage__dataset_state WHERE true ON CONFLICT "
        "(dataset) DO UPDATE SET file_id = excluded.file_id, sha256 = excluded.sha256");
    for (const std::string& s : sql) RETURN_IF_ERROR(Exec(main, s));
    return Exec(main, "COMMIT");
  };
  if (Status st = publish(); !st.ok()) {
    if (!sqlite3_get_autocommit(main)) Exec(main, "ROLLBACK").ok();
    return st;
  }
  swapped_.clear();
  return OkStatus();
}

}  // namespace fupin::store::sqlite_detail
