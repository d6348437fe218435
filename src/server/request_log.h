// The request log (one line per request) written by a thread of its own: a worker hands its
// line over and goes on, never waiting for the disk or journald. A sink that stalls (dirty
// page write-back after a large copy held write(2) for seconds, and every worker behind it)
// fills the queue; beyond kMaxQueuedBytes new lines are dropped and counted, never blocking.
#pragma once

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace fupin::server {

class RequestLog {
 public:
  static constexpr size_t kMaxQueuedBytes = size_t{16} << 20;

  explicit RequestLog(int fd = STDERR_FILENO);
  ~RequestLog();  // writes what is queued, then stops
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Queues `line` (with its newline). Thread-safe; never blocks on the sink.
  void Add(const std::string& line);
  // Lines dropped because the sink fell behind.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string queued_;
  bool stop_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace fupin::server
