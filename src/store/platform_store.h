// What the platform's accounts and audit keep (平台账户与审计存储): users, server-side
// sessions, failed logins and login locks, API tokens, the hash-chained audit log, and the
// online backup of the whole store. Part of the Store (Store::Platform()); portable SQL for
// the PostgreSQL backend to come. The rules (password hashing, expiry, throttling, the
// chain's hash) live in service/accounts.h and service/audit.h; this is plain storage.
// Secrets are never stored: a session or API token only as its SHA-256 (hex), a password
// only as its argon2id hash string.
// Thread-safety: like its Store, used from one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fupin::store {

// A user (用户). `datasets` is a comma list of data set names (a department officer's).
struct UserRow {
  int64_t id = 0;
  std::string name;
  std::string role;    // RoleName(Role)
  std::string region;  // 12 digits: the root of the user's region subtree
  std::string datasets;
  std::string password_hash;  // crypto_pwhash_str's string (argon2id, salt and parameters in it)
  bool disabled = false;
  std::string created_at;  // UTC, ISO 8601
};

// A server-side session. Times are seconds since the epoch of the service's clock.
struct SessionRow {
  std::string token_hash;  // SHA-256 of the cookie's token, hex
  int64_t user_id = 0;
  std::string csrf;
  int64_t created_at = 0;
  int64_t last_seen = 0;  // as last written; the service keeps a fresher one in memory
  std::string address;
};

// An API token for a department's own system, scoped like a user.
struct ApiTokenRow {
  int64_t id = 0;
  std::string name;
  std::string role;
  std::string region;
  std::string datasets;    // comma list
  std::string token_hash;  // SHA-256 of the token, hex
  bool revoked = false;
  std::string created_at;
  std::string created_by;
};

// One audit entry (审计记录) as stored. seq runs 1, 2, 3, ... without gaps; hash is the hex
// SHA-256 chaining it to the entry before (service/audit.h says how).
struct AuditRecord {
  int64_t seq = 0;
  std::string at;  // UTC, ISO 8601 with milliseconds
  std::string user, role, address, action, object, detail, outcome;
  std::string hash;
};

class PlatformStore {
 public:
  virtual ~PlatformStore() = default;

  // ---- users ----
  // Inserts a user (id and created_at are assigned); returns its id. kAlreadyExists when the
  // name is taken.
  virtual Result<int64_t> AddUser(const UserRow& user) = 0;
  virtual Result<std::optional<UserRow>> FindUser(std::string_view name) = 0;
  virtual Result<std::optional<UserRow>> GetUser(int64_t id) = 0;
  // Every user, by name.
  virtual Result<std::vector<UserRow>> ListUsers() = 0;
  // Marks the user disabled, deletes its sessions and revokes the API tokens of the same
  // name, in one transaction. kNotFound when there is no such user.
  virtual Status DisableUser(std::string_view name) = 0;
  // Marks the user enabled again (its revoked API tokens stay revoked). kNotFound when there
  // is no such user.
  virtual Status EnableUser(std::string_view name) = 0;
  // Replaces the password hash and deletes the user's sessions, in one transaction.
  // kNotFound when there is no such user.
  virtual Status SetPasswordHash(std::string_view name, std::string_view password_hash) = 0;

  // ---- sessions ----
  virtual Status AddSession(const SessionRow& session) = 0;
  // The session with this token hash, nullopt when there is none (never made, or ended).
  virtual Result<std::optional<SessionRow>> FindSession(std::string_view token_hash) = 0;
  virtual Status TouchSession(std::string_view token_hash, int64_t last_seen) = 0;
  // Deletes the session; true when there was one.
  virtual Result<bool> EndSession(std::string_view token_hash) = 0;
  // Housekeeping: deletes sessions created before `created_before` or last written as seen
  // before `seen_before`, failed logins before `failures_before`, and locks that ended before
  // `now`.
  virtual Status PurgeLogins(int64_t created_before, int64_t seen_before, int64_t failures_before,
                             int64_t now) = 0;

  // ---- failed logins and locks (throttling) ----
  // Records a failed login at `at` by `user_name` from `address`.
  virtual Status AddLoginFailure(int64_t at, std::string_view user_name,
                                 std::string_view address) = 0;
  // Failed logins with at > since, for one user name (by_address false) or one address.
  virtual Result<int64_t> CountLoginFailures(bool by_address, std::string_view key,
                                             int64_t since) = 0;
  // Forgets a user name's failed logins (after a successful login).
  virtual Status ClearLoginFailures(std::string_view user_name) = 0;
  // Locks a user name or an address until `until` (the later lock wins).
  virtual Status AddLoginLock(bool by_address, std::string_view key, int64_t until) = 0;
  // The end of the lock on a user name or address, or 0 when it has none.
  virtual Result<int64_t> LoginLockUntil(bool by_address, std::string_view key) = 0;

  // ---- API tokens ----
  // Inserts a token (id and created_at are assigned); returns its id.
  virtual Result<int64_t> AddApiToken(const ApiTokenRow& token) = 0;
  // The token with this hash that is not revoked, or nullopt.
  virtual Result<std::optional<ApiTokenRow>> FindApiToken(std::string_view token_hash) = 0;
  // Every token, revoked ones included, by id.
  virtual Result<std::vector<ApiTokenRow>> ListApiTokens() = 0;
  // Revokes a token; kNotFound when there is no token with this id.
  virtual Status RevokeApiToken(int64_t id) = 0;

  // ---- the audit log ----
  // Computes an entry's hash from the previous entry's hash (hex; "" before the first) and
  // the entry with its seq assigned.
  using ChainFn = std::function<std::string(std::string_view previous_hash, const AuditRecord&)>;
  // Appends `entries` in order, each given the next seq and chained by `chain` to the entry
  // before, reading the last entry under the write lock, so appenders in several processes
  // make one chain. In its own immediate transaction, or inside the caller's transaction when
  // one is open (as a savepoint). `at` is kept as given. Nothing is appended on failure.
  virtual Status AppendAudit(std::span<const AuditRecord> entries, const ChainFn& chain) = 0;
  // Up to `limit` entries with seq > after_seq in seq order; only `action` when not empty.
  virtual Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit,
                                                     std::string_view action) = 0;
  // Calls `fn` for every entry in seq order; stops at the first failed Status and returns it.
  virtual Status ForEachAudit(const std::function<Status(const AuditRecord&)>& fn) = 0;
  // The highest seq ever appended (it survives deletion of the last entries), or 0.
  virtual Result<int64_t> LastAuditSeq() = 0;

  // ---- backup ----
  // Copies the whole database, consistent as of one moment, into a new file at `out` (which
  // must not exist), while other connections and processes go on writing. kUnimplemented
  // for a backend without an online copy.
  virtual Status Backup(const std::filesystem::path& out) = 0;
};

}  // namespace fupin::store
