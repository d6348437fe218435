#include "store/sqlite/sqlite_platform.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_util.h"

namespace fupin::store::sqlite_detail {

std::string PlatformMigration() {
  return R"sql(
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  region TEXT NOT NULL,
  datasets TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  address TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS login_failures (
  at INTEGER NOT NULL,
  user_name TEXT NOT NULL,
  address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures(user_name, at);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures(address, at);
CREATE TABLE IF NOT EXISTS login_locks (
  by_address INTEGER NOT NULL,
  key TEXT NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (by_address, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  region TEXT NOT NULL,
  datasets TEXT NOT NULL DEFAULT '',
  token_hash TEXT NOT NULL UNIQUE,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL,
  address TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  detail TEXT NOT NULL,
  outcome TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log(action, seq);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";
}

namespace {

constexpr std::string_view kUserColumns =
    "id, name, role, region, datasets, password_hash, disabled, created_at";
constexpr std::string_view kTokenColumns =
    "id, name, role, region, datasets, token_hash, revoked, created_at, created_by";
constexpr std::string_view kAuditColumns =
    "seq, at, user_name, role, address, action, object, detail, outcome, hash";

UserRow ReadUser(const Stmt& s) {
  return {s.Int(0),  s.Text(1), s.Text(2),     s.Text(3),
          s.Text(4), s.Text(5), s.Int(6) != 0, s.Text(7)};
}
ApiTokenRow ReadToken(const Stmt& s) {
  return {s.Int(0),  s.Text(1),     s.Text(2), s.Text(3), s.Text(4),
          s.Text(5), s.Int(6) != 0, s.Text(7), s.Text(8)};
}
AuditRecord ReadAuditRow(const Stmt& s) {
  return {s.Int(0),  s.Text(1), s.Text(2), s.Text(3), s.Text(4),
          s.Text(5), s.Text(6), s.Text(7), s.Text(8), s.Text(9)};
}

class SqlitePlatformStore final : public PlatformStore {
 public:
  explicit SqlitePlatformStore(sqlite3* db) : db_(db) {}

  Result<int64_t> AddUser(const UserRow& u) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO users (name, role, region, datasets, "
                                          "password_hash, disabled, created_at) "
                                          "VALUES (?,?,?,?,?,?,?)"));
    s.Bind(1, u.name);
    s.Bind(2, u.role);
    s.Bind(3, u.region);
    s.Bind(4, u.datasets);
    s.Bind(5, u.password_hash);
    s.Bind(6, int64_t{u.disabled});
    s.Bind(7, NowUtc());
    Status st = s.Run(db_);
    if (!st.ok() && (s.last_error() == SQLITE_CONSTRAINT_UNIQUE))
      return Err(AlreadyExists(
          fmt::format("user '{}' already exists / 用户 '{}' 已存在", u.name, u.name)));
    RETURN_IF_ERROR(st);
    return sqlite3_last_insert_rowid(db_);
  }

  Result<std::optional<UserRow>> FindUser(std::string_view name) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM users WHERE name = ?",
                                                           kUserColumns)));
    s.Bind(1, name);
    return OneUser(s);
  }

  Result<std::optional<UserRow>> GetUser(int64_t id) override {
    ASSIGN_OR_RETURN(
        Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM users WHERE id = ?", kUserColumns)));
    s.Bind(1, id);
    return OneUser(s);
  }

  Result<std::vector<UserRow>> ListUsers() override {
    ASSIGN_OR_RETURN(
        Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM users ORDER BY name", kUserColumns)));
    std::vector<UserRow> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back(ReadUser(s));
    }
    return out;
  }

  Status DisableUser(std::string_view name) override {
    return InTransaction([&]() -> Status {
      ASSIGN_OR_RETURN(int64_t id, UserId(name));
      RETURN_IF_ERROR(Run("UPDATE users SET disabled = 1 WHERE id = ?", id));
      RETURN_IF_ERROR(Run("DELETE FROM sessions WHERE user_id = ?", id));
      ASSIGN_OR_RETURN(Stmt s,
                       Stmt::Cached(db_, "UPDATE api_tokens SET revoked = 1 WHERE name = ?"));
      s.Bind(1, name);
      return s.Run(db_);
    });
  }

  Status EnableUser(std::string_view name) override {
    return InTransaction([&]() -> Status {
      ASSIGN_OR_RETURN(int64_t id, UserId(name));
      return Run("UPDATE users SET disabled = 0 WHERE id = ?", id);
    });
  }

  Status SetPasswordHash(std::string_view name, std::string_view hash) override {
    return InTransaction([&]() -> Status {
      ASSIGN_OR_RETURN(int64_t id, UserId(name));
      ASSIGN_OR_RETURN(Stmt s,
                       Stmt::Cached(db_, "UPDATE users SET password_hash = ? WHERE id = ?"));
      s.Bind(1, hash);
      s.Bind(2, id);
      RETURN_IF_ERROR(s.Run(db_));
      return Run("DELETE FROM sessions WHERE user_id = ?", id);
    });
  }

  Status AddSession(const SessionRow& r) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO sessions (token_hash, user_id, csrf, "
                                          "created_at, last_seen, address) VALUES (?,?,?,?,?,?)"));
    s.Bind(1, r.token_hash);
    s.Bind(2, r.user_id);
    s.Bind(3, r.csrf);
    s.Bind(4, r.created_at);
    s.Bind(5, r.last_seen);
    s.Bind(6, r.address);
    return s.Run(db_);
  }

  Result<std::optional<SessionRow>> FindSession(std::string_view token_hash) override {
    // Every request of a browser session comes here: the statement is prepared once.
    ASSIGN_OR_RETURN(Stmt * cached,
                     Cached(find_session_,
                            "SELECT token_hash, user_id, csrf, created_at, last_seen, address "
                            "FROM sessions WHERE token_hash = ?"));
    Stmt& s = *cached;
    s.Bind(1, token_hash);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<SessionRow>();
    SessionRow r{s.Text(0), s.Int(1), s.Text(2), s.Int(3), s.Int(4), s.Text(5)};
    s.Reset();
    return std::optional<SessionRow>(std::move(r));
  }

  Status TouchSession(std::string_view token_hash, int64_t last_seen) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "UPDATE sessions SET last_seen = max(last_seen, ?) "
                                          "WHERE token_hash = ?"));
    s.Bind(1, last_seen);
    s.Bind(2, token_hash);
    return s.Run(db_);
  }

  Result<bool> EndSession(std::string_view token_hash) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, "DELETE FROM sessions WHERE token_hash = ?"));
    s.Bind(1, token_hash);
    RETURN_IF_ERROR(s.Run(db_));
    return sqlite3_changes(db_) > 0;
  }

  Status PurgeLogins(int64_t created_before, int64_t seen_before, int64_t failures_before,
                     int64_t now) override {
    return InTransaction([&]() -> Status {
      ASSIGN_OR_RETURN(
          Stmt s, Stmt::Cached(db_, "DELETE FROM sessions WHERE created_at < ? OR last_seen < ?"));
      s.Bind(1, created_before);
      s.Bind(2, seen_before);
      RETURN_IF_ERROR(s.Run(db_));
      RETURN_IF_ERROR(Run("DELETE FROM login_failures WHERE at < ?", failures_before));
      return Run("DELETE FROM login_locks WHERE until < ?", now);
    });
  }

  Status AddLoginFailure(int64_t at, std::string_view user_name,
                         std::string_view address) override {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Cached(db_, "INSERT INTO login_failures (at, user_name, address) VALUES (?,?,?)"));
    s.Bind(1, at);
    s.Bind(2, user_name);
    s.Bind(3, address);
    return s.Run(db_);
  }

  Result<int64_t> CountLoginFailures(bool by_address, std::string_view key,
                                     int64_t since) override {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Cached(db_, by_address ? "SELECT count(*) FROM login_failures WHERE address = ? "
                                       "AND at > ?"
                                     : "SELECT count(*) FROM login_failures WHERE user_name = ? "
                                       "AND at > ?"));
    s.Bind(1, key);
    s.Bind(2, since);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    int64_t n = row ? s.Int(0) : 0;
    s.Reset();
    return n;
  }

  Status ClearLoginFailures(std::string_view user_name) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, "DELETE FROM login_failures WHERE user_name = ?"));
    s.Bind(1, user_name);
    return s.Run(db_);
  }

  Status AddLoginLock(bool by_address, std::string_view key, int64_t until) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO login_locks (by_address, key, until) "
                                          "VALUES (?,?,?) ON CONFLICT (by_address, key) DO "
                                          "UPDATE SET until = max(until, excluded.until)"));
    s.Bind(1, int64_t{by_address});
    s.Bind(2, key);
    s.Bind(3, until);
    return s.Run(db_);
  }

  Result<int64_t> LoginLockUntil(bool by_address, std::string_view key) override {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Cached(db_, "SELECT until FROM login_locks WHERE by_address = ? AND key = ?"));
    s.Bind(1, int64_t{by_address});
    s.Bind(2, key);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    int64_t until = row ? s.Int(0) : 0;
    s.Reset();
    return until;
  }

  Result<int64_t> AddApiToken(const ApiTokenRow& t) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO api_tokens (name, role, region, datasets, "
                                          "token_hash, revoked, created_at, created_by) "
                                          "VALUES (?,?,?,?,?,?,?,?)"));
    s.Bind(1, t.name);
    s.Bind(2, t.role);
    s.Bind(3, t.region);
    s.Bind(4, t.datasets);
    s.Bind(5, t.token_hash);
    s.Bind(6, int64_t{t.revoked});
    s.Bind(7, NowUtc());
    s.Bind(8, t.created_by);
    RETURN_IF_ERROR(s.Run(db_));
    return sqlite3_last_insert_rowid(db_);
  }

  Result<std::optional<ApiTokenRow>> FindApiToken(std::string_view token_hash) override {
    // Every request of a department's system comes here: the statement is prepared once.
    ASSIGN_OR_RETURN(Stmt * cached,
                     Cached(find_token_, fmt::format("SELECT {} FROM api_tokens WHERE "
                                                     "token_hash = ? AND revoked = 0",
                                                     kTokenColumns)));
    Stmt& s = *cached;
    s.Bind(1, token_hash);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<ApiTokenRow>();
    ApiTokenRow t = ReadToken(s);
    s.Reset();
    return std::optional<ApiTokenRow>(std::move(t));
  }

  Result<std::vector<ApiTokenRow>> ListApiTokens() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM api_tokens ORDER BY id",
                                                           kTokenColumns)));
    std::vector<ApiTokenRow> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back(ReadToken(s));
    }
    return out;
  }

  Status RevokeApiToken(int64_t id) override {
    RETURN_IF_ERROR(Run("UPDATE api_tokens SET revoked = 1 WHERE id = ?", id));
    if (sqlite3_changes(db_) == 0)
      return NotFound(fmt::format("no API token with id {} / 没有编号为 {} 的 API 令牌", id, id));
    return OkStatus();
  }

  Status AppendAudit(std::span<const AuditRecord> entries, const ChainFn& chain) override {
    if (entries.empty()) return OkStatus();
    return InTransaction([&]() -> Status {
      // The last seq ever given (AUTOINCREMENT keeps it even when the last rows are gone)
      // and the hash of the last entry present.
      ASSIGN_OR_RETURN(int64_t last_seq, LastAuditSeq());
      ASSIGN_OR_RETURN(Stmt last, Stmt::Cached(db_,
                                               "SELECT hash FROM audit_log ORDER BY seq DESC "
                                               "LIMIT 1"));
      ASSIGN_OR_RETURN(bool row, last.Step(db_));
      std::string previous = row ? last.Text(0) : "";
      last.Reset();
      ASSIGN_OR_RETURN(Stmt ins, Stmt::Cached(db_, fmt::format("INSERT INTO audit_log ({}) "
                                                               "VALUES (?,?,?,?,?,?,?,?,?,?)",
                                                               kAuditColumns)));
      for (const AuditRecord& e : entries) {
        AuditRecord r = e;
        r.seq = ++last_seq;
        r.hash = chain(previous, r);
        ins.Reset();
        ins.Bind(1, r.seq);
        ins.Bind(2, r.at);
        ins.Bind(3, r.user);
        ins.Bind(4, r.role);
        ins.Bind(5, r.address);
        ins.Bind(6, r.action);
        ins.Bind(7, r.object);
        ins.Bind(8, r.detail);
        ins.Bind(9, r.outcome);
        ins.Bind(10, r.hash);
        RETURN_IF_ERROR(ins.Run(db_));
        previous = std::move(r.hash);
      }
      return OkStatus();
    });
  }

  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit,
                                             std::string_view action) override {
    // Two statements, so that a filtered read walks the (action, seq) index.
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Cached(db_, fmt::format("SELECT {} FROM audit_log WHERE seq > ?{} ORDER "
                                      "BY seq LIMIT ?",
                                      kAuditColumns, action.empty() ? "" : " AND action = ?")));
    int i = 1;
    s.Bind(i++, after_seq);
    if (!action.empty()) s.Bind(i++, action);
    s.Bind(i, int64_t{limit});
    std::vector<AuditRecord> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back(ReadAuditRow(s));
    }
    return out;
  }

  Status ForEachAudit(const std::function<Status(const AuditRecord&)>& fn) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM audit_log ORDER BY seq",
                                                           kAuditColumns)));
    for (;;) {
      auto row = s.Step(db_);
      if (!row) return row.error();
      if (!*row) return OkStatus();
      if (Status st = fn(ReadAuditRow(s)); !st.ok()) {
        s.Reset();
        return st;
      }
    }
  }

  Result<int64_t> LastAuditSeq() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                                          "WHERE name = 'audit_log'), 0), coalesce((SELECT "
                                          "max(seq) FROM audit_log), 0))"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    int64_t seq = row ? s.Int(0) : 0;
    s.Reset();
    return seq;
  }

  Status Backup(const std::filesystem::path& out) override {
    std::error_code ec;
    if (std::filesystem::exists(out, ec))
      return AlreadyExists(
          fmt::format("{} already exists / {} 已存在", out.string(), out.string()));
    sqlite3* dest = nullptr;
    if (sqlite3_open_v2(out.c_str(), &dest,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      Status st = Unavailable(fmt::format("cannot create {}: {}", out.string(),
                                          dest ? sqlite3_errmsg(dest) : "out of memory"));
      sqlite3_close_v2(dest);
      return st;
    }
    // One step copies every page under one read transaction of the source: the copy is the
    // database as of that moment, and writers in WAL mode are not blocked meanwhile.
    Status st;
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", db_, "main");
    if (!b) {
      st = SqliteError(dest, "backup");
    } else {
      int rc = sqlite3_backup_step(b, -1);
      if (rc != SQLITE_DONE)
        st = rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                 ? Unavailable(std::string(kInUseMessage))
                 : Internal(fmt::format("backup to {}: {}", out.string(), sqlite3_errstr(rc)));
      sqlite3_backup_finish(b);
    }
    if (st.ok() && sqlite3_close(dest) != SQLITE_OK)
      st = Internal(fmt::format("closing {}: {}", out.string(), sqlite3_errmsg(dest)));
    else if (!st.ok())
      sqlite3_close_v2(dest);
    return st;
  }

 private:
  // The statement in `slot`, prepared on first use.
  Result<Stmt*> Cached(Stmt& slot, std::string_view sql) {
    if (!slot.get()) {
      ASSIGN_OR_RETURN(slot, Stmt::Cached(db_, sql));
    }
    return &slot;
  }

  Result<std::optional<UserRow>> OneUser(Stmt& s) {
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<UserRow>();
    UserRow u = ReadUser(s);
    s.Reset();
    return std::optional<UserRow>(std::move(u));
  }

  Result<int64_t> UserId(std::string_view name) {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, "SELECT id FROM users WHERE name = ?"));
    s.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return Err(NotFound(fmt::format("no user '{}' / 没有用户 '{}'", name, name)));
    int64_t id = s.Int(0);
    s.Reset();
    return id;
  }

  Status Run(const char* sql, int64_t arg) {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, sql));
    s.Bind(1, arg);
    return s.Run(db_);
  }

  // Runs `body` in an immediate transaction of its own, or as a savepoint inside the
  // caller's open transaction; all or nothing either way.
  Status InTransaction(const std::function<Status()>& body) {
    const bool own = sqlite3_get_autocommit(db_) != 0;
    RETURN_IF_ERROR(Exec(db_, own ? "BEGIN IMMEDIATE" : "SAVEPOINT platform"));
    Status st = body();
    if (st.ok()) st = Exec(db_, own ? "COMMIT" : "RELEASE platform");
    if (!st.ok()) {
      if (own)
        Exec(db_, "ROLLBACK").ok();
      else
        Exec(db_, "ROLLBACK TO platform; RELEASE platform").ok();
    }
    return st;
  }

  sqlite3* db_;
  Stmt find_session_;
  Stmt find_token_;
};

}  // namespace

std::unique_ptr<PlatformStore> MakeSqlitePlatformStore(sqlite3* db) {
  return std::make_unique<SqlitePlatformStore>(db);
}

}  // namespace fupin::store::sqlite_detail
