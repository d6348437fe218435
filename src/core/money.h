// Money (金额) in yuan with at most 2 decimals, held exactly as integer fen (分).
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fupin {

// Parses "1234", "1234.5", "-12.05" into fen. Returns nullopt for anything else, including
// more than 2 decimals, thousands separators or magnitudes beyond 10^15 yuan.
std::optional<int64_t> ParseYuanToFen(std::string_view text);

// "1234.50" for 123450.
std::string FormatFenAsYuan(int64_t fen);

// Parses a plain decimal number ("12", "-3.75", "0.5"); nullopt otherwise. For areas, km, mu.
std::optional<double> ParseDecimal(std::string_view text);

// Parses a base-10 integer that fits in int64 ("-12", "2019"); nullopt otherwise.
std::optional<int64_t> ParseInteger(std::string_view text);

}  // namespace fupin
