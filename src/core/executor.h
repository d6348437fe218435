// The process's one shared executor (共享线程池): a fixed set of worker threads (as many as
// the machine has hardware threads, at least 2) that every piece of parallel work runs on,
// instead of threads started per call. A server answering many requests at once would
// otherwise start threads without bound. RunTasks (core/parallel.h) is the usual way in.
// Thread-safety: thread-safe. Tasks must not block waiting for other submitted tasks to
// start (the pool may be busy): fork-join work goes through RunTasks, whose caller runs the
// tasks itself when no worker is free, so nested RunTasks calls cannot deadlock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fupin {

class Executor {
 public:
  // The process-wide executor, started on first use and never stopped (its threads end
  // with the process).
  static Executor& Shared();

  // Starts `threads` workers. REQUIRES: threads >= 1. Tests may make their own.
  explicit Executor(size_t threads);
  // Runs what is queued, then joins the workers.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `job` to run once on a worker. Jobs run in submission order as workers free up.
  void Submit(std::function<void()> job);
  // Queues `job` only when an idle worker will take it at once; false (and nothing queued)
  // when every worker is busy or already spoken for.
  bool SubmitIfIdle(std::function<void()>& job);

  size_t threads() const { return workers_.size(); }
  // True when called from one of this executor's workers.
  bool OnWorker() const;

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  size_t idle_ = 0;                          // guarded by mu_: workers waiting for a job
  std::vector<std::thread> workers_;
};

// A pipeline stage (流水线阶段): runs `job` concurrently with the caller, who typically feeds
// it or drains it through a queue. Runs on an idle worker of the executor, or on a thread of
// its own when none is idle: a stage the caller waits on must never wait for a worker, or a
// busy pool would deadlock. Join() (or the destructor) waits for the job to end.
// Thread-safety: one owner thread.
class Concurrent {
 public:
  explicit Concurrent(std::function<void()> job, Executor& executor = Executor::Shared());
  ~Concurrent() { Join(); }
  Concurrent(const Concurrent&) = delete;
  Concurrent& operator=(const Concurrent&) = delete;
  // Waits until the job has returned. Idempotent.
  void Join();
  // True when the job runs on a worker of the executor (not on a thread of its own).
  bool on_worker() const { return !own_.joinable() && !joined_own_; }

 private:
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  std::shared_ptr<Done> done_;
  std::thread own_;
  bool joined_own_ = false;
};

}  // namespace fupin
