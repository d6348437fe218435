// Field comparators (字段比对) for record linkage: each returns an agreement level, 0 for the
// closest agreement, or kMissing when either side is empty. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "link/fellegi_sunter.h"

namespace fupin::link {

// Names: 0 identical, 1 identical after traditional -> simplified, 2 same pinyin (a homophone,
// 明/铭), 3 one character different (形近字 and other slips; for Latin names a Jaro–Winkler
// similarity of at least 0.92), 4 different. Both names should have gone through
// NormalizeName; `a_simplified` and `b_simplified` are their ToSimplified forms when the
// caller has them (computed here when empty).
inline constexpr int kNameLevels = 5;
uint8_t CompareNames(std::string_view a, std::string_view b, std::string_view a_simplified = {},
                     std::string_view b_simplified = {});

// Dates as YYYYMMDD integers (0 = missing): 0 identical, 1 one of year, month or day
// different, 2 day and month swapped, 3 different.
inline constexpr int kDateLevels = 4;
uint8_t CompareDates(int32_t a, int32_t b);

// Parses YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYYMMDD into YYYYMMDD; 0 when it is none.
int32_t ParseDateKey(std::string_view text);

// Sex codes (0 = missing): 0 same, 1 different.
inline constexpr int kSexLevels = 2;
uint8_t CompareSex(int a, int b);

// 12-digit region codes: `row` is known to `row_digits` significant digits (6, 9 or 12),
// `person` is a village. 0 same village, 1 same township, 2 same county, 3 different.
inline constexpr int kRegionLevels = 4;
uint8_t CompareRegions(std::string_view row, int row_digits, std::string_view person);

// The number of significant digits of a zero-padded 12-digit region code (2..12), 0 if empty
// or malformed.
int RegionDigits(std::string_view code);

// American Soundex of the Latin letters of `s` (R163 for Robert), "" when it has none.
std::string Soundex(std::string_view s);

// Jaro–Winkler similarity of two UTF-8 strings, by code point, in [0, 1].
double JaroWinkler(std::string_view a, std::string_view b);

}  // namespace fupin::link
