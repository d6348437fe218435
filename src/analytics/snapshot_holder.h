// The snapshot holder (快照持有者): one analytics snapshot shared by every thread of a
// server. Queries read through a View; a refresh builds the next snapshot beside the serving
// one and swaps it in; a cadre's edit is applied as a small delta in microseconds.
//
// How readers and writers meet. A View holds a shared lock on the holder's lock and a
// pointer to the serving snapshot. Apply takes the lock exclusively for the few
// microseconds it patches its households (their rows, flags, the cube's counts), so a
// query sees every household either wholly before or wholly after a change, never half of
// it: no View exists while a delta is being applied. The lock prefers writers (a waiting
// Apply stops new Views from starting), so a stream of queries cannot starve edits; a View
// must therefore be short-lived (one query) and a thread must not take a second View while
// holding one.
//
// Refresh never touches the serving snapshot: it builds a new one without the exclusive
// lock (a copy refreshed incrementally after edits and flag decisions; a full build, seconds
// at full scale, after an import or a link run), re-applies the deltas applied meanwhile (the
// newest per household: a delta carries the household's version, and an older one never replaces a
// newer one), and swaps the pointer under the exclusive lock. On any failure the serving
// snapshot stays and the error is returned. Views taken before the swap keep the old
// snapshot alive until they end.
//
// Thread-safety: every method may be called from any number of threads at once; Refresh
// calls are serialised among themselves.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analytics/snapshot.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::analytics {

// One household's change as committed to the store: its new rows and, when given, its new
// active flags (rule id, count). `version` is the household's version after the change;
// `edit_id` the edit that made it (0: not an edit, or unknown).
struct HouseholdDelta {
  HouseholdRecord record;
  std::optional<std::vector<std::pair<std::string, uint16_t>>> flags;
  int64_t version = 0;
  int64_t edit_id = 0;
};

class SnapshotHolder {
 public:
  // Serves `initial`.
  explicit SnapshotHolder(Snapshot initial);
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;
  ~SnapshotHolder();

  // A read view: the snapshot cannot change while it lives. Movable, not copyable.
  class View {
   public:
    View(View&& other) noexcept;
    View& operator=(View&&) = delete;
    View(const View&) = delete;
    ~View();
    const Snapshot& operator*() const { return *snap_; }
    const Snapshot* operator->() const { return snap_.get(); }
    const Snapshot& get() const { return *snap_; }
    // Moves with every change of what the view sees (a delta applied, a snapshot swapped in),
    // never back: an answer computed from a view may be reused for views of the same one.
    uint64_t generation() const;

   private:
    friend class SnapshotHolder;
    View(const SnapshotHolder* holder, std::shared_ptr<const Snapshot> snap)
        : holder_(holder), snap_(std::move(snap)) {}
    const SnapshotHolder* holder_;  // null once moved from
    std::shared_ptr<const Snapshot> snap_;
  };
  View Read() const;

  // Brings the serving snapshot up to the store's DataVersion by building the next one
  // beside it and swapping it in. Nothing is built when the version is the serving
  // snapshot's. When only edits or flags moved (an edit in another process, a flag
  // decision), the serving snapshot is copied (under a shared hold: Apply waits for the
  // copy, Views do not) and the copy refreshed incrementally (analytics::Refresh: the
  // edited households and/or the flags, no registry read); when registry files or links
  // changed, a full BuildSnapshot (seconds at full scale). When only edits moved and every
  // one of them was applied here as a delta (Apply with its edit_id: a server's own edits),
  // nothing is read or copied: the watermark advances. On failure (an unreadable store,
  // a broken registry) the serving snapshot stays and the error is returned. REQUIRES:
  // `store` is used by no other thread.
  Status Refresh(store::Store& store, const BuildOptions& options = {});

  // An edit about to be committed whose delta this holder will be given (Apply with its
  // edit_id): until then a Refresh takes it for on its way, not for another process's edit
  // to read from the store. Forget it when the commit fails or the delta cannot be applied.
  void Expect(int64_t edit_id);
  void Forget(int64_t edit_id);

  // Applies committed changes, each household atomically (see the header comment); a delta
  // older than the one already applied to its household (a smaller version) is skipped.
  // Fails, applying none of the remaining deltas, when one cannot be applied (an unknown
  // village, a full dictionary); those before it stay applied.
  Status Apply(std::vector<HouseholdDelta> changed);
  // Applies each delta on its own, under one exclusive hold for them all (a group of edits
  // committed together stalls readers once, not once per edit): one Status per delta, a
  // failed one not stopping those after it.
  std::vector<Status> ApplyEach(std::vector<HouseholdDelta> changed);

  // How many deltas were applied, and refreshes swapped in, since construction.
  int64_t applied() const;
  int64_t refreshes() const;

  // What the refreshes did since construction, for /metrics: swapped in (refreshes),
  // full builds, incremental ones (a copy refreshed with edits and/or flags), failures, and
  // the last swapped-in one ("full", or the parts read incrementally: "edits", "flags",
  // "edits,flags", ...; "deltas" when every new edit had been applied already; "" before
  // any). A "deltas" refresh counts in refreshes, not in incremental.
  struct RefreshStats {
    int64_t refreshes = 0;
    int64_t full_builds = 0;
    int64_t incremental = 0;
    int64_t failed = 0;
    std::string last;
  };
  RefreshStats refresh_stats() const;

 private:
  void LockShared() const;
  void UnlockShared() const;
  // One delta of Apply/ApplyEach; REQUIRES: lock_ held exclusively.
  Status ApplyLocked(HouseholdDelta& delta);

  mutable pthread_rwlock_t lock_;  // writer-preferring (see the header comment)
  std::shared_ptr<Snapshot> current_;
  // The newest version applied per household, and the deltas applied since the last
  // refresh began (to re-apply onto the snapshot it builds). Guarded by lock_ (exclusive).
  std::unordered_map<std::string, int64_t> versions_;
  std::unordered_map<std::string, HouseholdDelta> since_refresh_;
  // Edit ids applied as deltas above the serving snapshot's edit watermark (edit ids are
  // dense: each committed edit takes the next one).
  std::set<int64_t> applied_edits_;
  bool refreshing_ = false;
  uint64_t generation_ = 1;  // see View::generation
  int64_t applied_ = 0;
  int64_t refreshes_ = 0;
  int64_t full_builds_ = 0;
  int64_t incremental_refreshes_ = 0;
  int64_t failed_refreshes_ = 0;
  std::string last_refresh_;
  std::mutex refresh_mu_;  // one Refresh at a time
  std::mutex expected_mu_;
  std::set<int64_t> expected_edits_;  // see Expect
};

}  // namespace fupin::analytics
