#include "core/display_width.h"

#include <algorithm>

#include "core/text.h"

namespace fupin {

namespace {

// East Asian Width W or F (Unicode 15 EastAsianWidth.txt, the ranges that matter for
// Chinese text and its punctuation), and the zero-width combining marks.
bool Wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
         (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}
bool ZeroWidth(char32_t c) {
  return (c >= 0x0300 && c <= 0x036F) || c == 0x200B || c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F);
}

}  // namespace

int DisplayWidth(std::string_view text) {
  int width = 0;
  for (size_t i = 0; i < text.size();) {
    const char32_t c = NextCodePoint(text, i);
    if (c == kNotUtf8) {
      ++width;
    } else if (Wide(c)) {
      width += 2;
    } else if (!ZeroWidth(c)) {
      ++width;
    }
  }
  return width;
}

std::string PadToWidth(std::string_view text, int width, Align align) {
  const int pad = std::max(0, width - DisplayWidth(text));
  std::string out;
  out.reserve(text.size() + static_cast<size_t>(pad));
  if (align == Align::kRight) out.append(static_cast<size_t>(pad), ' ');
  out += text;
  if (align == Align::kLeft) out.append(static_cast<size_t>(pad), ' ');
  return out;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<Align>& align, int indent) {
  std::vector<int> widths(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) widths[c] = DisplayWidth(header[c]);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text(static_cast<size_t>(indent), ' ');
    for (size_t c = 0; c < widths.size(); ++c) {
      if (c) text += "  ";
      const std::string_view cell = c < cells.size() ? std::string_view(cells[c]) : "";
      text += PadToWidth(cell, widths[c], c < align.size() ? align[c] : Align::kLeft);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  };
  line(header);
  std::vector<std::string> rule;
  for (int w : widths) rule.emplace_back(static_cast<size_t>(w), '-');
  line(rule);
  for (const auto& row : rows) line(row);
  return out;
}

}  // namespace fupin
