// A cadre's update of one household (户信息更新, "one updates, many share"): incomes,
// 两不愁三保障 conditions, status with its reason, members' health, education, work and
// insurance, members leaving, GPS, a visit note, photos. Optimistic concurrency: the client
// sends the `version` it read; a stale one is refused (kAborted, HTTP 409) and changes
// nothing. Every change keeps who, when, why, the old and the new value (store/edit_store.h),
// the household's flags are re-evaluated in the same transaction, and the shared analytics
// snapshot takes the change at once (analytics/snapshot_holder.h). docs/api-writes.md.
//
// Thread-safety: each function uses its `store` from the calling thread only (give each
// thread its own Store); the SnapshotHolder and the RuleSet may be shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analytics/snapshot_holder.h"
#include "core/actor.h"
#include "core/lang.h"
#include "core/status.h"
#include "rules/rule_set.h"
#include "store/store.h"

namespace fupin::service {

// An exchange-format column and its new value as text: a code or a label the importer
// accepts ("未脱贫" or "1"), money in yuan ("3200.50"), dates YYYY-MM-DD; "" clears it.
struct FieldChange {
  std::string field;
  std::string value;
};
struct MemberEdit {
  std::string id_number;  // the member's key; never changed
  std::vector<FieldChange> fields;
};
struct HouseholdEdit {
  int64_t version = -1;  // the version the client read (Head, a portrait, a previous edit)
  std::string reason;    // why; required when the status changes
  std::vector<FieldChange> fields;
  std::vector<MemberEdit> members;
  std::optional<double> lat, lon;  // WGS-84; both or neither
  std::string visit_note;
};
struct EditOutcome {
  int64_t version = 0;  // the household's version after the edit
  int64_t edit_id = 0;
  std::vector<std::string> changed;  // "status", "member 5201**********123X health", ...
  int flags_raised = 0;
  int flags_closed = 0;
};

// The fields an edit may change, household then member ones (for messages and docs).
const std::vector<std::string>& EditableHouseholdFields();
const std::vector<std::string>& EditableMemberFields();

// Checks everything first: kInvalidArgument naming the field and what is accepted (an
// unknown or non-editable field — household_id, village_code and ID numbers never are —,
// a bad value, a status change without a reason, half a GPS position, a version < 0);
// kPermissionDenied when the actor's role may not write (cadre, official and admin may) or
// the household lies outside its region; kNotFound for an unknown household or member.
// Then one write transaction: compare the version (kAborted when stale: nothing changes),
// write each changed field with its history row, the edit row (actor, reason, when), the
// visit, re-evaluate the household-local rules (rules/engine.h EvaluateHousehold: new flags
// open, flags no longer raised close, flag ids kept), bump the version, commit. After the
// commit the household and its flags are applied to `snapshots`. An edit that changes
// nothing still records the edit and bumps the version. `lang` is the language of messages.
// When an EditBatcher serves `snapshots` (edit_batcher.h: the server's), the edit goes
// through it: edits arriving together commit in one transaction, each as before.
Result<EditOutcome> EditHousehold(store::Store& store, analytics::SnapshotHolder& snapshots,
                                  const rules::RuleSet& rules, const Actor& actor,
                                  std::string_view household_id, const HouseholdEdit& edit,
                                  Lang lang);

// The steps of EditHousehold, for EditBatcher, which runs the middle one of several callers
// in one transaction. Not for other callers.
namespace edit_steps {

struct Write {
  std::string id_number;  // "" for the household row
  std::string column;
  std::string field;
  store::Value value;
};
// An edit checked and located, ready to run on any connection to its database. Refers to
// the caller's rules, actor and edit, which must outlive it.
struct Prepared {
  const rules::RuleSet* rules = nullptr;
  const Actor* actor = nullptr;
  std::string household_id;
  const HouseholdEdit* edit = nullptr;
  Lang lang = Lang::kZh;
  std::vector<Write> writes;
  // What the snapshot knows and an edit does not change: the day ages are counted on, and
  // the members' link bits, in id_number order.
  long as_of_days = 0;
  std::vector<uint16_t> linked_bits;
};
// An edit run and committed (or, in a group, released into the group's transaction).
struct Staged {
  EditOutcome out;
  analytics::HouseholdDelta delta;
};

// Everything before the transaction, on the caller's own `store`: the role, the edit's
// fields and values, the household and region, what the snapshot knows of it.
Result<Prepared> Prepare(store::Store& store, analytics::SnapshotHolder& snapshots,
                         const rules::RuleSet& rules, const Actor& actor,
                         std::string_view household_id, const HouseholdEdit& edit, Lang lang);
// The transaction: BeginEdit ... Commit on `store`. Alone (`in_group` false) it is the
// edit's own transaction, and the snapshot Expects the edit before its commit (Forget when
// it fails). In a group (`in_group`: a WriteTxn is open on `store`) it is a savepoint of
// that transaction, and the caller Expects, commits and Forgets.
Result<Staged> Run(store::Store& store, analytics::SnapshotHolder& snapshots,
                   const Prepared& prepared, bool in_group);
// After the commit: applies the edits' deltas to the snapshot under one exclusive hold, and
// returns each edit's outcome, in order (Forget and kInternal for one it cannot take).
std::vector<Result<EditOutcome>> Publish(analytics::SnapshotHolder& snapshots,
                                         std::vector<Staged> staged);

}  // namespace edit_steps

inline constexpr size_t kMaxPhotoBytes = size_t{5} << 20;  // 5 MiB

// Stores a photo of the household: JPEG or PNG, told by its first bytes AND the declared
// content type ("image/jpeg", "image/png"), 1 byte .. 5 MiB; else kInvalidArgument. Bumps the
// household's version and appears in its history and the change feed. Returns the photo id.
// kPermissionDenied / kNotFound as EditHousehold.
Result<int64_t> AddPhoto(store::Store& store, const Actor& actor, std::string_view household_id,
                         std::string_view content_type, std::string_view bytes, Lang lang);

// The photo's (content type, bytes). kNotFound when the household has no such photo;
// kPermissionDenied outside the actor's region (any role may read within it).
Result<std::pair<std::string, std::string>> GetPhoto(store::Store& store, const Actor& actor,
                                                     std::string_view household_id,
                                                     int64_t photo_id, Lang lang = Lang::kEn);

// The household's photos, oldest first, without their bytes. kPermissionDenied / kNotFound
// as GetPhoto.
Result<std::vector<store::Photo>> ListPhotos(store::Store& store, const Actor& actor,
                                             std::string_view household_id, Lang lang = Lang::kEn);

}  // namespace fupin::service
