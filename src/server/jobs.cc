#include "server/jobs.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

namespace fupin::server {
namespace {

std::string NowText() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

}  // namespace

struct Jobs::Job : JobReporter {
  int64_t id = 0;
  std::string kind, user, started_at, finished_at;
  std::string state = "running";  // running, succeeded, failed
  JobProgress progress;
  nlohmann::json result;
  Status error;
  std::mutex* mu = nullptr;

  void Progress(std::string_view phase, int64_t done, int64_t total) override {
    std::lock_guard lock(*mu);
    progress = {std::string(phase), done, total};
  }

  nlohmann::json ToJson() const {
    nlohmann::json j = {
        {"id", id},
        {"kind", kind},
        {"state", state},
        {"phase", progress.phase},
        {"done", progress.done},
        {"total", progress.total},
        {"user", user},
        {"started_at", started_at},
        {"finished_at", finished_at.empty() ? nlohmann::json() : nlohmann::json(finished_at)}};
    if (state == "succeeded") j["result"] = result;
    if (state == "failed")
      j["error"] = {{"code", StatusCodeName(error.code())}, {"message", error.message()}};
    return j;
  }
};

Jobs::Jobs(std::function<void(std::string_view, std::string_view)> on_finish)
    : on_finish_(std::move(on_finish)) {}

Jobs::~Jobs() {
  WaitIdle();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

Result<int64_t> Jobs::Start(std::string kind, const Actor& by, JobBody body,
                            std::function<void()> cleanup) {
  std::lock_guard lock(mu_);
  if (auto it = running_.find(kind); it != running_.end())
    return Err(FailedPrecondition(fmt::format("{} #{}", kind, it->second)));
  auto job = std::make_shared<Job>();
  job->id = next_id_++;
  job->kind = kind;
  job->user = by.user;
  job->started_at = NowText();
  job->mu = &mu_;
  jobs_[job->id] = job;
  running_[kind] = job->id;
  threads_.emplace_back([this, job, body = std::move(body), cleanup = std::move(cleanup)] {
    Result<nlohmann::json> out = body(*job);
    if (cleanup) cleanup();
    {
      std::lock_guard lock(mu_);
      job->finished_at = NowText();
      if (out) {
        job->state = "succeeded";
        job->result = std::move(*out);
      } else {
        job->state = "failed";
        job->error = out.error();
      }
      running_.erase(job->kind);
    }
    if (on_finish_) on_finish_(job->kind, job->state);
    idle_.notify_all();
  });
  return job->id;
}

std::optional<nlohmann::json> Jobs::Get(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->ToJson();
}

nlohmann::json Jobs::List(size_t limit) const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (auto it = jobs_.rbegin(); it != jobs_.rend() && out.size() < limit; ++it)
    out.push_back(it->second->ToJson());
  return out;
}

void Jobs::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return running_.empty(); });
}

}  // namespace fupin::server
