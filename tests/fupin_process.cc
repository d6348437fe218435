#include "fupin_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "test_files.h"

extern char** environ;

namespace fupin::test {

std::string FupinRun::Show() const {
  return fmt::format("exit {} signal {}\n--- stdout\n{}\n--- stderr\n{}", exit_code, signal, out,
                     err);
}

FupinProcess::FupinProcess(const std::filesystem::path& scratch,
                           const std::vector<std::string>& args,
                           const std::vector<std::string>& env, const std::string& input) {
  static int counter = 0;
  std::filesystem::path in = "/dev/null";
  if (!input.empty()) {
    in = scratch / fmt::format("fupin-in-{}-{}.txt", getpid(), counter);
    WriteFile(in, input);
  }
  out_ = scratch / fmt::format("fupin-out-{}-{}.txt", getpid(), counter);
  err_ = scratch / fmt::format("fupin-err-{}-{}.txt", getpid(), counter++);
  std::vector<std::string> argv_text = {FUPIN_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("FUPIN_")) env_text.emplace_back(*e);
  env_text.insert(env_text.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&pid_, FUPIN_BINARY, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    ADD_FAILURE() << "posix_spawn " << FUPIN_BINARY << ": " << std::strerror(rc);
  }
}

FupinProcess::~FupinProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string FupinProcess::ErrSoFar() const { return ReadFile(err_); }

std::string FupinProcess::OutSoFar() const { return ReadFile(out_); }

FupinRun FupinProcess::Wait() {
  FupinRun run;
  if (pid_ <= 0) return run;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  run.out = ReadFile(out_);
  run.err = ReadFile(err_);
  return run;
}

FupinRun RunFupin(const std::filesystem::path& scratch, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, const std::string& input) {
  FupinProcess p(scratch, args, env, input);
  return p.Wait();
}

}  // namespace fupin::test
