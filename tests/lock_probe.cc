// fupin_lock_probe: how long a batch (import, link, rules run) keeps everyone else from
// writing. Runs a command (normally `fupin import|link|rules run ... --db DB`) and, while it
// runs, tries a small write on DB every --interval-ms from a connection of its own, as a
// cadre's flag decision in the server would: BEGIN IMMEDIATE with no busy wait, then ROLLBACK
// (nothing is changed). Also times a small read the same way. Prints one JSON line: the
// command's exit status and run time, how many attempts found the write lock taken, and the
// longest stretch during which every attempt did (an upper bound on how long a cadre's write
// would have waited, to within one interval).
//
//   fupin_lock_probe DB [--interval-ms 100] -- COMMAND ARGS...
//
// The probe keeps its connection open for the whole run, as a server does; so an import
// cannot switch the file to a rollback journal (SqliteStore::BeginBatch) and runs in WAL.
// Not a test: a measuring tool for docs/benchmarks.md (`fupin` itself is unchanged by it).
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Usage() {
  std::fprintf(stderr, "usage: fupin_lock_probe DB [--interval-ms N] -- COMMAND ARGS...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string db_path = argv[1];
  int interval_ms = 100;
  int i = 2;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc) {
      interval_ms = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }
  if (i + 1 >= argc || interval_ms <= 0) return Usage();
  std::vector<char*> command(argv + i + 1, argv + argc);
  command.push_back(nullptr);

  const Clock::time_point start = Clock::now();
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    execvp(command[0], command.data());
    std::perror("exec");
    _exit(127);
  }

  sqlite3* db = nullptr;
  long attempts = 0, blocked = 0, read_failures = 0;
  double longest_blocked_ms = 0, longest_read_ms = 0;
  Clock::time_point blocked_since{};
  bool in_blocked = false;
  int status = 0;
  for (;;) {
    if (waitpid(child, &status, WNOHANG) == child) break;
    const Clock::time_point now = Clock::now();
    if (!db && std::filesystem::exists(db_path)) {
      if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        sqlite3_close_v2(db);
        db = nullptr;
      } else {
        sqlite3_busy_timeout(db, 0);
      }
    }
    if (db) {
      ++attempts;
      const bool got = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
      if (got) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      if (!got) {
        ++blocked;
        if (!in_blocked) blocked_since = now;
        in_blocked = true;
      } else if (in_blocked) {
        longest_blocked_ms = std::max(longest_blocked_ms, Ms(now - blocked_since));
        in_blocked = false;
      }
      const Clock::time_point read_start = Clock::now();
      if (sqlite3_exec(db, "SELECT count(*) FROM import_batches", nullptr, nullptr, nullptr) !=
          SQLITE_OK)
        ++read_failures;
      longest_read_ms = std::max(longest_read_ms, Ms(Clock::now() - read_start));
    }
    std::this_thread::sleep_until(now + std::chrono::milliseconds(interval_ms));
  }
  const Clock::time_point end = Clock::now();
  if (in_blocked) longest_blocked_ms = std::max(longest_blocked_ms, Ms(end - blocked_since));
  sqlite3_close_v2(db);
  std::printf(
      "{\"exit\":%d,\"run_s\":%.2f,\"interval_ms\":%d,\"write_attempts\":%ld,"
      "\"write_blocked\":%ld,\"longest_write_blocked_ms\":%.0f,\"read_failures\":%ld,"
      "\"longest_read_ms\":%.1f}\n",
      WIFEXITED(status) ? WEXITSTATUS(status) : -1, Ms(end - start) / 1000, interval_ms, attempts,
      blocked, longest_blocked_ms, read_failures, longest_read_ms);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
