#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace fupin {

Status RunTasks(size_t n, int threads, const std::function<Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::vector<Status> results(n);
  auto worker = [&] {
    for (size_t t; (t = next.fetch_add(1)) < n;) results[t] = task(t);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, threads); ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  for (Status& st : results) RETURN_IF_ERROR(st);
  return OkStatus();
}

}  // namespace fupin
