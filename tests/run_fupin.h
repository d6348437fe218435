// Runs the real `fupin` binary (FUPIN_BINARY) in a child process, as a user runs it, for
// contract_test and removals_test. Not thread-safe.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "test_files.h"

extern char** environ;

namespace fupin::test {

struct ChildRun {
  int exit_code = -1;  // -1 when the child was killed by a signal
  std::string out;
  std::string err;
};

// Runs FUPIN_BINARY with `args`; stdout and stderr are captured in files under `scratch`.
// The child gets this process's environment without FUPIN_* variables.
inline ChildRun RunFupin(const std::filesystem::path& scratch,
                         const std::vector<std::string>& args) {
  static int counter = 0;
  const std::filesystem::path out_path = scratch / fmt::format("out-{}.txt", counter);
  const std::filesystem::path err_path = scratch / fmt::format("err-{}.txt", counter++);
  std::vector<std::string> argv_text = {FUPIN_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("FUPIN_")) env_text.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, FUPIN_BINARY, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ChildRun run;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << FUPIN_BINARY << ": " << std::strerror(rc);
    return run;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = ReadFile(out_path);
  run.err = ReadFile(err_path);
  return run;
}

inline std::string Show(const ChildRun& r) {
  return fmt::format("exit {}\n--- stdout\n{}\n--- stderr\n{}", r.exit_code, r.out, r.err);
}

}  // namespace fupin::test
