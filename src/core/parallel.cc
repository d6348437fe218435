#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/executor.h"

namespace fupin {
namespace {

// What the caller and its helpers share. Helpers hold it by shared_ptr: a helper job may
// start after the call has returned, finds no task left, and must still find the counters.
struct Call {
  Call(size_t n, const std::function<Status(size_t)>& task) : n(n), task(&task), results(n) {}
  const size_t n;
  const std::function<Status(size_t)>* task;  // valid while some task is unclaimed or running
  std::vector<Status> results;
  std::mutex mu;
  std::condition_variable finished;
  size_t next = 0;  // guarded by mu: the next task to claim
  size_t done = 0;  // guarded by mu: tasks that have finished

  // Claims and runs tasks until none is left.
  void Help() {
    for (;;) {
      size_t t;
      {
        std::lock_guard lock(mu);
        if (next == n) return;
        t = next++;
      }
      Status st = (*task)(t);
      std::lock_guard lock(mu);
      results[t] = std::move(st);
      if (++done == n) finished.notify_all();
    }
  }
};

}  // namespace

Status RunTasks(size_t n, int threads, const std::function<Status(size_t)>& task) {
  if (n == 0) return OkStatus();
  auto call = std::make_shared<Call>(n, task);
  const size_t helpers = std::min(n, static_cast<size_t>(std::max(1, threads))) - 1;
  Executor& executor = Executor::Shared();
  for (size_t i = 0; i < helpers; ++i) executor.Submit([call] { call->Help(); });
  call->Help();
  // Every task is claimed; wait only for those still running on helpers, never for a
  // helper to start.
  {
    std::unique_lock lock(call->mu);
    call->finished.wait(lock, [&] { return call->done == n; });
  }
  for (Status& st : call->results) RETURN_IF_ERROR(st);
  return OkStatus();
}

void RunPair(const std::function<void()>& first, const std::function<void()>& second) {
  (void)RunTasks(2, 2, [&](size_t t) {
    (t == 0 ? first : second)();
    return OkStatus();
  });
}

}  // namespace fupin
