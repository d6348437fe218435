#include "reports/unnamed_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

namespace fupin::reports {

Result<std::unique_ptr<UnnamedFile>> UnnamedFile::Create(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  if (std::error_code ec; !parent.empty() && !fs::is_directory(parent, ec))
    return Err(Unavailable(fmt::format("cannot write {}: no directory {}", path, parent.string())));
  std::unique_ptr<UnnamedFile> file(new UnnamedFile(path));
  const std::string dir = parent.empty() ? "." : parent.string();
  file->fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (file->fd_ >= 0) {
    file->scratch_ = fmt::format("/proc/self/fd/{}", file->fd_);
    return file;
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return Err(Unavailable(fmt::format("cannot write {}: {}", path, std::strerror(errno))));
  file->scratch_ = path + ".tmp";  // no unnamed files here
  return file;
}

UnnamedFile::~UnnamedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (fd_ < 0 && !committed_) std::remove(scratch_.c_str());
}

Status UnnamedFile::Commit() {
  std::string error;
  if (fd_ >= 0) {
    // linkat cannot replace a file: link under a fresh name, then rename over `path`.
    std::random_device random;
    const std::string named = fmt::format("{}.{:08x}.tmp", path_, random());
    if (::fsync(fd_) != 0 ||
        ::linkat(AT_FDCWD, scratch_.c_str(), AT_FDCWD, named.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      error = std::strerror(errno);
    } else if (std::rename(named.c_str(), path_.c_str()) != 0) {
      error = std::strerror(errno);
      std::remove(named.c_str());
    }
  } else if (std::rename(scratch_.c_str(), path_.c_str()) != 0) {
    error = std::strerror(errno);
  }
  if (!error.empty()) return Unavailable(fmt::format("cannot write {}: {}", path_, error));
  committed_ = true;
  return OkStatus();
}

}  // namespace fupin::reports
