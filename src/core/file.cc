#include "core/file.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <system_error>

namespace fupin {

Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::string_view what,
                                  size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Err(NotFound(fmt::format("cannot read {} {}: it does not exist", what, path.string())));
  if (!std::filesystem::is_regular_file(path, ec))
    return Err(InvalidArgument(fmt::format("{} {} is not a file", what, path.string())));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Err(NotFound(fmt::format("cannot read {} {}", what, path.string())));
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
    text.append(buf, n);
    if (text.size() > max_bytes)
      return Err(InvalidArgument(
          fmt::format("{} {} is larger than {} bytes", what, path.string(), max_bytes)));
  }
  if (std::ferror(f.get()))
    return Err(InvalidArgument(fmt::format("read error in {} {}", what, path.string())));
  return text;
}

}  // namespace fupin
