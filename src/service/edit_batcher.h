// Group commit of household edits (批量提交): cadres' edits that arrive while another edit is
// being written are committed together, in one write transaction, instead of one
// transaction (and one WAL commit) each.
//
// How. Callers check and locate their edit on their own connection first (the role, the
// fields, the household's region, what the snapshot knows of it: edit_steps::Prepare), then
// queue it. The first caller to find no group running becomes the leader: it takes the
// queue's first edits (at most `max_group`, its own first), runs them on its own connection
// and lets the others wait on a condition variable of their own. A group of one is the
// edit's own transaction, exactly as without a batcher. A larger one is one WriteTxn with
// each edit in a savepoint of its own (EditStore::BeginEdit joins it): an edit that fails —
// a stale version (kAborted), an unknown member, a household outside the actor's region —
// is rolled back alone and its caller gets its error; the others commit together. The
// snapshot Expects every edit of the group before the commit and Forgets each when the
// commit fails (then every edit of the group gets that error: nothing of it was written).
// When the group is done the leader hands each caller its outcome, and the lead to the
// first edit still queued; each caller applies its own delta to the snapshot
// (edit_steps::Publish). Edits thus wait for at most the group running when they arrive,
// as long as no more than `max_group` queue behind it (the server has fewer request
// threads than that).
//
// Semantics are those of EditHousehold, edit for edit: the same rows (edit, history, visit,
// flags and their events with the edit's id, the version bump), the same errors and
// messages, the same snapshot deltas. Only the commit is shared: a process killed during a
// group loses the whole group, none of whose callers had been answered.
//
// Thread-safety: Edit may be called from any number of threads at once, each with its own
// store (connections to one database). The batcher must outlive every call.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>

#include "analytics/snapshot_holder.h"
#include "core/actor.h"
#include "core/lang.h"
#include "core/status.h"
#include "rules/rule_set.h"
#include "service/household_edit.h"
#include "store/store.h"

namespace fupin::service {

class EditBatcher {
 public:
  static constexpr size_t kMaxGroup = 64;

  // Groups the edits applied to `snapshots`, all of one database, and serves them: while it
  // lives, EditHousehold with `snapshots` goes through Edit (at most one batcher per holder).
  explicit EditBatcher(analytics::SnapshotHolder& snapshots, size_t max_group = kMaxGroup);
  ~EditBatcher();
  EditBatcher(const EditBatcher&) = delete;
  EditBatcher& operator=(const EditBatcher&) = delete;

  // EditHousehold's contract, with this batcher's snapshots. `store` is the caller's own
  // connection: the edit is checked on it, and run on it when the caller leads its group.
  Result<EditOutcome> Edit(store::Store& store, const rules::RuleSet& rules, const Actor& actor,
                           std::string_view household_id, const HouseholdEdit& edit, Lang lang);

  // The batcher serving `snapshots`; null when none.
  static EditBatcher* For(const analytics::SnapshotHolder& snapshots);

  // What it did since construction: groups run, edits run in them, the largest group.
  struct Stats {
    int64_t groups = 0;
    int64_t edits = 0;
    int64_t largest = 0;
  };
  Stats stats() const;
  // Edits queued behind the running group (for tests).
  size_t waiting() const;

 private:
  struct Pending;
  void RunGroup(store::Store& store, std::span<Pending* const> group);

  analytics::SnapshotHolder& snapshots_;
  const size_t max_group_;
  mutable std::mutex mu_;
  std::deque<Pending*> queue_;  // edits not yet taken by a leader, in arrival order
  bool leading_ = false;        // a group is running (its leader hands the lead on)
  Stats stats_;
};

}  // namespace fupin::service
