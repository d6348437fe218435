// The query model (查询模型): measures grouped by dimensions, with filters, over the analytics
// snapshot (snapshot.h). The command line's `fupin query`, the reports and, later, the
// server's API share it. Names of dimensions and measures: docs/query.md.
//
// Execution: regions are ranges of the village-sorted snapshot, so a region filter reads
// only its rows; the rest is column at a time in chunks (codes, filters, group keys), with
// dense group arrays, on two threads.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "analytics/snapshot.h"
#include "core/status.h"

namespace fupin::analytics {

struct QuerySpec {
  std::vector<std::string> measures;  // persons, households, ...
  std::vector<std::string> by;        // county, status, ...
  // dimension -> accepted values (codes; a region dimension takes 12-digit codes or their
  // significant prefix, "5201" for 520100000000; "" accepts the missing value)
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  int threads = 2;
};

struct QueryResult {
  std::vector<std::string> columns;            // the dimensions, then the measures
  std::vector<std::vector<std::string>> rows;  // sorted by the dimension values
  // The measures as numbers (NaN when empty), row by row, for reports and charts.
  std::vector<std::vector<double>> values;
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
};
struct HouseholdList {
  int64_t total = 0;  // households passing the filters
  std::vector<HouseholdRow> rows;
};
Result<HouseholdList> ListHouseholds(
    const Snapshot& snap,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& where, int64_t offset,
    int64_t limit);

// Every dimension and measure name, for help texts.
std::vector<std::string> DimensionNames();
std::vector<std::string> MeasureNames();

}  // namespace fupin::analytics
