// Build-time tool: turns Unihan_Readings.txt (read from stdin, e.g. piped from bzcat) into a C++
// source defining the pinyin table declared in link/names_internal.h.
//
// Usage: bzcat Unihan_Readings.txt.bz2 | gen_pinyin_table OUTPUT.cc
//
// Takes each code point's kMandarin field, keeps the first reading when there are several,
// strips tone marks to plain ASCII (ü -> v) and writes a dense array for U+3400..U+9FFF plus a
// sorted tail for the other code points, both holding indexes into a table of syllables.
// Fails (exit 1, nothing written) on a reading it cannot strip or when the input holds far
// fewer readings than Unihan has, e.g. when bzcat failed half-way.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr char32_t kDenseFirst = 0x3400;
constexpr char32_t kDenseLast = 0x9FFF;
// Unihan 15.0 has 41,419 kMandarin readings; fewer than this means truncated input.
constexpr size_t kMinReadings = 40000;

// Decodes the UTF-8 character at s[i], advancing i; 0xFFFFFFFF when malformed.
char32_t Next(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  if (i + len > s.size()) {
    i = s.size();
    return 0xFFFFFFFF;
  }
  char32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

// Pinyin letters with tone marks (and ü) and the ASCII letter each is written with.
constexpr std::pair<std::u32string_view, char> kMarkedLetters[] = {
    {U"āáǎà", 'a'}, {U"ēéěèêếề", 'e'}, {U"īíǐì", 'i'}, {U"ōóǒò", 'o'},
    {U"ūúǔù", 'u'}, {U"üǖǘǚǜ", 'v'},   {U"ḿ", 'm'},    {U"ńňǹ", 'n'},
};

// The ASCII letter for a pinyin letter with or without tone mark; 0 for a combining mark to
// drop; -1 when the code point is not part of pinyin.
int BaseLetter(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') return static_cast<int>(cp);
  if (cp >= 'A' && cp <= 'Z') return static_cast<int>(cp - 'A' + 'a');
  if (cp >= 0x0300 && cp <= 0x036F) return 0;  // combining marks (m̀, ê̄ ...)
  for (const auto& [marked, letter] : kMarkedLetters) {
    if (marked.find(cp) != std::u32string_view::npos) return letter;
  }
  return -1;
}

// "míng" -> "ming"; "" when `reading` holds a letter that is not pinyin.
std::string StripTones(std::string_view reading) {
  std::string out;
  for (size_t i = 0; i < reading.size();) {
    const int letter = BaseLetter(Next(reading, i));
    if (letter < 0) return "";
    if (letter > 0) out.push_back(static_cast<char>(letter));
  }
  return out;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "gen_pinyin_table: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: bzcat Unihan_Readings.txt.bz2 | gen_pinyin_table OUT.cc");
  std::ios::sync_with_stdio(false);

  // Lines look like "U+6587<TAB>kMandarin<TAB>wén" (readings separated by spaces).
  std::map<char32_t, std::string> readings;
  std::string line;
  size_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const size_t tab1 = line.find('\t');
    if (tab1 == std::string::npos) continue;
    const size_t tab2 = line.find('\t', tab1 + 1);
    if (tab2 == std::string::npos || line.compare(tab1 + 1, tab2 - tab1 - 1, "kMandarin") != 0) {
      continue;
    }
    if (line.compare(0, 2, "U+") != 0) {
      return Fail("line " + std::to_string(line_number) + ": no U+ code point: " + line);
    }
    const auto cp = static_cast<char32_t>(std::stoul(line.substr(2, tab1 - 2), nullptr, 16));
    std::string_view value = std::string_view(line).substr(tab2 + 1);
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    const std::string plain = StripTones(value.substr(0, value.find(' ')));
    if (plain.empty()) {
      return Fail("line " + std::to_string(line_number) + ": cannot read pinyin: " + line);
    }
    readings[cp] = plain;
  }
  if (readings.size() < kMinReadings) {
    return Fail("only " + std::to_string(readings.size()) + " kMandarin readings (expected over " +
                std::to_string(kMinReadings) + "): truncated or wrong input file?");
  }

  // Syllable table, sorted; entries refer to it as index + 1 (0 = no reading).
  std::set<std::string> syllable_set;
  for (const auto& [cp, syllable] : readings) syllable_set.insert(syllable);
  std::map<std::string, int> syllable_index;
  std::ostringstream text;
  std::ostringstream starts;
  int offset = 0;
  int count = 0;
  for (const std::string& s : syllable_set) {
    syllable_index[s] = ++count;
    text << s;
    starts << offset << ",";
    offset += static_cast<int>(s.size());
  }
  starts << offset;

  std::vector<int> dense(kDenseLast - kDenseFirst + 1, 0);
  std::ostringstream tail_cps;
  std::ostringstream tail_syllables;
  size_t tail_size = 0;
  for (const auto& [cp, syllable] : readings) {
    if (cp >= kDenseFirst && cp <= kDenseLast) {
      dense[cp - kDenseFirst] = syllable_index[syllable];
    } else {
      tail_cps << "0x" << std::hex << static_cast<uint32_t>(cp) << std::dec << ",";
      tail_syllables << syllable_index[syllable] << ",";
      if (++tail_size % 16 == 0) {
        tail_cps << "\n";
        tail_syllables << "\n";
      }
    }
  }

  std::ostringstream out;
  out << "// Generated by gen_pinyin_table from Unihan_Readings.txt (kMandarin); do not edit.\n"
         "#include <algorithm>\n#include <cstdint>\n#include <iterator>\n\n#include "
         "\"link/names_internal.h\"\n\n"
         "namespace fupin::link {\nnamespace {\n\n"
      << "constexpr size_t kReadingCount = " << readings.size() << ";\n"
      << "constexpr char kSyllableText[] = \"" << text.str() << "\";\n"
      << "// kSyllableText[kSyllableStart[i - 1], kSyllableStart[i]) is syllable i.\n"
      << "constexpr uint16_t kSyllableStart[] = {" << starts.str() << "};\n"
      << "constexpr char32_t kDenseFirst = 0x" << std::hex << static_cast<uint32_t>(kDenseFirst)
      << ";\nconstexpr char32_t kDenseLast = 0x" << static_cast<uint32_t>(kDenseLast) << std::dec
      << ";\n// Syllable number (0 = none) of each code point kDenseFirst..kDenseLast.\n"
      << "constexpr uint16_t kDense[] = {\n";
  for (size_t i = 0; i < dense.size(); ++i) {
    out << dense[i] << (i % 32 == 31 ? ",\n" : ",");
  }
  out << "};\n// The other code points with a reading, sorted, and their syllable numbers.\n"
      << "constexpr uint32_t kTailCodepoints[] = {\n"
      << tail_cps.str() << "};\nconstexpr uint16_t kTailSyllables[] = {\n"
      << tail_syllables.str() << "};\n\n"
      << "std::string_view Syllable(uint16_t number) {\n"
         "  if (number == 0) return {};\n"
         "  return std::string_view(kSyllableText + kSyllableStart[number - 1],\n"
         "                          kSyllableStart[number] - kSyllableStart[number - 1]);\n"
         "}\n\n}  // namespace\n\n"
         "std::string_view TablePinyin(char32_t c) {\n"
         "  if (c >= kDenseFirst && c <= kDenseLast) return Syllable(kDense[c - kDenseFirst]);\n"
         "  const uint32_t* end = kTailCodepoints + std::size(kTailCodepoints);\n"
         "  const uint32_t* it = std::lower_bound(kTailCodepoints, end, "
         "static_cast<uint32_t>(c));\n"
         "  if (it == end || *it != c) return {};\n"
         "  return Syllable(kTailSyllables[it - kTailCodepoints]);\n"
         "}\n\n"
         "size_t PinyinTableSize() { return kReadingCount; }\n\n"
         "size_t PinyinSyllableCount() { return std::size(kSyllableStart) - 1; }\n\n"
         "}  // namespace fupin::link\n";

  // Written beside the output and renamed, so a failed run never leaves half a table.
  const std::string temp = std::string(argv[1]) + ".tmp";
  std::ofstream file(temp, std::ios::binary | std::ios::trunc);
  file << out.str();
  file.close();
  if (!file || std::rename(temp.c_str(), argv[1]) != 0) {
    return Fail(std::string("cannot write ") + argv[1]);
  }
  return 0;
}
