// Queries as a front end asks them (统计查询): parameters as text (the CLI's --measure, --by
// and --where, the server's query string), checked and resolved against the snapshot, and the
// answer with both codes and labels, as CSV, JSON or a terminal table.
//
// Contract:
// - A value of --where is a code, or a label the importer accepts (未脱贫, 男, the region's
//   name); an unknown code, label, rule, data set, region or year is kInvalidArgument naming
//   it and listing what is accepted, never an empty answer. "" accepts the missing value.
// - Rows are in code order (analytics::CodeLess: 1, 2, ... 12; 0-6, 7-15, 16-59, 60+).
// - Labels: a coded dimension's code-list label, a region's name, a data set's title, a rule's
//   name; in `lang`.
// Messages are in `lang`. Thread-safe: no shared state; the snapshot is only read.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "analytics/query.h"
#include "analytics/snapshot.h"
#include "core/lang.h"
#include "core/status.h"
#include "rules/rule_set.h"

namespace fupin::service {

using Where = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Parameters as text.
struct QueryParams {
  std::string measures;            // "persons,households"
  std::string by;                  // "county,status", may be empty
  std::vector<std::string> where;  // each "dimension=value[,value]"
  // Poverty measures (fgt_*, mpi_*): the line, yuan per person per year or exit|nbs|monitoring
  // (the rules' line of each household's income year); MPI indicators "name[:weight],..."
  // (empty: the default); the MPI cutoff k.
  std::string line = "exit";
  std::string mpi_indicators;
  double mpi_k = 1.0 / 3;
  int threads = 2;
};

// The query of `params`: names, syntax and poverty parameters checked, without data.
// kInvalidArgument names a malformed filter, line or weight, an unknown dimension or measure.
Result<analytics::QuerySpec> BuildQuerySpec(const QueryParams& params, Lang lang);

// Sets the spec's lines by income year from `rule_set`'s thresholds when params.line names one
// (exit|nbs|monitoring); a number was set by BuildQuerySpec. Returns a note for the user
// naming the income years without a line (their households are left out of fgt_ and mpi_),
// or "" when none is missing or no poverty measure is asked. kFailedPrecondition when a
// poverty measure is asked and no income year has such a line.
Result<std::string> ApplyLines(const analytics::Snapshot& snap, const rules::RuleSet& rule_set,
                               const QueryParams& params, analytics::QuerySpec& spec, Lang lang);

// Rewrites every value of `where` as the snapshot's code for it (labels to codes, region
// prefixes and names to 12-digit codes). `rule_set` gives the rule ids a flag filter may name
// besides those with flags in the snapshot (nullptr: those only). kInvalidArgument names the
// first value that is not known.
Status ResolveWhere(const analytics::Snapshot& snap, const rules::RuleSet* rule_set, Where& where,
                    Lang lang);

// The label of one value of `dimension` ("1" of status: 未脱贫; a county's code: its name).
// A value without a label is returned as it is; the missing value "" is 空 / (none).
std::string ValueLabel(const analytics::Snapshot& snap, const rules::RuleSet* rule_set,
                       std::string_view dimension, std::string_view value, Lang lang);

// A heading for a dimension in a table (脱贫状态, 县; en: the dimension's name).
std::string DimensionTitle(std::string_view dimension, Lang lang);

// A heading for a measure in a table (户数, 人均纯收入均值（元）; en and measures without a
// Chinese title: the measure's name).
std::string MeasureTitle(std::string_view measure, Lang lang);

// An answer with codes and labels side by side.
struct QueryAnswer {
  std::vector<std::string> dimensions, measures;
  struct Row {
    std::vector<std::string> codes, labels;  // one per dimension
    std::vector<std::string> texts;          // one per measure, as formatted ("" when empty)
  };
  std::vector<Row> rows;  // in code order
  bool from_cube = false;
};

// RunQuery and labels. REQUIRES: the spec's where was resolved (ResolveWhere).
Result<QueryAnswer> AnswerQuery(const analytics::Snapshot& snap, const rules::RuleSet* rule_set,
                                const analytics::QuerySpec& spec, Lang lang);

// The answer as cells: a header (dimension and measure names, or their titles in `lang` when
// `titles`) and rows whose dimension cells are labels, or codes when `codes`.
std::vector<std::string> AnswerHeader(const QueryAnswer& answer, bool titles, Lang lang);
std::vector<std::vector<std::string>> AnswerCells(const QueryAnswer& answer, bool codes);

// CSV (RFC 4180, LF line ends, no BOM), columns named as given.
std::string AnswerCsv(const QueryAnswer& answer, bool codes);
// A JSON array of objects: each dimension's code under its name and its label under
// <name>_label; each measure as a number (null when empty).
std::string AnswerJson(const QueryAnswer& answer);
// A terminal table lined up by display width (core/display_width.h), titles in `lang`.
std::string AnswerTable(const QueryAnswer& answer, bool codes, Lang lang);

// A page of the household list (户清单, analytics::ListHouseholds) with labels: village by
// name, status, category and primary cause by label (codes when `codes`); the income with 2
// decimals. JSON: {"total":N,"households":[{...}]} with codes and <name>_label both, the
// income as a number (null when unknown).
std::string HouseholdListCsv(const analytics::Snapshot& snap, const analytics::HouseholdList& list,
                             bool codes, Lang lang);
std::string HouseholdListTable(const analytics::Snapshot& snap,
                               const analytics::HouseholdList& list, bool codes, Lang lang);
std::string HouseholdListJson(const analytics::Snapshot& snap, const analytics::HouseholdList& list,
                              Lang lang);

// The UTF-8 byte order mark that makes Excel read a CSV file as UTF-8.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace fupin::service
