#include "reports/file_reading_test_util.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cstdio>
#include <utility>

namespace fupin::reports {

std::optional<std::string> ReadZipPart(const std::string& path, const std::string& part) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (!zip) return std::nullopt;
  std::optional<std::string> bytes;
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat(zip, part.c_str(), 0, &stat) == 0) {
    if (zip_file_t* file = zip_fopen(zip, part.c_str(), 0)) {
      std::string buffer(stat.size, '\0');
      if (zip_fread(file, buffer.data(), buffer.size()) == static_cast<zip_int64_t>(stat.size))
        bytes = std::move(buffer);
      zip_fclose(file);
    }
  }
  zip_discard(zip);
  return bytes;
}

std::string RunCommand(const std::string& command) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "";
  std::string out;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return out;
}

}  // namespace fupin::reports
