// Admission of light reads (读请求准入): at most N of them are computed at once, the rest
// wait their turn in arrival order. A server with a thread per keep-alive connection has
// as many runnable threads as busy connections (64 under a dashboard's load); on 2 cores
// the kernel then shares the CPU among all of them, so a cadre's write — one thread among
// dozens of readers — gets a sliver of it, and a read's latency depends on the scheduler's
// luck (a long tail) rather than on its place in the line. With reads admitted N at a time
// (four per core: the best of 4, 8, 16 and 64 on 2 cores), waiting readers sleep instead
// of competing, writes and /healthz find the CPU, and reads are served first come, first
// served. The number admitted may change at any time (SetPermits): a server admits fewer
// while cadres' edits are being written, so that the edit writer is not one runnable thread
// among many.
//
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

namespace fupin::server {

class FifoSemaphore {
 public:
  explicit FifoSemaphore(int permits) : permits_(permits) {}

  void Acquire() {
    std::unique_lock lock(mu_);
    if (in_use_ < permits_ && queue_.empty()) {
      ++in_use_;
      return;
    }
    Waiter me;
    queue_.push_back(&me);
    me.cv.wait(lock, [&] { return me.granted; });
  }

  void Release() {
    std::lock_guard lock(mu_);
    --in_use_;
    GrantLocked();
  }

  // From now on at most `permits` are held at once; holders beyond it keep theirs until they
  // release them.
  void SetPermits(int permits) {
    std::lock_guard lock(mu_);
    permits_ = permits;
    GrantLocked();
  }

  // Those holding a permit, and those waiting for one (for tests and metrics).
  int held() const {
    std::lock_guard lock(mu_);
    return in_use_;
  }
  size_t waiting() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

  // Holds a permit for its scope (none when constructed with null).
  class Hold {
   public:
    explicit Hold(FifoSemaphore* s) : s_(s) {
      if (s_) s_->Acquire();
    }
    ~Hold() {
      if (s_) s_->Release();
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    FifoSemaphore* s_;
  };

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  // Passes free permits to the first waiters, in order. REQUIRES: mu_ held.
  void GrantLocked() {
    while (in_use_ < permits_ && !queue_.empty()) {
      Waiter* next = queue_.front();
      queue_.pop_front();
      ++in_use_;
      next->granted = true;
      next->cv.notify_one();  // under mu_: `next` lives until it has seen `granted`
    }
  }

  mutable std::mutex mu_;
  int permits_;
  int in_use_ = 0;
  std::deque<Waiter*> queue_;
};

}  // namespace fupin::server
