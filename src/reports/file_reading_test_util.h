// Reading written reports back, for the report tests (writers_test, tests/reports_test):
// the parts of an XLSX zip and the output of poppler's command-line tools.
#pragma once

#include <optional>
#include <string>

namespace fupin::reports {

// The uncompressed bytes of `part` in the zip at `path`, or nullopt when it is missing.
std::optional<std::string> ReadZipPart(const std::string& path, const std::string& part);

// The standard output of a shell command; a failing exit status fails the current test.
std::string RunCommand(const std::string& command);

}  // namespace fupin::reports
