#include "gen/names.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "core/text.h"

namespace fupin::gen {
namespace {

// ---------------------------------------------------------------------------------------
// Surnames. Han weights follow the national order (公安部 name reports: 王 李 张 刘 陈 杨 黄
// 赵 吴 周, then 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁) adjusted for Guizhou, where 杨 is the
// largest surname (公安部《二〇一九年全国姓名报告》). Minority lists are the surnames common
// in each group in Guizhou; weights are ours ([S] in docs/generator.md).
struct SurnameEntry {
  std::string_view name;
  double weight;
};

constexpr SurnameEntry kHanSurnames[] = {
    {"杨", 70},  {"王", 68},  {"李", 62},    {"张", 55}, {"刘", 38}, {"陈", 38}, {"罗", 32},
    {"吴", 30},  {"黄", 24},  {"赵", 20},    {"周", 19}, {"龙", 15}, {"徐", 13}, {"胡", 13},
    {"何", 12},  {"田", 12},  {"朱", 11},    {"石", 11}, {"谢", 10}, {"郭", 10}, {"马", 10},
    {"孙", 9},   {"高", 9},   {"宋", 9},     {"唐", 9},  {"邓", 8},  {"冯", 8},  {"彭", 8},
    {"曾", 8},   {"蒋", 8},   {"肖", 8},     {"潘", 8},  {"韦", 8},  {"林", 7},  {"郑", 7},
    {"梁", 7},   {"许", 7},   {"韩", 7},     {"曹", 7},  {"袁", 7},  {"余", 7},  {"付", 6},
    {"卢", 6},   {"陆", 6},   {"熊", 6},     {"邹", 6},  {"雷", 6},  {"向", 6},  {"姚", 5},
    {"夏", 5},   {"程", 5},   {"苏", 5},     {"魏", 5},  {"吕", 5},  {"丁", 5},  {"任", 5},
    {"沈", 5},   {"姜", 5},   {"钟", 5},     {"谭", 5},  {"汪", 5},  {"范", 5},  {"董", 5},
    {"蔡", 5},   {"杜", 5},   {"金", 4},     {"廖", 4},  {"贾", 4},  {"方", 4},  {"白", 4},
    {"孟", 4},   {"秦", 4},   {"邱", 4},     {"江", 4},  {"尹", 4},  {"薛", 4},  {"段", 4},
    {"侯", 4},   {"史", 4},   {"陶", 4},     {"黎", 4},  {"贺", 4},  {"叶", 4},  {"顾", 3},
    {"毛", 3},   {"郝", 3},   {"龚", 3},     {"邵", 3},  {"万", 3},  {"钱", 3},  {"严", 3},
    {"覃", 3},   {"武", 3},   {"戴", 3},     {"莫", 3},  {"孔", 3},  {"汤", 3},  {"欧", 3},
    {"安", 3},   {"文", 3},   {"敖", 3},     {"申", 3},  {"冉", 3},  {"崔", 3},  {"于", 3},
    {"闫", 2},   {"岑", 2},   {"蒙", 2},     {"班", 1},  {"粟", 1},  {"陇", 1},  {"禄", 1},
    {"欧阳", 1}, {"令狐", 1}, {"诸葛", 0.2},
};
constexpr SurnameEntry kMiaoSurnames[] = {
    {"杨", 20}, {"吴", 14}, {"王", 12}, {"龙", 12}, {"石", 10}, {"张", 8}, {"李", 8},
    {"潘", 7},  {"罗", 6},  {"熊", 4},  {"陶", 4},  {"韩", 3},  {"马", 3}, {"顾", 2},
    {"麻", 2},  {"侯", 2},  {"金", 2},  {"欧", 2},  {"文", 2},  {"邰", 2},
};
constexpr SurnameEntry kBuyeiSurnames[] = {
    {"王", 18}, {"韦", 16}, {"罗", 12}, {"黄", 10}, {"陆", 8}, {"杨", 8}, {"岑", 6}, {"吴", 5},
    {"蒙", 5},  {"班", 4},  {"梁", 4},  {"卢", 3},  {"莫", 3}, {"何", 3}, {"李", 3}, {"潘", 2},
};
constexpr SurnameEntry kDongSurnames[] = {
    {"吴", 22}, {"杨", 20}, {"龙", 10}, {"石", 8}, {"粟", 5}, {"欧", 4}, {"陆", 4},
    {"姚", 4},  {"潘", 4},  {"张", 4},  {"李", 3}, {"王", 3}, {"向", 2}, {"刘", 2},
};
constexpr SurnameEntry kTujiaSurnames[] = {
    {"田", 14}, {"杨", 12}, {"张", 10}, {"向", 9}, {"彭", 8}, {"冉", 8}, {"李", 6}, {"王", 6},
    {"覃", 5},  {"吴", 4},  {"刘", 4},  {"黄", 4}, {"陈", 3}, {"安", 3}, {"龙", 2},
};
constexpr SurnameEntry kYiSurnames[] = {
    {"安", 10}, {"王", 10}, {"李", 9}, {"张", 8}, {"杨", 7}, {"禄", 6}, {"陇", 6},
    {"陈", 5},  {"罗", 5},  {"龙", 4}, {"朱", 3}, {"马", 3}, {"苏", 3}, {"沙", 2},
};
constexpr SurnameEntry kSuiSurnames[] = {
    {"韦", 20}, {"蒙", 14}, {"潘", 12}, {"吴", 8}, {"杨", 6},
    {"陆", 6},  {"石", 4},  {"王", 4},  {"莫", 3}, {"欧", 2},
};
constexpr SurnameEntry kGelaoSurnames[] = {
    {"王", 14}, {"张", 10}, {"李", 10}, {"邹", 6}, {"刘", 6}, {"杨", 6},
    {"陈", 4},  {"申", 4},  {"罗", 3},  {"冯", 3}, {"黎", 3}, {"韩", 2},
};
constexpr SurnameEntry kHuiSurnames[] = {
    {"马", 25}, {"丁", 10}, {"李", 8}, {"王", 8}, {"张", 6},
    {"杨", 5},  {"沙", 4},  {"海", 3}, {"穆", 3}, {"白", 3},
};
constexpr SurnameEntry kBaiSurnames[] = {
    {"杨", 15}, {"李", 12}, {"张", 10}, {"赵", 8}, {"王", 6},
    {"段", 5},  {"何", 4},  {"陈", 4},  {"罗", 3},
};
constexpr SurnameEntry kYaoSurnames[] = {
    {"赵", 15}, {"盘", 10}, {"黄", 8}, {"李", 8}, {"邓", 8},
    {"冯", 5},  {"蒙", 5},  {"潘", 5}, {"罗", 4},
};

struct GroupInfo {
  int code;
  std::string_view name;
  std::span<const SurnameEntry> surnames;
};

constexpr GroupInfo kGroups[kEthnicGroupCount] = {
    {1, "汉族", kHanSurnames},   {6, "苗族", kMiaoSurnames},     {9, "布依族", kBuyeiSurnames},
    {12, "侗族", kDongSurnames}, {15, "土家族", kTujiaSurnames}, {7, "彝族", kYiSurnames},
    {25, "水族", kSuiSurnames},  {37, "仡佬族", kGelaoSurnames}, {3, "回族", kHuiSurnames},
    {14, "白族", kBaiSurnames},  {13, "瑶族", kYaoSurnames},     {5, "维吾尔族", kHanSurnames},
};

struct SurnameTable {
  Weighted pick;
  std::span<const SurnameEntry> entries;
};

const std::array<SurnameTable, kEthnicGroupCount>& SurnameTables() {
  static const std::array<SurnameTable, kEthnicGroupCount> tables = [] {
    std::array<SurnameTable, kEthnicGroupCount> t;
    for (int g = 0; g < kEthnicGroupCount; ++g) {
      std::vector<double> w;
      for (const SurnameEntry& e : kGroups[g].surnames) w.push_back(e.weight);
      t[g].pick = Weighted(w);
      t[g].entries = kGroups[g].surnames;
    }
    return t;
  }();
  return tables;
}

// ---------------------------------------------------------------------------------------
// Given-name characters by birth era and sex, most common first. The era characters follow
// 公安部《二〇二〇年全国姓名报告》's account (1949: 建国/建华, 英/兰; 1960s–70s: 军 勇 英 丽;
// 1980s: 伟 磊 静 丽; 1990s: 杰 浩 婷 雪; newborns 2019–2020: 梓 子 宇 辰 一, 涵 轩 欣 诺 …).
// Each list is space-separated single characters; weight of rank r is 1 / (r + 3).
constexpr std::string_view kGiven[4][2] = {
    // born before 1960
    {"德 明 文 华 国 成 荣 福 贵 发 富 兴 光 清 和 正 开 金 树 林 学 志 忠 海 山 元 昌 永 云 祥 "
     "生 银 仁 义 礼 良 顺 恩 宗 绍 应 朝 登 启 建",
     "秀 英 兰 珍 玉 芳 桂 凤 梅 琼 翠 花 淑 金 银 莲 菊 素 仙 香 春 美 云 竹 彩 月 荣 群 芝 贞"},
    // 1960–1979
    {"军 勇 强 平 建 国 华 伟 兵 刚 明 林 斌 波 东 忠 涛 春 江 胜 洪 文 武 新 卫 峰 义 友 光 龙 "
     "云 贵 才 发 方 先 远 荣 开 红",
     "英 丽 红 华 芳 梅 琴 燕 萍 霞 玲 敏 艳 秀 平 兰 娟 群 春 莉 静 芬 珍 凤 琼 虹 蓉 慧 玉 菊"},
    // 1980–1999
    {"伟 磊 杰 浩 鹏 飞 超 涛 勇 强 军 波 斌 宇 刚 俊 帅 亮 鑫 龙 明 江 峰 辉 凯 林 阳 晨 文 毅 "
     "锋 成 洋 松 兴 旭 威 豪 健 坤",
     "静 丽 婷 雪 娟 敏 燕 艳 芳 霞 玲 琴 倩 洁 莉 丹 琳 佳 欣 月 梅 蓉 璐 颖 露 晶 萍 瑶 楠 青"},
    // 2000 and later
    {"梓 子 宇 浩 轩 辰 泽 睿 航 然 博 铭 豪 俊 一 晨 杰 文 佳 涛 奕 沐 墨 宸 瑞 锦 煜 安 嘉 天 "
     "昊 鑫 明 凯 诚 思 乐 逸 霖 熙",
     "诺 怡 涵 欣 梓 萱 雨 桐 妍 语 依 一 可 佳 琪 汐 瑶 诗 思 若 馨 悦 彤 玥 昕 伊 晨 嘉 梦 子"},
};

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

struct GivenTable {
  std::vector<std::string_view> chars;
  Weighted pick;
};

const std::array<std::array<GivenTable, 2>, 4>& GivenTables() {
  static const std::array<std::array<GivenTable, 2>, 4> tables = [] {
    std::array<std::array<GivenTable, 2>, 4> t;
    for (int era = 0; era < 4; ++era) {
      for (int sex = 0; sex < 2; ++sex) {
        t[era][sex].chars = SplitSpaces(kGiven[era][sex]);
        std::vector<double> w;
        for (size_t r = 0; r < t[era][sex].chars.size(); ++r) w.push_back(1.0 / (r + 3.0));
        t[era][sex].pick = Weighted(w);
      }
    }
    return t;
  }();
  return tables;
}

int EraOf(int birth_year) {
  if (birth_year < 1960) return 0;
  if (birth_year < 1980) return 1;
  if (birth_year < 2000) return 2;
  return 3;
}

// Share of one-character given names by era ([S]).
constexpr double kSingleCharShare[4] = {0.35, 0.30, 0.15, 0.08};

constexpr std::string_view kDottedFirstMale[] = {"买买提",   "艾力", "阿卜杜拉", "努尔", "吐尔逊",
                                                 "艾合买提", "肉孜", "阿里木",   "依明", "卡德尔"};
constexpr std::string_view kDottedFirstFemale[] = {"阿依古丽", "古丽娜尔", "热依拉",   "帕提古丽",
                                                   "阿米娜",   "迪丽拜尔", "努尔古丽", "再娜甫"};
constexpr std::string_view kDottedSecond[] = {"买买提", "吐尔逊", "艾买提", "依明",   "热合曼",
                                              "阿不都", "司马义", "尼亚孜", "卡斯木", "托乎提"};

// ---------------------------------------------------------------------------------------
// Dirt tables: pairs of characters "from to", space-separated.
// Simplified -> traditional for the characters our lists use.
constexpr std::string_view kTraditionalPairs =
    "杨楊 张張 刘劉 陈陳 罗羅 吴吳 黄黃 赵趙 孙孫 马馬 郑鄭 谢謝 许許 韩韓 冯馮 邓鄧 蒋蔣 "
    "苏蘇 吕呂 卢盧 钟鍾 谭譚 陆陸 贾賈 韦韋 邹鄒 闫閆 龙龍 贺賀 顾顧 龚龔 万萬 钱錢 严嚴 "
    "汤湯 欧歐 陇隴 禄祿 叶葉 华華 国國 荣榮 贵貴 发發 兴興 树樹 学學 云雲 银銀 义義 礼禮 "
    "顺順 绍紹 应應 启啟 军軍 强強 红紅 伟偉 刚剛 东東 涛濤 胜勝 卫衛 远遠 杰傑 鹏鵬 飞飛 "
    "帅帥 辉輝 凯凱 阳陽 锋鋒 轩軒 泽澤 铭銘 锦錦 诚誠 乐樂 兰蘭 凤鳳 琼瓊 莲蓮 贞貞 丽麗 "
    "艳艷 静靜 洁潔 颖穎 瑶瑤 诺諾 语語 诗詩 悦悅 梦夢 芳芳 宁寧 亚亞 为為 庆慶 宝寶 进進";
// Homophones (same Mandarin reading) a clerk might type instead.
constexpr std::string_view kHomophonePairs =
    "明铭 伟玮 军君 勇永 平萍 华桦 红宏 英瑛 芳方 丽莉 兰岚 杰洁 林琳 敏闽 静敬 玲龄 梅玫 "
    "燕艳 霞侠 琴勤 娟鹃 婷庭 浩昊 涛韬 鹏朋 飞菲 斌彬 刚钢 峰锋 辉晖 凯恺 宇羽 轩宣 涵含 "
    "欣鑫 怡宜 雨语 佳嘉 琪祺 瑶遥 梓紫 晨辰 辰晨 文雯 志智 忠中 贵桂 桂贵 荣蓉 蓉荣 秀绣 "
    "珍真 凤奉 春椿 艳燕 洪红 东冬 成诚 兵冰 江疆 张章 杨阳 陈晨 德得 福富 兴星 永勇";
// Similar-looking characters (形近字).
constexpr std::string_view kSimilarPairs =
    "王玉 玉王 未末 己已 土士 大太 太大 天夭 田由 由田 风凤 凤风 晴睛 清请 杨扬 侯候 历厉 "
    "祥样 明朋 梅海 海梅 李季 陈阵 吴昊 昊吴 胡湖 琳淋 林材 贵责 春舂 兵乒 刚岗 玲铃 娟捐 "
    "婷亭 彬杉 浩诰 睿叡 佳隹 俊峻 鹏朋 斌赋 丹舟 雪雷 军车";

// The codepoint of the UTF-8 character at s[i], advancing i.
char32_t NextCodepoint(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  char32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
  for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
  i += len;
  return cp;
}

using CharMap = std::vector<std::pair<char32_t, char32_t>>;

CharMap ParsePairs(std::string_view pairs) {
  CharMap map;
  for (std::string_view pair : SplitSpaces(pairs)) {
    size_t i = 0;
    char32_t from = NextCodepoint(pair, i);
    char32_t to = NextCodepoint(pair, i);
    if (from != to) map.emplace_back(from, to);
  }
  std::stable_sort(map.begin(), map.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Keep the first mapping of a character.
  map.erase(std::unique(map.begin(), map.end(),
                        [](const auto& a, const auto& b) { return a.first == b.first; }),
            map.end());
  return map;
}

const CharMap& MapFor(NameDirt dirt) {
  static const CharMap traditional = ParsePairs(kTraditionalPairs);
  static const CharMap homophone = ParsePairs(kHomophonePairs);
  static const CharMap similar = ParsePairs(kSimilarPairs);
  switch (dirt) {
    case NameDirt::kTraditional:
      return traditional;
    case NameDirt::kHomophone:
      return homophone;
    default:
      return similar;
  }
}

const char32_t* Lookup(const CharMap& map, char32_t cp) {
  auto it = std::lower_bound(map.begin(), map.end(), cp,
                             [](const auto& e, char32_t v) { return e.first < v; });
  if (it == map.end() || it->first != cp) return nullptr;
  return &it->second;
}

}  // namespace

int EthnicCode(EthnicGroup group) { return kGroups[group].code; }
std::string_view EthnicName(EthnicGroup group) { return kGroups[group].name; }

std::string_view DrawSurname(Rng& rng, EthnicGroup group) {
  const SurnameTable& t = SurnameTables()[group];
  return t.entries[t.pick.Pick(rng)].name;
}

void AppendGivenName(Rng& rng, int sex, int birth_year, std::string& out) {
  const int era = EraOf(birth_year);
  const GivenTable& t = GivenTables()[era][sex == 1 ? 0 : 1];
  const int first = t.pick.Pick(rng);
  out.append(t.chars[first]);
  if (rng.Chance(kSingleCharShare[era])) return;
  int second = t.pick.Pick(rng);
  // A doubled character (婷婷, 欢欢) is kept now and then; otherwise redraw once.
  if (second == first && !rng.Chance(0.3)) second = t.pick.Pick(rng);
  out.append(t.chars[second]);
}

void AppendDottedName(Rng& rng, int sex, std::string& out) {
  if (sex == 1) {
    out.append(kDottedFirstMale[rng.Below(std::size(kDottedFirstMale))]);
  } else {
    out.append(kDottedFirstFemale[rng.Below(std::size(kDottedFirstFemale))]);
  }
  out.append("·");
  out.append(kDottedSecond[rng.Below(std::size(kDottedSecond))]);
}

std::string_view NameDirtName(NameDirt dirt) {
  switch (dirt) {
    case NameDirt::kNone:
      return "none";
    case NameDirt::kTraditional:
      return "traditional";
    case NameDirt::kHomophone:
      return "homophone";
    case NameDirt::kSimilarChar:
      return "similar_char";
    case NameDirt::kSpaces:
      return "spaces";
    case NameDirt::kDotVariant:
      return "dot_variant";
  }
  return "";
}

bool DirtyName(NameDirt dirt, std::string_view name, Rng& rng, std::string& out) {
  char32_t cps[32];
  int n = 0;
  for (size_t i = 0; i < name.size() && n < 32;) cps[n++] = NextCodepoint(name, i);
  if (n == 0) return false;
  switch (dirt) {
    case NameDirt::kNone:
      return false;
    case NameDirt::kTraditional: {
      const CharMap& map = MapFor(dirt);
      bool changed = false;
      for (int k = 0; k < n; ++k) {
        if (const char32_t* to = Lookup(map, cps[k])) {
          cps[k] = *to;
          changed = true;
        }
      }
      if (!changed) return false;
      for (int k = 0; k < n; ++k) AppendUtf8(cps[k], out);
      return true;
    }
    case NameDirt::kHomophone:
    case NameDirt::kSimilarChar: {
      const CharMap& map = MapFor(dirt);
      int candidates[32];
      int m = 0;
      for (int k = 0; k < n; ++k)
        if (Lookup(map, cps[k]) != nullptr) candidates[m++] = k;
      if (m == 0) return false;
      const int k = candidates[rng.Below(static_cast<uint32_t>(m))];
      cps[k] = *Lookup(map, cps[k]);
      for (int i = 0; i < n; ++i) AppendUtf8(cps[i], out);
      return true;
    }
    case NameDirt::kSpaces: {
      if (n < 2) return false;
      const uint32_t style = rng.Below(10);
      if (style < 4) {  // "王 小明"
        AppendUtf8(cps[0], out);
        out.push_back(' ');
        for (int k = 1; k < n; ++k) AppendUtf8(cps[k], out);
      } else if (style < 6) {  // ideographic space U+3000
        AppendUtf8(cps[0], out);
        AppendUtf8(0x3000, out);
        for (int k = 1; k < n; ++k) AppendUtf8(cps[k], out);
      } else if (style < 8) {  // "王 小 明"
        for (int k = 0; k < n; ++k) {
          if (k > 0) out.push_back(' ');
          AppendUtf8(cps[k], out);
        }
      } else {  // a space inside the given name ("王小 明"); around the cell readers trim
        const int at = n > 2 ? 2 : 1;
        for (int k = 0; k < n; ++k) {
          if (k == at) out.push_back(' ');
          AppendUtf8(cps[k], out);
        }
      }
      return true;
    }
    case NameDirt::kDotVariant: {
      bool has_dot = false;
      for (int k = 0; k < n; ++k) has_dot |= cps[k] == 0x00B7;
      if (!has_dot) return false;
      static constexpr char32_t kVariants[] = {0x2022, '.', 0x30FB, 0xFF0E};
      const char32_t variant = kVariants[rng.Below(4)];
      for (int k = 0; k < n; ++k) AppendUtf8(cps[k] == 0x00B7 ? variant : cps[k], out);
      return true;
    }
  }
  return false;
}

}  // namespace fupin::gen
