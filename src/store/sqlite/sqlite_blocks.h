// Internal to the SQLite backend: columnar blocks kept beside the row tables so that whole
// data sets can be read without a per-row cost.
//
//  dept_identity  written by each department snapshot import: for every row of the data set,
//                 its row_id, its ID number packed (PackIdNumber; 0 when the ID is not valid)
//                 and its ID problem (-1 none given, 0 valid, else IdProblem), sorted by
//                 row_id, 65,536 rows a block.
//  link_exact     written by each link run: the exact links of a data set, (row_id,
//                 person_id) sorted by row_id, 65,536 a block.
// A BLOB is: u32 count, u32 zero (so the arrays that follow are 8-byte aligned and can be
// read in place), then count × i64 row_id, count × u64 value, and for identity blocks
// count × i8 problem. Little-endian (every platform fupin builds on).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace fupin::store::sqlite_detail {

static_assert(std::endian::native == std::endian::little, "blocks are stored little-endian");

inline constexpr size_t kBlockRows = 65536;
inline constexpr size_t kBlockHeader = 8;

inline std::string EncodeBlock(std::span<const int64_t> rows, std::span<const uint64_t> values,
                               std::span<const int8_t> problems = {}) {
  uint32_t n = static_cast<uint32_t>(rows.size());
  std::string out(kBlockHeader + n * 16ull + problems.size(), '\0');
  std::memcpy(out.data(), &n, 4);
  std::memcpy(out.data() + kBlockHeader, rows.data(), n * 8ull);
  std::memcpy(out.data() + kBlockHeader + n * 8ull, values.data(), n * 8ull);
  if (!problems.empty()) std::memcpy(out.data() + kBlockHeader + n * 16ull, problems.data(), n);
  return out;
}

struct DecodedBlock {
  std::vector<int64_t> rows;
  std::vector<uint64_t> values;
  std::vector<int8_t> problems;  // empty for link blocks
};

// False when the bytes are not a block of the expected shape.
inline bool DecodeBlock(const void* data, size_t size, bool with_problems, DecodedBlock& out) {
  if (size < kBlockHeader) return false;
  uint32_t n = 0;
  std::memcpy(&n, data, 4);
  if (size != kBlockHeader + n * 16ull + (with_problems ? n : 0)) return false;
  const char* p = static_cast<const char*>(data) + kBlockHeader;
  out.rows.resize(n);
  out.values.resize(n);
  std::memcpy(out.rows.data(), p, n * 8ull);
  std::memcpy(out.values.data(), p + n * 8ull, n * 8ull);
  out.problems.resize(with_problems ? n : 0);
  if (with_problems) std::memcpy(out.problems.data(), p + n * 16ull, n);
  return true;
}

}  // namespace fupin::store::sqlite_detail
