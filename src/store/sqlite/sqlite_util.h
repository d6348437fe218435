// Internal to the SQLite backend: error mapping, prepared statements, exec.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "store/sqlite/write_gate.h"
#include "store/store.h"

namespace fupin::store::sqlite_detail {

inline std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The message of every lock failure: which statement waited is of no use to the person
// who has to wait for the other process.
inline constexpr std::string_view kInUseMessage =
    "the database is in use by another fupin process (an import or another write); try again "
    "when it has finished / 数据库正被另一个 fupin 进程使用（导入或其他写入），请待其完成后重试";

// True for the status SqliteError gives when another connection holds the lock.
inline bool IsInUse(const Status& st) {
  return st.code() == StatusCode::kUnavailable && st.message().ends_with(kInUseMessage);
}

inline Status SqliteError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  if ((code & 0xFF) == SQLITE_BUSY || (code & 0xFF) == SQLITE_LOCKED)
    return Unavailable(std::string(kInUseMessage));
  std::string message = fmt::format("{}: {}", what, sqlite3_errmsg(db));
  if ((code & 0xFF) == SQLITE_NOTADB || (code & 0xFF) == SQLITE_CORRUPT) return DataLoss(message);
  if ((code & 0xFF) == SQLITE_FULL) return Unavailable(message + " (disk full)");
  return Internal(message);
}

// The prepared-statement cache of each connection (statement_cache.cc): a hot path's
// statements are parsed once per connection, not at every call (a fifth of a household
// edit's time was SQLite's parser). Taken by Stmt::Cached, given back by ~Stmt.
sqlite3_stmt* TakeCachedStatement(sqlite3* db, std::string_view sql);
void ReturnCachedStatement(sqlite3* db, sqlite3_stmt* stmt);
// Finalizes db's cached statements; called before db is closed (CloseConnection).
void DropCachedStatements(sqlite3* db);
// Closes a connection of the backend, its cached statements first.
inline int CloseConnection(sqlite3* db) {
  DropCachedStatements(db);
  return sqlite3_close_v2(db);
}

// A prepared statement, finalized on destruction (or given back to its connection's cache).
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept
      : stmt_(std::exchange(o.stmt_, nullptr)), cache_db_(std::exchange(o.cache_db_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(stmt_, o.stmt_);
    std::swap(cache_db_, o.cache_db_);
    return *this;
  }
  ~Stmt() {
    if (cache_db_ && stmt_)
      ReturnCachedStatement(cache_db_, stmt_);
    else
      sqlite3_finalize(stmt_);
  }

  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql) {
    Stmt s;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s.stmt_, nullptr) != SQLITE_OK)
      return Err(SqliteError(db, fmt::format("prepare '{}'", sql.substr(0, 80))));
    return s;
  }
  // Like Prepare, from db's statement cache: for statements a hot path runs again and again
  // on the store's own connections (closed through CloseConnection).
  static Result<Stmt> Cached(sqlite3* db, std::string_view sql) {
    Stmt s;
    s.stmt_ = TakeCachedStatement(db, sql);
    if (!s.stmt_) {
      Result<Stmt> prepared = Prepare(db, sql);
      if (!prepared) return Err(prepared.error());
      s = std::move(*prepared);
    }
    s.cache_db_ = db;
    return s;
  }
  sqlite3_stmt* get() const { return stmt_; }
  void Bind(int i, const Value& v) {
    switch (v.kind) {
      case Value::Kind::kNull:
        sqlite3_bind_null(stmt_, i);
        break;
      case Value::Kind::kInt:
        sqlite3_bind_int64(stmt_, i, v.i);
        break;
      case Value::Kind::kReal:
        sqlite3_bind_double(stmt_, i, v.r);
        break;
      case Value::Kind::kText:
        sqlite3_bind_text(stmt_, i, v.text.data(), static_cast<int>(v.text.size()), SQLITE_STATIC);
        break;
    }
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // Binds text without SQLite's copy. REQUIRES: `v` stays valid until the statement has
  // stepped, and every parameter bound this way is bound again before the next step.
  void BindStatic(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  // Steps once; returns true for a row, false when done.
  Result<bool> Step(sqlite3* db) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      sqlite3_reset(stmt_);
      return false;
    }
    last_error_ = sqlite3_extended_errcode(db);
    Status s = SqliteError(db, "step");
    sqlite3_reset(stmt_);
    return Err(std::move(s));
  }
  Status Run(sqlite3* db) {
    auto r = Step(db);
    if (!r) return r.error();
    sqlite3_reset(stmt_);
    return OkStatus();
  }
  // Readies the statement for new bindings; every caller binds every parameter again.
  void Reset() { sqlite3_reset(stmt_); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  // The extended result code of the last failed step.
  int last_error() const { return last_error_; }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const { return std::string(TextView(col)); }
  // The text of a column, valid until the next Step or Reset.
  std::string_view TextView(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string_view(reinterpret_cast<const char*>(p),
                                static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  Value ValueAt(int col) const {
    switch (sqlite3_column_type(stmt_, col)) {
      case SQLITE_INTEGER:
        return Value::Int(sqlite3_column_int64(stmt_, col));
      case SQLITE_FLOAT:
        return Value::Real(sqlite3_column_double(stmt_, col));
      case SQLITE_NULL:
        return Value::Null();
      default:
        return Value::Text(Text(col));
    }
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* cache_db_ = nullptr;  // set: given back to this connection's cache
  int last_error_ = 0;
};

// Runs `sql`. Every write transaction of the backend starts here: "BEGIN IMMEDIATE" takes
// the process's write gate of the file first, and the gate is let go once a statement run
// here (COMMIT, ROLLBACK) has ended the transaction (write_gate.h).
inline Status Exec(sqlite3* db, const std::string& sql) {
  if (sql == "BEGIN IMMEDIATE") return BeginImmediate(db);
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = SqliteError(db, fmt::format("exec '{}'", sql.substr(0, 80)));
    sqlite3_free(err);
    ReleaseIfEnded(db);
    return s;
  }
  ReleaseIfEnded(db);
  return OkStatus();
}

using Reader = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

// A read-only connection of its own to the database at `path`, so that scans can run side
// by side (on several threads) while the store's own connection writes. Reads go through a
// memory map, which skips a copy of every page from the OS cache.
inline Result<Reader> OpenReader(const std::filesystem::path& path, int cache_kib) {
  sqlite3* reader = nullptr;
  if (sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    Status st = SqliteError(reader, fmt::format("open {} to read", path.string()));
    CloseConnection(reader);
    return Err(st);
  }
  sqlite3_busy_timeout(reader, 5000);
  Exec(reader, fmt::format("PRAGMA cache_size = -{}", cache_kib)).ok();
  Exec(reader, "PRAGMA mmap_size = 17179869184").ok();
  return Reader(reader, &CloseConnection);
}

// A read connection: a connection of its own (owned), or the store's connection borrowed
// while a read view or write transaction is open on it (then one scan at a time holds it).
class ReadConn {
 public:
  explicit ReadConn(Reader own) : own_(std::move(own)) {}
  ReadConn(sqlite3* borrowed, std::recursive_mutex& mu) : borrowed_(borrowed), lock_(mu) {}
  sqlite3* get() const { return borrowed_ ? borrowed_ : own_.get(); }

 private:
  Reader own_{nullptr, &CloseConnection};
  sqlite3* borrowed_ = nullptr;
  std::unique_lock<std::recursive_mutex> lock_;
};

// One connection of a SqliteStore and what is open on it, shared by the store and its
// LinkStore and RulesStore parts. Used from one thread at a time, except ReadFrom().
struct Connection {
  enum class Open : uint8_t { kNothing, kReadView, kWriteTxn, kBatch, kLinkRun };

  sqlite3* db = nullptr;
  std::filesystem::path path;
  Open open = Open::kNothing;
  // Serialises scans that read through `db` while a view or transaction is open.
  std::recursive_mutex borrowed;

  // The connection a scan reads from: while a read view or write transaction is open, `db`
  // itself, so that the scan sees the view (or the transaction's own writes); otherwise a
  // read-only connection of its own, so that scans run side by side on several threads.
  Result<ReadConn> ReadFrom(int cache_kib) {
    if (open == Open::kReadView || open == Open::kWriteTxn) return ReadConn(db, borrowed);
    ASSIGN_OR_RETURN(sqlite_detail::Reader own, OpenReader(path, cache_kib));
    return ReadConn(std::move(own));
  }

  // Starts the transaction of a store method that writes on its own (`what` names it):
  // BEGIN IMMEDIATE, or a savepoint inside an open WriteTxn, which the method then joins.
  // kFailedPrecondition inside a read view, a batch or a link run.
  Status BeginOwn(std::string_view what) {
    switch (open) {
      case Open::kNothing:
        return Exec(db, "BEGIN IMMEDIATE");
      case Open::kWriteTxn:
        return Exec(db, "SAVEPOINT own_write");
      case Open::kReadView:
        return FailedPrecondition(
            fmt::format("{}: cannot write while a read view is open on this connection", what));
      case Open::kBatch:
        return FailedPrecondition(
            fmt::format("{}: cannot write while an import batch is open on this connection", what));
      case Open::kLinkRun:
        return FailedPrecondition(
            fmt::format("{}: cannot write while a link run is open on this connection", what));
    }
    return Internal("unknown connection state");
  }
  // Ends what BeginOwn started (an ok BeginOwn only).
  Status CommitOwn() { return Exec(db, open == Open::kWriteTxn ? "RELEASE own_write" : "COMMIT"); }
  void RollbackOwn() {
    if (open == Open::kWriteTxn) {
      Exec(db, "ROLLBACK TO own_write").ok();
      Exec(db, "RELEASE own_write").ok();
    } else if (!sqlite3_get_autocommit(db)) {
      Exec(db, "ROLLBACK").ok();
    }
  }
  // kFailedPrecondition naming `what` unless nothing is open on the connection.
  Status RequireNothingOpen(std::string_view what) const {
    switch (open) {
      case Open::kNothing:
        return OkStatus();
      case Open::kReadView:
        return FailedPrecondition(fmt::format("{}: a read view is open on this connection", what));
      case Open::kWriteTxn:
        return FailedPrecondition(
            fmt::format("{}: a write transaction is open on this connection", what));
      case Open::kBatch:
        return FailedPrecondition(
            fmt::format("{}: an import batch is open on this connection", what));
      case Open::kLinkRun:
        return FailedPrecondition(fmt::format("{}: a link run is open on this connection", what));
    }
    return Internal("unknown connection state");
  }
};

}  // namespace fupin::store::sqlite_detail
