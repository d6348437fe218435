// General mode (通用匹配): links two CSV files, or finds duplicates within one, with the same
// Fellegi–Sunter engine as the registry linker and no registry involved, so fupin can be
// scored on public record-linkage benchmarks beside other tools.
//
// The config (TOML) names each file's key column and the compared columns with their kind:
//   left_key = "rec_id"
//   right_key = "rec_id"          # optional; defaults to left_key
//   [[field]]
//   column = "surname"            # the column in both files
//   right_column = "last_name"    # optional, when the right file names it differently
//   kind = "name"                 # name | text | date | code | id | number
//
// Comparison levels by kind (0 = closest):
//   name   identical / same after simplification or same pinyin / one character different or
//          Jaro–Winkler >= 0.92 / Jaro–Winkler >= 0.80 / different
//   text   identical / Jaro–Winkler >= 0.92 / Jaro–Winkler >= 0.80 / different
//   date   identical / one of year, month, day different / day and month swapped / different
//   code   identical / different
//   id     identical / one character substituted or two neighbours swapped / different
//   number identical / within 1% / different
// An empty cell is missing and adds nothing.
//
// Blocking is chosen from the data: every field gives a key (its normalised value; for names
// and text also a phonetic key: pinyin for Chinese, Soundex for Latin letters; for dates the
// year and month), and every two fields a combined key. A key is used when the pairs it
// yields stay within a budget (20 per record, at least a million); single-field keys are
// preferred and combined keys added until at least two keys are in use. The candidate pairs
// are the union over the keys used.
//
// Training: u from random pairs; m by EM with u fixed, one session per key used, leaving out
// the fields that key forces to agree; each field's m is the pair-weighted mean over the
// sessions it took part in; the prior is the largest number of matches any session finds,
// over all possible pairs. Exact agreement on a name or text value is adjusted for how common
// the value is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "link/fellegi_sunter.h"

namespace fupin::link {

enum class FieldKind { kName, kText, kDate, kCode, kId, kNumber };

struct FieldConfig {
  std::string column;
  std::string right_column;  // empty: same as column
  FieldKind kind = FieldKind::kText;
};

struct LinkFilesConfig {
  std::string left_key;
  std::string right_key;
  std::vector<FieldConfig> fields;
};

// Reads and checks a config; errors name the file, line and column.
Result<LinkFilesConfig> ReadLinkFilesConfig(const std::filesystem::path& path);
Result<LinkFilesConfig> ParseLinkFilesConfig(std::string_view toml, std::string_view source_name);

struct LinkFilesOptions {
  std::filesystem::path left;
  std::filesystem::path right;  // empty: deduplicate `left`
  std::filesystem::path out;
  double min_probability = 0.5;
  std::function<void(std::string_view what, int64_t done, int64_t total)> progress;
};

struct LinkFilesSummary {
  int64_t left_records = 0, right_records = 0;
  std::vector<std::string> blocking_keys;  // the keys used, e.g. "surname", "dob+postcode"
  int64_t candidate_pairs = 0;
  int64_t pairs_written = 0;
  Model model;
  double seconds = 0;
};

// Writes `out` (CSV: left_key,right_key,weight,probability, one row per pair with probability
// >= min_probability, best first within each left record; in dedup mode each pair once, with
// left_key the record that comes first in the file). The file appears only when complete.
Result<LinkFilesSummary> LinkFiles(const LinkFilesConfig& config, const LinkFilesOptions& options);

}  // namespace fupin::link
