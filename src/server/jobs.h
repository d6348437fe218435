// Long work started over the API (任务): import, link, rules and snapshot runs. One job of a
// kind runs at a time (a second is refused with kFailedPrecondition naming the running one);
// each reports its phase and progress; finished jobs are kept in memory for the process's
// life. Each job runs on a thread of its own with its own store connection, so requests keep
// answering from the last published state while it runs.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/actor.h"
#include "core/status.h"

namespace fupin::server {

struct JobProgress {
  std::string phase;
  int64_t done = 0, total = 0;
};

// What a job's body reports through as it runs.
class JobReporter {
 public:
  virtual ~JobReporter() = default;
  virtual void Progress(std::string_view phase, int64_t done, int64_t total) = 0;
};

// The work: returns the result (JSON) or the failure.
using JobBody = std::function<Result<nlohmann::json>(JobReporter&)>;

class Jobs {
 public:
  // `on_finish` is called after each job (kind, "succeeded"/"failed"), e.g. for metrics.
  explicit Jobs(std::function<void(std::string_view kind, std::string_view outcome)> on_finish);
  ~Jobs();  // waits for running jobs

  // Starts a job; its id. kFailedPrecondition when a job of `kind` runs.
  Result<int64_t> Start(std::string kind, const Actor& by, JobBody body,
                        std::function<void()> cleanup = {});
  // The job as JSON ({id, kind, state, phase, done, total, user, started_at, finished_at,
  // result | error}); nullopt when unknown.
  std::optional<nlohmann::json> Get(int64_t id) const;
  // Every job, newest first (at most `limit`).
  nlohmann::json List(size_t limit) const;
  // Waits until no job runs (shutdown).
  void WaitIdle();

 private:
  struct Job;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<int64_t, std::shared_ptr<Job>> jobs_;
  std::map<std::string, int64_t> running_;  // kind -> id
  std::vector<std::thread> threads_;
  int64_t next_id_ = 1;
  std::function<void(std::string_view, std::string_view)> on_finish_;
};

}  // namespace fupin::server
