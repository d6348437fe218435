#include "link/names.h"

#include <opencc/opencc.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "core/text.h"
#include "link/names_internal.h"

namespace fupin::link {
namespace {

// ---------------------------------------------------------------------------------------
// Readings that differ from Unihan's first kMandarin reading, keyed by the simplified form.
// Sources: the surname readings of 现代汉语词典 as collected in the 容易读错的姓氏 lists (单
// shàn, 仇 qiú, 区 ōu, 查 zhā, 解 xiè, 朴 piáo, 召 shào, 繁 pó, 黑 hè, 员 yùn, 能 nài, 祭
// zhài, 缪 miào, 阚 kàn, 秘 bì, 燕 yān, 任 rén ...). A surname with two lineages gets one
// reading (覃 qín, as the Zhuang and Buyei say it, not tán; 盖 gě; 乐 yuè; 翟 zhái); a person of
// the other lineage still reads the same in both records, so matching is unaffected. Entries
// equal to Unihan's reading without tones (任, 华, 纪, 盛, 燕, 宁, 褚) are kept to record that
// they were checked. 尉 alone keeps Unihan's wèi: the dictionaries give yù for 尉迟 and the
// place 尉犁, and sources disagree on the single surname.
struct Reading {
  std::u32string_view han;
  std::string_view pinyin;  // syllables separated by single spaces
};

constexpr Reading kSurnameReadings[] = {
    {U"单", "shan"},        {U"曾", "zeng"},      {U"解", "xie"},       {U"区", "ou"},
    {U"仇", "qiu"},         {U"查", "zha"},       {U"朴", "piao"},      {U"盖", "ge"},
    {U"覃", "qin"},         {U"缪", "miao"},      {U"召", "shao"},      {U"乐", "yue"},
    {U"华", "hua"},         {U"种", "chong"},     {U"秘", "bi"},        {U"员", "yun"},
    {U"能", "nai"},         {U"繁", "po"},        {U"黑", "he"},        {U"褚", "chu"},
    {U"盛", "sheng"},       {U"纪", "ji"},        {U"翟", "zhai"},      {U"燕", "yan"},
    {U"任", "ren"},         {U"宁", "ning"},      {U"祭", "zhai"},      {U"佴", "nai"},
    {U"阚", "kan"},         {U"都", "du"},        {U"句", "gou"},       {U"乜", "nie"},
    {U"洗", "xian"},        {U"适", "kuo"},       {U"尉迟", "yu chi"},  {U"万俟", "mo qi"},
    {U"长孙", "zhang sun"}, {U"澹台", "tan tai"}, {U"令狐", "ling hu"}, {U"乐正", "yue zheng"},
};

// Compound surnames (复姓), simplified. A name starting with one of these and longer than it
// has it as surname; a two-character name such as 欧阳 is 欧 + 阳.
constexpr std::u32string_view kCompoundSurnames[] = {
    U"欧阳", U"令狐", U"诸葛", U"司马", U"上官", U"东方", U"皇甫", U"尉迟", U"公孙", U"慕容",
    U"长孙", U"宇文", U"司徒", U"夏侯", U"澹台", U"万俟", U"呼延", U"端木", U"独孤", U"南宫",
    U"闻人", U"轩辕", U"西门", U"司空", U"公冶", U"太史", U"申屠", U"赫连", U"拓跋", U"鲜于",
    U"宗政", U"濮阳", U"淳于", U"公羊", U"仲孙", U"乐正", U"百里", U"东郭", U"左丘", U"梁丘",
    U"亓官", U"漆雕", U"颛孙", U"巫马", U"谷梁", U"段干", U"第五",
};

// Place names read differently from their characters' first readings.
constexpr Reading kPlaceReadings[] = {
    {U"都匀", "du yun"},     {U"三都", "san du"},     {U"六盘水", "liu pan shui"},
    {U"黔", "qian"},         {U"番禺", "pan yu"},     {U"丽水", "li shui"},
    {U"蚌埠", "beng bu"},    {U"长顺", "chang shun"}, {U"长沙", "chang sha"},
    {U"长春", "chang chun"}, {U"六安", "lu an"},      {U"铅山", "yan shan"},
    {U"乐清", "yue qing"},   {U"蔚县", "yu xian"},    {U"尉犁", "yu li"},
    {U"东阿", "dong e"},     {U"涡阳", "guo yang"},   {U"洪洞", "hong tong"},
    {U"荥经", "ying jing"},
};

// ---------------------------------------------------------------------------------------
// UTF-8.

constexpr char32_t kBadByte = 0xFFFFFFFF;  // a byte that does not start valid UTF-8

struct Char {
  char32_t cp;  // kBadByte for a byte kept as it is
  size_t pos;   // byte offset in the text
  size_t len;   // bytes
};

// The character at s[i] (i < s.size()); a malformed sequence is one kBadByte of length 1.
Char DecodeAt(std::string_view s, size_t i) {
  size_t next = i;
  const char32_t cp = NextCodePoint(s, next);
  return {cp == kNotUtf8 ? kBadByte : cp, i, next - i};
}

std::vector<Char> Decode(std::string_view s) {
  std::vector<Char> chars;
  chars.reserve(s.size() / 3 + 1);
  for (size_t i = 0; i < s.size();) {
    chars.push_back(DecodeAt(s, i));
    i += chars.back().len;
  }
  return chars;
}

// Spaces beyond the ones RemoveAllSpace handles (ASCII whitespace, U+3000, U+00A0): the
// other Unicode spaces and the zero-width characters that come with pasted text.
bool IsOtherSpace(char32_t c) {
  return c == 0x85 || c == 0x1680 || (c >= 0x2000 && c <= 0x200D) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x2060 || c == 0xFEFF;
}

bool IsAnySpace(char32_t c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0 || c == 0x3000 || IsOtherSpace(c);
}

// Middle dots between the parts of a transcribed name (阿依古丽·买买提) and their look-alikes.
bool IsNameDot(char32_t c) {
  switch (c) {
    case '.':
    case 0x00B7:  // · middle dot, the standard form
    case 0x0387:  // Greek ano teleia, canonically equal to U+00B7
    case 0x2022:  // • bullet
    case 0x2024:  // ․ one dot leader
    case 0x2027:  // ‧ hyphenation point
    case 0x2219:  // ∙ bullet operator
    case 0x22C5:  // ⋅ dot operator
    case 0x30FB:  // ・ katakana middle dot
    case 0xFF0E:  // ． full-width full stop
    case 0xFF65:  // ･ half-width katakana middle dot
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// Traditional -> simplified map, built once from OpenCC.

// Characters OpenCC simplifies that are themselves standard simplified characters in names
// (通用规范汉字表 keeps 乾 for qián, as in 乾隆): OpenCC's 乾 -> 干 would merge 王乾 with
// 王干 and read it gan.
constexpr char32_t kKeepInNames[] = {U'乾'};

constexpr char32_t kMapFirst = 0x3400;
constexpr char32_t kMapLast = 0xFAFF;

struct SimplifyMap {
  std::vector<char32_t> to;  // [c - kMapFirst]: simplified form, 0 when unchanged
  Status status;
};

const SimplifyMap& GetSimplifyMap() {
  // A function-local static: built once, on first use, thread-safely.
  static const SimplifyMap map = [] {
    SimplifyMap m;
    Result<std::vector<Simplification>> pairs = ReadSimplifications("t2s.json");
    if (!pairs) {
      m.status = pairs.error();
      return m;
    }
    m.to.assign(kMapLast - kMapFirst + 1, 0);
    for (const auto& [from, to] : *pairs) {
      if (std::ranges::find(kKeepInNames, from) == std::end(kKeepInNames)) {
        m.to[from - kMapFirst] = to;
      }
    }
    return m;
  }();
  return map;
}

// The simplified form of c with `map` (c itself when it has none).
char32_t Simplify(const SimplifyMap& map, char32_t c) {
  if (c < kMapFirst || c > kMapLast || map.to.empty()) return c;
  const char32_t s = map.to[c - kMapFirst];
  return s != 0 ? s : c;
}

void AppendRange(std::u32string_view range_text, std::string& input,
                 std::vector<char32_t>& code_points) {
  for (char32_t c = range_text[0]; c <= range_text[1]; ++c) {
    AppendUtf8(c, input);
    input.push_back('\n');
    code_points.push_back(c);
  }
}

// Converts `text` with OpenCC; "" with `ok` false on failure.
std::string Convert(opencc_t cc, const std::string& text, bool& ok) {
  char* out = opencc_convert_utf8(cc, text.data(), text.size());
  ok = out != nullptr;
  if (!ok) return {};
  std::string result(out);
  opencc_convert_utf8_free(out);
  return result;
}

// ---------------------------------------------------------------------------------------
// Pinyin.

// A name or place as code points: original, simplified and where each sits in the text.
struct Han {
  std::vector<Char> chars;    // spaces dropped
  std::u32string simplified;  // same length as chars
};

Han ToHan(std::string_view text) {
  const SimplifyMap& map = GetSimplifyMap();
  Han han;
  for (const Char& c : Decode(text)) {
    if (c.cp != kBadByte && IsAnySpace(c.cp)) continue;
    han.chars.push_back(c);
    han.simplified.push_back(c.cp == kBadByte ? kBadByte : Simplify(map, c.cp));
  }
  return han;
}

void AppendToken(std::string_view token, std::string& out) {
  if (!out.empty()) out.push_back(' ');
  out.append(token);
}

// The reading of the i-th character: that of its simplified form (so that a traditional
// name reads like its simplified one), else its own, else the character itself.
void AppendCharReading(std::string_view text, const Han& han, size_t i, std::string& out) {
  std::string_view reading = TablePinyin(han.simplified[i]);
  if (reading.empty()) reading = TablePinyin(han.chars[i].cp);
  if (reading.empty()) reading = text.substr(han.chars[i].pos, han.chars[i].len);
  AppendToken(reading, out);
}

// The reading in `table` of exactly `han`, or "" when it has none.
std::string_view FindReading(std::span<const Reading> table, std::u32string_view han) {
  for (const Reading& r : table) {
    if (r.han == han) return r.pinyin;
  }
  return {};
}

// The number of characters of the surname at the start of `simplified`: 2 for a compound
// surname followed by a given name, else 1 (0 for "").
size_t SurnameLength(std::u32string_view simplified) {
  if (simplified.size() >= 3 && std::ranges::find(kCompoundSurnames, simplified.substr(0, 2)) !=
                                    std::end(kCompoundSurnames)) {
    return 2;
  }
  return std::min<size_t>(simplified.size(), 1);
}

}  // namespace

Result<std::vector<Simplification>> ReadSimplifications(const char* opencc_config) {
  opencc_t cc = opencc_open(opencc_config);
  if (cc == reinterpret_cast<opencc_t>(-1)) {
    return Err(NotFound(std::string("OpenCC cannot open ") + opencc_config + " (" + opencc_error() +
                        "); install the Debian package opencc, which puts t2s.json in "
                        "/usr/share/opencc"));
  }
  // One character a line in one call: phrases cannot span a line, so each line converts as
  // the single character it is, and a call per character would take seconds.
  std::string input;
  std::vector<char32_t> code_points;
  for (std::u32string_view range : {U"\u3400\u4DBF", U"\u4E00\u9FFF", U"\uF900\uFAFF"}) {
    AppendRange(range, input, code_points);
  }
  bool ok = false;
  const std::string output = Convert(cc, input, ok);
  const std::string error = ok ? "" : opencc_error();
  opencc_close(cc);
  if (!ok) return Err(Internal("OpenCC conversion failed: " + error));

  // Line i of the output is code_points[i] converted.
  std::vector<Simplification> pairs;
  size_t line_count = 0;
  for (size_t start = 0; start < output.size(); ++line_count) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string_view line = std::string_view(output).substr(start, end - start);
    start = end + 1;
    if (line.empty() || line_count >= code_points.size()) continue;
    const Char c = DecodeAt(line, 0);
    if (c.len == line.size() && c.cp != kBadByte && c.cp != code_points[line_count]) {
      pairs.emplace_back(code_points[line_count], c.cp);
    }
  }
  if (line_count != code_points.size()) {
    return Err(Internal("OpenCC returned " + std::to_string(line_count) + " lines for " +
                        std::to_string(code_points.size()) + " characters"));
  }
  return pairs;  // sorted: the input was in code point order
}

std::string NormalizeName(std::string_view name) {
  const std::string text = RemoveAllSpace(FullWidthToAscii(name));
  std::string out;
  out.reserve(text.size());
  bool after_dot = false;
  for (size_t i = 0; i < text.size();) {
    const Char c = DecodeAt(text, i);
    i += c.len;
    if (c.cp != kBadByte && IsOtherSpace(c.cp)) continue;
    if (c.cp != kBadByte && IsNameDot(c.cp)) {
      if (!after_dot) out.append("\u00B7");
      after_dot = true;
      continue;
    }
    out.append(text, c.pos, c.len);
    after_dot = false;
  }
  return out;
}

std::string ToSimplified(std::string_view name) {
  const SimplifyMap& map = GetSimplifyMap();
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    const Char c = DecodeAt(name, i);
    i += c.len;
    const char32_t s = c.cp == kBadByte ? c.cp : Simplify(map, c.cp);
    if (s == c.cp) {
      out.append(name, c.pos, c.len);
    } else {
      AppendUtf8(s, out);
    }
  }
  return out;
}

std::string NamePinyin(std::string_view name) {
  const Han han = ToHan(name);
  std::string out;
  const size_t surname_length = SurnameLength(han.simplified);
  const std::string_view surname_reading =
      FindReading(kSurnameReadings, std::u32string_view(han.simplified).substr(0, surname_length));
  size_t i = 0;
  if (!surname_reading.empty()) {
    AppendToken(surname_reading, out);
    i = surname_length;
  }
  for (; i < han.chars.size(); ++i) AppendCharReading(name, han, i, out);
  return out;
}

std::string_view CharPinyin(char32_t c) { return TablePinyin(c); }

std::string PlacePinyin(std::string_view place) {
  const Han han = ToHan(place);
  const std::u32string_view simplified = han.simplified;
  std::string out;
  for (size_t i = 0; i < han.chars.size();) {
    // The longest place name starting here.
    const Reading* best = nullptr;
    for (const Reading& r : kPlaceReadings) {
      if (simplified.substr(i).starts_with(r.han) && (!best || r.han.size() > best->han.size())) {
        best = &r;
      }
    }
    if (best) {
      AppendToken(best->pinyin, out);
      i += best->han.size();
    } else {
      AppendCharReading(place, han, i++, out);
    }
  }
  return out;
}

std::string_view Surname(std::string_view name) {
  const std::vector<Char> chars = Decode(name);
  std::u32string simplified;
  const SimplifyMap& map = GetSimplifyMap();
  for (const Char& c : chars) {
    if (c.cp != kBadByte && IsNameDot(c.cp)) return name.substr(0, c.pos);
    if (simplified.size() < 3) simplified.push_back(c.cp == kBadByte ? c.cp : Simplify(map, c.cp));
  }
  const size_t length = SurnameLength(simplified);
  if (length == 0) return {};
  return name.substr(0, chars[length - 1].pos + chars[length - 1].len);
}

Status CheckNameData() {
  if (PinyinTableSize() == 0) return Internal("the built-in pinyin table is empty");
  return GetSimplifyMap().status;
}

}  // namespace fupin::link
