// The query model (查询模型): measures grouped by dimensions, with filters, over the analytics
// snapshot (snapshot.h). The command line's `fupin query`, the reports and, later, the
// server's API share it. Names of dimensions and measures: docs/query.md.
//
// Execution: regions are ranges of the village-sorted snapshot, so a region filter reads
// only its rows; the rest is column at a time in chunks (codes, filters, group keys), with
// dense group arrays, on two threads.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analytics/snapshot.h"
#include "core/status.h"
#include "rules/thresholds.h"

namespace fupin::analytics {

// Parameters of the poverty measures (fgt_*, mpi_*; DOMAIN.md §7, docs/query.md).
// Incomes are households' per-capita net incomes; the unit is the person (a household
// counts once per member, and its members share its deprivations, as in the global MPI).
struct MpiIndicator {
  std::string name;  // one of MpiIndicatorNames()
  double weight = 1;
};
struct PovertyParams {
  double line = 0;              // yuan per person per year; 0: `lines` by the income year
  std::map<int, double> lines;  // income year -> line (households of other years are left out)
  std::vector<MpiIndicator> indicators;  // empty: DefaultMpiIndicators()
  double k = 1.0 / 3;  // poor when the weighted share of one's deprivations is at least k
};
// income (below the line), housing (unsafe), water (unsafe), electricity (none), schooling (a
// member aged 7-15 out of school), medical_insurance (a member not insured, or not in the
// health department's enrolment data when that data set is linked).
std::vector<std::string> MpiIndicatorNames();
// Income plus 两不愁三保障: income, housing, water, schooling, medical_insurance, equal weights.
std::vector<MpiIndicator> DefaultMpiIndicators();

// The lines of `kind` for every income year of the snapshot, for its province, from the
// rules' thresholds (rules/thresholds.h); years without a line are left out.
std::map<int, double> LinesByYear(const Snapshot& snap, const rules::Thresholds& thresholds,
                                  rules::LineKind kind);

struct QuerySpec {
  std::vector<std::string> measures;  // persons, households, ...
  std::vector<std::string> by;        // county, status, ...
  // dimension -> accepted values (codes; a region dimension takes 12-digit codes or their
  // significant prefix, "5201" for 520100000000; "" accepts the missing value)
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  int threads = 2;
  PovertyParams poverty;  // for the fgt_* and mpi_* measures
  // Answer from the snapshot's cube when the question allows (Snapshot::Cube); false scans
  // (tests compare the two).
  bool use_cube = true;
};

struct QueryResult {
  std::vector<std::string> columns;            // the dimensions, then the measures
  std::vector<std::vector<std::string>> rows;  // sorted by the dimension values (CodeLess)
  // The measures as numbers (NaN when empty), row by row, for reports and charts.
  std::vector<std::vector<double>> values;
  bool from_cube = false;  // answered from Snapshot::Cube rather than a scan
};

// Checks names; kInvalidArgument names an unknown dimension or measure, or a bad filter.
Status CheckQuery(const QuerySpec& spec);

Result<QueryResult> RunQuery(const Snapshot& snap, const QuerySpec& spec);

// Drill-down to the households themselves (户清单): the live households passing `where`, in
// village then household order, from `offset`, at most `limit`.
struct HouseholdRow {
  std::string household_id;
  std::string village_code;
  std::string status, category, primary_cause;
  int members = 0;
  double per_capita_income = 0;    // NaN when unknown
  std::vector<std::string> flags;  // rules with an open or verified flag
  double lat = 0, lon = 0;         // GPS of the home (WGS-84), NaN when unknown
};
struct HouseholdList {
  int64_t total = 0;  // households passing the filters
  std::vector<HouseholdRow> rows;
};
Result<HouseholdList> ListHouseholds(
    const Snapshot& snap,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& where, int64_t offset,
    int64_t limit);

// What a dimension's values are, for checking and labelling them (service/query.h).
enum class DimensionKind {
  kRegion,      // 12-digit region codes of `region_level` (0 province .. 4 village)
  kCoded,       // codes of `code_list` (core/code_lists.h)
  kYear,        // years (year, registered_year, exit_year)
  kAgeBand,     // 0-6, 7-15, 16-59, 60+
  kFlag,        // rule ids
  kLinked,      // department data set names
  kIncomeBand,  // IncomeBands() values
};
struct DimensionInfo {
  std::string_view name;
  DimensionKind kind;
  int region_level = -1;       // kRegion only
  std::string_view code_list;  // kCoded only
};
// The bands of the income_band dimension: a household's per-capita net income as a multiple
// of the poverty line of its income year (PovertyParams), [from, next band's from); "" when
// its income or line is unknown. Values "<0.5", "0.5-1", "1-1.5", "1.5-2", "2-3", ">=3".
struct IncomeBand {
  std::string_view value;
  double from;  // lower bound, a multiple of the line (-inf for the first band)
  std::string_view label_zh, label_en;
};
std::span<const IncomeBand> IncomeBands();

// nullopt when there is no dimension `name`.
std::optional<DimensionInfo> FindDimensionInfo(std::string_view name);

// The values of dimension `name` present in the snapshot (the missing value left out), in
// code order (CodeLess); empty for an unknown name.
std::vector<std::string> DimensionValues(const Snapshot& snap, std::string_view name);

// Code order: runs of digits compare as numbers ("2" < "10" < "12", "7-15" < "16-59"), the
// rest byte by byte; "" first. Query rows are sorted by their dimension values in this order.
bool CodeLess(std::string_view a, std::string_view b);

// Every dimension and measure name, for help texts (mpi_ch_<indicator> and
// mpi_contrib_<indicator> stand for one measure per indicator).
std::vector<std::string> DimensionNames();
std::vector<std::string> MeasureNames();

}  // namespace fupin::analytics
