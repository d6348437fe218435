#include "core/thread_priority.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace fupin {

pid_t ThisThreadId() { return gettid(); }

void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

Result<int> ThreadNice(pid_t tid) {
  errno = 0;  // -1 is a valid nice value: errno tells a failure
  const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (nice == -1 && errno != 0)
    return Err(Internal(fmt::format("getpriority of thread {}: {}", tid, std::strerror(errno))));
  return nice;
}

Status LowerPriorityOfThreadsExcept(int increment, std::span<const pid_t> keep) {
  if (increment < 1 || increment > 19)
    return InvalidArgument(fmt::format("a nice increment of {}: it is 1 to 19", increment));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t tid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc()) continue;
    if (std::find(keep.begin(), keep.end(), tid) != keep.end()) continue;
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    if (nice == -1 && errno != 0) {
      if (errno == ESRCH) continue;  // it ended
      return Internal(fmt::format("getpriority of thread {}: {}", tid, std::strerror(errno)));
    }
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::min(nice + increment, 19)) != 0) {
      if (errno == ESRCH) continue;
      return Internal(fmt::format("setpriority of thread {}: {}", tid, std::strerror(errno)));
    }
  }
  if (ec) return Internal(fmt::format("cannot list /proc/self/task: {}", ec.message()));
  return OkStatus();
}

}  // namespace fupin
