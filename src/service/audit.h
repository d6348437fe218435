// The audit log (审计日志): append-only, every entry chained to the one before by SHA-256 so
// that editing, deleting or reordering entries is detected by VerifyAudit; and the online
// backup of the store.
//
// The chain: hash_n = SHA-256(hash_{n-1} || encoding of entry n), hash_0 = 32 zero bytes. The
// encoding is seq as 8 bytes big-endian, then at, user, role, address, action, object,
// detail and outcome, each as its byte length (4 bytes big-endian) and its UTF-8 bytes.
// Stored hashes are hex. An appender reads the previous hash under the write lock, so the CLI
// and the server (several processes) make one chain.
//
// What is audited (action): "login", "login_failed", "logout", "read_household", "unmask",
// "write", "export", "denied", "job", "user", "token". Outcome "ok", "denied" or "failed".
// Personal data (names, ID numbers, phone numbers) must not be put in object or detail: a
// household is named by its household_id, a person by nothing more than that.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/actor.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

struct AuditEntry {
  std::string action;
  std::string object;  // what was acted on: a household_id, a user name, a job id, ...
  std::string detail;
  std::string outcome = "ok";
};

// Thread-safe. Append() queues the entry and returns at once; a background thread writes
// queued entries in one transaction every ~50 ms (group commit) through its own store
// connection, opened from `db_uri` at its first write. Flush() waits until everything queued
// before it is durable and returns the write's error if it failed (the entries stay queued
// and are tried again). The destructor flushes, trying a failing store once more; entries it
// still cannot write are then lost (Flush before destruction to learn of that). An entry's `at` is
// the time of Append, so a queued entry may carry an earlier time than an AppendNow entry written
// before it.
class AuditLog {
 public:
  explicit AuditLog(std::string db_uri);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Append(const Actor& actor, AuditEntry entry);
  // Appends at once through the caller's store connection, inside the caller's transaction
  // when one is open: for a write that must not be acknowledged before its audit entry is
  // durable.
  static Status AppendNow(store::Store& store, const Actor& actor, const AuditEntry& entry);
  Status Flush();

 private:
  void Run();
  Status Write(const std::vector<store::AuditRecord>& records);

  const std::string db_uri_;
  std::unique_ptr<store::Store> store_;  // the writer thread's own connection
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<store::AuditRecord> queue_;  // guarded by mu_
  int64_t appended_ = 0;                  // entries ever queued; guarded by mu_
  int64_t written_ = 0;                   // entries ever made durable; guarded by mu_
  int64_t failures_ = 0;                  // failed writes; guarded by mu_
  int flushing_ = 0;                      // Flush calls waiting; guarded by mu_
  bool stop_ = false;                     // guarded by mu_
  Status last_error_;                     // guarded by mu_
  std::thread writer_;
};

// Appends one entry through `store` at once (AuditLog::AppendNow).
Status AppendAuditNow(store::Store& store, const Actor& actor, const AuditEntry& entry);

struct AuditRow {
  int64_t seq = 0;
  std::string at, user, role, address, action, object, detail, outcome, hash;
};
// Up to `limit` (1..10000) entries after `after_seq` in order; only `action_filter` when not
// empty.
Result<std::vector<AuditRow>> ReadAudit(store::Store& store, int64_t after_seq, int limit,
                                        std::string_view action_filter);

struct AuditVerdict {
  bool ok = true;
  int64_t entries = 0;
  int64_t first_broken_seq = 0;  // 0 when ok
  std::string reason;            // why that entry is broken (en / zh); "" when ok
  std::string last_hash;         // the hash of the last entry (hex): note it down to detect a
                                 // rewrite of the whole chain later
};
// Checks the whole chain: seqs 1, 2, 3, ... without a gap, each hash recomputed from the one
// before, and no entries missing after the last one. Fails only when the store cannot be read.
Result<AuditVerdict> VerifyAudit(store::Store& store);

// The hash of `record` (its seq and fields) chained to `previous_hash` (hex; "" for the first).
std::string AuditChainHash(std::string_view previous_hash, const store::AuditRecord& record);

// Copies the whole store, consistent as of one moment while others write, to `out` through
// `out`.tmp, renamed at the end. kAlreadyExists when `out` or `out`.tmp exists (a backup never
// overwrites a file).
Status BackupStore(store::Store& store, const std::filesystem::path& out);

}  // namespace fupin::service
