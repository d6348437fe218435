#include "store/sqlite/write_gate.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/thread_priority.h"
#include "store/sqlite/sqlite_util.h"

namespace fupin::store::sqlite_detail {
namespace {

// SQLite's default automatic checkpoint interval (PRAGMA wal_autocheckpoint), kept.
constexpr int kAutoCheckpointPages = 1000;
// Once the WAL is over that size SQLite's own hook checkpoints after every commit, in the
// committing thread, until a checkpoint can restart the WAL (readers prevent that while they
// read). Under a stream of small edits beside a dashboard load every edit paid a checkpoint
// and its fsync (16 % of the server's time), and the edit that met a slow fsync waited for
// it (the updates' p99). The gate's own thread checkpoints instead, at most once per
// interval, copying many commits' pages with one fsync, off every request's path.
constexpr auto kCheckpointInterval = std::chrono::milliseconds(100);

// One database file's gate: held by at most one connection; the others queue in arrival
// order and the releaser hands the gate to the first of them directly.
class Gate {
 public:
  explicit Gate(std::string path) : path_(std::move(path)) {}
  ~Gate() {
    {
      std::lock_guard lock(checkpoint_mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    if (checkpointer_.joinable()) checkpointer_.join();
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // Asks the gate's checkpointer (started at the first ask) for a passive checkpoint of the
  // file; asks while one is due or running are one.
  void RequestCheckpoint() {
    std::lock_guard lock(checkpoint_mu_);
    if (!checkpointer_.joinable()) checkpointer_ = std::thread([this] { CheckpointLoop(); });
    checkpoint_wanted_ = true;
    checkpoint_cv_.notify_one();
  }
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

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  // A connection of its own for each checkpoint, closed after it: held open it would count
  // as another user of the file (a batch's switch to the rollback journal needs none).
  void CheckpointLoop() {
    NameThisThread("wal-checkpoint");
    std::unique_lock lock(checkpoint_mu_);
    for (;;) {
      checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || stopping_; });
      if (stopping_) return;
      checkpoint_wanted_ = false;
      lock.unlock();
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                          nullptr) == SQLITE_OK) {
        // A first read opens the WAL: before it the connection takes the file for one
        // in rollback-journal mode and the checkpoint is a no-op.
        if (sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr) == SQLITE_OK)
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      sqlite3_close_v2(db);
      lock.lock();
      checkpoint_cv_.wait_for(lock, kCheckpointInterval, [&] { return stopping_; });
    }
  }

  std::mutex mu_;
  bool held_ = false;
  std::deque<Waiter*> queue_;

  const std::string path_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool stopping_ = false;
  std::thread checkpointer_;
};

// A connection's use of its file's gate. `holding` is touched only by the thread using the
// connection (and by SQLite's rollback hook, called on that thread).

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
// the next writer now, and the checkpoint SQLite would run here on its own (its default WAL
// hook, every 1,000 pages) is asked of the gate's checkpointer instead.
int OnWalCommit(void* arg, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  Attachment& a = *static_cast<Attachment*>(arg);
  Release(a);
  if (frames >= kAutoCheckpointPages) a.gate->RequestCheckpoint();
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
      attachment->gate = std::make_shared<Gate>(canonical.string());
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
