#include "store/sqlite/write_gate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "store/sqlite/sqlite_util.h"

namespace fupin::store::sqlite_detail {
namespace {

// One database file's gate: held by at most one connection; the others queue in arrival
// order and the releaser hands the gate to the first of them directly.
class Gate {
 public:
  // False when `deadline` passed first (the waiter has left the queue).
  bool Acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!held_ && queue_.empty()) {
      held_ = true;
      return true;
    }
    Waiter me;
    queue_.push_back(&me);
    while (!me.granted) {
      if (me.cv.wait_until(lock, deadline) == std::cv_status::timeout && !me.granted) {
        std::erase(queue_, &me);
        return false;
      }
    }
    return true;  // handed over by Release: held_ stayed true
  }

  void Release() {
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      held_ = false;
      return;
    }
    Waiter* next = queue_.front();
    queue_.pop_front();
    next->granted = true;
    next->cv.notify_one();  // under mu_: `next` lives until it has seen `granted`
  }

  int Waiters() {
    std::lock_guard lock(mu_);
    return static_cast<int>(queue_.size());
  }

  // True at most once per `interval` across the file's connections: whether a commit that
  // found the WAL over the checkpoint size runs the checkpoint.
  bool CheckpointDue(std::chrono::steady_clock::duration interval) {
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    int64_t last = last_checkpoint_.load(std::memory_order_relaxed);
    return now - last >= interval.count() &&
           last_checkpoint_.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  std::mutex mu_;
  bool held_ = false;
  std::deque<Waiter*> queue_;
  std::atomic<int64_t> last_checkpoint_{0};  // steady_clock ticks
};

// A connection's use of its file's gate. `holding` is touched only by the thread using the
// connection (and by SQLite's rollback hook, called on that thread).
// SQLite's default automatic checkpoint interval (PRAGMA wal_autocheckpoint), kept.
constexpr int kAutoCheckpointPages = 1000;
// Once the WAL is over that size, SQLite's hook would checkpoint after every commit until a
// checkpoint can restart the WAL, which readers prevent while they read: under a stream of
// small edits beside a dashboard load every commit paid a checkpoint and its fsync (16 % of
// the server's time). One checkpoint per interval copies many commits' pages with one fsync;
// a WAL ten times over the size is checkpointed at once.
constexpr auto kCheckpointInterval = std::chrono::milliseconds(100);

struct Attachment {
  std::shared_ptr<Gate> gate;
  int timeout_ms = 0;
  bool holding = false;
};

struct Registry {
  std::mutex gates_mu;
  std::map<std::string, std::weak_ptr<Gate>> gates;  // by canonical path
  std::shared_mutex attached_mu;
  std::unordered_map<sqlite3*, std::unique_ptr<Attachment>> attached;
};

Registry& Reg() {
  static Registry* registry = new Registry;  // never destroyed: used by exiting threads
  return *registry;
}

Attachment* Find(sqlite3* db) {
  Registry& reg = Reg();
  std::shared_lock lock(reg.attached_mu);
  auto it = reg.attached.find(db);
  return it == reg.attached.end() ? nullptr : it->second.get();
}

void Release(Attachment& a) {
  if (!a.holding) return;
  a.holding = false;
  a.gate->Release();
}

// SQLite rolled the transaction back (ROLLBACK, or on its own after an error): the write
// lock is already released when this runs.
void OnRollback(void* arg) { Release(*static_cast<Attachment*>(arg)); }

// A transaction committed in WAL mode, its write lock already released: the gate goes to
// the next writer now, and then the checkpoint SQLite would run here on its own (its
// default WAL hook, every 1,000 pages) runs outside the gate, beside the next writer,
// instead of holding every writer of the process off for its fsyncs.
int OnWalCommit(void* arg, sqlite3* db, const char* schema, int frames) {
  Attachment& a = *static_cast<Attachment*>(arg);
  Release(a);
  if (frames >= kAutoCheckpointPages &&
      (frames >= 10 * kAutoCheckpointPages || a.gate->CheckpointDue(kCheckpointInterval)))
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

}  // namespace

void AttachWriteGate(sqlite3* db, const std::filesystem::path& path, int busy_timeout_ms) {
  if (path.empty() || path == ":memory:") return;
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) canonical = std::filesystem::absolute(path, ec);
  Registry& reg = Reg();
  auto attachment = std::make_unique<Attachment>();
  attachment->timeout_ms = std::max(0, busy_timeout_ms);
  {
    std::lock_guard lock(reg.gates_mu);
    std::weak_ptr<Gate>& slot = reg.gates[canonical.string()];
    attachment->gate = slot.lock();
    if (!attachment->gate) {
      attachment->gate = std::make_shared<Gate>();
      slot = attachment->gate;
    }
    std::erase_if(reg.gates, [](const auto& entry) { return entry.second.expired(); });
  }
  sqlite3_rollback_hook(db, &OnRollback, attachment.get());
  sqlite3_wal_hook(db, &OnWalCommit, attachment.get());
  std::unique_lock lock(reg.attached_mu);
  reg.attached[db] = std::move(attachment);
}

void DetachWriteGate(sqlite3* db) {
  Registry& reg = Reg();
  std::unique_ptr<Attachment> attachment;
  {
    std::unique_lock lock(reg.attached_mu);
    auto it = reg.attached.find(db);
    if (it == reg.attached.end()) return;
    attachment = std::move(it->second);
    reg.attached.erase(it);
  }
  sqlite3_rollback_hook(db, nullptr, nullptr);
  sqlite3_wal_autocheckpoint(db, kAutoCheckpointPages);  // SQLite's own hook again
  Release(*attachment);
}

Status BeginImmediate(sqlite3* db) {
  Attachment* a = Find(db);
  if (a && !a->holding) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(a->timeout_ms);
    if (!a->gate->Acquire(deadline)) return Unavailable(std::string(kInUseMessage));
    a->holding = true;
  }
  char* err = nullptr;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &err) != SQLITE_OK) {
    Status st = SqliteError(db, "exec 'BEGIN IMMEDIATE'");
    sqlite3_free(err);
    if (a && sqlite3_get_autocommit(db)) Release(*a);
    return st;
  }
  return OkStatus();
}

void ReleaseIfEnded(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) return;
  if (Attachment* a = Find(db)) Release(*a);
}

bool HoldsWriteGate(sqlite3* db) {
  Attachment* a = Find(db);
  return a && a->holding;
}

int WriteGateWaiters(sqlite3* db) {
  Attachment* a = Find(db);
  return a ? a->gate->Waiters() : 0;
}

}  // namespace fupin::store::sqlite_detail
