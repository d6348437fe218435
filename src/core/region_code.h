// Statistical division codes (统计用区划代码): 12 digits, province..village.
//
// Significant digits per level: province 2, prefecture 4, county 6, township 9,
// village 12; the rest are zeros (520000000000, 520100000000, 520102000000,
// 520102001000, 520102001001). Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fupin {

enum class RegionLevel { kProvince = 1, kPrefecture = 2, kCounty = 3, kTownship = 4, kVillage = 5 };

// Number of significant digits at a level: 2, 4, 6, 9, 12.
int RegionPrefixLength(RegionLevel level);

// True when `code` is 12 ASCII digits and shaped like a code of some level (non-zero prefix).
bool IsRegionCode(std::string_view code);

// Widens a 2..12 digit code (e.g. a 6-digit county code) to 12 digits with trailing zeros.
// Returns nullopt when the text is not 2..12 digits.
std::optional<std::string> PadRegionCode(std::string_view code);

// The level of a 12-digit code: the shortest prefix after which only zeros follow.
// REQUIRES: IsRegionCode(code).
RegionLevel LevelOf(std::string_view code);

// The 12-digit code of the enclosing region, or nullopt for a province.
// REQUIRES: IsRegionCode(code).
std::optional<std::string> ParentOf(std::string_view code);

// The 12-digit code of the region at `level` that contains `code` (its prefix padded).
// REQUIRES: IsRegionCode(code) and level <= LevelOf(code).
std::string AncestorAt(std::string_view code, RegionLevel level);

// The significant prefix of a code at its own level ("5201" for 520100000000).
std::string_view SignificantPrefix(std::string_view code);

}  // namespace fupin
