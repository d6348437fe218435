// Thread priorities (线程优先级). On Linux each thread has its own nice value, and a thread
// starts with its creator's. A process may raise its threads' nice values (lower their
// priority) without privilege, never lower them back; so a server that wants one thread to
// keep its share of the CPU under load lowers all the others instead.
// Thread-safety: thread-safe.
#pragma once

#include <sys/types.h>

#include <span>

#include "core/status.h"

namespace fupin {

// The calling thread's kernel id (what /proc/self/task lists).
pid_t ThisThreadId();

// Names the calling thread (at most 15 bytes show; ps, top and /proc/PID/task/TID/comm show
// it), so that an operator can tell the server's threads apart.
void NameThisThread(const char* name);

// The nice value of thread `tid` of this process.
Result<int> ThreadNice(pid_t tid);

// Adds `increment` (1..19) to the nice value of every thread of this process except those
// in `keep` (capped at 19); the threads they start later inherit it. A thread that ends
// meanwhile is skipped. kInvalidArgument for an increment outside 1..19; kInternal when
// /proc/self/task cannot be read or the kernel refuses.
Status LowerPriorityOfThreadsExcept(int increment, std::span<const pid_t> keep);

}  // namespace fupin
