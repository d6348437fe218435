#include "analytics/snapshot_holder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cassert>

namespace fupin::analytics {

namespace {

// An exclusive hold of the holder's lock for the scope.
class Exclusive {
 public:
  explicit Exclusive(pthread_rwlock_t* lock) : lock_(lock) {
    [[maybe_unused]] const int rc = pthread_rwlock_wrlock(lock_);
    assert(rc == 0 && "the lock is initialised and not held by this thread");
  }
  ~Exclusive() { pthread_rwlock_unlock(lock_); }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;

 private:
  pthread_rwlock_t* lock_;
};

}  // namespace

SnapshotHolder::SnapshotHolder(Snapshot initial)
    : current_(std::make_shared<Snapshot>(std::move(initial))) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  // glibc's default prefers readers: with queries arriving all the time an edit could wait
  // for ever. Writer preference lets a waiting Apply in after the Views already open.
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

SnapshotHolder::~SnapshotHolder() { pthread_rwlock_destroy(&lock_); }

void SnapshotHolder::LockShared() const {
  [[maybe_unused]] const int rc = pthread_rwlock_rdlock(&lock_);
  assert(rc == 0 && "a thread holds at most one View");
}

void SnapshotHolder::UnlockShared() const { pthread_rwlock_unlock(&lock_); }

SnapshotHolder::View::View(View&& other) noexcept
    : holder_(std::exchange(other.holder_, nullptr)), snap_(std::move(other.snap_)) {}

SnapshotHolder::View::~View() {
  if (holder_) holder_->UnlockShared();
}

uint64_t SnapshotHolder::View::generation() const { return holder_->generation_; }

SnapshotHolder::View SnapshotHolder::Read() const {
  LockShared();
  return View(this, current_);
}

void SnapshotHolder::Expect(int64_t edit_id) {
  std::lock_guard lock(expected_mu_);
  expected_edits_.insert(edit_id);
}

void SnapshotHolder::Forget(int64_t edit_id) {
  std::lock_guard lock(expected_mu_);
  expected_edits_.erase(edit_id);
}

Status SnapshotHolder::Refresh(store::Store& store, const BuildOptions& options) {
  std::lock_guard<std::mutex> one_at_a_time(refresh_mu_);
  ASSIGN_OR_RETURN(const store::Store::DataVersion version, store.GetDataVersion());
  bool full = false;
  {
    Exclusive hold(&lock_);
    if (current_->version == version) return OkStatus();
    full =
        current_->version.registry != version.registry || current_->version.links != version.links;
    // Only edits moved, each of them applied here already: the serving snapshot holds them.
    store::Store::DataVersion same = current_->version;
    same.edits = version.edits;
    if (same == version && version.edits > current_->version.edits) {
      // The watermark advances over the edits applied here, in order. The first one missing
      // may be one of this server's, committed and about to be applied (Expect): under a
      // stream of edits the newest are nearly always in between, and reading them as edits of
      // another process would copy the snapshot every time (holding Apply, and so every edit,
      // off for the copy). The next refresh looks again.
      int64_t top = current_->version.edits;
      for (auto it = applied_edits_.upper_bound(top);
           it != applied_edits_.end() && *it == top + 1 && *it <= version.edits; ++it)
        ++top;
      const bool moved = top > current_->version.edits;
      current_->version.edits = top;
      applied_edits_.erase(applied_edits_.begin(), applied_edits_.upper_bound(top));
      bool in_flight = false;
      if (top < version.edits) {
        std::lock_guard lock(expected_mu_);
        in_flight = expected_edits_.contains(top + 1);
      }
      if (top == version.edits || in_flight) {
        if (moved) {
          ++refreshes_;
          last_refresh_ = "deltas";
        }
        return OkStatus();
      }
    }
    refreshing_ = true;
    since_refresh_.clear();
  }
  // Built without the exclusive lock: queries and edits go on against the serving snapshot.
  // Only edits or flags moved: a copy of the serving one (taken under a shared hold, which
  // only holds Apply off for the copy) gets them incrementally. Deltas applied between the
  // clear above and the copy are both in the copy and re-applied below: the same rows.
  Result<Snapshot> built = Snapshot{};
  std::vector<std::string> parts;
  if (full) {
    built = BuildSnapshot(store, options);
  } else {
    {
      View view = Read();
      *built = *view;
    }
    Result<std::vector<std::string>> read = analytics::Refresh(store, *built, options);
    if (read) {
      parts = std::move(*read);
      // An import between the two version reads: it was a full build after all.
      full = std::find(parts.begin(), parts.end(), "registry") != parts.end();
    } else {
      built = Err(read.error());
    }
  }
  Exclusive hold(&lock_);
  refreshing_ = false;
  if (!built) {
    since_refresh_.clear();
    ++failed_refreshes_;
    return built.error();
  }
  auto next = std::make_shared<Snapshot>(std::move(*built));
  // Deltas applied while it was built may be missing from what it read: the newest of each
  // household goes onto it again (a newer one still to come is applied by its own Apply).
  for (auto& [id, delta] : since_refresh_) {
    const auto* flags = delta.flags ? &*delta.flags : nullptr;
    if (Status st = next->UpsertHousehold(delta.record, flags); !st.ok()) {
      since_refresh_.clear();
      ++failed_refreshes_;
      return st;
    }
  }
  since_refresh_.clear();
  applied_edits_.erase(applied_edits_.begin(), applied_edits_.upper_bound(next->version.edits));
  current_ = std::move(next);
  ++generation_;
  ++refreshes_;
  if (full) {
    ++full_builds_;
    last_refresh_ = "full";
  } else {
    ++incremental_refreshes_;
    last_refresh_ = parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ","));
  }
  return OkStatus();
}

Status SnapshotHolder::Apply(std::vector<HouseholdDelta> changed) {
  Exclusive hold(&lock_);
  for (HouseholdDelta& delta : changed) RETURN_IF_ERROR(ApplyLocked(delta));
  return OkStatus();
}

std::vector<Status> SnapshotHolder::ApplyEach(std::vector<HouseholdDelta> changed) {
  std::vector<Status> out;
  out.reserve(changed.size());
  Exclusive hold(&lock_);
  for (HouseholdDelta& delta : changed) out.push_back(ApplyLocked(delta));
  return out;
}

Status SnapshotHolder::ApplyLocked(HouseholdDelta& delta) {
  auto [it, inserted] = versions_.try_emplace(delta.record.household_id, delta.version);
  // Its edit is in the snapshot from now on: by this delta, or by a newer one of the same
  // household that superseded it.
  const auto note_edit = [&] {
    if (delta.edit_id > current_->version.edits) applied_edits_.insert(delta.edit_id);
    if (delta.edit_id > 0) Forget(delta.edit_id);
  };
  if (!inserted) {
    if (it->second > delta.version) {  // a newer change was applied already
      note_edit();
      return OkStatus();
    }
    it->second = delta.version;
  }
  const auto* flags = delta.flags ? &*delta.flags : nullptr;
  ++generation_;  // before: a failed upsert may have changed part of the household
  RETURN_IF_ERROR(current_->UpsertHousehold(delta.record, flags));
  note_edit();
  ++applied_;
  if (refreshing_) since_refresh_[delta.record.household_id] = std::move(delta);
  return OkStatus();
}

int64_t SnapshotHolder::applied() const {
  LockShared();
  const int64_t n = applied_;
  UnlockShared();
  return n;
}

int64_t SnapshotHolder::refreshes() const {
  LockShared();
  const int64_t n = refreshes_;
  UnlockShared();
  return n;
}

SnapshotHolder::RefreshStats SnapshotHolder::refresh_stats() const {
  LockShared();
  RefreshStats out{refreshes_, full_builds_, incremental_refreshes_, failed_refreshes_,
                   last_refresh_};
  UnlockShared();
  return out;
}

}  // namespace fupin::analytics
