// Reading a small file (a configuration or rules file) whole. Thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fupin {

// The bytes of the file at `path`; `what` names it in errors ("rules file"). kNotFound when
// it cannot be opened, kInvalidArgument when it is not a regular file, cannot be read or is
// larger than `max_bytes`.
Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::string_view what,
                                  size_t max_bytes = size_t{16} << 20);

}  // namespace fupin
