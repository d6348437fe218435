#include "core/executor.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace fupin {
namespace {
// The executor whose worker this thread is, if any.
thread_local const Executor* current_executor = nullptr;
}  // namespace

Executor& Executor::Shared() {
  // Never destroyed: jobs may still be running while static objects are torn down at exit.
  static Executor* shared = new Executor(std::max<size_t>(2, std::thread::hardware_concurrency()));
  return *shared;
}

Executor::Executor(size_t threads) {
  assert(threads >= 1 && "an executor needs a worker");
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

Executor::~Executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void Executor::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
}

bool Executor::SubmitIfIdle(std::function<void()>& job) {
  {
    std::lock_guard lock(mu_);
    if (idle_ <= queue_.size()) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

bool Executor::OnWorker() const { return current_executor == this; }

void Executor::Work() {
  current_executor = this;
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      ++idle_;
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty()) return;  // stopping, and nothing left to run
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

Concurrent::Concurrent(std::function<void()> job, Executor& executor)
    : done_(std::make_shared<Done>()) {
  std::function<void()> stage = [done = done_, job = std::move(job)] {
    job();
    std::lock_guard lock(done->mu);  // notified under the lock: Join may free the job at once
    done->done = true;
    done->cv.notify_all();
  };
  if (!executor.SubmitIfIdle(stage)) own_ = std::thread(std::move(stage));
}

void Concurrent::Join() {
  if (own_.joinable()) {
    own_.join();
    joined_own_ = true;
    return;
  }
  std::unique_lock lock(done_->mu);
  done_->cv.wait(lock, [&] { return done_->done; });
}

}  // namespace fupin
