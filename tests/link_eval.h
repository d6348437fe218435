// Link accuracy: scores a person-index output (links.csv from `fupin export links`) against
// the generator's ground truth (`fupin gen`'s _truth/ folder; docs/generator.md, "Truth
// files" and "Dirty identity data"). Used by bench/link_accuracy.cc and bench/link-peers.
//
// Definitions. The rows scored are the department rows of _truth/department_rows.csv
// (file,row,true_id,outsider_id). A row *belongs to the registry* when its true_id is
// non-empty; otherwise it is about an outsider. A row is *linked* when its links.csv line has
// a non-empty id_number, whatever its stage; it is *correct* when linked and id_number equals
// true_id exactly (so a linked outsider row is never correct, and an ID that is not 17 digits
// plus a check character 0-9 or upper-case X is never correct). Then
//   precision = correct / linked          (over all rows, outsider rows included)
//   recall    = correct / registry rows   (rows that belong to the registry)
// A truth row with no links.csv line counts as not linked (stage "missing"); a links.csv line
// naming a row that is not in the truth is an error, counted and otherwise ignored; a second
// line for the same row is counted as a duplicate and ignored.
//
// Groups reported: all rows; rows whose ID is empty in the file (dirt id_number/empty); per
// dirt kind ("id_number/old15", "name/traditional", ...: a row with an ID dirt and a name dirt
// counts in both; "none" for rows with no dirt); per links.csv stage; per dataset.
//
// Memory: about 10 bytes per department row (a packed ID and a 16-bit mark word); files are
// streamed in 4 MiB chunks, never held whole. Scale 1 (33.5 M rows, 3 GB of CSV): 6.6 s and
// 440 MB peak.
// Thread-safe: pure functions of their inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace fupin::link_eval {

// Counts over one group of department rows.
struct LinkCounts {
  int64_t rows = 0;             // department rows in the group
  int64_t registry_rows = 0;    // of which belong to the registry (true_id non-empty)
  int64_t linked = 0;           // rows whose links line has an id_number
  int64_t correct = 0;          // linked to their true_id
  int64_t outsider_linked = 0;  // linked rows that are about an outsider (all wrong)

  int64_t wrong() const { return linked - correct; }
  // correct / linked; NaN when nothing in the group is linked.
  double Precision() const;
  // correct / registry_rows; NaN when no row of the group belongs to the registry.
  double Recall() const;
};

struct NamedCounts {
  std::string name;
  LinkCounts counts;
};

struct LinkAccuracy {
  LinkCounts overall;
  LinkCounts id_empty;  // rows with dirt id_number/empty (also in by_dirt)
  // "field/kind" in docs/generator.md order, then kinds link_eval does not know in order of
  // appearance (kinds with no rows left out), then "none" (rows with no dirt).
  std::vector<NamedCounts> by_dirt;
  // exact, repaired, probabilistic, review, unlinked (those with rows), then "missing" for
  // truth rows with no links.csv line when there are any.
  std::vector<NamedCounts> by_stage;
  // Dataset (file name without .csv) in the truth's order.
  std::vector<NamedCounts> by_dataset;

  int64_t links_lines = 0;         // data lines of links.csv
  int64_t missing_rows = 0;        // truth rows with no links.csv line
  int64_t extra_lines = 0;         // links.csv lines naming a row not in the truth (errors)
  int64_t duplicate_lines = 0;     // further lines for a row already seen (ignored)
  int64_t inconsistent_lines = 0;  // stage exact/repaired/probabilistic with an empty
                                   // id_number, or review/unlinked with one
};

// Reads truth_dir/department_rows.csv, truth_dir/dirty.csv and links_csv and scores the
// links as defined above. Fails with kNotFound when a file cannot be opened and
// kInvalidArgument when one lacks a needed column, has a malformed line (bad row number,
// a true_id that is not an ID, an unknown stage), or dirty.csv names a row the truth lacks.
Result<LinkAccuracy> EvaluateLinks(const std::filesystem::path& truth_dir,
                                   const std::filesystem::path& links_csv);

// Renders the result as Markdown tables: figures with 4 decimals ("n/a" for NaN), counts
// with thousands separators.
std::string FormatMarkdown(const LinkAccuracy& accuracy);

// 1234567 -> "1,234,567"; negative numbers keep their sign.
std::string WithThousands(int64_t n);

}  // namespace fupin::link_eval
