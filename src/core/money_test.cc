#include "core/money.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

TEST(Money, ParsesYuanExactly) {
  EXPECT_EQ(ParseYuanToFen("1234"), 123400);
  EXPECT_EQ(ParseYuanToFen("1234.5"), 123450);
  EXPECT_EQ(ParseYuanToFen("0.07"), 7);
  EXPECT_EQ(ParseYuanToFen("-12.05"), -1205);
  EXPECT_FALSE(ParseYuanToFen("1.234"));
  EXPECT_FALSE(ParseYuanToFen("1,234"));
  EXPECT_FALSE(ParseYuanToFen("abc"));
  EXPECT_FALSE(ParseYuanToFen("12."));
  EXPECT_FALSE(ParseYuanToFen(""));
  EXPECT_EQ(FormatFenAsYuan(123450), "1234.50");
  EXPECT_EQ(FormatFenAsYuan(-7), "-0.07");
}

TEST(Money, DecimalsAndIntegers) {
  EXPECT_EQ(ParseDecimal("3.5"), 3.5);
  EXPECT_FALSE(ParseDecimal("1e5"));
  EXPECT_FALSE(ParseDecimal("nan"));
  EXPECT_EQ(ParseInteger("2019"), 2019);
  EXPECT_FALSE(ParseInteger("20x9"));
  EXPECT_FALSE(ParseInteger("99999999999999999999"));
}

}  // namespace
}  // namespace fupin
