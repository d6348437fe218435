// The query model (查询模型): measures grouped by dimensions, with filters, over the registry
// in memory (rules/rule_data.h columns). The command line's `fupin query` and, later, the
// server's API and reports share it. Names of dimensions and measures: docs/query.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "rules/rule_data.h"
#include "rules/rule_set.h"
#include "store/store.h"

namespace fupin::analytics {

struct QuerySpec {
  std::vector<std::string> measures;  // persons, households, ...
  std::vector<std::string> by;        // county, status, ...
  // dimension -> accepted values (codes; a region dimension takes 12-digit codes)
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
};

struct QueryResult {
  std::vector<std::string> columns;            // the dimensions, then the measures
  std::vector<std::vector<std::string>> rows;  // sorted by the dimension values
};

// The fields of the registry a query may need, for rules::LoadRuleData.
rules::RuleSet QueryFields();

// Checks names; kInvalidArgument names an unknown dimension or measure, or a bad filter.
Status CheckQuery(const QuerySpec& spec);

// Answers the query over data loaded with QueryFields().
Result<QueryResult> RunQuery(const rules::RuleData& data, const QuerySpec& spec);

// Every dimension and measure name, for help texts.
std::vector<std::string> DimensionNames();
std::vector<std::string> MeasureNames();

}  // namespace fupin::analytics
