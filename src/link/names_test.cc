#include "link/names.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "link/names_internal.h"

namespace fupin::link {
namespace {

// The UTF-8 of one code point.
std::string Utf8(char32_t c) {
  std::string s;
  AppendUtf8(c, s);
  return s;
}

// The code points of a string (valid UTF-8 only).
std::u32string CodePoints(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Pairs of characters "ab cd ..." as (a, b).
std::vector<std::pair<std::string, std::string>> Pairs(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const std::u32string cps = CodePoints(text);
  for (size_t i = 0; i + 1 < cps.size(); i += 3) {
    pairs.emplace_back(Utf8(cps[i]), Utf8(cps[i + 1]));
  }
  return pairs;
}

TEST(CheckNameData, OpenCcAndPinyinTableLoad) {
  const Status status = CheckNameData();
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(ReadSimplifications, MissingConfigNamesTheFileAndPackage) {
  const auto result = ReadSimplifications("/nonexistent/t2s.json");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kNotFound);
  EXPECT_NE(result.error().message().find("/nonexistent/t2s.json"), std::string::npos);
  EXPECT_NE(result.error().message().find("package opencc"), std::string::npos);
}

TEST(ReadSimplifications, MapsTraditionalCharactersToOneSimplifiedCharacter) {
  const auto result = ReadSimplifications("t2s.json");
  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  // OpenCC 1.1.5 maps 3,751 characters of these blocks.
  EXPECT_GT(result->size(), 2000u);
  for (size_t i = 1; i < result->size(); ++i) {
    ASSERT_LT((*result)[i - 1].first, (*result)[i].first);
  }
  for (const auto& [from, to] : *result) ASSERT_NE(from, to);
}

// --- NormalizeName ----------------------------------------------------------------------

TEST(NormalizeName, RemovesSpacesOfEveryKind) {
  EXPECT_EQ(NormalizeName("王 小 明"), "王小明");
  EXPECT_EQ(NormalizeName("王　小明"), "王小明");  // U+3000
  EXPECT_EQ(NormalizeName(" 王小明 "), "王小明");
  EXPECT_EQ(NormalizeName("王\t小\r\n明"), "王小明");
  EXPECT_EQ(NormalizeName("王\u00A0小明"), "王小明");
  EXPECT_EQ(NormalizeName("王\u2002小\u2009明\u200B"), "王小明");
  EXPECT_EQ(NormalizeName("\uFEFF王小明"), "王小明");
  EXPECT_EQ(NormalizeName("王小 明"), "王小明");
  EXPECT_EQ(NormalizeName(""), "");
  EXPECT_EQ(NormalizeName("   "), "");
}

TEST(NormalizeName, WritesEveryDotVariantAsMiddleDot) {
  const std::string want = "阿依古丽\u00B7买买提";
  for (char32_t dot : {U'\u00B7', U'\u2022', U'.', U'\u30FB', U'\uFF0E', U'\u2027', U'\uFF65',
                       U'\u2219', U'\u22C5', U'\u0387', U'\u2024'}) {
    EXPECT_EQ(NormalizeName("阿依古丽" + Utf8(dot) + "买买提"), want)
        << "dot U+" << std::hex << static_cast<uint32_t>(dot);
  }
  EXPECT_EQ(NormalizeName("阿依古丽 · 买买提"), want);
  EXPECT_EQ(NormalizeName("阿依古丽··买买提"), want);
  EXPECT_EQ(NormalizeName("阿依古丽．．买买提"), want);
}

TEST(NormalizeName, FoldsFullWidthAscii) {
  EXPECT_EQ(NormalizeName("ＡＢＣ王"), "ABC王");
  EXPECT_EQ(NormalizeName("王１２"), "王12");
}

TEST(NormalizeName, KeepsInvalidBytes) {
  EXPECT_EQ(NormalizeName("王\xFF小 明\xE5"), "王\xFF小明\xE5");
  EXPECT_EQ(NormalizeName("\xC0\xB7"), "\xC0\xB7");  // an overlong middle dot stays as it is
  EXPECT_EQ(NormalizeName("\xE0\x80\xAE"), "\xE0\x80\xAE");      // an overlong '.' too
  EXPECT_EQ(NormalizeName("\xED\xA0\x80王"), "\xED\xA0\x80王");  // a surrogate
  EXPECT_EQ(NormalizeName("王\xE5\xB0"), "王\xE5\xB0");          // cut short
}

// --- ToSimplified -----------------------------------------------------------------------

TEST(ToSimplified, ConvertsTraditionalCharacters) {
  EXPECT_EQ(ToSimplified("張偉"), "张伟");
  EXPECT_EQ(ToSimplified("劉德華"), "刘德华");
  EXPECT_EQ(ToSimplified("陳"), "陈");
  EXPECT_EQ(ToSimplified("歐陽娜娜"), "欧阳娜娜");
}

TEST(ToSimplified, LeavesSimplifiedAndOtherTextUnchanged) {
  EXPECT_EQ(ToSimplified("张伟"), "张伟");
  EXPECT_EQ(ToSimplified("王小明"), "王小明");
  EXPECT_EQ(ToSimplified("阿依古丽·买买提"), "阿依古丽·买买提");
  EXPECT_EQ(ToSimplified("Tom 張3"), "Tom 张3");
  EXPECT_EQ(ToSimplified(""), "");
  EXPECT_EQ(ToSimplified("\xFF張\xE5"), "\xFF张\xE5");
}

TEST(ToSimplified, KeepsQianWhichIsAlsoASimplifiedCharacter) {
  EXPECT_EQ(ToSimplified("乾隆"), "乾隆");  // OpenCC alone writes 干隆
  EXPECT_EQ(NamePinyin("張乾"), "zhang qian");
}

// Every traditional pair of the generator's name dirt (src/gen/names.cc kTraditionalPairs,
// copied here; simplified first) maps back.
TEST(ToSimplified, UndoesTheGeneratorsTraditionalPairs) {
  constexpr std::string_view kTraditionalPairs =
      "杨楊 张張 刘劉 陈陳 罗羅 吴吳 黄黃 赵趙 孙孫 马馬 郑鄭 谢謝 许許 韩韓 冯馮 邓鄧 蒋蔣 "
      "苏蘇 吕呂 卢盧 钟鍾 谭譚 陆陸 贾賈 韦韋 邹鄒 闫閆 龙龍 贺賀 顾顧 龚龔 万萬 钱錢 严嚴 "
      "汤湯 欧歐 陇隴 禄祿 叶葉 华華 国國 荣榮 贵貴 发發 兴興 树樹 学學 云雲 银銀 义義 礼禮 "
      "顺順 绍紹 应應 启啟 军軍 强強 红紅 伟偉 刚剛 东東 涛濤 胜勝 卫衛 远遠 杰傑 鹏鵬 飞飛 "
      "帅帥 辉輝 凯凱 阳陽 锋鋒 轩軒 泽澤 铭銘 锦錦 诚誠 乐樂 兰蘭 凤鳳 琼瓊 莲蓮 贞貞 丽麗 "
      "艳艷 静靜 洁潔 颖穎 瑶瑤 诺諾 语語 诗詩 悦悅 梦夢 芳芳 宁寧 亚亞 为為 庆慶 宝寶 进進";
  const auto pairs = Pairs(kTraditionalPairs);
  ASSERT_EQ(pairs.size(), 102u);
  for (const auto& [simplified, traditional] : pairs) {
    EXPECT_EQ(ToSimplified(traditional), simplified) << traditional;
    EXPECT_EQ(ToSimplified(simplified), simplified) << simplified;
  }
}

// --- Pinyin -----------------------------------------------------------------------------

TEST(PinyinTable, HoldsEveryUnihanReading) {
  EXPECT_GE(PinyinTableSize(), 41000u);
  EXPECT_GT(PinyinSyllableCount(), 390u);
  EXPECT_LT(PinyinSyllableCount(), 450u);
  EXPECT_EQ(TablePinyin(U'\u3400'), "qiu");     // the first kMandarin entry
  EXPECT_EQ(TablePinyin(U'\U00020000'), "he");  // in the sorted tail (CJK extension B)
}

TEST(CharPinyin, StripsTonesToAscii) {
  EXPECT_EQ(CharPinyin(U'明'), "ming");
  EXPECT_EQ(CharPinyin(U'王'), "wang");
  EXPECT_EQ(CharPinyin(U'绿'), "lv");   // lǜ
  EXPECT_EQ(CharPinyin(U'女'), "nv");   // nǚ
  EXPECT_EQ(CharPinyin(U'略'), "lve");  // lüè
  EXPECT_EQ(CharPinyin(U'嗯'), "n");    // ń: no vowel
  EXPECT_EQ(CharPinyin(U'万'), "wan");  // "wàn mò": the first reading
  EXPECT_EQ(CharPinyin(U'单'), "dan");  // no surname reading here
  EXPECT_EQ(CharPinyin(U'張'), "zhang");
}

TEST(CharPinyin, EmptyWithoutReading) {
  EXPECT_EQ(CharPinyin(U'a'), "");
  EXPECT_EQ(CharPinyin(U'·'), "");
  EXPECT_EQ(CharPinyin(U'\u4DBF'), "");  // unassigned in Unihan's kMandarin
  EXPECT_EQ(CharPinyin(U'\uE000'), "");  // private use
  EXPECT_EQ(CharPinyin(U'\U0010FFFF'), "");
  EXPECT_EQ(CharPinyin(0xFFFFFFFF), "");
}

TEST(NamePinyin, ReadsEachCharacter) {
  EXPECT_EQ(NamePinyin("王小明"), "wang xiao ming");
  EXPECT_EQ(NamePinyin("王 小 明"), "wang xiao ming");
  EXPECT_EQ(NamePinyin("吕女"), "lv nv");
  EXPECT_EQ(NamePinyin(""), "");
}

TEST(NamePinyin, ReadsSurnamesAsSurnames) {
  EXPECT_EQ(NamePinyin("单小明"), "shan xiao ming");
  EXPECT_EQ(NamePinyin("曾国藩"), "zeng guo fan");
  EXPECT_EQ(NamePinyin("解缙"), "xie jin");
  EXPECT_EQ(NamePinyin("区寄"), "ou ji");
  EXPECT_EQ(NamePinyin("仇英"), "qiu ying");
  EXPECT_EQ(NamePinyin("查良镛"), "zha liang yong");
  EXPECT_EQ(NamePinyin("朴树"), "piao shu");
  EXPECT_EQ(NamePinyin("覃明"), "qin ming");
  // Only the surname: 单 later in the name reads dan, 曾 ceng.
  EXPECT_EQ(NamePinyin("王单"), "wang dan");
  EXPECT_EQ(NamePinyin("李曾"), "li ceng");
  // Traditional forms read as their simplified forms.
  EXPECT_EQ(NamePinyin("單小明"), "shan xiao ming");
}

TEST(NamePinyin, ReadsCompoundSurnames) {
  EXPECT_EQ(NamePinyin("欧阳娜娜"), "ou yang na na");
  EXPECT_EQ(NamePinyin("歐陽娜娜"), "ou yang na na");
  EXPECT_EQ(NamePinyin("令狐冲"), "ling hu chong");
  EXPECT_EQ(NamePinyin("尉迟恭"), "yu chi gong");
  EXPECT_EQ(NamePinyin("万俟卨"), "mo qi xie");
  EXPECT_EQ(NamePinyin("长孙无忌"), "zhang sun wu ji");
  EXPECT_EQ(NamePinyin("澹台灭明"), "tan tai mie ming");
}

TEST(NamePinyin, HomophonesReadAlikeAndLookAlikesDoNot) {
  EXPECT_EQ(NamePinyin("王明"), NamePinyin("王铭"));
  EXPECT_NE(NamePinyin("王明"), NamePinyin("玉明"));
  EXPECT_NE(CharPinyin(U'王'), CharPinyin(U'玉'));
}

TEST(NamePinyin, KeepsCharactersWithoutReading) {
  EXPECT_EQ(NamePinyin("阿依古丽·买买提"), "a yi gu li · mai mai ti");
  EXPECT_EQ(NamePinyin("王A"), "wang A");
  EXPECT_EQ(NamePinyin("王\xFF"), "wang \xFF");
  EXPECT_EQ(NamePinyin("王\U00020000"), "wang he");  // outside the BMP
}

TEST(NamePinyin, TraditionalNameReadsLikeItsSimplifiedForm) {
  for (std::string_view name : {"張偉", "劉德華", "長孫無忌", "乾隆", "鍾麗", "樂明"}) {
    EXPECT_EQ(NamePinyin(name), NamePinyin(ToSimplified(name))) << name;
  }
}

TEST(PlacePinyin, UsesPlaceNameReadings) {
  EXPECT_EQ(PlacePinyin("都匀"), "du yun");
  EXPECT_EQ(PlacePinyin("都匀市"), "du yun shi");
  EXPECT_EQ(PlacePinyin("六盘水市"), "liu pan shui shi");
  EXPECT_EQ(PlacePinyin("番禺"), "pan yu");
  EXPECT_EQ(PlacePinyin("丽水"), "li shui");
  EXPECT_EQ(PlacePinyin("蚌埠"), "beng bu");
  EXPECT_EQ(PlacePinyin("黔南"), "qian nan");
  EXPECT_EQ(PlacePinyin("三都水族自治县"), "san du shui zu zi zhi xian");
  EXPECT_EQ(PlacePinyin("长顺县"), "chang shun xian");
  EXPECT_EQ(PlacePinyin("单县"), "dan xian");  // no surname reading in places
  EXPECT_EQ(PlacePinyin(""), "");
}

// Homophones of the generator's name dirt (src/gen/names.cc kHomophonePairs, copied here)
// read alike.
TEST(CharPinyin, GeneratorsHomophonePairsReadAlike) {
  constexpr std::string_view kHomophonePairs =
      "明铭 伟玮 军君 勇永 平萍 华桦 红宏 英瑛 芳方 丽莉 兰岚 杰洁 林琳 敏闽 静敬 玲龄 梅玫 "
      "燕艳 霞侠 琴勤 娟鹃 婷庭 浩昊 涛韬 鹏朋 飞菲 斌彬 刚钢 峰锋 辉晖 凯恺 宇羽 轩宣 涵含 "
      "欣鑫 怡宜 雨语 佳嘉 琪祺 瑶遥 梓紫 晨辰 辰晨 文雯 志智 忠中 贵桂 桂贵 荣蓉 蓉荣 秀绣 "
      "珍真 凤奉 春椿 艳燕 洪红 东冬 成诚 兵冰 江疆 张章 杨阳 陈晨 德得 福富 兴星 永勇";
  const auto pairs = Pairs(kHomophonePairs);
  ASSERT_EQ(pairs.size(), 67u);
  for (const auto& [a, b] : pairs) {
    EXPECT_EQ(CharPinyin(CodePoints(a)[0]), CharPinyin(CodePoints(b)[0])) << a << b;
    EXPECT_EQ(NamePinyin("王" + a), NamePinyin("王" + b)) << a << b;
  }
}

// Look-alikes of the generator's name dirt (src/gen/names.cc kSimilarPairs, copied here) read
// differently, except the pairs that are homophones too: without tones 风/凤 are both feng.
// Those are listed so that a change in either set shows up here.
TEST(CharPinyin, GeneratorsSimilarPairsReadDifferentlyUnlessAlsoHomophones) {
  constexpr std::string_view kSimilarPairs =
      "王玉 玉王 未末 己已 土士 大太 太大 天夭 田由 由田 风凤 凤风 晴睛 清请 杨扬 侯候 历厉 "
      "祥样 明朋 梅海 海梅 李季 陈阵 吴昊 昊吴 胡湖 琳淋 林材 贵责 春舂 兵乒 刚岗 玲铃 娟捐 "
      "婷亭 彬杉 浩诰 睿叡 佳隹 俊峻 鹏朋 斌赋 丹舟 雪雷 军车";
  const std::vector<std::string> kAlsoHomophones = {"风凤", "凤风", "清请", "杨扬", "侯候",
                                                    "历厉", "胡湖", "琳淋", "刚岗", "玲铃",
                                                    "娟捐", "婷亭", "睿叡", "俊峻", "鹏朋"};
  const auto pairs = Pairs(kSimilarPairs);
  ASSERT_EQ(pairs.size(), 45u);
  std::vector<std::string> same;
  for (const auto& [a, b] : pairs) {
    if (CharPinyin(CodePoints(a)[0]) == CharPinyin(CodePoints(b)[0])) same.push_back(a + b);
  }
  EXPECT_EQ(same, kAlsoHomophones);
}

// --- Surname ----------------------------------------------------------------------------

TEST(Surname, FindsSingleAndCompoundSurnames) {
  EXPECT_EQ(Surname("王小明"), "王");
  EXPECT_EQ(Surname("欧阳娜娜"), "欧阳");
  EXPECT_EQ(Surname("歐陽娜娜"), "歐陽");
  EXPECT_EQ(Surname("诸葛亮"), "诸葛");
  EXPECT_EQ(Surname("司马相如"), "司马");
  EXPECT_EQ(Surname("上官婉儿"), "上官");
  EXPECT_EQ(Surname("令狐冲"), "令狐");
  EXPECT_EQ(Surname("欧阳"), "欧");  // a two-character name: 欧 + 阳
  EXPECT_EQ(Surname("王"), "王");
  EXPECT_EQ(Surname(""), "");
}

TEST(Surname, TakesThePartBeforeTheMiddleDot) {
  EXPECT_EQ(Surname("阿依古丽·买买提"), "阿依古丽");
  EXPECT_EQ(Surname("阿依古丽•买买提"), "阿依古丽");
  EXPECT_EQ(Surname(NormalizeName("阿依古丽 ． 买买提")), "阿依古丽");
}

TEST(Surname, CoversTheRequiredCompoundSurnames) {
  for (std::string_view surname :
       {"欧阳", "令狐", "诸葛", "司马", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "澹台", "万俟", "呼延", "端木", "独孤", "南宫", "闻人", "轩辕"}) {
    const std::string name = std::string(surname) + "明";
    EXPECT_EQ(Surname(name), surname);
  }
}

}  // namespace
}  // namespace fupin::link
