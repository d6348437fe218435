#include "service/mask.h"

#include <algorithm>

#include "core/text.h"

namespace fupin::service {

std::string MaskIdNumber(std::string_view id) {
  if (id.size() < 8) return std::string(id.size(), '*');
  std::string out(id.substr(0, 6));
  out.append(id.size() - 10, '*');
  out.append(id.substr(id.size() - 4));
  return out;
}

std::string MaskName(std::string_view name) {
  std::string out;
  size_t i = 0;
  bool first = true;
  while (i < name.size()) {
    const size_t start = i;
    NextCodePoint(name, i);
    if (i == start) ++i;  // never stall on a bad byte
    if (first && name.size() > i - start) {
      out.append(name.substr(start, i - start));
    } else {
      out.push_back('*');
    }
    first = false;
  }
  return out;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string MaskText(std::string_view text, std::span<const std::string> names) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (IsDigit(text[i]) && (i == 0 || !IsDigit(text[i - 1]))) {
      size_t j = i;
      while (j < text.size() && IsDigit(text[j])) ++j;
      size_t run = j - i;
      if (run == 17 && j < text.size() && (text[j] == 'X' || text[j] == 'x')) ++j, ++run;
      if (run == 15 || run == 18) {
        out += MaskIdNumber(text.substr(i, run));
        i = j;
        continue;
      }
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    out.push_back(text[i++]);
  }
  for (const std::string& name : names) {
    if (name.size() < 4) continue;  // one CJK character (3 bytes) would mask too much
    const std::string masked = MaskName(name);
    for (size_t at = out.find(name); at != std::string::npos;
         at = out.find(name, at + masked.size()))
      out.replace(at, name.size(), masked);
  }
  return out;
}

}  // namespace fupin::service
