// The change feed (变更订阅, "one updates, many share"): every recorded change to households
// and members — imports' and cadres' edits alike — in the order they were committed, for a
// department's system to follow with `GET /api/changes?since=CURSOR`, and the change history
// of one household.
//
// Never skipping or repeating. The cursor is the history row id. SQLite has one writer at a
// time and gives a new row the largest id so far plus one, so every row of a transaction
// committed later has a larger id than every row committed before it; a page is read in one
// read transaction, which sees a prefix of that order. A client that asks again with
// since = next_cursor therefore gets exactly the rows after the last one it saw, also while
// other writers commit between its pages (history rows are never deleted or rewritten).
//
// Scope. Only changes of households in the actor's region subtree. A department officer
// sees, within its region, only changes of households with a member linked to one of its
// data sets, as the analytics snapshot knows the links (pass the holder; without one a
// department actor is refused with kFailedPrecondition). Values are masked by default:
// ID numbers (5201**********123X), names (张*), phone numbers (138****1234); ID numbers in
// free text (reasons, notes) too.
//
// Thread-safety: uses `store` from the calling thread only; the holder may be shared.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/snapshot_holder.h"
#include "core/actor.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

struct Change {
  int64_t cursor = 0;
  std::string at;      // UTC, ISO 8601
  std::string source;  // "import" | "edit"
  std::string user;
  std::string entity;  // household | member
  std::string household_id, village_code;
  std::string member;  // the member's masked ID number; "" for the household
  // The exchange-format field (income_wage, status, ...; lat, lon, visit, photo) and its
  // values as files write them: codes, money in yuan.
  std::string field, old_value, new_value;
  std::string reason;  // the edit's reason; "" for imports
  int64_t edit_id = 0;
};

struct ChangePage {
  std::vector<Change> changes;
  int64_t next_cursor = 0;  // the last change's cursor, or the given cursor when none
};

inline constexpr int kMaxChangesPage = 1000;

// Changes with cursor > `cursor`, ascending, in the actor's scope, at most `limit` (1 ..
// kMaxChangesPage, else kInvalidArgument). `cursor` < 0 is kInvalidArgument; 0 starts at
// the beginning.
Result<ChangePage> ChangesSince(store::Store& store, const Actor& actor, int64_t cursor, int limit,
                                const analytics::SnapshotHolder* links = nullptr);

// One change as JSON, every member above under its own name: the CLI's --json and the
// server's /api/changes and history answers.
nlohmann::json ChangeJson(const Change& change);

// Every recorded change of one household and its members, oldest first, masked.
// kNotFound for an unknown household, kPermissionDenied outside the actor's region.
Result<std::vector<Change>> HouseholdHistory(store::Store& store, const Actor& actor,
                                             std::string_view household_id);

}  // namespace fupin::service
