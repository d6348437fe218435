// Small UTF-8 text helpers shared by every module. Thread-safe: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fupin {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Removes leading and trailing ASCII whitespace, U+3000 (ideographic space) and U+00A0.
std::string_view TrimSpace(std::string_view text);

// Maps full-width ASCII forms (U+FF01..U+FF5E) to ASCII and U+3000 to a space; other text is kept.
std::string FullWidthToAscii(std::string_view text);

// The code point that starts at text[i], advancing i past it. A byte that does not start a
// well-formed sequence (overlong, surrogate, cut short) is returned as kNotUtf8 and i moves
// by one. REQUIRES: i < text.size().
inline constexpr char32_t kNotUtf8 = 0xFFFFFFFF;
char32_t NextCodePoint(std::string_view text, size_t& i);

// Appends the UTF-8 encoding of code point `cp`. REQUIRES: cp <= 0x10FFFF.
void AppendUtf8(char32_t cp, std::string& out);

// Removes every ASCII whitespace, U+3000 and U+00A0 anywhere in the text.
std::string RemoveAllSpace(std::string_view text);

// RemoveAllSpace(FullWidthToAscii(text)) without a copy in the common case: returns `text`
// itself when it is printable ASCII with no space, otherwise the folded text, kept in
// `scratch`.
std::string_view FoldToCompactAscii(std::string_view text, std::string& scratch);

// A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, quote or newline.
std::string CsvQuote(std::string_view field);
// Appends one CSV line of `cells` (each CsvQuote'd, separated by commas) and its LF to `out`.
void AppendCsvLine(std::string& out, std::span<const std::string> cells);

}  // namespace fupin
