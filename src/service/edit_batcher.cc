#include "service/edit_batcher.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/thread_priority.h"

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
  // Set by the writer before `done`: the group's run, then the caller's answer.
  std::optional<Result<edit_steps::Staged>> staged;
  std::optional<Result<EditOutcome>> outcome;
  bool done = false;  // its group has run and been published
  std::condition_variable cv;
};

EditBatcher::EditBatcher(analytics::SnapshotHolder& snapshots, std::unique_ptr<store::Store> writer,
                         size_t max_group, std::function<void(bool busy)> on_busy)
    : snapshots_(snapshots),
      writer_store_(std::move(writer)),
      on_busy_(std::move(on_busy)),
      max_group_(std::max<size_t>(max_group, 1)) {
  assert(writer_store_ && "the writer thread's connection");
  {
    std::lock_guard lock(RegistryMutex());
    [[maybe_unused]] const bool added = Registry().emplace(&snapshots, this).second;
    assert(added && "one EditBatcher per SnapshotHolder");
  }
  std::unique_lock lock(mu_);
  writer_ = std::thread([this] {
    NameThisThread("edit-writer");
    {
      std::lock_guard started(mu_);
      writer_tid_ = ThisThreadId();
    }
    work_cv_.notify_all();
    WriterLoop();
  });
  work_cv_.wait(lock, [&] { return writer_tid_ != 0; });
}

EditBatcher::~EditBatcher() {
  {
    std::lock_guard lock(RegistryMutex());
    if (auto it = Registry().find(&snapshots_); it != Registry().end() && it->second == this)
      Registry().erase(it);
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  writer_.join();
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
  if (queue_.size() == 1) work_cv_.notify_one();
  me.cv.wait(lock, [&] { return me.done; });
  return std::move(*me.outcome);
}

void EditBatcher::WriterLoop() {
  std::unique_lock lock(mu_);
  bool busy = false;
  const auto tell = [&](bool now) {
    busy = now;
    if (!on_busy_) return;
    lock.unlock();
    on_busy_(now);
    lock.lock();
  };
  for (;;) {
    if (busy && queue_.empty()) tell(false);
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every queued edit has run
    if (!busy) tell(true);       // only this thread takes from the queue: still not empty
    const size_t n = std::min(queue_.size(), max_group_);
    std::vector<Pending*> group(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    ++stats_.groups;
    stats_.edits += static_cast<int64_t>(n);
    stats_.largest = std::max(stats_.largest, static_cast<int64_t>(n));
    lock.unlock();
    RunGroup(group);
    Publish(group);
    lock.lock();
    for (Pending* p : group) {
      p->done = true;
      p->cv.notify_one();
    }
  }
}

void EditBatcher::RunGroup(std::span<Pending* const> group) {
  store::Store& store = *writer_store_;
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

void EditBatcher::Publish(std::span<Pending* const> group) {
  std::vector<edit_steps::Staged> staged;
  std::vector<Pending*> committed;
  for (Pending* p : group) {
    if (*p->staged) {
      staged.push_back(std::move(**p->staged));
      committed.push_back(p);
    } else {
      p->outcome = Err(p->staged->error());
    }
  }
  std::vector<Result<EditOutcome>> outcomes = edit_steps::Publish(snapshots_, std::move(staged));
  for (size_t i = 0; i < committed.size(); ++i) committed[i]->outcome = std::move(outcomes[i]);
}

}  // namespace fupin::service
