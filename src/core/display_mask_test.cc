// Display width and masking: the widths of Chinese, full-width and ASCII text as a terminal
// shows them, tables that line up, and names masked character by character.
#include <gtest/gtest.h>

#include <sstream>

#include "core/display_width.h"
#include "core/mask.h"

namespace fupin {
namespace {

TEST(DisplayWidth, ChineseAndFullWidthTakeTwoColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("未脱贫"), 6);  // 9 bytes
  EXPECT_EQ(DisplayWidth("已脱贫（享受政策）"), 18);
  EXPECT_EQ(DisplayWidth("ＡＢ1"), 5);
  EXPECT_EQ(DisplayWidth("e\u0301"), 1);  // e + combining acute
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(PadToWidth("男", 4), "男  ");
  EXPECT_EQ(PadToWidth("12", 4, Align::kRight), "  12");
  EXPECT_EQ(PadToWidth("南明区", 2), "南明区");
}

TEST(DisplayWidth, TableColumnsLineUpWithChineseText) {
  const std::string t =
      FormatTable({"状态", "户数"}, {{"未脱贫", "12"}, {"已脱贫（享受政策）", "3"}},
                  {Align::kLeft, Align::kRight});
  std::istringstream in(t);
  std::string line;
  std::vector<int> second_column_end;
  while (std::getline(in, line)) second_column_end.push_back(DisplayWidth(line));
  ASSERT_EQ(second_column_end.size(), 4u) << t;
  // Every line ends at the same column: the right-aligned counts line up.
  for (int w : second_column_end) EXPECT_EQ(w, second_column_end[0]) << t;
  EXPECT_NE(t.find("未脱贫" + std::string(16, ' ') + "12\n"), std::string::npos) << t;
}

TEST(Mask, NameKeepsItsFirstCharacter) {
  EXPECT_EQ(MaskName("张三"), "张*");
  EXPECT_EQ(MaskName("欧阳娜娜"), "欧***");
  EXPECT_EQ(MaskName("Li Lei"), "L*****");
  EXPECT_EQ(MaskName(""), "");
  EXPECT_EQ(MaskName("王"), "*");
  EXPECT_EQ(ShowName("张三", MaskPolicy{}), "张*");
  EXPECT_EQ(ShowName("张三", MaskPolicy{.unmask = true}), "张三");
  EXPECT_EQ(ShowIdNumber("52010219700101001X", MaskPolicy{}), "520102********001X");
  EXPECT_EQ(ShowIdNumber("52010219700101001X", MaskPolicy{.unmask = true}), "52010219700101001X");
}

}  // namespace
}  // namespace fupin
