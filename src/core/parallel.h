// Running independent tasks in parallel (并行任务) on the shared executor (core/executor.h).
// Thread-safety: RunTasks may be called from any thread, tasks included (nested calls).
#pragma once

#include <cstddef>
#include <functional>

#include "core/status.h"

namespace fupin {

// Runs tasks 0..n-1, each once, lowest first, on up to `threads` threads at a time: the
// calling thread and up to threads-1 workers of the shared executor. Returns when every task
// has run, with the first failure in task order. Never waits for a worker to become free:
// when none is (a nested call, a busy server), the caller runs the tasks itself, so a task
// may itself call RunTasks. Tasks must not wait for each other.
Status RunTasks(size_t n, int threads, const std::function<Status(size_t)>& task);

// Runs `first` and `second`, the second on a worker when one is free (else after the first
// on the calling thread); returns when both have run. The same rules as RunTasks.
void RunPair(const std::function<void()>& first, const std::function<void()>& second);

}  // namespace fupin
