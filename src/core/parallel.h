// Running independent tasks on a few threads (并行任务).
#pragma once

#include <cstddef>
#include <functional>

#include "core/status.h"

namespace fupin {

// Runs tasks 0..n-1 on `threads` threads (the calling thread is one of them), each task
// once, lowest first; returns the first failure in task order.
Status RunTasks(size_t n, int threads, const std::function<Status(size_t)>& task);

}  // namespace fupin
