#include "core/region_code.h"

#include <cassert>

namespace fupin {

int RegionPrefixLength(RegionLevel level) {
  switch (level) {
    case RegionLevel::kProvince:
      return 2;
    case RegionLevel::kPrefecture:
      return 4;
    case RegionLevel::kCounty:
      return 6;
    case RegionLevel::kTownship:
      return 9;
    case RegionLevel::kVillage:
      return 12;
  }
  return 12;
}

namespace {
bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
bool AllZeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }
}  // namespace

bool IsRegionCode(std::string_view code) {
  return code.size() == 12 && AllDigits(code) && !AllZeros(code.substr(0, 2));
}

std::optional<std::string> PadRegionCode(std::string_view code) {
  if (code.size() < 2 || code.size() > 12 || !AllDigits(code)) return std::nullopt;
  std::string out(code);
  out.resize(12, '0');
  return out;
}

RegionLevel LevelOf(std::string_view code) {
  assert(IsRegionCode(code) && "LevelOf needs a 12-digit code");
  for (RegionLevel level : {RegionLevel::kProvince, RegionLevel::kPrefecture, RegionLevel::kCounty,
                            RegionLevel::kTownship}) {
    if (AllZeros(code.substr(RegionPrefixLength(level)))) return level;
  }
  return RegionLevel::kVillage;
}

std::optional<std::string> ParentOf(std::string_view code) {
  RegionLevel level = LevelOf(code);
  if (level == RegionLevel::kProvince) return std::nullopt;
  return AncestorAt(code, static_cast<RegionLevel>(static_cast<int>(level) - 1));
}

std::string AncestorAt(std::string_view code, RegionLevel level) {
  std::string out(code.substr(0, RegionPrefixLength(level)));
  out.resize(12, '0');
  return out;
}

std::string_view SignificantPrefix(std::string_view code) {
  return code.substr(0, RegionPrefixLength(LevelOf(code)));
}

}  // namespace fupin
