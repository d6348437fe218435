// The data sets of exchange format v1 (数据交换格式, ../shared/spec/exchange-format.md) and
// how each is stored. One table of constants is the single source for header mapping,
// validation, the store's schema and reports. Thread-safe: constant data.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fupin {

enum class FieldType {
  kText,      // any UTF-8 text, trimmed
  kInteger,   // base-10 integer
  kYear,      // a year 1900..2100
  kDecimal,   // a plain decimal number (areas, distances, coordinates)
  kMoney,     // yuan with up to 2 decimals; stored as integer fen in <name>_fen
  kDate,      // YYYY-MM-DD
  kCode,      // one code of `code_list` (its Chinese label is accepted too)
  kCodeSet,   // codes of `code_list` separated by ';'
  kVillage,   // 12-digit code of a level-5 region that exists
  kRegion,    // 6..12 digit code of a region that exists; stored padded to 12
  kIdNumber,  // a GB 11643 ID number; problems are warnings; stored normalised + raw
};

enum class DatasetKind {
  kRegions,     // upserted into the region table
  kHousehold,   // registry: upserted by key, changes kept in history
  kMember,      // registry: upserted by key, changes kept in history
  kDepartment,  // a full snapshot of one department's data, replacing the previous one
  // Village attributes (村情): a full snapshot keyed by village_code replacing the previous
  // one; about places, not people, so neither linked nor read by the rules. Optional.
  kVillage,
};

struct FieldSpec {
  std::string_view name;      // English header and base of the column name
  std::string_view label_zh;  // Chinese header accepted as an alias
  FieldType type;
  std::string_view code_list = {};  // for kCode / kCodeSet
  bool required = false;            // column must exist and the value must be present and valid
  bool identity = false;            // identity data: a bad value is a warning, kept raw
  std::string_view note_zh = {};    // what the column means, for the contract and templates
  std::string_view note_en = {};
  // The column may be left out without a warning: its absence means every value is empty
  // (a members file without left_reason has no removals).
  bool absent_means_empty = false;
};

struct DatasetSpec {
  std::string_view name;      // "households", "edu_students"; file name is name + ".csv"/".xlsx"
  std::string_view title_zh;  // 贫困户
  std::string_view title_en;
  DatasetKind kind;
  std::span<const FieldSpec> fields;
  // Fields whose values together identify a row within one file: a repeat is rejected.
  std::span<const std::string_view> key_fields;
  std::string_view table;  // store table name
};

// All data sets in import order (regions, households, members, then departments).
std::span<const DatasetSpec> AllDatasets();

// Finds a data set by file stem ("households" for households.csv), or nullptr.
const DatasetSpec* FindDataset(std::string_view name);

// Column in the store for a field's main value: name, or name_fen for money (a trailing
// "_yuan" in the name is dropped: subsidy_yuan -> subsidy_fen).
std::string StoredColumnName(const FieldSpec& field);

// Every stored column of a data set's table after the bookkeeping columns, in order: for
// each field its main column; kIdNumber fields add <name>_raw and <name>_problem; identity
// fields of other types add <name>_raw.
struct StoredColumn {
  std::string name;
  std::string_view sql_type;  // "TEXT", "INTEGER" or "REAL": portable across SQLite and PostgreSQL
};
std::vector<StoredColumn> StoredColumns(const DatasetSpec& dataset);

// Position in StoredColumns(dataset) of the main column of the field named `field`.
// REQUIRES: the data set has such a field.
size_t StoredSlot(const DatasetSpec& dataset, std::string_view field);

}  // namespace fupin
