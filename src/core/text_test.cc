#include "core/text.h"

#include <gtest/gtest.h>

#include <vector>

namespace fupin {
namespace {

TEST(Text, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("贵州省 abc"));
  EXPECT_FALSE(IsValidUtf8("\xB9\xF3\xD6\xDD"));  // 贵州 in GBK
  EXPECT_FALSE(IsValidUtf8("\xE8\xB4"));          // cut in the middle of a character
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
}

TEST(Text, TrimAndFold) {
  EXPECT_EQ(TrimSpace("\u3000 张三 \t"), "张三");
  EXPECT_EQ(FullWidthToAscii("５２０１ＡＢ"), "5201AB");
  EXPECT_EQ(RemoveAllSpace("52 01\u300002"), "520102");
}

}  // namespace
}  // namespace fupin

namespace fupin {
namespace {

TEST(Text, Utf8ValidationAcrossTheAsciiFastPath) {
  // Multi-byte characters and bad bytes before, at and after an 8-byte ASCII run.
  EXPECT_TRUE(IsValidUtf8("abcdefgh张三abcdefghijklmnop"));
  EXPECT_TRUE(IsValidUtf8("张abcdefgh"));
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xE5\xBC"));
  EXPECT_FALSE(IsValidUtf8("abcdefghijklmno\xFF"));
  EXPECT_FALSE(IsValidUtf8("abcdefg\xC0\x80xyz12345"));
  EXPECT_TRUE(IsValidUtf8("12345678"));
}

TEST(Text, FoldToCompactAsciiCopiesOnlyWhenItMust) {
  std::string scratch;
  std::string_view plain = "520102000000";
  EXPECT_EQ(FoldToCompactAscii(plain, scratch).data(), plain.data());
  EXPECT_EQ(FoldToCompactAscii("５２０１０２ ０００", scratch), "520102000");
  EXPECT_EQ(FoldToCompactAscii(" 52 01 ", scratch), "5201");
  EXPECT_EQ(FoldToCompactAscii("贵A", scratch), "贵A");
  EXPECT_EQ(FoldToCompactAscii("", scratch), "");
}

TEST(NextCodePoint, DecodesAndStepsOverBadBytesOneAtATime) {
  std::string_view s = "a张\xC0\xAF\xED\xA0\x80\xE5\xBC";  // a, 张, overlong '/', surrogate, cut
  size_t i = 0;
  EXPECT_EQ(NextCodePoint(s, i), U'a');
  EXPECT_EQ(NextCodePoint(s, i), U'张');
  EXPECT_EQ(i, 4u);
  std::vector<char32_t> rest;
  while (i < s.size()) rest.push_back(NextCodePoint(s, i));
  EXPECT_EQ(rest, std::vector<char32_t>(7, kNotUtf8));  // every remaining byte on its own
}

TEST(Csv, LineQuotesOnlyWhatNeedsIt) {
  std::string out = "x\n";
  const std::vector<std::string> cells = {"贵阳", "a,b", "say \"hi\"", ""};
  AppendCsvLine(out, cells);
  EXPECT_EQ(out, "x\n贵阳,\"a,b\",\"say \"\"hi\"\"\",\n");
}

}  // namespace
}  // namespace fupin
