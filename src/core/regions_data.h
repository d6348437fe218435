// The built-in region list: Guizhou's divisions (NBS 2023 codes, padded to 12 digits) as
// extracted by scripts/prep-regions into data/regions/520000.csv. Thread-safe: constant.
#pragma once

#include <string_view>

namespace fupin {

// The CSV text (header code,name,level,parent_code; UTF-8; sorted by code).
std::string_view BuiltinRegionsCsv();

}  // namespace fupin
