// Display width (显示宽度) of text in a terminal, and a plain-text table printer that lines
// up columns holding Chinese text: a character of East Asian Width Wide or Fullwidth (汉字,
// full-width punctuation and forms) takes two columns, a combining mark none, others one.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fupin {

// Columns `text` (UTF-8) takes in a terminal. A byte that is not valid UTF-8 counts as one.
int DisplayWidth(std::string_view text);

// `text` followed (align kLeft) or preceded (kRight) by spaces up to `width` columns; text
// already as wide or wider is returned whole.
enum class Align { kLeft, kRight };
std::string PadToWidth(std::string_view text, int width, Align align = Align::kLeft);

// A table as lines of text: the header, a rule of '-', then the rows, columns separated by
// two spaces and padded to the widest cell by display width; trailing spaces trimmed.
// `align[i]` aligns column i (missing entries: kLeft). Rows shorter than the header are
// padded with empty cells. Each line ends with '\n'; `indent` spaces start each line.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<Align>& align = {}, int indent = 0);

}  // namespace fupin
