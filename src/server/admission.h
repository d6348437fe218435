// Admission of light reads (读请求准入): at most N of them are computed at once, the rest
// wait their turn in arrival order. A server with a thread per keep-alive connection has
// as many runnable threads as busy connections (64 under a dashboard's load); on 2 cores
// the kernel then shares the CPU among all of them, so a cadre's write — one thread among
// dozens of readers — gets a sliver of it, and a read's latency depends on the scheduler's
// luck (a long tail) rather than on its place in the line. With reads admitted N at a time
// (four per core: the best of 4, 8, 16 and 64 on 2 cores), waiting readers sleep instead
// of competing, writes and /healthz find the CPU, and reads are served first come, first
// served.
//
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

namespace fupin::server {

class FifoSemaphore {
 public:
  explicit FifoSemaphore(int permits) : free_(permits) {}

  void Acquire() {
    std::unique_lock lock(mu_);
    if (free_ > 0 && queue_.empty()) {
      --free_;
      return;
    }
    Waiter me;
    queue_.push_back(&me);
    me.cv.wait(lock, [&] { return me.granted; });
  }

  void Release() {
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      ++free_;
      return;
    }
    Waiter* next = queue_.front();  // the permit passes to it directly
    queue_.pop_front();
    next->granted = true;
    next->cv.notify_one();  // under mu_: `next` lives until it has seen `granted`
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
  std::mutex mu_;
  int free_;
  std::deque<Waiter*> queue_;
};

}  // namespace fupin::server
