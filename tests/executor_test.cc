// The shared executor (core/executor.h) and RunTasks on it (core/parallel.h): every task runs
// once, failures come back in task order, nested calls and pipeline stages never deadlock
// however busy the pool is, and repeated calls reuse the same threads instead of starting
// new ones. Real threads throughout.
#include "core/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/parallel.h"

namespace fupin {
namespace {

TEST(ExecutorTest, RunTasksRunsEveryTaskOnceAndReturnsTheFirstFailureInTaskOrder) {
  std::vector<std::atomic<int>> runs(100);
  Status st = RunTasks(100, 4, [&](size_t t) -> Status {
    ++runs[t];
    if (t == 70) return InvalidArgument("seventy");
    if (t == 30) return NotFound("thirty");
    return OkStatus();
  });
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  for (size_t t = 0; t < runs.size(); ++t) EXPECT_EQ(runs[t].load(), 1) << "task " << t;
  EXPECT_TRUE(RunTasks(0, 4, [](size_t) { return Internal("never"); }).ok());
}

// A task that itself calls RunTasks, three levels deep, with more tasks than workers at every
// level: with threads started per call it ran; on a fixed pool it must not deadlock.
TEST(ExecutorTest, NestedRunTasksFinishEvenWhenEveryWorkerIsBusy) {
  const int width = static_cast<int>(Executor::Shared().threads()) * 2 + 1;
  std::atomic<int> leaves{0};
  std::function<Status(int)> level = [&](int depth) -> Status {
    if (depth == 0) {
      ++leaves;
      return OkStatus();
    }
    return RunTasks(static_cast<size_t>(width), width,
                    [&, depth](size_t) { return level(depth - 1); });
  };
  ASSERT_TRUE(level(3).ok());
  EXPECT_EQ(leaves.load(), width * width * width);
}

// RunTasks must not start threads per call: across many calls, every task runs on the
// calling thread or on one of the executor's fixed workers.
TEST(ExecutorTest, RepeatedCallsRunOnTheSameFixedThreads) {
  std::mutex mu;
  std::set<std::thread::id> seen;
  for (int call = 0; call < 50; ++call) {
    ASSERT_TRUE(RunTasks(16, 8, [&](size_t) {
                  std::lock_guard lock(mu);
                  seen.insert(std::this_thread::get_id());
                  return OkStatus();
                }).ok());
  }
  EXPECT_LE(seen.size(), Executor::Shared().threads() + 1);
}

// A pipeline stage fed through a queue by the caller must start even when every worker of the
// executor is held by other work: it then gets a thread of its own.
TEST(ExecutorTest, ConcurrentStageRunsWhileEveryWorkerIsBlocked) {
  Executor executor(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> blocked{0};
  for (size_t i = 0; i < executor.threads(); ++i)
    executor.Submit([&, released] {
      ++blocked;
      released.wait();
    });
  // The caller waits on the stage (a handshake), as a pipeline's consumer does.
  std::mutex mu;
  std::condition_variable cv;
  int produced = 0;
  {
    Concurrent stage(
        [&] {
          for (int i = 0; i < 100; ++i) {
            std::lock_guard lock(mu);
            ++produced;
            cv.notify_all();
          }
        },
        executor);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return produced == 100; });
  }
  EXPECT_EQ(produced, 100);
  release.set_value();
}

// With an idle worker, a stage runs on the executor rather than on a new thread.
TEST(ExecutorTest, ConcurrentStageUsesAnIdleWorker) {
  Executor executor(2);
  // Let both workers reach their wait: a job that has run proves a worker is up, and the
  // executor counts a worker idle only while it waits for a job.
  for (int i = 0; i < 2; ++i) {
    std::promise<void> ran;
    executor.Submit([&] { ran.set_value(); });
    ran.get_future().wait();
  }
  bool on_worker = false;
  for (int attempt = 0; attempt < 1000 && !on_worker; ++attempt) {
    Concurrent stage([] {}, executor);
    stage.Join();
    on_worker = stage.on_worker();
  }
  EXPECT_TRUE(on_worker);
}

}  // namespace
}  // namespace fupin
