// A report file that appears whole or not at all, even when the process is killed while
// writing it: the writer writes to an unnamed file in the target's directory (Linux
// O_TMPFILE), which is given its name only when complete. A kill leaves nothing behind (no
// .tmp or .part file). Where the file system has no unnamed files, path + ".tmp" is used and
// removed on failure (a kill may then leave it). Not thread-safe; one per file written.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace fupin::reports {

class UnnamedFile {
 public:
  // Starts a file that will be `path`. kUnavailable naming `path` when its directory is
  // missing or cannot be written.
  static Result<std::unique_ptr<UnnamedFile>> Create(const std::string& path);
  // Closes the file; not committed, it is gone.
  ~UnnamedFile();
  UnnamedFile(const UnnamedFile&) = delete;
  UnnamedFile& operator=(const UnnamedFile&) = delete;

  // The path to open and write (a /proc/self/fd link, or path + ".tmp"); it stays valid until
  // Commit or destruction. Whatever is written there replaces what was there before.
  const std::string& scratch() const { return scratch_; }
  // Gives the written file the name `path`, replacing any file of that name. kUnavailable
  // naming `path` on failure; the file is then gone.
  Status Commit();

 private:
  explicit UnnamedFile(std::string path) : path_(std::move(path)) {}
  std::string path_, scratch_;
  int fd_ = -1;  // the unnamed file, or -1 when writing to path + ".tmp"
  bool committed_ = false;
};

}  // namespace fupin::reports
