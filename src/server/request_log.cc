#include "server/request_log.h"

#include <cerrno>

namespace fupin::server {

RequestLog::RequestLog(int fd) : fd_(fd), thread_([this] { Run(); }) {}

RequestLog::~RequestLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void RequestLog::Add(const std::string& line) {
  {
    std::lock_guard lock(mu_);
    if (queued_.size() + line.size() > kMaxQueuedBytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_ += line;
  }
  cv_.notify_one();
}

void RequestLog::Run() {
  std::string batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, everything written
      batch.swap(queued_);
    }
    for (size_t at = 0; at < batch.size();) {
      const ssize_t n = ::write(fd_, batch.data() + at, batch.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to report it; the requests themselves were answered
      at += static_cast<size_t>(n);
    }
    batch.clear();
  }
}

}  // namespace fupin::server
