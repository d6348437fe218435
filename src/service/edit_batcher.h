// Group commit of household edits (批量提交): cadres' edits that arrive while another edit is
// being written are committed together, in one write transaction, instead of one
// transaction (and one WAL commit) each.
//
// How. Callers check and locate their edit on their own connection first (the role, the
// fields, the household's region, what the snapshot knows of it: edit_steps::Prepare), then
// queue it and wait on a condition variable of their own. The batcher's writer thread, on a
// connection of its own, takes the queue's first edits (at most `max_group`) and runs them
// as one group. A group of one is the edit's own transaction, exactly as without a batcher.
// A larger one is one WriteTxn with each edit in a savepoint of its own
// (EditStore::BeginEdit joins it): an edit that fails — a stale version (kAborted), an
// unknown member, a household outside the actor's region — is rolled back alone and its
// caller gets its error; the others commit together. The snapshot Expects every edit of the
// group before the commit and Forgets each when the commit fails (then every edit of the
// group gets that error: nothing of it was written). Once committed, the writer applies the
// group's deltas to the snapshot under one exclusive hold (edit_steps::Publish: readers
// stall once per group, not once per edit) and hands each caller its outcome. Edits thus
// wait for at most the group running when they arrive, as long as no more than `max_group`
// queue behind it (the server has fewer request threads than that).
//
// Why a thread of its own. Every edit passes through this one thread, so its share of the
// CPU bounds how fast edits go. A server lowers the priority of its request, job and refresh
// threads (ServeOptions::reader_nice) and leaves this one at the process's, so that under a
// flood of reads the writer still runs when it has work: a cadre's edit is not queued behind
// a dashboard's thousands of requests per second.
//
// Semantics are those of EditHousehold, edit for edit: the same rows (edit, history, visit,
// flags and their events with the edit's id, the version bump), the same errors and
// messages, the same snapshot deltas. Only the commit is shared: a process killed during a
// group loses the whole group, none of whose callers had been answered.
//
// Thread-safety: Edit may be called from any number of threads at once, each with its own
// store (connections to one database). The batcher must outlive every call; its destructor
// runs the edits still queued, then stops the writer.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

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
  // `writer`, a connection to that database, is the writer thread's.
  // `on_busy`, when given, is called on the writer thread with true when it takes up edits
  // after being idle and with false when it has none left (to hold reads back meanwhile).
  EditBatcher(analytics::SnapshotHolder& snapshots, std::unique_ptr<store::Store> writer,
              size_t max_group = kMaxGroup, std::function<void(bool busy)> on_busy = {});
  ~EditBatcher();
  EditBatcher(const EditBatcher&) = delete;
  EditBatcher& operator=(const EditBatcher&) = delete;

  // EditHousehold's contract, with this batcher's snapshots. `store` is the caller's own
  // connection: the edit is checked on it (the writer runs it on its own).
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
  // The writer thread's kernel id (core/thread_priority.h).
  pid_t writer_thread_id() const { return writer_tid_; }

 private:
  struct Pending;
  void WriterLoop();
  void RunGroup(std::span<Pending* const> group);
  // Applies the committed edits' deltas to the snapshot at once, and sets every outcome.
  void Publish(std::span<Pending* const> group);

  analytics::SnapshotHolder& snapshots_;
  std::unique_ptr<store::Store> writer_store_;  // the writer thread's
  const std::function<void(bool)> on_busy_;
  const size_t max_group_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer's: an edit was queued, or stopping_
  std::deque<Pending*> queue_;       // edits not yet taken by the writer, in arrival order
  bool stopping_ = false;
  Stats stats_;
  pid_t writer_tid_ = 0;  // set before the constructor returns
  std::thread writer_;    // last: started once everything above is
};

}  // namespace fupin::service
