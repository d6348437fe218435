// Helpers for the cross-module tests (import_test, cli_test): a temporary directory per test,
// files written byte for byte, valid resident ID numbers, real village codes, exchange-format
// CSV text built from the spec's column names, and row counts read straight from a SQLite file.
// Not thread-safe; each test uses its own instances.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace fupin::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path` exactly (creating parent directories). Aborts the test binary's
// current test with a fatal failure when the file cannot be written.
void WriteFile(const std::filesystem::path& path, std::string_view bytes);
std::string ReadFile(const std::filesystem::path& path);

// Converts UTF-8 text to GB18030 bytes with iconv, as Chinese Excel exports CSV.
std::string Utf8ToGb18030(std::string_view utf8);

// ---- identity ---------------------------------------------------------------------------

// The GB 11643 check character of 17 digits, computed here independently of core/.
char CheckChar(std::string_view first17);
// A valid 18-character ID number: county (6 digits), birth date yyyymmdd, sequence 0..999
// (odd = male).
std::string MakeId(std::string_view county6, std::string_view yyyymmdd, int seq);
// The same number with a wrong check character.
std::string WithBadCheckChar(std::string id18);

// Real codes from data/regions/520000.csv (built into every new store).
inline constexpr std::string_view kCounty = "520102";         // 贵州省贵阳市南明区
inline constexpr std::string_view kVillage = "520102016001";  // 南明区 新华路街道 纪念塔社区
inline constexpr std::string_view kVillage2 = "520102016002";  // 南明区 新华路街道 新华路社区
inline constexpr std::string_view kTownship = "520102016000";  // 新华路街道
inline constexpr std::string_view kZunyiVillage = "520302001001";  // 遵义市 红花岗区 大兴路社区
inline constexpr std::string_view kGuiyang = "520100000000";
inline constexpr std::string_view kZunyi = "520300000000";

// ---- exchange files ---------------------------------------------------------------------

// One data row: column name -> cell text. Columns not given take a valid default.
using Row = std::map<std::string, std::string>;

// The English column names of a data set, in the spec's order (exchange-format.md).
// Known: regions, households, members, and the 12 department data sets.
const std::vector<std::string>& Columns(std::string_view dataset);
// The Chinese labels (the header alias) of the same columns.
const std::vector<std::string>& ChineseColumns(std::string_view dataset);

// The default value of every column of a data set: a row that imports without any issue.
// Identity columns of department data default to a valid ID number of kCounty, born
// 1980-01-01; set them explicitly to make distinct rows.
Row DefaultRow(std::string_view dataset);

// RFC 4180 CSV text: the header, then one line per row (`row` values over DefaultRow).
// Fields holding a comma, quote or line break are quoted; lines end with LF.
std::string Csv(std::string_view dataset, const std::vector<Row>& rows,
                bool chinese_header = false);
// One CSV line for a list of cells (quoted as needed), with its LF.
std::string CsvLine(const std::vector<std::string>& cells);

// A household with the given id in `village` whose head has `head_id`.
Row Household(std::string id, std::string head_id = "", std::string village = "");
// A member of `household_id`.
Row Member(std::string id_number, std::string household_id, std::string name = "张三");

// ---- the store --------------------------------------------------------------------------

// Rows in every table of the SQLite file (read with SQL, not through the Store), by name.
std::map<std::string, int64_t> TableCounts(const std::filesystem::path& db);

// Runs a query on the SQLite file and returns every row, each value as text ("NULL" for null).
std::vector<std::vector<std::string>> Query(const std::filesystem::path& db,
                                            const std::string& sql);
// The first column of the first row of `sql` as an integer (-1 when no row).
int64_t QueryInt(const std::filesystem::path& db, const std::string& sql);

// Every issue of a batch, in the store's order.
std::vector<store::IssueRow> Issues(store::Store& store, int64_t batch_id);

}  // namespace fupin::test
