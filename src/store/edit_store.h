// What a cadre's edit of one household writes (户信息更新): the household's `version`, the
// edit itself (who, role, when, why), one history row per changed field linked to its edit,
// visit notes with GPS, photos, and the household's flags re-evaluated in the same
// transaction. Part of the Store (Store::Edits()); also the change feed's reader.
//
// Versions. Every household row has a `version` that every change to the household or one
// of its members bumps, imports included (triggers in the schema, so no writer can forget
// it). An edit compares the version the client read with the stored one under the write
// lock; a stale one changes nothing.
//
// History. `history` rows carry either the import batch (batch_id) or the edit (edit_id)
// that made them. history_id is the change cursor: SQLite has one writer at a time and a
// row id is max + 1 when inserted, so every committed transaction's rows have larger ids
// than those of every transaction committed before it, and a reader never sees a gap that
// a later commit fills (history rows are never deleted).
//
// Thread-safety: like the Store, one thread at a time; an EditTransaction is used by the
// thread that began it and must end (Commit or destruction) before the store is used again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/datasets.h"
#include "core/status.h"
#include "store/rules_store.h"

namespace fupin::store {

struct Value;

struct EditInfo {
  std::string user;
  std::string role;    // RoleName()
  std::string reason;  // may be empty except for status changes (the service checks)
};

// The result of re-evaluating one household's flags.
struct HouseholdFlagsOutcome {
  int raised = 0;  // new flags, and closed ones that hold again
  int closed = 0;  // flags of evaluated rules that no longer hold
};

// One open edit of one household: a write transaction (BEGIN IMMEDIATE) with its edit row;
// or, begun while a WriteTxn is open on the store (a group of edits committed at once,
// service/edit_batcher.h), a savepoint inside that transaction. Destroying it without Commit
// rolls the edit back (inside a WriteTxn: to its savepoint; the transaction goes on).
class EditTransaction {
 public:
  virtual ~EditTransaction() = default;
  virtual int64_t edit_id() const = 0;
  // The household's version and village when the transaction began.
  virtual int64_t version() const = 0;
  virtual const std::string& village_code() const = 0;

  // Reads `columns` (stored column names) of the household row, or of each member row in
  // id_number order (members who left included; ask for left_reason to tell them apart).
  virtual Status ReadHousehold(std::span<const std::string> columns,
                               const std::function<void(std::span<const Cell>)>& fn) = 0;
  virtual Status ReadMembers(std::span<const std::string> columns,
                             const std::function<void(std::span<const Cell>)>& fn) = 0;

  // Sets one stored column of the household (id_number empty) or of one member to `value`
  // when it differs, with a history row (old and new value as text) linked to this edit.
  // Returns whether it changed. kNotFound for an unknown member.
  virtual Result<bool> Set(std::string_view id_number, std::string_view column,
                           const Value& value) = 0;
  // Records a visit (note and position, either may be empty) with a history row.
  virtual Status AddVisit(std::string_view note, std::optional<double> lat,
                          std::optional<double> lon) = 0;
  // Replaces the household's holding flags of `rules` with `raised` (flag ids kept: new keys
  // open, closed ones reopen, holding ones keep their state, the others close), each change
  // logged in flag_events with this edit's user. Does nothing when no rule run exists yet
  // (flags need a run to belong to): the first `fupin rules run` raises them.
  virtual Result<HouseholdFlagsOutcome> ReplaceFlags(std::span<const std::string> rules,
                                                     std::span<const RaisedFlag> raised) = 0;
  // The household's active flags (open or verified) as (rule, count), by rule.
  virtual Result<std::vector<std::pair<std::string, int>>> ActiveFlagCounts() = 0;
  // Bumps the version when nothing bumped it yet, commits, and returns the new version.
  // Inside a WriteTxn it releases the savepoint: the edit is durable and visible only when
  // that transaction commits, and none of it when the transaction is rolled back.
  virtual Result<int64_t> Commit() = 0;
};

struct Photo {
  int64_t photo_id = 0;
  std::string content_type;
  std::string bytes;
  std::string sha256;
  std::string at, user;
  int64_t size = 0;  // bytes.size(), or the stored size where the bytes were not read
};

// One row of the change feed: a history row with what made it.
struct ChangeRow {
  int64_t cursor = 0;  // history_id
  std::string at;
  std::string source;  // "import" or "edit"
  std::string user;
  std::string role;    // the editor's role; "" for imports
  std::string entity;  // household or member
  std::string household_id;
  std::string village_code;
  std::string id_number;  // members only
  std::string field, old_value, new_value;
  std::string reason;
  int64_t edit_id = 0;  // 0 for imports
};

class EditStore {
 public:
  virtual ~EditStore() = default;

  // Begins an edit of `household_id`: kNotFound when there is no such household,
  // kAborted when its version is not `expected_version` (nothing is written), kUnavailable
  // when another writer holds the database past the busy timeout. While a WriteTxn is open
  // on the store it joins it (a savepoint; several edits may follow one another in it);
  // kInternal when SQLite has already rolled that transaction back after an error.
  virtual Result<std::unique_ptr<EditTransaction>> BeginEdit(std::string_view household_id,
                                                             int64_t expected_version,
                                                             const EditInfo& info) = 0;

  // The household's village and version; nullopt when there is no such household.
  struct HouseholdHead {
    std::string village_code;
    int64_t version = 0;
  };
  virtual Result<std::optional<HouseholdHead>> Head(std::string_view household_id) = 0;

  // Stores a photo (already checked by the caller) as an edit of its own with a history
  // row, bumping the version; returns its id. kNotFound for an unknown household.
  virtual Result<int64_t> AddPhoto(std::string_view household_id, const EditInfo& info,
                                   std::string_view content_type, std::string_view bytes,
                                   std::string_view sha256) = 0;
  // The photo `photo_id` of `household_id`; nullopt when there is none.
  virtual Result<std::optional<Photo>> GetPhoto(std::string_view household_id,
                                                int64_t photo_id) = 0;
  // The household's photos, oldest first, without their bytes (`size` tells how many).
  virtual Result<std::vector<Photo>> ListPhotos(std::string_view household_id) = 0;

  // The households with an edit (photos included) whose edit_id is > `after`, each once,
  // sorted: what a snapshot whose edit watermark is `after` must read again
  // (analytics::Refresh). An index lookup: cheap when they are few.
  virtual Result<std::vector<std::string>> HouseholdsEditedAfter(int64_t after) = 0;
  // The household's active flags (open or verified) as (rule, count), by rule; empty for an
  // unknown household.
  virtual Result<std::vector<std::pair<std::string, int>>> ActiveFlagCounts(
      std::string_view household_id) = 0;

  // Changes with cursor > `after`, ascending, in villages starting with `region_prefix`
  // (every village when empty), at most `limit`; `household_id` non-empty: that
  // household's only. Reads one consistent view of the database.
  virtual Status ForEachChange(int64_t after, std::string_view region_prefix,
                               std::string_view household_id, int limit,
                               const std::function<void(const ChangeRow&)>& fn) = 0;
};

}  // namespace fupin::store
