// The real `fupin` binary (FUPIN_BINARY) in a child process, as a user runs it: the one helper
// every test that runs the binary uses. RunFupin runs it to its end; FupinProcess starts it
// with its output captured in files and waits for it later, for tests that need several at
// once or a signal sent mid-run. Not thread-safe; each test uses its own instances.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fupin::test {

struct FupinRun {
  int exit_code = -1;  // -1 when the child was killed by a signal
  int signal = 0;      // the signal that ended the child, or 0
  std::string out;
  std::string err;
  std::string Show() const;  // everything above, for failure messages
};

class FupinProcess {
 public:
  // Starts `fupin ARGS` with stdin from /dev/null and stdout/stderr in files under `scratch`.
  // The child gets this process's environment without FUPIN_* variables, plus `env`.
  // With `input`, stdin reads it instead (e.g. a password for --password-stdin).
  FupinProcess(const std::filesystem::path& scratch, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {}, const std::string& input = {});
  ~FupinProcess();  // kills and reaps a child never waited for
  FupinProcess(const FupinProcess&) = delete;
  FupinProcess& operator=(const FupinProcess&) = delete;

  pid_t pid() const { return pid_; }
  // What the child wrote to stderr so far.
  std::string ErrSoFar() const;
  // What the child wrote to stdout so far.
  std::string OutSoFar() const;
  // Waits for the child to end.
  FupinRun Wait();

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_, err_;
};

// Runs `fupin ARGS` to its end.
FupinRun RunFupin(const std::filesystem::path& scratch, const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {}, const std::string& input = {});

}  // namespace fupin::test
