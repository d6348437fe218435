#include "core/text.h"

#include <cstdint>
#include <cstring>

namespace fupin {

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {  // eight ASCII bytes at a time
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
      if (cp < 2) return false;  // overlong
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p < n + 1) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    p += n + 1;
  }
  return true;
}

namespace {
// Length in bytes of a space-like character at the start of `s`, or 0.
size_t SpaceAt(std::string_view s) {
  if (s.empty()) return 0;
  unsigned char c = s[0];
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') return 1;
  if (s.size() >= 3 && c == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80)
    return 3;                                                               // U+3000
  if (s.size() >= 2 && c == 0xC2 && (unsigned char)s[1] == 0xA0) return 2;  // U+00A0
  return 0;
}
size_t SpaceEndingAt(std::string_view s) {
  if (s.empty()) return 0;
  unsigned char c = s.back();
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') return 1;
  if (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") return 3;
  if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") return 2;
  return 0;
}
}  // namespace

std::string_view TrimSpace(std::string_view s) {
  while (size_t n = SpaceAt(s)) s.remove_prefix(n);
  while (size_t n = SpaceEndingAt(s)) s.remove_suffix(n);
  return s;
}

std::string FullWidthToAscii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c == 0xEF && i + 2 < s.size()) {
      unsigned char c1 = s[i + 1], c2 = s[i + 2];
      uint32_t cp = ((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F);
      if (cp >= 0xFF01 && cp <= 0xFF5E) {
        out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
        i += 3;
        continue;
      }
    }
    if (c == 0xE3 && s.substr(i, 3) == "\xE3\x80\x80") {
      out.push_back(' ');
      i += 3;
      continue;
    }
    out.push_back(static_cast<char>(c));
    ++i;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string RemoveAllSpace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = SpaceAt(s.substr(i));
    if (n) {
      i += n;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

std::string_view FoldToCompactAscii(std::string_view s, std::string& scratch) {
  bool plain = true;
  for (char c : s) plain &= c > ' ' && c < 0x7F;
  if (plain) return s;
  scratch = RemoveAllSpace(FullWidthToAscii(s));
  return scratch;
}

char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if (c < 0xC2 || c > 0xF4 || s.size() - i < len) {
    ++i;
    return kNotUtf8;
  }
  constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};  // shortest value for a length
  char32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kNotUtf8;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kNotUtf8;
  }
  i += len;
  return cp;
}

std::string CsvQuote(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void AppendCsvLine(std::string& out, std::span<const std::string> cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    out += CsvQuote(cells[i]);
  }
  out += '\n';
}

}  // namespace fupin
