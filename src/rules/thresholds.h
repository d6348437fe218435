// Poverty lines and thresholds as configuration (贫困标准与阈值): per year and per province,
// read from the rules file (rules/rule_set.h). DOMAIN.md §2.1 keeps the national statistical
// line and a province's exit line apart; §3.3 adds the monitoring line. Sources: docs/rules.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fupin::rules {

enum class LineKind : uint8_t {
  kNbs,         // nbs_line(year): the national statistical line, nominal yuan per person
  kExit,        // exit_line(year): the line the province used for exit decisions
  kMonitoring,  // monitoring_line(year): the return-to-poverty monitoring threshold
};
std::string_view LineKindName(LineKind kind);  // "nbs", "exit", "monitoring"

struct LineEntry {
  std::string province;  // 12-digit province code; empty = every province
  int year = 0;
  double yuan = 0;
  std::string source;
};

struct Thresholds {
  std::vector<LineEntry> lines[3];                    // by LineKind
  std::map<std::string, double, std::less<>> values;  // named thresholds

  // The line for a province (12-digit code of the province or of anything under it) and
  // year: the province's own entry, else the entry for every province, else nothing.
  std::optional<double> Line(LineKind kind, std::string_view region, int year) const;
  std::optional<double> Value(std::string_view name) const;
};

}  // namespace fupin::rules
