#include "link/compare.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/region_code.h"
#include "core/text.h"
#include "link/names.h"

namespace fupin::link {
namespace {

// Decodes UTF-8 into code points; a malformed byte becomes a lone surrogate of its own
// (never equal to a real character, and distinct per byte value).
void Decode(std::string_view s, std::u32string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const char32_t cp = NextCodePoint(s, i);
    out.push_back(cp == kNotUtf8 ? 0xDC00 + static_cast<unsigned char>(s[at]) : cp);
  }
}

bool IsHan(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || c >= 0x20000;
}

}  // namespace

uint8_t CompareNames(std::string_view a, std::string_view b, std::string_view a_simplified,
                     std::string_view b_simplified) {
  if (a.empty() || b.empty()) return kMissing;
  if (a == b) return 0;
  std::string a_simp_own, b_simp_own;
  if (a_simplified.empty()) {
    a_simp_own = ToSimplified(a);
    a_simplified = a_simp_own;
  }
  if (b_simplified.empty()) {
    b_simp_own = ToSimplified(b);
    b_simplified = b_simp_own;
  }
  std::string_view b_simp = b_simplified;
  if (a_simplified == b_simp) return 1;
  thread_local std::u32string ca, cb;
  Decode(a_simplified, ca);
  Decode(b_simp, cb);
  bool han = std::any_of(ca.begin(), ca.end(), IsHan) || std::any_of(cb.begin(), cb.end(), IsHan);
  if (ca.size() == cb.size()) {
    int differ = 0;
    bool all_homophones = true;
    for (size_t i = 0; i < ca.size(); ++i) {
      if (ca[i] == cb[i]) continue;
      ++differ;
      std::string_view pa = CharPinyin(ca[i]), pb = CharPinyin(cb[i]);
      if (pa.empty() || pa != pb) all_homophones = false;
    }
    if (all_homophones && han) return 2;
    if (differ == 1 && (han || ca.size() > 3)) return 3;
  }
  if (!han && JaroWinkler(a_simplified, b_simp) >= 0.92) return 3;
  return 4;
}

int32_t ParseDateKey(std::string_view t) {
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto num = [](std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  int y = 0, m = 0, d = 0;
  if (t.size() == 8 && digits(t)) {
    y = num(t.substr(0, 4));
    m = num(t.substr(4, 2));
    d = num(t.substr(6, 2));
  } else if (t.size() >= 8 && t.size() <= 10 && digits(t.substr(0, 4)) &&
             (t[4] == '-' || t[4] == '/' || t[4] == '.')) {
    size_t second = t.find(t[4], 5);
    if (second == std::string_view::npos) return 0;
    std::string_view ms = t.substr(5, second - 5), ds = t.substr(second + 1);
    if (!digits(ms) || !digits(ds) || ms.size() > 2 || ds.size() > 2) return 0;
    y = num(t.substr(0, 4));
    m = num(ms);
    d = num(ds);
  } else {
    return 0;
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) return 0;
  return y * 10000 + m * 100 + d;
}

uint8_t CompareDates(int32_t a, int32_t b) {
  if (a == 0 || b == 0) return kMissing;
  if (a == b) return 0;
  int ya = a / 10000, ma = a / 100 % 100, da = a % 100;
  int yb = b / 10000, mb = b / 100 % 100, db = b % 100;
  if (ya == yb && ma == db && da == mb) return 2;
  int differ = (ya != yb) + (ma != mb) + (da != db);
  return differ == 1 ? 1 : 3;
}

uint8_t CompareSex(int a, int b) {
  if (a == 0 || b == 0) return kMissing;
  return a == b ? 0 : 1;
}

int RegionDigits(std::string_view code) {
  if (!IsRegionCode(code)) return 0;
  return RegionPrefixLength(LevelOf(code));
}

uint8_t CompareRegions(std::string_view row, int row_digits, std::string_view person) {
  if (row.size() != 12 || person.size() != 12 || row_digits < 6) return kMissing;
  if (row_digits >= 12 && row == person) return 0;
  if (row_digits >= 9 && row.substr(0, 9) == person.substr(0, 9)) return 1;
  if (row.substr(0, 6) == person.substr(0, 6)) return 2;
  return 3;
}

double JaroWinkler(std::string_view a, std::string_view b) {
  thread_local std::u32string s, t;
  Decode(a, s);
  Decode(b, t);
  if (s.empty() && t.empty()) return 1;
  if (s.empty() || t.empty()) return 0;
  size_t window = std::max(s.size(), t.size()) / 2;
  window = window > 0 ? window - 1 : 0;
  std::vector<char> ms(s.size(), 0), mt(t.size(), 0);
  size_t matches = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t lo = i > window ? i - window : 0, hi = std::min(t.size(), i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (mt[j] || s[i] != t[j]) continue;
      ms[i] = mt[j] = 1;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0;
  size_t transpositions = 0;
  for (size_t i = 0, j = 0; i < s.size(); ++i) {
    if (!ms[i]) continue;
    while (!mt[j]) ++j;
    if (s[i] != t[j]) ++transpositions;
    ++j;
  }
  double m = static_cast<double>(matches);
  double jaro = (m / static_cast<double>(s.size()) + m / static_cast<double>(t.size()) +
                 (m - static_cast<double>(transpositions) / 2) / m) /
                3;
  size_t prefix = 0;
  while (prefix < 4 && prefix < s.size() && prefix < t.size() && s[prefix] == t[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * 0.1 * (1 - jaro);
}

std::string Soundex(std::string_view s) {
  static constexpr char kCodes[] = "01230120022455012623010202";  // a..z
  std::string out;
  char last = 0;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c < 'a' || c > 'z') continue;
    char code = kCodes[c - 'a'];
    if (out.empty()) {
      out += static_cast<char>(c - 'a' + 'A');
      last = code;
      continue;
    }
    if (code != '0' && code != last) out += code;
    if (c != 'h' && c != 'w') last = code;
    if (out.size() == 4) break;
  }
  if (!out.empty()) out.resize(4, '0');
  return out;
}

}  // namespace fupin::link
