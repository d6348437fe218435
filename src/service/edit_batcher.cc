#include "service/edit_batcher.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fupin::service {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::unordered_map<const analytics::SnapshotHolder*, EditBatcher*>& Registry() {
  static std::unordered_map<const analytics::SnapshotHolder*, EditBatcher*> registry;
  return registry;
}

}  // namespace

struct EditBatcher::Pending {
  edit_steps::Prepared prepared;
  // Set by the leader of its group before `done`.
  std::optional<Result<edit_steps::Staged>> staged;
  bool done = false;  // its group has run
  bool lead = false;  // it leads the next group
  std::condition_variable cv;
};

EditBatcher::EditBatcher(analytics::SnapshotHolder& snapshots, size_t max_group)
    : snapshots_(snapshots), max_group_(std::max<size_t>(max_group, 1)) {
  std::lock_guard lock(RegistryMutex());
  [[maybe_unused]] const bool added = Registry().emplace(&snapshots, this).second;
  assert(added && "one EditBatcher per SnapshotHolder");
}

EditBatcher::~EditBatcher() {
  std::lock_guard lock(RegistryMutex());
  if (auto it = Registry().find(&snapshots_); it != Registry().end() && it->second == this)
    Registry().erase(it);
}

EditBatcher* EditBatcher::For(const analytics::SnapshotHolder& snapshots) {
  std::lock_guard lock(RegistryMutex());
  auto it = Registry().find(&snapshots);
  return it == Registry().end() ? nullptr : it->second;
}

EditBatcher::Stats EditBatcher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t EditBatcher::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

Result<EditOutcome> EditBatcher::Edit(store::Store& store, const rules::RuleSet& rules,
                                      const Actor& actor, std::string_view household_id,
                                      const HouseholdEdit& edit, Lang lang) {
  Pending me;
  ASSIGN_OR_RETURN(me.prepared,
                   edit_steps::Prepare(store, snapshots_, rules, actor, household_id, edit, lang));
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  if (!leading_) {
    leading_ = true;  // nobody runs a group: lead one (the queue held nobody but us)
    me.lead = true;
  }
  me.cv.wait(lock, [&] { return me.done || me.lead; });
  if (!me.done) {
    // Leading: this edit is the queue's first; take it and those behind it.
    assert(queue_.front() == &me);
    const size_t n = std::min(queue_.size(), max_group_);
    std::vector<Pending*> group(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    ++stats_.groups;
    stats_.edits += static_cast<int64_t>(n);
    stats_.largest = std::max(stats_.largest, static_cast<int64_t>(n));
    lock.unlock();
    RunGroup(store, group);
    lock.lock();
    for (Pending* p : group) {
      p->done = true;
      if (p != &me) p->cv.notify_one();
    }
    if (queue_.empty()) {
      leading_ = false;
    } else {
      queue_.front()->lead = true;
      queue_.front()->cv.notify_one();
    }
  }
  lock.unlock();
  Result<edit_steps::Staged> staged = std::move(*me.staged);
  if (!staged) return Err(staged.error());
  return edit_steps::Publish(snapshots_, household_id, std::move(*staged));
}

void EditBatcher::RunGroup(store::Store& store, std::span<Pending* const> group) {
  if (group.size() == 1) {  // alone: its own transaction, as without a batcher
    group[0]->staged = edit_steps::Run(store, snapshots_, group[0]->prepared, /*in_group=*/false);
    return;
  }
  Result<store::WriteTxn> txn = store.BeginWrite();
  if (!txn) {
    for (Pending* p : group) p->staged = Err(txn.error());
    return;
  }
  for (Pending* p : group)
    p->staged = edit_steps::Run(store, snapshots_, p->prepared, /*in_group=*/true);
  // Their deltas follow the commit: a snapshot refresh in between waits for them.
  for (Pending* p : group)
    if (*p->staged) snapshots_.Expect((*p->staged)->out.edit_id);
  if (Status st = txn->Commit(); !st.ok()) {
    for (Pending* p : group) {
      if (!*p->staged) continue;
      snapshots_.Forget((*p->staged)->out.edit_id);
      p->staged = Err(st);
    }
  }
}

}  // namespace fupin::service
