#include "rules/thresholds.h"

namespace fupin::rules {

std::string_view LineKindName(LineKind kind) {
  switch (kind) {
    case LineKind::kNbs:
      return "nbs";
    case LineKind::kExit:
      return "exit";
    case LineKind::kMonitoring:
      return "monitoring";
  }
  return "?";
}

std::optional<double> Thresholds::Line(LineKind kind, std::string_view region, int year) const {
  const std::vector<LineEntry>& table = lines[static_cast<int>(kind)];
  std::optional<double> national;
  for (const LineEntry& e : table) {
    if (e.year != year) continue;
    if (e.province.empty()) {
      national = e.yuan;
    } else if (region.size() >= 2 && e.province.compare(0, 2, region.substr(0, 2)) == 0) {
      return e.yuan;
    }
  }
  return national;
}

std::optional<double> Thresholds::Value(std::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

}  // namespace fupin::rules
