// Synthetic province generator (合成省份数据): writes a Guizhou-shaped exchange batch —
// regions.csv, the registry (households.csv 贫困户, members.csv 家庭成员) and the twelve
// department files of ../shared/spec/exchange-format.md — plus DIR/_truth/ with the answers
// (which person each department row really is, the planted cases, every dirtied identity
// field). No real person's data is involved; every distribution and rate is documented in
// docs/generator.md.
//
// Output is a pure function of (seed, scale): the same pair gives byte-identical files
// whatever the thread count. Work streams township by township, so memory stays bounded
// (a few blocks in flight) at any scale.
//
// Thread-safe: Generate may be called concurrently for different output folders. It runs
// its own worker threads and calls `progress` from the calling thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace fupin::gen {

struct GenOptions {
  double scale = 0.01;  // 1.0 = Guizhou: ~2.3 M households, ~7.46 M members. (0, 5].
  uint64_t seed = 1;
  std::filesystem::path out;  // created if missing; the batch's files in it are replaced
  bool xlsx = false;          // also households.xlsx and members.xlsx (≤ 1,048,575 rows each)
  bool gb18030 = false;       // data CSVs in GB18030 instead of UTF-8 (_truth/ stays UTF-8)
  int threads = 0;            // worker threads; 0 = std::thread::hardware_concurrency()
};

struct GenProgress {
  int townships_done = 0;
  int townships_total = 0;
  int64_t rows_written = 0;   // data rows (all files)
  int64_t bytes_written = 0;  // data and truth bytes
};
using ProgressFn = std::function<void(const GenProgress&)>;

struct FileRows {
  std::string file;  // "households.csv"
  int64_t rows = 0;  // data rows, header excluded
};

struct GenSummary {
  int64_t households = 0;
  int64_t members = 0;
  std::vector<FileRows> files;  // regions, villages, households, members, then departments
  int64_t department_rows = 0;
  int64_t dirty_fields = 0;
  int64_t planted_cases = 0;
  int64_t bytes_written = 0;
};

// Writes the batch into options.out. Files appear under their final names only when the
// whole batch succeeded (they are written as `*.part` and renamed at the end).
// Returns kInvalidArgument for a bad scale, an empty output path, or --xlsx at a scale whose
// members would not fit one sheet; kUnavailable when a file cannot be created or written;
// kInternal when GB18030 conversion is unavailable (iconv). On failure the `*.part` files
// are removed.
Result<GenSummary> Generate(const GenOptions& options, const ProgressFn& progress = nullptr);

}  // namespace fupin::gen
