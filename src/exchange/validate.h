// Validation of exchange rows against the data set catalogue (core/datasets.h).
//
// MapHeader matches a file's header to a data set's fields by English name or Chinese
// label. RowValidator turns one raw row into the store's typed values plus row-level
// issues: errors reject the row (no key, an unparseable value, an unknown code or region,
// an ID number destroyed by Excel), warnings keep it (identity problems, which linkage
// resolves). Not thread-safe: one validator per thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/code_lists.h"
#include "core/datasets.h"
#include "core/status.h"
#include "exchange/row_source.h"
#include "store/store.h"

namespace fupin::exchange {

struct HeaderMap {
  std::vector<int> cell_of_field;             // per field: its cell index, or -1 when absent
  std::vector<std::string> unknown_columns;   // kept in the report, otherwise ignored
  std::vector<std::string> missing_optional;  // optional fields without a column
  size_t width = 0;                           // cells in the header row
};

// Maps a header row. Fails with kInvalidArgument naming the column when a required
// column is missing or one field appears twice.
Result<HeaderMap> MapHeader(const DatasetSpec& dataset, const std::vector<std::string>& header);

// The regions the store knows, with their levels, for existence checks.
class RegionIndex {
 public:
  // REQUIRES: IsRegionCode(code12).
  void Add(std::string_view code12, int level) { levels_[Key(code12)] = level; }
  // The level of a 12-digit code, or 0 when the code is unknown.
  int LevelOf(std::string_view code12) const {
    auto it = levels_.find(Key(code12));
    return it == levels_.end() ? 0 : it->second;
  }
  bool Contains(std::string_view code12) const { return LevelOf(code12) != 0; }

 private:
  static uint64_t Key(std::string_view code12) {
    uint64_t k = 0;
    for (char c : code12) k = k * 10 + static_cast<uint64_t>(c - '0');
    return k;
  }
  std::unordered_map<uint64_t, int> levels_;  // 12 digits as a number: no string hashing
};

struct CellIssue {
  std::string column;
  std::string value;
  bool is_error = false;
  std::string_view code;
  std::string message_en;
  std::string message_zh;
};

struct ValidatedRow {
  std::vector<store::Value> values;  // one per StoredColumns(dataset)
  std::vector<CellIssue> issues;
  bool rejected = false;
  uint64_t key_hash = 0;   // the row's key (key fields, or the whole row when it has none)
  uint64_t key_check = 0;  // an independent hash of the same key, against collisions
  uint64_t content_hash = 0;
};

// The (key_hash, key_check) RowValidator gives a row whose key fields hold `key_values`, in
// DatasetSpec::key_fields order: finds a stored row's key among a file's row keys.
std::pair<uint64_t, uint64_t> KeyHashes(std::span<const store::Value> key_values);

class RowValidator {
 public:
  // `regions` must outlive the validator.
  RowValidator(const DatasetSpec& dataset, HeaderMap header, const RegionIndex& regions);

  // Validates `row` into `out` (its buffers are reused).
  void Validate(const RawRow& row, ValidatedRow& out);

 private:
  const DatasetSpec& dataset_;
  HeaderMap header_;
  const RegionIndex& regions_;
  std::vector<std::string> column_names_;    // stored column of each value slot
  std::vector<int> slot_of_field_;           // first value slot of each field
  std::vector<int> key_fields_;              // field indexes of the key
  std::vector<const CodeList*> code_lists_;  // each field's code list, or nullptr
  std::string scratch_;                      // folded text of the cell being read
};

}  // namespace fupin::exchange
