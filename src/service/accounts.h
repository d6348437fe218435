// Accounts (账户): users and their roles, server-side sessions with login throttling, and
// API tokens for departments' own systems. The CLI (`fupin user`, `fupin token`) and the
// server share these; every change and every login is audited (service/audit.h).
//
// Secrets: passwords are kept only as argon2id hashes (libsodium crypto_pwhash_str); session
// and API tokens are 32 random bytes (randombytes_buf) as base64url, kept only as their
// SHA-256. No function here logs, and no message names a password or a token.
//
// Roles (core/actor.h): admin, official, cadre, department, auditor, each bound to a region
// subtree; a department officer also to its data sets (core/datasets.h names). Who may do
// what is in docs/security.md.
//
// Thread-safety: the free functions are safe from any thread as long as each thread uses its
// own Store (a Store is used by one thread at a time). Sessions is thread-safe (see below).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/actor.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

struct UserRecord {
  int64_t id = 0;
  std::string name;
  Role role = Role::kCadre;
  std::string region;
  std::vector<std::string> datasets;
  bool disabled = false;
  std::string created_at;
};

// Adds a user with its password. `by` must be an admin whose region contains `region`
// (kPermissionDenied otherwise, audited as "denied"). Fails with kAlreadyExists when the name
// is taken; kInvalidArgument for a name that is empty, longer than 64 bytes or holds spaces,
// commas or control characters, a region that is not 12 digits or not in the store's region
// table, a password shorter than 8 characters, an unknown data set, a department officer
// without data sets or another role with some.
Status AddUser(store::Store& store, const Actor& by, std::string_view name, Role role,
               std::string_view region, std::vector<std::string> datasets,
               std::string_view password);
// Every user, by name.
Result<std::vector<UserRecord>> ListUsers(store::Store& store);
// Disables a user (it can no longer log in), ends its sessions and revokes the API tokens of
// the same name. `by` must be an admin whose region contains the user's. kNotFound when no
// such user.
Status DisableUser(store::Store& store, const Actor& by, std::string_view name);
// Every user whose region lies in `by`'s subtree, by name. `by` must be an admin
// (kPermissionDenied otherwise, audited as "denied").
Result<std::vector<UserRecord>> ListUsersIn(store::Store& store, const Actor& by);
// The user of this name (never its password hash). kNotFound when there is none.
Result<UserRecord> FindUserRecord(store::Store& store, std::string_view name);
// Enables a disabled user again (its revoked API tokens stay revoked). `by` must be an admin
// whose region contains the user's. kNotFound when no such user.
Status EnableUser(store::Store& store, const Actor& by, std::string_view name);
// The signed-in user `self` changes its own password: kPermissionDenied (audited) when
// `old_password` is not its current one, kInvalidArgument for a weak new one, kNotFound when
// `self` is not a user (an API token). Ends every session of the user, this one included.
Status ChangeOwnPassword(store::Store& store, const Actor& self, std::string_view old_password,
                         std::string_view password);
// Sets a user's password and ends its sessions. `by` is an admin whose region contains the
// user's, or the user itself. kNotFound, kInvalidArgument (weak password), kPermissionDenied.
Status SetPassword(store::Store& store, const Actor& by, std::string_view name,
                   std::string_view password);

// ---- sessions ----

struct Session {
  std::string token;  // the cookie's value; the store keeps only its SHA-256
  std::string csrf;   // sent back by the client on every write (X-CSRF-Token)
  Actor actor;
  int64_t user_id = 0;
};

struct SessionPolicy {
  int idle_seconds = 1800;           // a session unused this long has ended
  int absolute_seconds = 12 * 3600;  // and any session this old
  // Throttling: after `max_user_failures` failed logins for one user name, or
  // `max_address_failures` from one address, within `window_seconds`, that name or address
  // is refused for `lock_seconds` (the right password included).
  int max_user_failures = 5;
  int max_address_failures = 20;
  int window_seconds = 15 * 60;
  int lock_seconds = 15 * 60;
  // How often at most a session's last use is written to the store (so that another process
  // sees it); between writes it lives in memory. Idle expiry seen from another process may
  // thus be up to this much early.
  int touch_seconds = 60;
  // Every login also deletes sessions, failed logins and locks that can no longer matter, so
  // the tables stay small.
  // Seconds since the epoch; the system clock when empty. Tests inject their own.
  std::function<int64_t()> now;
};

// Thread-safe: one object shared by all the server's threads; each call takes the Store the
// calling thread holds. Keeps a small in-memory cache (token hash -> session and last use)
// so that a request reads one row and does not write; login and logout write. Whether a
// session still exists is read from the store on every Find, so a logout or a disabled user
// in another process takes effect at once.
class Sessions {
 public:
  explicit Sessions(SessionPolicy policy = {});

  // kUnauthenticated for an unknown user, a wrong password or a disabled user (the same
  // message for all three); kUnavailable when the name or the address is throttled (the
  // message says when to retry). Audits success ("login") and failure ("login_failed").
  // `address` is the client's address ("" skips the per-address throttle).
  Result<Session> Login(store::Store& store, std::string_view user, std::string_view password,
                        std::string_view address);
  // The session of a cookie token; kUnauthenticated when unknown, expired (idle or
  // absolute), logged out or its user disabled. Refreshes its last use. The actor's address
  // is the login's: the server puts the request's in its place.
  Result<Session> Find(store::Store& store, std::string_view token);
  // Ends the session: the token never works again, even in another process. Audited
  // ("logout"). kUnauthenticated when there was no such session.
  Status Logout(store::Store& store, std::string_view token);
  // True when `csrf` is the session's CSRF token (compared in constant time).
  static bool CsrfMatches(const Session& session, std::string_view csrf);
  // The actor of an API token (`Authorization: Bearer TOKEN`): its name as the user, its
  // role, region and data sets. kUnauthenticated when unknown or revoked.
  Result<Actor> FindApiToken(store::Store& store, std::string_view bearer);

 private:
  struct Cached {
    Session session;
    int64_t last_seen = 0;     // the latest use this process knows of
    int64_t last_written = 0;  // last_seen as last written to the store
  };
  int64_t Now() const;
  // kUnavailable naming the time when `key` (a user name or an address) is locked.
  Status CheckLock(store::Store& store, bool by_address, std::string_view key, int64_t now);
  Status RecordFailure(store::Store& store, std::string_view user, std::string_view address,
                       int64_t now);

  SessionPolicy policy_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by token hash; guarded by mu_
};

// ---- API tokens ----

struct ApiTokenRecord {
  int64_t id = 0;
  std::string name;
  Role role = Role::kDepartment;
  std::string region;
  std::vector<std::string> datasets;
  bool revoked = false;
  std::string created_at;
  std::string created_by;
};

// Adds an API token scoped like a user (the same checks as AddUser, without a password) and
// returns it: it is shown once, only its SHA-256 is kept. `by` must be an admin whose region
// contains `region`. Audited ("token").
Result<std::string> AddApiToken(store::Store& store, const Actor& by, std::string_view name,
                                Role role, std::string_view region,
                                std::vector<std::string> datasets);
// Revokes a token for good. kNotFound when no token has this id. Audited ("token").
Status RevokeApiToken(store::Store& store, const Actor& by, int64_t token_id);
// Every token (never the token itself), revoked ones included, by id.
Result<std::vector<ApiTokenRecord>> ListApiTokens(store::Store& store);

// ---- helpers shared with the front ends ----

// Splits "a,b" and repeated values into data set names (trimmed, empty ones dropped).
std::vector<std::string> SplitDatasets(const std::vector<std::string>& values);
// SHA-256 of `text` as 64 lower-case hex digits (libsodium).
std::string Sha256Hex(std::string_view text);

}  // namespace fupin::service
