#include "core/text.h"

#include <gtest/gtest.h>

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
